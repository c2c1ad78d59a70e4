package rewrite

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
	"golang.org/x/net/html"
)

// This file is the test oracle: golang.org/x/net/html's tokenizer, which
// follows the WHATWG standard independently of our scanner, decides what a
// browser would load or run.

func loadPage(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "site", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type oracleTag struct {
	name  string
	attrs []html.Attribute
}

func (o oracleTag) attr(key string) (string, bool) {
	for _, a := range o.attrs {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// liveTrackers returns a description of every element in doc that the
// rules block for a visitor who accepted only accepted, yet would still
// load or run.
func liveTrackers(rs *rules.Ruleset, doc []byte, accepted rules.Set) []string {
	var live []string
	accepted = accepted.With(rules.Necessary)
	blocked := func(v *rules.Vendor) bool { return v != nil && !accepted.Has(v.Category) }
	matchURL := func(u string) *rules.Vendor {
		host, pathq := rules.SplitURL([]byte(u), nil)
		return rs.MatchURL(host, pathq)
	}
	var checkMarkup func(doc []byte, inNoscript bool)
	checkMarkup = func(doc []byte, inNoscript bool) {
		z := html.NewTokenizer(bytes.NewReader(doc))
		var script *oracleTag
		var noscript bool
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				return
			}
			tok := z.Token()
			switch tt {
			case html.TextToken:
				if script != nil {
					typ, hasType := script.attr("type")
					if executableType([]byte(typ), hasType) {
						rs.ScanInline([]byte(tok.Data), 0, func(v *rules.Vendor) {
							if blocked(v) {
								live = append(live, fmt.Sprintf("inline script of %s", v.ID))
							}
						})
					}
				}
				if noscript {
					checkMarkup([]byte(tok.Data), true)
				}
			case html.StartTagToken, html.SelfClosingTagToken:
				o := oracleTag{name: tok.Data, attrs: tok.Attr}
				script, noscript = nil, false
				if cat, ok := o.attr(AttrCategory); ok {
					// The page's own mark decides, not the rules.
					set, _ := rules.ParseSet(cat)
					if set == 0 {
						set = rules.SetOf(rules.Unclassified)
					}
					if set&^accepted != 0 && loads(o) {
						live = append(live, fmt.Sprintf("marked %s %v", o.name, o.attrs))
					}
					continue
				}
				switch o.name {
				case "script":
					typ, hasType := o.attr("type")
					if src, ok := o.attr("src"); ok && executableType([]byte(typ), hasType) && !inNoscript {
						if v := matchURL(src); blocked(v) {
							live = append(live, "script "+src)
						}
					}
					// A script with a src never runs its inline text, even
					// when the src is empty or fails.
					if _, hasSrc := o.attr("src"); !inNoscript && !hasSrc {
						script = &o
					}
				case "img", "iframe", "embed":
					if src, ok := o.attr("src"); ok && blocked(matchURL(src)) {
						live = append(live, o.name+" "+src)
					}
					if set, ok := o.attr("srcset"); ok && o.name == "img" {
						forEachSrcsetURL([]byte(set), func(u []byte) bool {
							if blocked(matchURL(string(u))) {
								live = append(live, "img srcset "+string(u))
							}
							return true
						})
					}
				case "object":
					if src, ok := o.attr("data"); ok && blocked(matchURL(src)) {
						live = append(live, "object "+src)
					}
				case "link":
					rel, _ := o.attr("rel")
					href, ok := o.attr("href")
					if !ok {
						break
					}
					for _, r := range strings.Fields(strings.ToLower(rel)) {
						switch r {
						case "stylesheet", "preload", "prefetch", "modulepreload", "prerender", "icon":
							if blocked(matchURL(href)) {
								live = append(live, "link "+href)
							}
						case "preconnect", "dns-prefetch":
							host, _ := rules.SplitURL([]byte(href), nil)
							if v, cats := rs.MatchHost(host); v != nil && cats&accepted == 0 {
								live = append(live, "link "+rel+" "+href)
							}
						}
					}
				case "noscript":
					noscript = true
				}
			default:
				script, noscript = nil, false
			}
		}
	}
	checkMarkup(doc, false)
	return live
}

// loads reports whether an element would load or run something.
func loads(o oracleTag) bool {
	switch o.name {
	case "script":
		typ, hasType := o.attr("type")
		if !executableType([]byte(typ), hasType) {
			return false
		}
		return true
	case "img", "iframe", "embed":
		_, src := o.attr("src")
		_, srcset := o.attr("srcset")
		return src || srcset && o.name == "img"
	case "object":
		_, ok := o.attr("data")
		return ok
	case "link":
		_, ok := o.attr("href")
		return ok
	}
	return false
}

type oracleToken struct {
	typ   html.TokenType
	name  string
	attrs []html.Attribute
	text  string
}

// oracleTokens tokenises doc the way x/net/html does, keeping text so that
// two documents can be compared token by token.
func oracleTokens(doc []byte) []oracleToken {
	z := html.NewTokenizer(bytes.NewReader(doc))
	var out []oracleToken
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return out
		}
		tok := z.Token()
		ot := oracleToken{typ: tt}
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			ot.name = tok.Data
			ot.attrs = tok.Attr
		default:
			ot.text = tok.Data
		}
		// x/net splits text where it meets a '<' that starts nothing.
		if n := len(out); n > 0 && tt == html.TextToken && out[n-1].typ == html.TextToken {
			out[n-1].text += ot.text
			continue
		}
		out = append(out, ot)
	}
}

// stripMoved removes from attrs what neutralising adds or renames, so the
// attributes of a neutralised tag compare equal to the original's.
func stripMoved(attrs []html.Attribute) []html.Attribute {
	var out []html.Attribute
	for _, a := range attrs {
		switch {
		case a.Key == AttrCategory || a.Key == AttrVendor:
		case strings.HasPrefix(a.Key, AttrPrefix):
		case a.Key == "src" || a.Key == "srcset" || a.Key == "href" || a.Key == "data" || a.Key == "type":
		default:
			out = append(out, a)
		}
	}
	return out
}
