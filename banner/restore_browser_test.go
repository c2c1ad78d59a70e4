package banner

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/internal/browsertest"
	"github.com/consentgate/consentgate/rules"
)

// restorePage holds operator-marked elements, in the attribute contract's
// inert form, whose restored URL would run script or load a document the
// page never had. Every category they name is accepted, so only the URL
// check keeps them inert.
const restorePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>restore</title>
<script>window.hits = []; window.hit = function (x) { window.hits.push(x); };</script>
%s</head><body>%s
<a id="js" data-consent-category="necessary" data-consent-href="javascript:window.hit('a-js')">js</a>
<a id="js-case" data-consent-category="necessary" data-consent-href=" JaVa&#9;ScRiPt&#10;:window.hit('a-js-case')">js</a>
<a id="js-entity" data-consent-category="statistics" data-consent-href="&#106;avascript&colon;window.hit('a-entity')">js</a>
<a id="vb" data-consent-category="necessary" data-consent-href="vbscript:msgbox(1)">vb</a>
<a id="data-link" data-consent-category="necessary" data-consent-href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">data</a>
<a id="ok-rel" data-consent-category="necessary" data-consent-href="/next#top">relative</a>
<a id="ok-abs" data-consent-category="marketing" data-consent-href="https://example.org/">absolute</a>
<iframe id="frame-js" data-consent-category="statistics" data-consent-src="javascript:parent.hit('iframe-js')"></iframe>
<iframe id="frame-data" data-consent-category="statistics" data-consent-src="data:text/html,&lt;p&gt;x"></iframe>
<object id="object-js" data-consent-category="marketing" data-consent-data="javascript:parent.hit('object-js')"></object>
<embed id="embed-data" data-consent-category="marketing" data-consent-src="data:image/svg+xml,&lt;svg xmlns='http://www.w3.org/2000/svg' onload='parent.hit(1)'/&gt;">
<script id="script-data" type="text/plain" data-consent-category="statistics" data-consent-src="data:text/javascript,window.hit('script-data')"></script>
<script id="script-js" type="text/plain" data-consent-category="statistics" data-consent-src="javascript:window.hit('script-js')"></script>
<img id="img-srcset" data-consent-category="marketing" data-consent-src="/ok.gif" data-consent-srcset="/ok.gif 1x, javascript:window.hit(2) 2x" alt="">
<img id="img-data" data-consent-category="marketing" data-consent-src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-consent-srcset="data:image/gif;base64,R0lGODlhAQABAAAAACw= 1x, /ok.gif 2x" alt="">
<picture><source id="source-data" data-consent-category="marketing" data-consent-srcset="data:image/gif;base64,R0lGODlhAQABAAAAACw=,/ok.gif 2x"><img alt=""></picture>
<script id="script-ok" type="text/plain" data-consent-category="statistics" data-consent-src="/ok.js"></script>
</body></html>`

// Restoring never creates a script or document the page did not have: only
// http(s) and relative URLs come back, data: only as an image.
func TestRestoringKeepsUnsafeURLsInert(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	cfg := testConfig()
	b := mustNew(t, cfg)
	st := State{Lang: "en", Decided: true, Accepted: rules.AllSet}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if serveAsset(w, r, b, cfg.Prefix) {
			return
		}
		switch r.URL.Path {
		case "/ok.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, `window.hit('script-ok');`)
		case "/ok.gif":
			w.Header().Set("Content-Type", "image/gif")
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, restorePage, b.HeadStart(st), b.BodyStart(st))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	browser := browsertest.Start(t, browsertest.Options{})
	tb := newTab(t, browser)
	tb.Open(srv.URL + "/")
	tb.WaitFor("the safe script", `window.hits.indexOf('script-ok') >= 0`)
	// Follow every link the way a visitor would; a javascript: one would
	// run in the page.
	evalJS[bool](tb, `Array.from(document.querySelectorAll('a[id^=js], a#vb, a#data-link')).forEach(function (a) { a.click(); }), true`)
	tb.WaitFor("a moment for anything that would run", `new Promise(function (r) { setTimeout(function () { r(true); }, 300); })`)
	if got := evalJS[string](tb, `window.hits.join(' ')`); got != "script-ok" {
		t.Errorf("ran %q, want only the safe script", got)
	}
	for id, want := range map[string]string{
		"js": "", "js-case": "", "js-entity": "", "vb": "", "data-link": "",
		"ok-rel": "/next#top", "ok-abs": "https://example.org/",
	} {
		if got := evalJS[string](tb, `document.getElementById('`+id+`').getAttribute('href') || ''`); got != want {
			t.Errorf("#%s has href %q, want %q", id, got, want)
		}
	}
	for _, c := range []struct{ id, attr, want string }{
		{"frame-js", "src", ""},
		{"frame-data", "src", ""},
		{"object-js", "data", ""},
		{"embed-data", "src", ""},
		{"script-data", "src", ""},
		{"script-js", "src", ""},
		{"img-srcset", "srcset", ""},
		{"img-data", "src", "data:image/gif;base64,R0lGODlhAQABAAAAACw="},
		{"source-data", "srcset", "data:image/gif;base64,R0lGODlhAQABAAAAACw=,/ok.gif 2x"},
	} {
		got := evalJS[string](tb, `(document.getElementById('`+c.id+`') || {getAttribute: function () { return 'gone'; }}).getAttribute('`+c.attr+`') || ''`)
		if got != c.want {
			t.Errorf("#%s has %s %q, want %q", c.id, c.attr, got, c.want)
		}
	}
}

// serveAsset answers a request for one of b's assets under prefix, and
// reports whether it did.
func serveAsset(w http.ResponseWriter, r *http.Request, b *Banner, prefix string) bool {
	rest, ok := strings.CutPrefix(r.URL.Path, prefix)
	if !ok {
		return false
	}
	for _, a := range b.Assets() {
		if a.Name == rest {
			w.Header().Set("Content-Type", a.ContentType)
			w.Write(a.Body)
			return true
		}
	}
	return false
}
