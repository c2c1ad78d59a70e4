package caddymodule

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/consentgate/consentgate/rules"
)

// TestCatalogueOptions: the two embedded tiers are on by default;
// no_catalogue leaves out the generated catalogue alone, no_default_rules
// leaves out both, and a site's `necessary` pattern still wins for a host
// the catalogue files as advertising.
func TestCatalogueOptions(t *testing.T) {
	const (
		catalogueOnly = "https://ib.adnxs.com/ut/v3/prebid" // AppNexus (Xandr): in the catalogue only
		curated       = "https://static.criteo.net/js/ld/publishertag.js"
	)
	tests := []struct {
		name      string
		caddyfile string
		want      map[string]string // URL -> vendor ID, "" for none
		wantCat   map[string]rules.Category
	}{
		{"both tiers by default", "cookie_consent", map[string]string{catalogueOnly: "appnexus", curated: "criteo"}, nil},
		{"no_catalogue", "cookie_consent {\n\tno_catalogue\n}", map[string]string{catalogueOnly: "", curated: "criteo"}, nil},
		{"no_default_rules", "cookie_consent {\n\tno_default_rules\n}", map[string]string{catalogueOnly: "", curated: ""}, nil},
		{"necessary wins over the catalogue", "cookie_consent {\n\tnecessary ib.adnxs.com\n}", map[string]string{catalogueOnly: "site-1", curated: "criteo"},
			map[string]rules.Category{catalogueOnly: rules.Necessary}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.caddyfile)); err != nil {
				t.Fatal(err)
			}
			h.CookieName = DefaultCookieName
			files, err := h.ruleFiles()
			if err != nil {
				t.Fatal(err)
			}
			rs, err := rules.Compile(rules.AllSet, files...)
			if err != nil {
				t.Fatal(err)
			}
			for u, want := range tt.want {
				v := rs.MatchURL(rules.SplitURL([]byte(u), nil))
				got := ""
				if v != nil {
					got = v.ID
				}
				if got != want {
					t.Errorf("%s: vendor %q, want %q", u, got, want)
				}
				if c, ok := tt.wantCat[u]; ok && (v == nil || v.Category != c) {
					t.Errorf("%s: category of %v, want %s", u, v, c)
				}
			}
		})
	}
}

func TestNoCatalogueTakesNoArgument(t *testing.T) {
	var h Handler
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("cookie_consent {\n\tno_catalogue yes\n}")); err == nil {
		t.Fatal("no_catalogue with an argument was accepted")
	}
}
