package rewrite

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

func wellFormed(doc string) error {
	d := xml.NewDecoder(strings.NewReader(doc))
	d.Strict = true
	for {
		_, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// TestXHTMLStaysWellFormed covers issue 13, class 7: an XHTML page comes
// out well-formed XML, with its trackers held and the banner's markup
// (written as HTML, with boolean attributes and unclosed void elements)
// re-serialised as XHTML.
func TestXHTMLStaysWellFormed(t *testing.T) {
	in := `<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:xlink="http://www.w3.org/1999/xlink"><head><title>x</title>
<script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>
<style>@import url("https://fonts.googleapis.com/css?family=A&amp;b=1");</style>
</head><body><p>x</p><img src="https://www.facebook.com/tr?id=1" alt="a&amp;b"/>
<svg xmlns="http://www.w3.org/2000/svg"><image xlink:href="https://www.facebook.com/tr?id=2"/></svg>
<iframe srcdoc="&lt;img src=https://www.facebook.com/tr&gt;"></iframe>
<div data-consent-declaration="">declaration</div>
</body></html>`
	page := Page{
		Accepted:    rules.OnlyNecessary,
		Host:        "www.example.com",
		XHTML:       true,
		Guard:       []byte(`<script src="/g.js" data-cg-accepted="necessary"></script>`),
		HeadEnd:     []byte(`<link rel="stylesheet" href="/b.css"><script src="/b.js" defer></script>`),
		BodyStart:   []byte(`<div id="consentgate"><input type="checkbox" checked disabled><label>Caf&eacute; &amp; more</label><br></div>`),
		Declaration: func() []byte { return []byte(`<table><tr><td>_ga<br>2 years</td></tr></table>`) },
	}
	if err := wellFormed(in); err != nil {
		t.Fatalf("the input is not well-formed: %v", err)
	}
	var out bytes.Buffer
	rw := New(&out, defaultConfig, page)
	for p := []byte(in); len(p) > 0; {
		n := min(7, len(p))
		if _, err := rw.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if err := wellFormed(got); err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, got)
	}
	if rw.XHTMLDropped() != 0 {
		t.Errorf("%d insertions dropped", rw.XHTMLDropped())
	}
	for _, want := range []string{
		`data-consent-src="https://www.googletagmanager.com/gtag/js?id=G-1"`,
		`data-consent-src="https://www.facebook.com/tr?id=1"`,
		`data-consent-xlink-href="https://www.facebook.com/tr?id=2"`,
		`data-consent-sheet=`,
		`<input type="checkbox" checked="" disabled=""/>`,
		`<link rel="stylesheet" href="/b.css"/>`,
		`Café &amp; more`,
		`data-consent-filled=""`,
		`<td>_ga<br/>2 years</td>`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %s\n%s", want, got)
		}
	}
}

func TestXHTMLFragmentRefusesWhatXMLCannotSay(t *testing.T) {
	if _, err := XHTMLFragment([]byte(`<p xml:lang="x">a</p>`)); err == nil {
		t.Error("a prefixed attribute was written")
	}
	got, err := XHTMLFragment([]byte(`<script src="/a.js" async></script><style>a>b{}</style>`))
	if err != nil || string(got) != `<script src="/a.js" async=""></script><style><![CDATA[a>b{}]]></style>` {
		t.Errorf("got %s, %v", got, err)
	}
}
