package rewrite

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/weburl"
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
	page := weburl.NewPage("www.example.com")
	matchURL := func(u string) *rules.Vendor {
		if isDataURL([]byte(u)) {
			return nil
		}
		var v *rules.Vendor
		page.ForEachTarget([]byte(u), func(host, pathq []byte) bool {
			v = rs.MatchURL(host, pathq)
			return v == nil
		})
		return v
	}
	matchHost := func(u string) (*rules.Vendor, rules.Set) {
		var v *rules.Vendor
		var cats rules.Set
		page.ForEachTarget([]byte(u), func(host, _ []byte) bool {
			v, cats = rs.MatchHost(host)
			return v == nil
		})
		return v, cats
	}
	var checkMarkup func(doc []byte, inNoscript bool)
	checkMarkup = func(doc []byte, inNoscript bool) {
		z := html.NewTokenizer(bytes.NewReader(doc))
		var script, style *oracleTag
		var noscript bool
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				return
			}
			tok := z.Token()
			switch tt {
			case html.TextToken:
				if style != nil {
					// Whatever the type: Chromium's preload scanner
					// fetches a sheet's @import URLs regardless.
					forEachCSSURL([]byte(tok.Data), func(u []byte) bool {
						if blocked(matchURL(string(u))) {
							live = append(live, "style sheet url "+string(u))
						}
						return true
					})
				}
				if script != nil {
					typ, hasType := script.attr("type")
					if strings.EqualFold(strings.TrimSpace(typ), "speculationrules") {
						if d := (&Rewriter{cfg: &Config{Rules: rs}}).speculationDecision([]byte(tok.Data)); d.vendor != nil && blocked(d.vendor) {
							live = append(live, "speculation rules of "+d.vendor.ID)
						}
					}
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
				script, style, noscript = nil, nil, false
				if o.name == "image" {
					o.name = "img" // as the tree builder does
				}
				if css, ok := o.attr("style"); ok {
					forEachCSSURL([]byte(css), func(u []byte) bool {
						if blocked(matchURL(string(u))) {
							live = append(live, o.name+" style url "+string(u))
						}
						return true
					})
				}
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
				urlAttr := func(attr string) {
					if u, ok := o.attr(attr); ok && blocked(matchURL(u)) {
						live = append(live, o.name+" "+attr+" "+u)
					}
				}
				srcsetAttr := func(attr string) {
					if set, ok := o.attr(attr); ok {
						forEachSrcsetURL([]byte(set), func(u []byte) bool {
							if blocked(matchURL(string(u))) {
								live = append(live, o.name+" "+attr+" "+string(u))
							}
							return true
						})
					}
				}
				switch o.name {
				case "source":
					urlAttr("src")
					srcsetAttr("srcset")
				case "video":
					urlAttr("src")
					urlAttr("poster")
				case "audio", "track":
					urlAttr("src")
				case "input":
					if typ, _ := o.attr("type"); strings.EqualFold(strings.TrimSpace(typ), "image") {
						urlAttr("src")
					}
				case "body", "table", "td", "th":
					urlAttr("background")
				case "a", "area":
					if ping, ok := o.attr("ping"); ok {
						for _, u := range strings.Fields(ping) {
							if blocked(matchURL(u)) {
								live = append(live, o.name+" ping "+u)
							}
						}
					}
				case "meta":
					if he, _ := o.attr("http-equiv"); strings.EqualFold(strings.TrimSpace(he), "refresh") {
						c, _ := o.attr("content")
						if u, ok := refreshURL([]byte(c)); ok && blocked(matchURL(string(u))) {
							live = append(live, "meta refresh "+string(u))
						}
					}
				case "style":
					style = &o
				case "base":
					if href, ok := o.attr("href"); ok {
						if v, cats := matchHost(href); v != nil && cats&accepted == 0 {
							live = append(live, "base "+href)
						}
					}
				case "iframe", "frame", "embed", "object":
					if o.name == "frame" {
						urlAttr("src")
					}
					attr := "src"
					if o.name == "object" {
						attr = "data"
					}
					if u, ok := o.attr(attr); ok {
						var text []byte
						if js, ok := schemeBody([]byte(u), "javascript"); ok {
							text = js
						} else if _, body, ok := dataURLBody([]byte(u)); ok {
							text = body
						}
						if text != nil {
							rs.ScanInline(text, 0, func(v *rules.Vendor) {
								if blocked(v) {
									live = append(live, o.name+" document of "+v.ID)
								}
							})
							checkMarkup(text, inNoscript)
						}
					}
				}
				if o.name == "script" {
					// A performance plugin's delayed script runs once its
					// loader starts it: read it as the script it becomes.
					typ, _ := o.attr("type")
					lt := strings.ToLower(strings.TrimSpace(typ))
					lazy, _ := o.attr("data-type")
					delayedType := lt == "rocketlazyloadscript" || lt == "litespeed/javascript" || lt == "pmdelayedscript" ||
						strings.HasSuffix(lt, "-text/javascript") && len(lt) > len("-text/javascript")+7
					if delayedType || strings.EqualFold(strings.TrimSpace(lazy), "lazy") || lt == "text/plain" {
						for _, a := range delayedSrcAttrs {
							if u, ok := o.attr(a); ok {
								if v := matchURL(u); blocked(v) {
									live = append(live, "delayed script "+u)
								}
								break
							}
						}
						if delayedType {
							if u, ok := o.attr("src"); ok && blocked(matchURL(u)) {
								live = append(live, "delayed script "+u)
							}
							script = &oracleTag{name: "script"} // its text runs too
							continue
						}
					}
				}
				switch o.name {
				case "script":
					typ, hasType := o.attr("type")
					if src, ok := o.attr("src"); ok && executableType([]byte(typ), hasType) && !inNoscript {
						if v := matchURL(src); blocked(v) {
							live = append(live, "script "+src)
						}
						if _, body, ok := dataURLBody([]byte(src)); ok {
							rs.ScanInline(body, 0, func(v *rules.Vendor) {
								if blocked(v) {
									live = append(live, "data: script of "+v.ID)
								}
							})
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
					if doc, ok := o.attr("srcdoc"); ok && o.name == "iframe" {
						checkMarkup([]byte(doc), inNoscript)
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
					if strings.Contains(strings.ToLower(rel), "preload") {
						srcsetAttr("imagesrcset")
					}
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
							if v, cats := matchHost(href); v != nil && cats&accepted == 0 {
								live = append(live, "link "+rel+" "+href)
							}
						}
					}
				case "noscript":
					noscript = true
				}
			default:
				script, style, noscript = nil, nil, false
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
	case "source", "video", "audio", "track", "frame", "input":
		// srcset loads only on <source> (in <picture>), poster only on
		// <video>: a browser ignores them elsewhere.
		_, src := o.attr("src")
		_, srcset := o.attr("srcset")
		_, poster := o.attr("poster")
		return src || srcset && o.name == "source" || poster && o.name == "video"
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
		case attrBit([]byte(a.Key)) != 0, a.Key == "data-type", slices.Contains(delayedSrcAttrs, a.Key):
		default:
			out = append(out, a)
		}
	}
	return out
}
