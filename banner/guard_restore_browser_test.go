package banner

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/consentgate/consentgate/internal/browsertest"
	"github.com/consentgate/consentgate/rules"
)

// guardRestorePage holds, through the runtime guard, elements a page
// script creates out of the document, then lets the script point the
// held URL somewhere else before consent arrives.
const guardRestorePage = `<!doctype html>
<html lang="en"><head>%s<meta charset="utf-8"><title>guard restore</title>
<script>window.hits = []; window.hit = function (x) { window.hits.push(x); };</script>
%s</head><body>%s
<script src="/page.js"></script>
</body></html>`

const guardRestoreScript = `
window.held = {};
function make(tag, attr, url, forged) {
	var el = document.createElement(tag);
	el.setAttribute(attr, url);
	if (forged !== null) {
		el.setAttribute('data-consent-' + attr, forged);
	}
	return el;
}
var gtag = 'https://www.googletagmanager.com/gtag/js?id=G-GUARD';
held['script-js'] = make('script', 'src', gtag, "javascript:window.hit('script-js')");
held['script-data'] = make('script', 'src', gtag, "data:text/javascript,window.hit('script-data')");
held['script-case'] = make('script', 'src', gtag, " JaVa\tScRiPt:window.hit('script-case')");
held['frame-js'] = make('iframe', 'src', 'https://www.youtube.com/embed/guard', "javascript:parent.hit('frame-js')");
held['img-srcset'] = make('img', 'srcset', 'https://www.facebook.com/tr?id=1 1x', "/ok.gif 1x, javascript:window.hit('img') 2x");
held['img-data'] = make('img', 'src', 'https://www.facebook.com/tr?id=2', 'data:image/gif;base64,R0lGODlhAQABAAAAACw=');
held['script-ok'] = make('script', 'src', gtag, null);
window.marked = Object.keys(held).filter(function (k) { return held[k].hasAttribute('data-consent-category'); }).sort().join(' ');
`

// The runtime guard restores what it held by the banner script's rule:
// only http(s) and relative URLs, data: only as an image; a URL a page
// script swapped in for javascript: or a data: script stays inert.
func TestGuardRestoresOnlySafeURLs(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	b, _ := guardBanner(t, defaultGuardRules(t), GuardConfig{})
	cfg := testConfig()
	st := State{Lang: "en", Accepted: rules.OnlyNecessary}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if serveAsset(w, r, b, cfg.Prefix) {
			return
		}
		switch r.URL.Path {
		case "/page.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, guardRestoreScript)
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, guardRestorePage, b.Guard(st), b.HeadStart(st), b.BodyStart(st))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	browser := browsertest.Start(t, browsertest.Options{})
	tb := newTab(t, browser)
	tb.Open(srv.URL + "/")
	if got, want := evalJS[string](tb, `window.marked`), "frame-js img-data img-srcset script-case script-data script-js script-ok"; got != want {
		t.Fatalf("the guard held %q, want %q", got, want)
	}
	evalJS[bool](tb, `document.getElementById('consentgate').dispatchEvent(new CustomEvent('consentgate:consent',
		{detail: 'necessary statistics preferences marketing unclassified'})), true`)
	for _, c := range []struct{ id, attr, want string }{
		{"script-js", "src", ""},
		{"script-data", "src", ""},
		{"script-case", "src", ""},
		{"frame-js", "src", ""},
		{"img-srcset", "srcset", ""},
		{"img-data", "src", "data:image/gif;base64,R0lGODlhAQABAAAAACw="},
		{"script-ok", "src", "https://www.googletagmanager.com/gtag/js?id=G-GUARD"},
	} {
		if got := evalJS[string](tb, `held['`+c.id+`'].getAttribute('`+c.attr+`') || ''`); got != c.want {
			t.Errorf("%s has %s %q after consent, want %q", c.id, c.attr, got, c.want)
		}
	}
	// Put in the page, the ones kept inert do not run.
	evalJS[bool](tb, `['script-js', 'script-data', 'script-case', 'frame-js'].forEach(function (k) { document.body.appendChild(held[k]); }), true`)
	tb.WaitFor("a moment for anything that would run", `new Promise(function (r) { setTimeout(function () { r(true); }, 300); })`)
	if got := evalJS[string](tb, `window.hits.join(' ')`); got != "" {
		t.Errorf("ran %q", got)
	}
}
