package rules_test

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/consentgate/consentgate/internal/testpages"
	"github.com/consentgate/consentgate/rules"
)

// element is one external resource or inline script of a corpus page.
type element struct {
	page, tag, url string // url is empty for an inline script
	inline         []byte
}

// corpusElements returns the script, iframe and img elements of every
// corpus page, with the src a browser loads, and the inline scripts.
func corpusElements(t testing.TB) []element {
	t.Helper()
	var out []element
	for _, p := range testpages.Corpus(t) {
		z := html.NewTokenizer(bytes.NewReader(p.Body))
		inScript, scriptHasSrc := false, false
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			switch tt {
			case html.StartTagToken, html.SelfClosingTagToken:
				tok := z.Token()
				switch tok.Data {
				case "script", "iframe", "img":
					src, typ := "", ""
					for _, a := range tok.Attr {
						switch a.Key {
						case "src":
							src = a.Val
						case "type":
							typ = strings.ToLower(strings.TrimSpace(a.Val))
						}
					}
					if tok.Data == "script" {
						inScript = tt == html.StartTagToken && (typ == "" || strings.Contains(typ, "javascript") || typ == "module")
						scriptHasSrc = src != ""
					}
					if src != "" {
						out = append(out, element{page: p.Name + ".html", tag: tok.Data, url: src})
					}
				}
			case html.TextToken:
				if inScript && !scriptHasSrc {
					out = append(out, element{page: p.Name + ".html", tag: "script", inline: append([]byte(nil), z.Text()...)})
				}
			case html.EndTagToken:
				inScript = false
			}
		}
	}
	return out
}

func compileTiers(t testing.TB, catalogue bool) *rules.Ruleset {
	t.Helper()
	files, err := rules.DefaultFiles(catalogue)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(rules.AllSet, files...)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// isTracker reports whether a vendor's category is one a visitor must
// accept: the catalogue's ad, analytics, social, marketing, video and
// tag-manager hosts, and the curated vendors of the same categories.
func isTracker(v *rules.Vendor) bool {
	return v != nil && (v.Category == rules.Statistics || v.Category == rules.Marketing)
}

// loaderURL finds the absolute and protocol-relative URLs in a script.
var loaderURL = regexp.MustCompile(`(?:https?:)?(?:\\?/){2}([a-zA-Z0-9.-]+\.[a-zA-Z]{2,})((?:\\?/)[^"'\s)]*)?`)

// TestCorpusTrackersAreClassified: on 50 real pages, every script, iframe
// and img whose host either tier files as a tracker is classified by the
// URL rules the rewriter uses (no path-limited curated rule may shadow
// it), and every inline script that loads a tracker's host carries a
// signature the rewriter holds it by. Hosts neither tier knows are
// listed, so a person can judge what is still missing.
func TestCorpusTrackersAreClassified(t *testing.T) {
	els := corpusElements(t)
	rs := compileTiers(t, true)
	curated := compileTiers(t, false)
	catFile, err := rules.CatalogueFile()
	if err != nil {
		t.Fatal(err)
	}
	catalogue, err := rules.Compile(rules.AllSet, catFile)
	if err != nil {
		t.Fatal(err)
	}
	var checked, onlyCatalogue, loaders int
	unknown := map[string]int{}
	for _, e := range els {
		if e.url == "" {
			for _, m := range loaderURL.FindAllSubmatch(e.inline, -1) {
				host := bytes.ToLower(m[1])
				path := bytes.ReplaceAll(m[2], []byte(`\/`), []byte("/"))
				file, _, _ := bytes.Cut(path, []byte("?"))
				if !bytes.HasSuffix(file, []byte(".js")) && !bytes.HasSuffix(file, []byte(".gif")) {
					continue // only scripts and pixels load trackers
				}
				if v := rs.MatchURL(host, path); !isTracker(v) {
					continue
				}
				loaders++
				found := false
				rs.ScanInline(e.inline, 0, func(*rules.Vendor) { found = true })
				if !found {
					t.Errorf("%s: an inline script loads %s%s, but no signature holds it", e.page, host, path)
				}
				break
			}
			continue
		}
		host, pathq := rules.SplitURL([]byte(e.url), nil)
		if len(host) == 0 {
			continue
		}
		// A host the tiers name as a tracker's: a catalogue host, or a
		// curated rule for the whole host (not one path of it, such as
		// www.google.com/pagead/).
		hv, _ := catalogue.MatchHost(host)
		if !isTracker(hv) {
			hv = rs.MatchURL(host, []byte("/"))
		}
		v := rs.MatchURL(host, pathq)
		if !isTracker(hv) {
			if v == nil {
				unknown[string(host)]++
			}
			continue
		}
		checked++
		if v == nil || v.Category == rules.Unclassified {
			t.Errorf("%s: <%s src=%q>: a host of %s (%s), but the URL is not classified", e.page, e.tag, e.url, hv.ID, hv.Category)
			continue
		}
		if curated.MatchURL(host, pathq) == nil {
			onlyCatalogue++
		}
	}
	hosts := make([]string, 0, len(unknown))
	for h := range unknown {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	t.Logf("%d tracker elements classified (%d by the catalogue alone), %d inline loaders held; external hosts neither tier knows: %s",
		checked, onlyCatalogue, loaders, strings.Join(hosts, " "))
	if checked == 0 {
		t.Error("no tracker element found on the corpus pages: is the corpus or the parser broken?")
	}
}
