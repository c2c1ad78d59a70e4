package rewrite

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/consentgate/consentgate/rules"
)

// TestForeignContent covers <svg> and <math> (issue 13, class 3): raw-text
// elements are markup there, breakout tags return to HTML, integration
// points hold HTML again, and SVG loads through href and xlink:href.
func TestForeignContent(t *testing.T) {
	fb := "https://www.facebook.com/tr?id=1"
	gtm := "https://www.googletagmanager.com/gtag/js?id=G-1"
	heldImg := `<img data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-src="` + fb + `">`
	tests := []struct{ name, in, want string }{
		{"svg style does not hide a breakout img", `<svg><style><img src="` + fb + `"></style></svg>`,
			`<svg><style>` + heldImg + `</style></svg>`},
		{"math style does not hide a breakout img", `<math><style><img src="` + fb + `"></style></math>`,
			`<math><style>` + heldImg + `</style></math>`},
		{"svg script text runs", `<svg><script>fbq('init','1')</script></svg>`,
			`<svg><script type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel">fbq('init','1')</script></svg>`},
		{"svg script text with character references", `<svg><script>f&#98;q('init','1')</script></svg>`,
			`<svg><script type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel">f&#98;q('init','1')</script></svg>`},
		{"svg script href", `<svg><script href="` + gtm + `"/></svg>`,
			`<svg><script type="text/plain" data-consent-category="statistics" data-consent-vendor="google-analytics" data-consent-href="` + gtm + `"/></svg>`},
		{"svg script xlink:href", `<svg><script xlink:href="` + gtm + `"></script></svg>`,
			`<svg><script type="text/plain" data-consent-category="statistics" data-consent-vendor="google-analytics" data-consent-xlink:href="` + gtm + `"></script></svg>`},
		{"svg image href", `<svg><image href="` + fb + `"/></svg>`,
			`<svg><image data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-href="` + fb + `"/></svg>`},
		{"svg feImage xlink:href", `<svg><filter><feImage xlink:href="` + fb + `"/></filter></svg>`,
			`<svg><filter><feImage data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-xlink:href="` + fb + `"/></filter></svg>`},
		{"svg use href", `<svg><use href="` + fb + `#a"/></svg>`,
			`<svg><use data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-href="` + fb + `#a"/></svg>`},
		{"svg style @import", `<svg><style>@import url(https://fonts.googleapis.com/css?family=A);</style></svg>`,
			`<svg><style type="text/plain" data-consent-category="preferences" data-consent-vendor="google-fonts" data-consent-sheet="@import url(https://fonts.googleapis.com/css?family=A);"></style></svg>`},
		{"mtext holds HTML: its style is raw text", `<math><mtext><style><img src="` + fb + `"></style></mtext></math>`,
			`<math><mtext><style><img src="` + fb + `"></style></mtext></math>`},
		{"svg title holds HTML", `<svg><title><style><img src="` + fb + `"></style></title></svg>`,
			`<svg><title><style><img src="` + fb + `"></style></title></svg>`},
		{"CDATA is text in svg", `<svg><![CDATA[<img src="` + fb + `">]]></svg>`,
			`<svg><![CDATA[<img src="` + fb + `">]]></svg>`},
		{"after </svg>, style is raw text again", `<svg></svg><style><img src="` + fb + `"></style>`,
			`<svg></svg><style><img src="` + fb + `"></style>`},
		{"svg desc holds HTML scripts", `<svg><desc><script>fbq('init','1')</script></desc></svg>`,
			`<svg><desc><script type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel">fbq('init','1')</script></desc></svg>`},
		{"an empty svg", `<svg/><style><img src="` + fb + `"></style>`, `<svg/><style><img src="` + fb + `"></style>`},
		{"font with a color breaks out", `<svg><font color=red><style><img src="` + fb + `"></style></font></svg>`,
			`<svg><font color=red><style><img src="` + fb + `"></style></font></svg>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := Page{Accepted: rules.OnlyNecessary, Host: "www.example.com"}
			got, _ := rewriteAll(t, defaultConfig, page, tt.in)
			if got != tt.want {
				t.Errorf("output\n got: %s\nwant: %s", got, tt.want)
			}
			if live := treeLiveTrackers(testRules, []byte(got), rules.OnlyNecessary); len(live) > 0 {
				t.Errorf("the tree builder finds live: %v", live)
			}
			if twice, _ := rewriteChunks(t, defaultConfig, page, got, 0); twice != got {
				t.Errorf("rewriting twice differs:\nonce:  %s\ntwice: %s", got, twice)
			}
		})
	}
}

// treeLiveTrackers is the tree builder's view (x/net/html.Parse, which
// follows the standard's tree construction, foreign content included):
// the elements of doc that would load or run a tracker not accepted.
func treeLiveTrackers(rs *rules.Ruleset, doc []byte, accepted rules.Set) []string {
	accepted = accepted.With(rules.Necessary)
	blocked := func(v *rules.Vendor) bool { return v != nil && !accepted.Has(v.Category) }
	rw := &Rewriter{cfg: &Config{Rules: rs}, page: Page{Host: "www.example.com"}}
	root, err := html.Parse(bytes.NewReader(doc))
	if err != nil {
		return nil
	}
	var live []string
	attr := func(n *html.Node, ns, key string) (string, bool) {
		for _, a := range n.Attr {
			if a.Namespace == ns && a.Key == key {
				return a.Val, true
			}
		}
		return "", false
	}
	text := func(n *html.Node) string {
		var b strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				b.WriteString(c.Data)
			}
		}
		return b.String()
	}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			_, marked := attr(n, "", AttrCategory)
			switch {
			case marked:
			case n.Namespace == "" && (n.Data == "img" || n.Data == "iframe" || n.Data == "embed" || n.Data == "script"):
				if typ, hasType := attr(n, "", "type"); n.Data == "script" && !executableType([]byte(typ), hasType) {
					break
				}
				if u, ok := attr(n, "", "src"); ok && blocked(rw.matchURL([]byte(u))) {
					live = append(live, n.Data+" "+u)
				}
			case n.Namespace == "svg" && (n.Data == "image" || n.Data == "feImage" || n.Data == "use" || n.Data == "script"):
				for _, k := range [][2]string{{"", "href"}, {"xlink", "href"}} {
					if u, ok := attr(n, k[0], k[1]); ok && blocked(rw.matchURL([]byte(u))) {
						live = append(live, n.Namespace+" "+n.Data+" "+u)
					}
				}
			}
			_, hasSrc := attr(n, "", "src")
			if n.Namespace == "svg" {
				_, hasSrc = attr(n, "", "href")
				if _, x := attr(n, "xlink", "href"); x {
					hasSrc = true
				}
			}
			if n.Data == "script" && !marked && !hasSrc {
				typ, hasType := attr(n, "", "type")
				if executableType([]byte(typ), hasType) {
					rs.ScanInline([]byte(text(n)), 0, func(v *rules.Vendor) {
						if blocked(v) {
							live = append(live, fmt.Sprintf("%s script text of %s", n.Namespace, v.ID))
						}
					})
				}
			}
			if n.Data == "style" {
				forEachCSSURL([]byte(text(n)), func(u []byte) bool {
					if blocked(rw.matchURL(u)) {
						live = append(live, n.Namespace+" style "+string(u))
					}
					return true
				})
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return live
}

// TestForeignTextKeepsLessThanText: in svg content "<" opens markup only
// before a letter, "/", "!" or "?"; otherwise it is text, and what follows
// is still the script's text or the style's sheet.
func TestForeignTextKeepsLessThanText(t *testing.T) {
	page := Page{Accepted: rules.OnlyNecessary, Host: "www.example.com"}
	for _, in := range []string{
		"<svg><script>xx<0t>fbq(1)</script></svg>",
		"<svg 0><sCript>fb\xc3\xc3\xc3000&00<0000000t>fbq(00</A000&0",
		`<svg><style>a{} <0 @import "https://www.facebook.com/tr";</style></svg>`,
		`<svg><style>a{}<g></g>@import "https://www.facebook.com/tr";</style></svg>`,
		`<svg><style>a{}<!--x-->@import "https://www.facebook.com/tr";</style><p>after</p></svg>`,
		`<svg><style>a{}&#64;import "https://www.facebook.com/tr";</style></svg>`,
	} {
		for _, n := range []int{0, 1, 7} {
			out, _ := rewriteChunks(t, defaultConfig, page, in, n)
			if live := treeLiveTrackers(testRules, []byte(out), rules.OnlyNecessary); len(live) > 0 {
				t.Errorf("%q in pieces of %d: still live %v\nout: %q", in, n, live, out)
			}
		}
	}
	if got := string(foreignText([]byte("xx<0t>fbq(1)<b>y</b>"))); got != "xx<0t>fbq(1)y" {
		t.Errorf("foreignText = %q", got)
	}
}
