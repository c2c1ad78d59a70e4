package rules

import (
	"strings"
	"testing"
)

// A cookie's texts in other languages are read and checked: a language
// tag in lower case, never English (the purpose itself is).
func TestCookieTexts(t *testing.T) {
	const file = `{"format": 1, "vendors": [{"id": "v", "name": "V", "category": "statistics",
		"cookies": [{"name": "_v", "purpose": "Counts visits.", "lifetime": "1 year", "texts": %s}]}]}`
	tests := []struct {
		texts, err string
	}{
		{`{"nl": {"purpose": "Telt bezoeken."}}`, ""},
		{`{"nl-be": {"purpose": "Telt bezoeken.", "lifetime": "1 jaar"}, "de": {"purpose": "Zählt Besuche."}}`, ""},
		{`{}`, ""},
		{`{"en": {"purpose": "Counts visits."}}`, `texts language "en"`},
		{`{"NL": {"purpose": "Telt bezoeken."}}`, `texts language "NL"`},
		{`{"dutch": {"purpose": "Telt bezoeken."}}`, `texts language "dutch"`},
		{`{"nl-": {"purpose": "Telt bezoeken."}}`, `texts language "nl-"`},
		{`{"nl": {"purpose": "Telt bezoeken.", "retention": "1 jaar"}}`, `unknown field "retention"`},
	}
	for _, tt := range tests {
		f, err := ParseFile([]byte(strings.Replace(file, "%s", tt.texts, 1)))
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.texts, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("%s: error %v, want one saying %s", tt.texts, err, tt.err)
		case err == nil:
			rs, err := Compile(AllSet, f)
			if err != nil {
				t.Fatal(err)
			}
			c := rs.MatchCookie("_v")
			if c == nil || c.Catalogue || len(c.Texts) != len(f.Vendors[0].Cookies[0].Texts) {
				t.Errorf("%s: compiled to %+v", tt.texts, c)
			}
		}
	}
	cat, err := CatalogueFile()
	if err != nil {
		t.Fatal(err)
	}
	def, err := DefaultFile()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(AllSet, def, cat)
	if err != nil {
		t.Fatal(err)
	}
	if c := rs.MatchCookie("_ga"); c == nil || c.Catalogue || c.Texts["nl"].Purpose == "" {
		t.Errorf("the curated _ga rule compiled to %+v", c)
	}
	if c := rs.MatchCookie("FPID"); c == nil || !c.Catalogue || c.Vendor.ID != "google-analytics" {
		t.Errorf("a catalogue cookie folded into a curated vendor compiled to %+v", c)
	}
}
