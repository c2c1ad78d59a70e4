package rewrite

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/internal/testpages"
	"github.com/consentgate/consentgate/rules"
	"golang.org/x/net/html"
)

// FuzzRewrite holds the scanner to golang.org/x/net/html's tokenizer, an
// independent implementation of the WHATWG standard, and checks the
// rewriter's promises on arbitrary input:
//   - it never panics, and the output does not depend on how the input was
//     cut into writes;
//   - the output tokenises into the same tokens as the input, except for
//     the attributes neutralising moves (so no edit landed inside a script,
//     a comment or an attribute value);
//   - no element the rules block stays live in the output;
//   - rewriting twice equals rewriting once;
//   - with every category accepted the output is the input, byte for byte.
//
// Run: go test ./rewrite -run '^$' -fuzz FuzzRewrite -fuzztime 5m
func FuzzRewrite(f *testing.F) {
	for _, s := range []string{
		gtagJS + gtagCfg,
		`<noscript><img src="https://www.facebook.com/tr?id=1"></noscript><iframe src="https://www.youtube.com/embed/x"></iframe>`,
		`<script><!--<script></script>fbq(1)--></script>`,
		`<SCRIPT SRC=//static.hotjar.com/x.js></SCRIPT><img srcset="a 1x, https://0.gravatar.com/a 2x">`,
		`<!-- <script src="https://connect.facebook.net/x"> --><![CDATA[ x ]]><?php ?><textarea></textarea>`,
		`<link rel=preconnect href=//fonts.gstatic.com><link rel=stylesheet href="https://fonts.googleapis.com/css">`,
		`<script data-consent-category="marketing" src="/x.js"></script><object data="https://player.vimeo.com/v"></object>`,
		`<div data-consent-declaration></div><a href=x title='</script>'>`,
		`<svg><style><img src="https://www.facebook.com/tr"></style><script>fbq(1)</script><image href="https://www.facebook.com/tr"/></svg>`,
		`<math><mtext><style><img src=x></style></mtext><mi><svg><desc><p>x</desc></svg></mi></math>`,
		`<video poster="https://www.facebook.com/tr"><source srcset="https://www.facebook.com/tr 1x"></video><style>@import "https://fonts.googleapis.com/css";</style>`,
		`<script type="rocketlazyloadscript" data-rocket-src="https://www.googletagmanager.com/gtag/js"></script><iframe srcdoc="<img src=https://www.facebook.com/tr>"></iframe>`,
	} {
		f.Add(s)
	}
	for _, name := range []string{"lite/index.html"} {
		if page, err := testpages.Load(name); err == nil {
			f.Add(string(page))
		}
	}
	strip := &Config{Rules: testRules, Strip: rules.AllSet}
	f.Fuzz(func(t *testing.T, in string) {
		page := Page{Accepted: rules.OnlyNecessary, Host: "www.example.com"}
		out, _ := rewriteChunks(t, defaultConfig, page, in, 0)
		for _, n := range []int{1, 5} {
			if got, _ := rewriteChunks(t, defaultConfig, page, in, n); got != out {
				t.Fatalf("chunks of %d bytes give another output:\nwhole:  %q\nchunks: %q", n, out, got)
			}
		}
		if twice, _ := rewriteChunks(t, defaultConfig, page, out, 0); twice != out {
			t.Fatalf("rewriting twice differs:\nonce:  %q\ntwice: %q", out, twice)
		}
		all := page
		all.Accepted = rules.AllSet
		if got, _ := rewriteChunks(t, defaultConfig, all, in, 0); got != in {
			t.Fatalf("everything accepted, yet the output differs:\nin:  %q\nout: %q", in, got)
		}
		stripped, _ := rewriteChunks(t, strip, page, in, 0)

		if !followsXNet([]byte(in)) {
			return // see followsXNet: the oracle itself departs from browsers here
		}
		// The tree builder's view: foreign content, breakouts and
		// integration points as a browser builds them.
		if live := treeLiveTrackers(testRules, []byte(out), rules.OnlyNecessary); len(live) > 0 {
			t.Fatalf("the tree builder finds live: %v\nin:  %q\nout: %q", live, in, out)
		}
		if hasForeignContent([]byte(in)) {
			return // the tokenizer alone reads <svg> and <math> content as HTML
		}
		assertNothingLive(t, out)
		assertNothingLive(t, stripped)
		assertSameTokens(t, in, out)
	})
}

// followsXNet reports whether x/net/html tokenises doc as browsers do. It
// does not where a script's text holds "<!--" (x/net leaves the escaped
// script state after "<" and something that is neither "/" nor a letter,
// see scriptEnd), and where the noscript-as-markup view of a <noscript>
// differs from its raw text.
func followsXNet(doc []byte) bool {
	z := html.NewTokenizer(bytes.NewReader(doc))
	inScript := false
	for {
		switch z.Next() {
		case html.ErrorToken:
			return true
		case html.StartTagToken:
			name, _ := z.TagName()
			inScript = string(name) == "script"
		case html.TextToken:
			if inScript && bytes.Contains(z.Raw(), []byte("<!--")) {
				return false
			}
		default:
			inScript = false
		}
	}
}

// assertSameTokens fails unless in and out tokenise into the same tokens,
// ignoring the attributes neutralising adds or renames and the content of
// noscript elements, whose inner tags may be neutralised.
func assertSameTokens(t *testing.T, in, out string) {
	t.Helper()
	a, b := oracleTokens([]byte(in)), withSheetsAsText(oracleTokens([]byte(out)))
	if len(a) != len(b) {
		t.Fatalf("%d tokens in, %d out:\nin:  %q\nout: %q", len(a), len(b), in, out)
	}
	inNoscript := false
	for i := range a {
		x, y := a[i], b[i]
		if x.typ != y.typ || x.name != y.name {
			t.Fatalf("token %d: %v %q became %v %q\nin:  %q\nout: %q", i, x.typ, x.name, y.typ, y.name, in, out)
		}
		if x.typ == html.TextToken && x.text != y.text && !inNoscript {
			t.Fatalf("token %d: text %q became %q\nin:  %q\nout: %q", i, x.text, y.text, in, out)
		}
		if x.typ == html.StartTagToken || x.typ == html.SelfClosingTagToken {
			if !slices.Equal(stripMoved(x.attrs), stripMoved(y.attrs)) {
				t.Fatalf("token %d <%s>: attributes %v became %v", i, x.name, x.attrs, y.attrs)
			}
			for _, at := range x.attrs {
				if at.Key == "src" || at.Key == "href" || at.Key == "srcset" || at.Key == "data" {
					if v, ok := attrOf(y.attrs, at.Key); ok && v != at.Val {
						t.Fatalf("token %d <%s>: %s %q became %q", i, x.name, at.Key, at.Val, v)
					}
					if v, ok := attrOf(y.attrs, AttrPrefix+at.Key); ok && !strings.Contains(in, v) && v != at.Val {
						t.Fatalf("token %d <%s>: moved %s %q became %q", i, x.name, at.Key, at.Val, v)
					}
				}
			}
		}
		inNoscript = x.typ == html.StartTagToken && x.name == "noscript"
	}
}

func attrOf(attrs []html.Attribute, key string) (string, bool) {
	for _, a := range attrs {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// hasForeignContent reports whether doc opens an <svg> or <math> element.
func hasForeignContent(doc []byte) bool {
	z := html.NewTokenizer(bytes.NewReader(doc))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return false
		case html.StartTagToken, html.SelfClosingTagToken:
			if name, _ := z.TagName(); string(name) == "svg" || string(name) == "math" {
				return true
			}
		}
	}
}

// withSheetsAsText puts the sheet of each neutralised <style> back as its
// text, where the original had it.
func withSheetsAsText(toks []oracleToken) []oracleToken {
	var out []oracleToken
	for i, tok := range toks {
		out = append(out, tok)
		if tok.typ != html.StartTagToken || tok.name != "style" {
			continue
		}
		if sheet, ok := attrOf(tok.attrs, AttrSheet); ok && sheet != "" && (i+1 >= len(toks) || toks[i+1].typ != html.TextToken) {
			out = append(out, oracleToken{typ: html.TextToken, text: sheet})
		}
	}
	return out
}
