package rewrite

import (
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

// A vendor known only from the catalogue has no name in the banner's
// script, so the held element carries it for the embed's placeholder;
// curated vendors keep to their ID.
func TestCatalogueVendorCarriesItsName(t *testing.T) {
	files, err := rules.DefaultFiles(true)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(rules.AllSet, files...)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Rules: rs}
	tests := []struct {
		name, in, want string
		xhtml          bool
	}{
		{
			name: "catalogue embed",
			in:   `<iframe src="https://fast.wistia.net/embed/iframe/abc"></iframe>`,
			want: `<iframe data-consent-category="marketing" data-consent-vendor="wistia" data-consent-vendor-name="Wistia" data-consent-src="https://fast.wistia.net/embed/iframe/abc"></iframe>`,
		},
		{
			name: "curated embed",
			in:   `<iframe src="https://www.youtube.com/embed/abc"></iframe>`,
			want: `<iframe data-consent-category="marketing" data-consent-vendor="youtube" data-consent-src="https://www.youtube.com/embed/abc"></iframe>`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := rewriteAll(t, cfg, Page{}, tc.in)
			if got != tc.want {
				t.Errorf("\ngot  %s\nwant %s", got, tc.want)
			}
		})
	}
	// A name is escaped like any attribute value the rewriter writes.
	v := &rules.Vendor{ID: "x", Name: `A "quoted" & <odd> name`, Catalogue: true}
	r := New(nil, cfg, Page{XHTML: true})
	if got := string(r.appendVendor(nil, v)); !strings.Contains(got, `data-consent-vendor-name="A &quot;quoted&quot; &amp; &lt;odd> name"`) {
		t.Errorf("escaped name: %s", got)
	}
}
