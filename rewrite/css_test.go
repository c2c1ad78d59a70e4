package rewrite

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/consentgate/consentgate/internal/testpages"
)

// cssURLs is the sequence forEachCSSURL passes to f, stopping after max
// URLs when max > 0.
func cssURLs(scan func([]byte, func([]byte) bool), css []byte, max int) []string {
	got := []string{}
	scan(css, func(u []byte) bool {
		got = append(got, string(u))
		return max <= 0 || len(got) < max
	})
	return got
}

// checkSameCSSURLs fails when the fast scan and the reference tokenizer
// report different URLs for css, or when the cssMayLoad gate would stop a
// sheet that loads something.
func checkSameCSSURLs(t testing.TB, css []byte) {
	t.Helper()
	orig := bytes.Clone(css)
	// The reference reads the input after CSS's preprocessing (CR LF, CR
	// and FF become LF), which it did not do itself.
	want := cssURLs(refForEachCSSURL, cssPreprocessed(css), 0)
	got := cssURLs(forEachCSSURL, css, 0)
	if !slices.Equal(got, want) {
		t.Fatalf("forEachCSSURL(%q)\n got %q\nwant %q", clip(css), got, want)
	}
	if len(want) > 1 {
		// Stopping early stops at the same URL.
		if got := cssURLs(forEachCSSURL, css, 1); !slices.Equal(got, want[:1]) {
			t.Fatalf("forEachCSSURL(%q) stopped after one: got %q, want %q", clip(css), got, want[:1])
		}
	}
	// The gate lets through whatever the old one did, and every sheet the
	// scan finds a URL in (the old gate missed src("…")).
	if gate := cssMayLoad(css); !gate && (refCSSMayLoad(cssPreprocessed(css)) || len(want) > 0) {
		t.Fatalf("cssMayLoad(%q) = false, yet the old gate passed it or the scan finds %q", clip(css), want)
	}
	if !bytes.Equal(css, orig) {
		t.Fatalf("the scan changed its input")
	}
}

func cssPreprocessed(css []byte) []byte {
	css = bytes.ReplaceAll(css, []byte("\r\n"), []byte("\n"))
	css = bytes.ReplaceAll(css, []byte("\r"), []byte("\n"))
	return bytes.ReplaceAll(css, []byte("\f"), []byte("\n"))
}

func clip(b []byte) []byte {
	if len(b) > 300 {
		return b[:300]
	}
	return b
}

func TestForEachCSSURLCases(t *testing.T) {
	if cssStopBytes[cssCloseStop] != ')' {
		t.Fatalf("cssCloseStop is %q, not ')'", cssStopBytes[cssCloseStop])
	}
	for _, c := range []struct{ css, want string }{
		// url() tokens, unquoted and quoted, in any case and spacing.
		{`a{background:url(x.png)}`, "x.png"},
		{`a{b:URL( y.png )}`, "y.png"},
		{`a{b:url( "q.png" )}`, "q.png"},
		{`a{b:url('q.png')}`, "q.png"},
		{`a{b:url(a b.png)}`, "ab.png"},
		{`a{b:url()}`, ""},
		{`a{b:url("")}`, ""},
		{`a{b:url(data:image/svg+xml,%3Csvg%3E)}`, "data:image/svg+xml,%3Csvg%3E"},
		{`a{b:url("data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg'/>")}`, "data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg'/>"},
		{`a{b:xurl(no.png) url-x(no.png) -url(no.png) url (no.png)}`, ""},
		{`a{b:1url(d.png)}`, "d.png"}, // a digit starts no identifier
		{`a{b:9a-url(no.png)}`, ""},
		{`a{b:é-url(no.png) éurl(no.png)}`, ""},
		// Escapes, in names and values.
		{`a{b:u\72 l(c.png)}`, "c.png"},
		{`a{b:\75 rl(c.png)}`, "c.png"},
		{`a{b:\55\52\4c(c.png)}`, "c.png"},
		{`a{b:ur\l(c.png)}`, "c.png"},
		{`a{b:9\75rl(c.png)}`, "c.png"},
		{`a{b:x\75rl(no.png)}`, ""},
		{`a{b:url(d\29 .png)}`, "d).png"},
		{`a{b:url(d\).png)}`, "d).png"},
		{`a{b:url("e\".png")}`, `e".png`},
		{`a{b:url(f\0.png)}`, "f\uFFFD.png"},
		{`a{b:url(g\110000.png)}`, "g\uFFFD.png"},
		{`a{b:url(h\D800.png)}`, "h\uFFFD.png"},
		{`a{b:url(i\
.png)}`, "i\\.png"},
		{`a{b:\
url(j.png)}`, "j.png"},
		{`a{b:url\28 k.png)}`, ""}, // an escaped '(' is a name byte
		{`\@import "l.css";`, ""},
		{`@\69mport "m.css";`, "m.css"},
		{`a{b:image\2d set("n.png" 1x)}`, "n.png"},
		{`a{content:"\f101"} b{c:url(o.png)}`, "o.png"},
		// Comments.
		{`/* url(no.png) */ a{}`, ""},
		{`a{b:ur/**/l(no.png)}`, ""},
		{`a{b:url/**/(no.png)}`, ""},
		{`a{b:/**/url(p.png)}`, "p.png"},
		{`a{b:url(q/**/.png)}`, "q/**/.png"},
		{`a{b:url("r/**/.png")}`, "r/**/.png"},
		{`/* "unclosed */ a{b:url(s.png)}`, "s.png"},
		{`a{b:url(no.png)`, "no.png"},
		{`/* url(no.png)`, ""},
		{`a{b:url(t.png)} /*`, "t.png"},
		// Strings: only those of @import, url(), image-set() and src().
		{`a{content:"https://www.facebook.com/tr"}`, ""},
		{`a{font-family:"Open Sans"}`, ""},
		{`a{content:"url(no.png)"}`, ""},
		{`a{content:'url(no.png)'}`, ""},
		{`a{content:"it's" url(u.png)}`, "u.png"},
		{`a{content:"a
url(v.png)"}`, "v.png"}, // a bad string ends at the line break
		{`a{content:"\
url(no.png)"}`, ""},
		{`a{content:"\"url(no.png)"}`, ""},
		// Nested functions.
		{`a{b:image-set("a.png" 1x, url(b.png) 2x)}`, "a.png|b.png"},
		{`a{b:-webkit-image-set("w.png" 1x, "w2.png" 2x)}`, "w.png|w2.png"},
		{`a{b:IMAGE-SET(type("image/avif") "x.avif", "x.png")}`, "image/avif|x.avif|x.png"},
		{`a{b:image-set(var(--a, "y.png") 1x) "no.png"}`, "y.png"},
		{`a{b:image-set(calc((1)) "z.png") "no.png"}`, "z.png"},
		{`@font-face{src:src("f.woff2" format("woff2"))}`, "f.woff2"},
		{`a{b:var(--x, url(aa.png))}`, "aa.png"},
		{`a{b:image-set(url("bb.png") 1x) "no.png"}`, "bb.png"},
		{`a{b:url("cc.png") "no.png"}`, "cc.png"},
		{`a{b:url("dd.png" "ee.png") "no.png"}`, "dd.png|ee.png"},
		{`) ) a{b:image-set("ff.png") "no.png"}`, "ff.png"},
		{`a{b:image-set(`, ""},
		{`a{b:image-set("gg.png"`, "gg.png"},
		// @import forms.
		{`@import 'z.css';`, "z.css"},
		{`@import url(z.css) screen;`, "z.css"},
		{`@IMPORT "y.css" screen;`, "y.css"},
		{`@import url("i.css") print; a{c:"no.png"}`, "i.css"},
		{`@import/**/"j.css";`, "j.css"},
		{`@import layer(x) "k.css";`, "k.css"},
		{`@import; a{c:"no.css"}`, ""},
		{`@import {} "no.css"`, ""},
		{`@importx "no.css";`, ""},
		{`@import "str\
ing.png";`, "string.png"},
		{`@import "a.b`, "a.b"},
		{`@import 'c.d
'ef.css';`, "c.d"},
		{`@media print{@import "g.css"}`, "g.css"},
		{`@charset "utf-8"; @import "h.css";`, "h.css"},
		// Unterminated input.
		{`a{b:url(`, ""},
		{`a{b:url(   `, ""},
		{`a{b:url("`, ""},
		{`a{b:url(x\`, `x\`}, // a backslash at the end escapes nothing
		{`a{b:url("x\`, "x\uFFFD"},
		{`@import "`, ""},
		{`@`, ""},
		{`\`, ""},
		{`(`, ""},
	} {
		got := cssURLs(forEachCSSURL, []byte(c.css), 0)
		if strings.Join(got, "|") != c.want {
			t.Errorf("%s: got %q, want %q", c.css, got, c.want)
		}
		checkSameCSSURLs(t, []byte(c.css))
	}
}

// corpusCSS is every <style> sheet and style attribute of the corpus
// pages (../shared/corpus/pages), as the HTML tokenizer reads them.
func corpusCSS(t testing.TB) (sheets, attrs [][]byte) {
	for _, p := range testpages.Corpus(t) {
		z := html.NewTokenizer(bytes.NewReader(p.Body))
		inStyle := false
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			tok := z.Token()
			switch tt {
			case html.TextToken:
				if inStyle {
					sheets = append(sheets, []byte(tok.Data))
				}
			case html.StartTagToken, html.SelfClosingTagToken:
				inStyle = tok.Data == "style" && tt == html.StartTagToken
				for _, a := range tok.Attr {
					if a.Key == "style" {
						attrs = append(attrs, []byte(a.Val))
					}
				}
			default:
				inStyle = false
			}
		}
	}
	return sheets, attrs
}

// TestCSSURLsCorpus checks the fast scan against the reference tokenizer
// on every sheet and style attribute of the corpus pages, whole and cut
// at every 97th byte (as a held sheet cut at the hold limit is).
func TestCSSURLsCorpus(t *testing.T) {
	sheets, attrs := corpusCSS(t)
	urls, size := 0, 0
	for _, css := range slices.Concat(sheets, attrs) {
		checkSameCSSURLs(t, css)
		urls += len(cssURLs(forEachCSSURL, css, 0))
		size += len(css)
		for k := 1; k < len(css); k += 97 {
			checkSameCSSURLs(t, css[:k])
		}
	}
	if len(sheets) == 0 || urls == 0 {
		t.Fatalf("the corpus has %d sheets with %d URLs: its pages did not parse", len(sheets), urls)
	}
	t.Logf("%d sheets and %d style attributes, %d bytes, %d URLs: the same", len(sheets), len(attrs), size, urls)
}

// TestForEachCSSURLBoundedMemory checks the scan allocates no more for a
// sheet a hundred times as long: it keeps one buffer, as long as the
// longest URL.
func TestForEachCSSURLBoundedMemory(t *testing.T) {
	unit := `a{b:url(x.png);c:"str";d:image-set("y.png" 1x);content:"\f101"} @import "z.css"; /* c */ e{f:url("data:image/png;base64,AAAA")}` + "\n"
	allocs := func(n int) float64 {
		css := []byte(strings.Repeat(unit, n))
		return testing.AllocsPerRun(20, func() {
			forEachCSSURL(css, func([]byte) bool { return true })
		})
	}
	if one, many := allocs(1), allocs(100); many > one {
		t.Errorf("%v allocations for one unit, %v for a hundred", one, many)
	}
}

// FuzzCSSURLs checks the fast scan reports what the reference tokenizer
// does, for any text.
func FuzzCSSURLs(f *testing.F) {
	for _, s := range []string{
		`a{background:url(x.png)}`,
		`@import url("i.css") print; a{c:"no.png"}`,
		`a{b:image-set("a.png" 1x, url(b.png) 2x)}`,
		`a{b:u\72 l(c.png)}`,
		`a{b:ur/**/l(no.png)}`,
		`a{content:"\f101"} b{c:url(o.png)}`,
		`@font-face{src:src("f.woff2" format("woff2"))}`,
		`a{b:url("data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg'/>")}`,
		"@import 'cd\n'ef.css';",
		`a{b:9\75rl(c.png)}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, css []byte) {
		checkSameCSSURLs(t, css)
		checkSameCSSURLs(t, cssFromWords(css))
	})
}

// cssWords are the pieces of CSS that matter to the scan: with them the
// fuzzer reaches nested functions, escapes in names and @import forms a
// random byte string rarely spells.
var cssWords = []string{
	"url(", "URL(", "uRl (", "image-set(", "-webkit-image-set(", "src(", "var(", "@import ", "@IMPORT",
	"@media ", "(", ")", "\"", "'", "/*", "*/", "/", "\\", "\\75", "\\72 ", "\\6c", "\\28", "\\22", "\\\n",
	"\n", "\r\n", " ", "\t", ";", "{", "}", ",", ":", "a", "u", "r", "l", "-", "9", "é", ".", "x.png",
	"data:image/svg+xml,%3Csvg%3E", "https://t.example/p", "@", "\x00", "\xff",
}

// cssFromWords reads b as a list of cssWords (one byte each) and joins them.
func cssFromWords(b []byte) []byte {
	var css []byte
	for _, c := range b {
		css = append(css, cssWords[int(c)%len(cssWords)]...)
	}
	return css
}

// TestCSSMayLoadPassesSrcFunction: src("…") holds a URL to the scan, so
// the gate must not stop a sheet whose only load it is.
func TestCSSMayLoadPassesSrcFunction(t *testing.T) {
	for _, css := range []string{`.a{background:src("https://www.facebook.com/tr")}`, `.a{background:SRC('//x.example/a.png')}`} {
		if !cssMayLoad([]byte(css)) {
			t.Errorf("cssMayLoad(%q) = false", css)
		}
		if len(cssURLs(forEachCSSURL, []byte(css), 0)) == 0 {
			t.Errorf("forEachCSSURL(%q) finds no URL", css)
		}
	}
}

// TestCSSNewlines: CR and FF end a string and void an escape as LF does,
// so a bad string cannot hide the @import after it.
func TestCSSNewlines(t *testing.T) {
	for _, nl := range []string{"\n", "\r", "\r\n", "\f"} {
		css := `a "x` + nl + ` b @import "https://fonts.googleapis.com/css"; c '\` + nl + `'`
		if got := cssURLs(forEachCSSURL, []byte(css), 0); len(got) != 1 || got[0] != "https://fonts.googleapis.com/css" {
			t.Errorf("newline %q: URLs %q", nl, got)
		}
	}
}
