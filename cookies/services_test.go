package cookies

import (
	"slices"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

// A cookie passes when its category is accepted or its vendor is a
// service accepted one by one; other cookies of that category do not.
func TestCookiesOfServicesAcceptedOneByOne(t *testing.T) {
	none := rules.OnlyNecessary
	services := []string{"google-analytics"}
	for _, c := range []struct {
		name string
		want bool
	}{
		{"_ga", true}, {"_ga_ABC123", true}, {"_gid", true},
		{"_fbp", false}, {"_hjSessionUser_1", false}, {"consentgate", true}, {"unknown_x", false},
	} {
		if ok, _ := Allowed(testRules, c.name, none, services); ok != c.want {
			t.Errorf("Allowed(%s) = %t, want %t", c.name, ok, c.want)
		}
	}
	kept, removed := FilterSetCookie([]string{"_ga=GA1.1.1; Path=/", "_fbp=fb.1; Path=/"}, testRules, none, services...)
	if !slices.Equal(kept, []string{"_ga=GA1.1.1; Path=/"}) || len(removed) != 1 || removed[0].Name != "_fbp" || removed[0].Category != rules.Marketing {
		t.Errorf("FilterSetCookie kept %v, removed %v", kept, removed)
	}
	out, removed := FilterCookieHeader("_ga=1; _fbp=2; consentgate=3", testRules, none, services...)
	if out != "_ga=1; consentgate=3" || len(removed) != 1 {
		t.Errorf("FilterCookieHeader = %q, removed %v", out, removed)
	}
	// Without services nothing changes.
	if out, _ := FilterCookieHeader("_ga=1; _fbp=2", testRules, none); out != "" {
		t.Errorf("without services: %q", out)
	}
}
