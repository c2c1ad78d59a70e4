package rules

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestGuardPatternsOverlap(t *testing.T) {
	urls := []struct {
		a, b string
		want bool
	}{
		{"a.com", "a.com/x", true},
		{"a.com", "b.com", false},
		{"*.a.com", "x.a.com/p", true},
		{"*.a.com", "a.com", true},
		{"*.a.com", "xa.com", false},
		{"*.a.com", "*.b.a.com", true},
		{"*.b.a.com", "*.a.com", true},
		{"*.a.com", "*.b.com", false},
		{"*/x.js", "b.com", true},
		{"x.a.com", "*.a.com", true},
	}
	for _, tt := range urls {
		if got := urlPatternsOverlap(tt.a, tt.b); got != tt.want {
			t.Errorf("urlPatternsOverlap(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
	cookies := []struct {
		a, b string
		want bool
	}{
		{"_ga", "_ga", true},
		{"_ga", "_gid", false},
		{"_ga_*", "_ga_X", true},
		{"_ga_X", "_ga*", true},
		{"_ga*", "_gid", false},
		{"_ga*", "_g*", true},
		{"a*z", "ab*", true},
		{"a*z", "*y", false},
		{"*_id", "x*_id", true},
	}
	for _, tt := range cookies {
		if got := cookiePatternsOverlap(tt.a, tt.b); got != tt.want {
			t.Errorf("cookiePatternsOverlap(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestGuardTableKeepsOrder: rules that compete keep their order through the
// merging of runs, and a cookie rule an earlier one hides is left out.
func TestGuardTableKeepsOrder(t *testing.T) {
	f := &File{Format: FileFormat, Vendors: []VendorSpec{
		{ID: "a", Category: "marketing", URLs: []string{"x.com/a"}, Cookies: []CookieSpec{{Name: "k_*"}}},
		{ID: "b", Category: "statistics", URLs: []string{"*.x.com", "y.com"}, Cookies: []CookieSpec{{Name: "k_1"}, {Name: "j"}}},
		{ID: "a2", Category: "marketing", URLs: []string{"z.com"}},
	}}
	rs, err := Compile(AllSet, f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := GuardTable(rs)
	if err != nil {
		t.Fatal(err)
	}
	var tab struct {
		V []string `json:"v"`
		C string   `json:"c"`
		U [][]any  `json:"u"`
		K [][]any  `json:"k"`
	}
	if err := json.Unmarshal(b, &tab); err != nil {
		t.Fatal(err)
	}
	if strings.Join(tab.V, " ") != "a b a2" || tab.C != "313" {
		t.Errorf("vendors %v, categories %q", tab.V, tab.C)
	}
	// x.com/a (a) must stay before *.x.com (b); z.com may join no run of
	// another vendor, so runs: a, b, a2.
	if got := len(tab.U); got != 3 || tab.U[0][1] != "0x.com/a" || tab.U[1][1] != "0*.x.com 0y.com" {
		t.Errorf("URL runs %v", tab.U)
	}
	// k_1 is hidden by k_* before it.
	for _, run := range tab.K {
		if strings.Contains(run[2].(string), "k_1") {
			t.Errorf("the hidden cookie rule k_1 is in the table: %v", tab.K)
		}
	}
}

func TestFrontCode(t *testing.T) {
	tests := []struct {
		in   []string
		want string
	}{
		{[]string{"*.a.com", "*.ab.com", "*.ab.com/x", "b"}, "0*.a.com 3b.com 8/x 0b"},
		{[]string{"caf\u00e9_1", "caf\u00e9_2"}, "0caf\u00e9_1 3\u00e9_2"},
		{[]string{strings.Repeat("a", 50), strings.Repeat("a", 51)}, "0" + strings.Repeat("a", 50) + " Z" + strings.Repeat("a", 9)},
	}
	for _, tt := range tests {
		if got := frontCode(tt.in); got != tt.want {
			t.Errorf("frontCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
