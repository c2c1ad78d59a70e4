package rewrite

import (
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

// TestURLFormsAsBrowsersRead holds trackers behind every URL form the
// WHATWG URL parser reads differently from a naive split (issue 13,
// class 5). Each src loads www.facebook.com in a browser.
func TestURLFormsAsBrowsersRead(t *testing.T) {
	for _, u := range []string{
		" \t\nhttps://www.facebook.com/tr ",
		"&#1;https://www.facebook.com/tr",
		"ht&#9;tps://www.face&#10;book.com/tr",
		`https:\\www.facebook.com\tr`,
		"https:///www.facebook.com/tr",
		"http:www.facebook.com/tr",
		"https://www.%66acebook.com/tr",
		"https://%77%77%77.facebook.com/tr",
		"https://ｗｗｗ．ｆａｃｅｂｏｏｋ．ｃｏｍ/tr",
		"https://www。facebook。com/tr",
		"https://www.face&shy;book.com/tr",
		"https://user:pass@www.facebook.com/tr",
		"https://www.facebook.com.:443/tr",
		"HTTPS://WWW.FACEBOOK.COM/tr",
		"//www.facebook.com/tr",
		`\\www.facebook.com/tr`,
		"https://www.facebook.com/%74r",
	} {
		t.Run(u, func(t *testing.T) {
			in := `<img src="` + u + `">`
			page := Page{Accepted: rules.OnlyNecessary, Host: "www.example.com"}
			out, _ := rewriteAll(t, defaultConfig, page, in)
			if strings.Contains(u, "%74r") {
				// A percent-encoded path is sent as it is: the rules'
				// path patterns see it so, as the server would before
				// decoding. The host still matches Meta.
				if !strings.Contains(out, "data-consent-src") {
					t.Errorf("not held: %s", out)
				}
				return
			}
			if !strings.Contains(out, `data-consent-vendor="meta-pixel"`) {
				t.Errorf("not held: %s", out)
			}
			assertNothingLive(t, out)
		})
	}
}

func TestLinkHeaderURLForms(t *testing.T) {
	for _, v := range []string{
		"<https://ｗｗｗ．ｇｏｏｇｌｅｔａｇｍａｎａｇｅｒ．ｃｏｍ/gtag/js>; rel=preload; as=script",
		"<https:\\\\www.googletagmanager.com/gtag/js>; rel=preload; as=script",
		"<//www.googletagmanager.com>; rel=preconnect",
		"<https://www.%67oogletagmanager.com/gtm.js>; rel=preload",
	} {
		if out, changed := FilterLinkHeader(v, "www.example.com", testRules, rules.OnlyNecessary, nil); !changed || out != "" {
			t.Errorf("%s: kept %q", v, out)
		}
	}
}
