package scan

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testSite is a loopback web server that answers for several host names,
// so one server plays the site and the third parties it loads. Tests reach
// it under any host name: the static scan through a client whose dialer
// sends every host to it, the browser through Chromium's host resolver
// rules.
type testSite struct {
	srv  *httptest.Server
	port string

	mu          sync.Mutex
	hits        map[string]int  // "host/path" -> requests
	userAgents  map[string]bool // of requests to site.test
	inflight    int             // requests being served
	maxInflight int
	// pairUp makes each page request wait (up to 2 s) until another one is
	// being served too, so concurrent workers meet whatever the scheduler
	// does, and a lone worker is seen as one.
	pairUp  bool
	slowHit chan struct{} // receives when /slow is requested
}

// secret is in every cookie value the site sets: it must never show up in
// a report.
const secret = "s3cr3t-cookie-value"

// Pages of site.test. {P} is replaced by the server's port, so the URLs
// work in the browser too, where the port is not rewritten.
var sitePages = map[string]string{
	"/": `<!doctype html><html><head><title>Home</title>
<script async src="http://www.googletagmanager.com:{P}/gtag/js?id=G-TEST123"></script>
<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);} gtag('js', new Date()); gtag('config', 'G-TEST123');</script>
<script>!function(f,b,e,v,n,t,s){n=f.fbq=function(){};}(window, document,'script','https://connect.facebook.net/en_US/fbevents.js'); fbq('init', '123'); fbq('track', 'PageView');</script>
<script src="/js/matomo.js"></script>
<script src="/js/app.js"></script>
<script type="application/ld+json">{"@context": "https://schema.org", "name": "gtag(ga("}</script>
<link rel="preconnect" href="http://fonts.gstatic.com:{P}">
<link rel="stylesheet" href="/css/site.css">
</head><body>
<noscript><img height="1" width="1" style="display:none" src="http://www.facebook.com:{P}/tr?id=123&ev=PageView&noscript=1"></noscript>
<img src="/logo.png">
<a href="/a">A</a> <a href="/a#comments">A again</a> <a href="/b">B</a> <a href="/loop-a">loop</a>
<a href="/doc.pdf">a PDF</a> <a href="/data">data</a> <a href="/slow">slow</a> <a href="/old">moved</a>
<a href="mailto:info@site.test">mail</a> <a href="javascript:void(0)">js</a> <a href="#top">top</a>
<a href="http://other.test:{P}/elsewhere">another site</a> <a href="http://[::1">broken</a>
</body></html>`,
	"/a": `<html><head><script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],j=d.createElement(s);j.async=true;j.src='https://www.googletagmanager.com/gtm.js?id='+i;f.parentNode.insertBefore(j,f);})(window,document,'script','dataLayer','GTM-TEST');</script></head>
<body><noscript><iframe src="http://www.googletagmanager.com:{P}/ns.html?id=GTM-TEST" height="0" width="0"></iframe></noscript>
<a href="/">home</a> <a href="/deep1">deeper</a></body></html>`,
	"/b": `<html><body><iframe width="560" height="315" src="http://www.youtube.com:{P}/embed/dQw4w9WgXcQ"></iframe>
<script src="http://cdn.unknown-tracker.test:{P}/t.js"></script>
<script src="http://cdn.mxpnl.com:{P}/libs/mixpanel-2-latest.min.js"></script>
<a href="/">home</a></body></html>`,
	"/hop":         `<html><body><a href="/away">away</a></body></html>`,
	"/loop-a":      `<html><body><a href="/loop-b">to B</a></body></html>`,
	"/loop-b":      `<html><body><a href="/loop-a">back to A</a> <a href="http://site.test:{P}/loop-a#x">A, absolute</a></body></html>`,
	"/deep1":       `<html><body><a href="/deep2">deeper</a></body></html>`,
	"/deep2":       `<html><body><a href="/deep3">deeper</a></body></html>`,
	"/deep3":       `<html><body><a href="/deep4">deeper</a></body></html>`,
	"/deep4":       `<html><body><a href="/deep5">deeper</a></body></html>`,
	"/deep5":       `<html><body>the bottom</body></html>`,
	"/malformed":   `<html><body><div><p><script src="http://cdn.unknown-tracker.test:{P}/m.js"><table><tr><td><iframe src="http://www.youtube.com:{P}/embed/x"><<<>>>&&&;<a href="/a`,
	"/browser":     browserPage,
	"/rendered":    `<html><body>only linked from the rendered page</body></html>`,
	"/js-redirect": `<html><body>nothing</body></html>`,
}

// browserPage injects a third-party script and sets a cookie at run time,
// and adds a link that only the rendered DOM has.
const browserPage = `<!doctype html><html><head>
<script async src="http://www.googletagmanager.com:{P}/gtag/js?id=G-TEST123"></script>
<script>
var s = document.createElement("script");
s.src = "http://cdn.injected-ads.test:{P}/inject.js";
document.head.appendChild(s);
document.cookie = "js_pref=` + secret + `; path=/; max-age=3600";
document.addEventListener("DOMContentLoaded", function () {
  var a = document.createElement("a");
  a.href = "/rendered";
  a.textContent = "rendered";
  document.body.appendChild(a);
});
</script></head><body><p>Browser test page</p></body></html>`

func newTestSite(t *testing.T) *testSite {
	t.Helper()
	ts := &testSite{hits: make(map[string]int), userAgents: make(map[string]bool), slowHit: make(chan struct{}, 1)}
	ts.srv = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.srv.Close)
	_, ts.port, _ = net.SplitHostPort(ts.srv.Listener.Addr().String())
	return ts
}

// url returns a URL of the site under a host name.
func (ts *testSite) url(host, path string) string {
	return "http://" + host + ":" + ts.port + path
}

func (ts *testSite) hitsOf(host, path string) int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.hits[host+path]
}

// client returns an HTTP client that reaches the test server whatever host
// a URL names.
func (ts *testSite) client() *http.Client {
	addr := ts.srv.Listener.Addr().String()
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

func (ts *testSite) serve(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	ts.mu.Lock()
	ts.hits[host+r.URL.Path]++
	ts.inflight++
	ts.maxInflight = max(ts.maxInflight, ts.inflight)
	if host == "site.test" {
		ts.userAgents[r.UserAgent()] = true
	}
	pairUp := ts.pairUp && host == "site.test" && r.URL.Path != "/"
	ts.mu.Unlock()
	defer func() {
		ts.mu.Lock()
		ts.inflight--
		ts.mu.Unlock()
	}()
	for deadline := time.Now().Add(2 * time.Second); pairUp && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		ts.mu.Lock()
		met := ts.maxInflight >= 2
		ts.mu.Unlock()
		if met {
			break
		}
	}

	switch host {
	case "site.test":
		ts.serveSite(w, r)
	case "old.test":
		http.Redirect(w, r, ts.url("site.test", "/deep1"), http.StatusMovedPermanently)
	case "www.googletagmanager.com":
		w.Header().Set("Content-Type", "text/javascript")
		// Like gtag.js, set the analytics cookie from JavaScript.
		w.Write([]byte(`document.cookie = "_ga=GA1.1.` + secret + `; path=/; max-age=63072000";`))
	case "cdn.injected-ads.test":
		if r.URL.Path == "/inject.js" {
			w.Header().Set("Content-Type", "text/javascript")
			w.Write([]byte(strings.ReplaceAll(`new Image().src = "http://px.injected-ads.test:{P}/px.gif?e=view";
navigator.sendBeacon("http://cdn.injected-ads.test:{P}/collect", "e=view");`, "{P}", ts.port)))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "www.youtube.com":
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<html><body>player</body></html>`))
	default:
		w.Header().Set("Content-Type", "image/gif")
		w.Write([]byte("GIF89a"))
	}
}

func (ts *testSite) serveSite(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/":
		http.SetCookie(w, &http.Cookie{Name: "_ga", Value: "GA1.1." + secret, Domain: "site.test", Path: "/", MaxAge: 63072000})
		http.SetCookie(w, &http.Cookie{Name: "cgtest_visitor", Value: secret, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		http.SetCookie(w, &http.Cookie{Name: "mp_0123abcd_mixpanel", Value: secret, Path: "/"})
	case "/slow":
		select {
		case ts.slowHit <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		return
	case "/old":
		http.SetCookie(w, &http.Cookie{Name: "moved_from", Value: secret, Path: "/"})
		http.Redirect(w, r, "/b", http.StatusMovedPermanently)
		return
	case "/away":
		http.Redirect(w, r, ts.url("other.test", "/"), http.StatusFound)
		return
	case "/data":
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"a": "<a href=\"/never\">"}`))
		return
	case "/doc.pdf":
		w.Header().Set("Content-Type", "application/pdf")
		w.Write([]byte("%PDF-1.4"))
		return
	case "/huge":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(`<html><body><a href="/a">A</a><script src="http://cdn.unknown-tracker.test:` + ts.port + `/huge.js"></script>`))
		chunk := []byte(strings.Repeat("<p>filler filler filler</p>\n", 1024))
		for written := 0; written < MaxBodyBytes+len(chunk); written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
		w.Write([]byte(`<a href="/b">B, past the cap</a></body></html>`))
		return
	case "/js/matomo.js", "/js/app.js":
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte("/* first party */"))
		return
	}
	page, ok := sitePages[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(strings.ReplaceAll(page, "{P}", ts.port)))
}
