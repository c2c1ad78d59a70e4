package rewrite

import (
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

// A service accepted one by one is allowed whatever its category; the
// other services of that category stay held.
func TestServicesAcceptedOneByOne(t *testing.T) {
	in := `<iframe src="https://www.youtube.com/embed/abc"></iframe>` +
		`<iframe src="https://www.google.com/maps/embed?pb=x"></iframe>` +
		`<script async src="https://connect.facebook.net/en_US/fbevents.js"></script>` + gtagJS
	for _, c := range []struct {
		name        string
		services    []string
		live, inert []string
	}{
		{"none", nil, nil, []string{"youtube.com", "google.com/maps", "fbevents", "googletagmanager"}},
		{"youtube", []string{"youtube"}, []string{`src="https://www.youtube.com/embed/abc"`}, []string{"google.com/maps", "fbevents", "googletagmanager"}},
		{"youtube and google analytics", []string{"google-analytics", "youtube"},
			[]string{`src="https://www.youtube.com/embed/abc"`, gtagJS}, []string{"google.com/maps", "fbevents"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, _ := rewriteAll(t, defaultConfig, Page{Accepted: rules.OnlyNecessary, Services: c.services}, in)
			for _, want := range c.live {
				if !strings.Contains(out, want) {
					t.Errorf("%s is not live:\n%s", want, out)
				}
			}
			for _, held := range c.inert {
				if !heldIn(out, held) {
					t.Errorf("%s is not held:\n%s", held, out)
				}
			}
		})
	}
}

// heldIn reports whether the element whose URL contains part carries its
// URL only in a data-consent- attribute.
func heldIn(out, part string) bool {
	i := strings.Index(out, part)
	if i < 0 {
		return false
	}
	start := strings.LastIndex(out[:i], "<")
	end := strings.Index(out[i:], ">")
	tag := out[start : i+end]
	return strings.Contains(tag, "data-consent-src=") && !strings.Contains(strings.ReplaceAll(tag, "data-consent-src=", ""), " src=")
}
