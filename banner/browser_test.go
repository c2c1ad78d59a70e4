package banner

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/consentgate/consentgate/internal/browsertest"
	"github.com/consentgate/consentgate/rewrite"
	"github.com/consentgate/consentgate/rules"
)

// The browser tests run the banner in headless Chromium against a test site
// that goes through the real rewriter. Tracker stand-ins push to
// window.order; the Google and YouTube hosts are served by the test server
// acting as the browser's HTTP proxy, so nothing leaves the machine.

const testNonce = "dGVzdG5vbmNl"

// testPage is the site's page. Its own stylesheet is hostile on purpose
// (upper-case, pink buttons) to show the banner's styles hold.
const testPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Bakkerij De Korenschoof</title>
<script nonce="` + testNonce + `">window.order = []; window.csp = []; window.errs = [];
document.addEventListener('securitypolicyviolation', function (e) { window.csp.push(e.violatedDirective + ' ' + e.blockedURI); });
window.addEventListener('error', function (e) { window.errs.push(String(e.message)); });
window.addEventListener('unhandledrejection', function (e) { window.errs.push(String(e.reason)); });</script>
<script async src="http://www.googletagmanager.com/gtag/js?id=G-TEST"></script>
<link id="fonts" rel="stylesheet" data-consent-category="preferences" data-consent-href="/t/fonts.css">
<style>
body { margin: 0; font: 17px/1.6 Georgia, serif; background: #fbf7ef; color: #2b2118; }
main { max-width: 44rem; margin: 0 auto; padding: 1rem; }
button { text-transform: uppercase; letter-spacing: 3px; background: hotpink; border-radius: 0; }
p, h2 { margin: 2rem 0; }
div { padding: 3px; }
</style>
</head>
<body>
<main>
<h1>Bakkerij De Korenschoof</h1>
<p>Every morning at six the ovens are warm. Sourdough, spelt, rye and currant buns, baked on the Korenschoof since 1921.
<a id="footer-settings" href="#cookie-settings">Manage cookies</a></p>
<script type="text/plain" data-consent-category="statistics" data-consent-src="/t/stats.js"></script>
<script type="text/plain" data-consent-category="statistics">window.order.push('inline-after-stats')</script>
<script type="text/plain" data-consent-category="marketing" data-consent-src="/t/mkt.js"></script>
<script type="text/plain" data-consent-category="marketing">window.order.push('inline-after-mkt')</script>
<script type="text/plain" data-consent-category="preferences">window.order.push('prefs')</script>
<script type="text/plain" data-consent-category="statistics marketing">window.order.push('stats+mkt')</script>
<img id="pixel" data-consent-category="marketing" data-consent-src="/t/pixel.svg" data-consent-srcset="/t/pixel.svg 1x" alt="" width="1" height="1">
<iframe id="video" width="560" height="315" src="http://www.youtube-nocookie.com/embed/abc123" title="Video: kneading dough"></iframe>
<p>Orders for Saturday close on Thursday evening.</p>
</main>
</body>
</html>
`

// testSite is the site and a fake of the consent endpoint.
type testSite struct {
	banner  *Banner
	rewrite *rewrite.Config
	srv     *httptest.Server
	fail    atomic.Bool

	mu        sync.Mutex
	hits      map[string]int
	decisions []string
}

const testCookie = "cg_test"

func newTestSite(t *testing.T) *testSite {
	t.Helper()
	f, err := rules.DefaultFile()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(rules.AllSet, f)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.ConsentMode = true
	cfg.VendorNames = VendorNamesOf(rs)
	cfg.PolicyURL = "/privacy"
	s := &testSite{banner: mustNew(t, cfg), rewrite: &rewrite.Config{Rules: rs}, hits: make(map[string]int)}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *testSite) hit(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[key]
}

func (s *testSite) decisionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.decisions)
}

func (s *testSite) lastDecision() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.decisions) == 0 {
		return ""
	}
	return s.decisions[len(s.decisions)-1]
}

func (s *testSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	s.mu.Lock()
	s.hits[host+r.URL.Path]++
	s.mu.Unlock()
	switch host {
	case "www.googletagmanager.com": // through the proxy
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `window.order.push('gtag'); window.gtagSaw = JSON.stringify(Array.from(window.dataLayer || [], function (a) { return Array.from(a); }));`)
		return
	case "www.youtube-nocookie.com":
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><title>video</title><p>A video.`)
		return
	}
	prefix := s.banner.cfg.Prefix
	if rest, ok := strings.CutPrefix(r.URL.Path, prefix); ok {
		if rest == "consent" && r.URL.Query().Get("view") == "settings" {
			s.settingsPage(w, r)
			return
		}
		if rest == "consent" {
			s.consent(w, r)
			return
		}
		for _, a := range s.banner.Assets() {
			if a.Name == rest {
				w.Header().Set("Content-Type", a.ContentType)
				w.Write(a.Body)
				return
			}
		}
		http.NotFound(w, r)
		return
	}
	switch r.URL.Path {
	case "/t/stats.js":
		time.Sleep(300 * time.Millisecond) // so a script that did not wait would run first
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `window.order.push('stats-external');`)
	case "/t/mkt.js":
		time.Sleep(100 * time.Millisecond)
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, `window.order.push('mkt-external');`)
	case "/t/fonts.css":
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, `h1 { letter-spacing: 1px; }`)
	case "/t/pixel.svg":
		w.Header().Set("Content-Type", "image/svg+xml")
		fmt.Fprint(w, `<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>`)
	case "/", "/page":
		s.page(w, r)
	default:
		http.NotFound(w, r)
	}
}

// state reads the fake consent cookie: the accepted categories joined by
// dots.
func (s *testSite) state(r *http.Request) (bool, rules.Set) {
	c, err := r.Cookie(testCookie)
	if err != nil {
		return false, rules.OnlyNecessary
	}
	set := rules.OnlyNecessary
	for _, name := range strings.Split(c.Value, ".") {
		if cat, err := rules.ParseCategory(name); err == nil {
			set = set.With(cat)
		}
	}
	return true, set
}

func (s *testSite) page(w http.ResponseWriter, r *http.Request) {
	decided, accepted := s.state(r)
	st := State{
		Lang:       s.banner.Language(r.Header.Get("Accept-Language"), r.URL.Query().Get("lang")),
		Decided:    decided,
		Accepted:   accepted,
		GPC:        r.Header.Get("Sec-GPC") == "1",
		ReturnPath: r.URL.RequestURI(),
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	csp := "script-src 'self' 'nonce-" + testNonce + "' http://www.googletagmanager.com"
	switch r.URL.Query().Get("tt") {
	case "policy": // Trusted Types required; any policy may be made
		csp += "; require-trusted-types-for 'script'"
	case "none": // required, and no policy may be made
		csp += "; require-trusted-types-for 'script'; trusted-types 'none'"
	}
	w.Header().Set("Content-Security-Policy", csp)
	rw := rewrite.New(w, s.rewrite, rewrite.Page{
		Accepted:  accepted,
		Host:      r.Host,
		HeadStart: s.banner.HeadStart(st),
		HeadEnd:   s.banner.HeadEnd(st),
		BodyStart: s.banner.BodyStart(st),
	})
	rw.Write([]byte(testPage))
	rw.Close()
}

// settingsPage serves the settings page as the gateway does.
func (s *testSite) settingsPage(w http.ResponseWriter, r *http.Request) {
	decided, accepted := s.state(r)
	out, err := s.banner.SettingsPage(State{
		Lang:       s.banner.Language(r.Header.Get("Accept-Language"), r.URL.Query().Get("lang")),
		Decided:    decided,
		Accepted:   accepted,
		ReturnPath: r.URL.Query().Get("return"),
	}, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'")
	w.Write(out)
}

// consent fakes the lead's consent endpoint (see the package doc).
func (s *testSite) consent(w http.ResponseWriter, r *http.Request) {
	writeJSON := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	decided, old := s.state(r)
	offered := rules.SetOf(s.banner.cats...)
	answer := func(decided bool, set rules.Set, withdrawn rules.Set) map[string]any {
		cats := map[string]bool{}
		for _, c := range offered.With(rules.Necessary).Categories() {
			cats[c.String()] = set.Has(c)
		}
		w := []string{}
		for _, c := range withdrawn.Categories() {
			w = append(w, c.String())
		}
		return map[string]any{"decided": decided, "id": "test-consent", "categories": cats,
			"policy_version": "1", "time": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "withdrawn": w}
	}
	switch r.Method {
	case http.MethodGet:
		writeJSON(http.StatusOK, answer(decided, old, 0))
		return
	case http.MethodPost:
	default:
		writeJSON(http.StatusMethodNotAllowed, map[string]string{"error": "method"})
		return
	}
	if s.fail.Load() {
		writeJSON(http.StatusServiceUnavailable, map[string]string{"error": "unavailable"})
		return
	}
	var req struct {
		Action     string   `json:"action"`
		Categories []string `json:"categories"`
		Vendor     string   `json:"vendor"`
		Always     bool     `json:"always"`
	}
	form := !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json")
	if form {
		if err := r.ParseForm(); err != nil {
			writeJSON(http.StatusBadRequest, map[string]string{"error": "form"})
			return
		}
		req.Action, req.Categories = r.PostForm.Get("action"), r.PostForm["category"]
	} else if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(http.StatusBadRequest, map[string]string{"error": "json"})
		return
	}
	set := rules.OnlyNecessary
	switch req.Action {
	case "embed":
		// The page view's grant of one service; the fake keeps no
		// lasting services.
		s.mu.Lock()
		s.decisions = append(s.decisions, fmt.Sprintf("json embed %s always=%t", req.Vendor, req.Always))
		s.mu.Unlock()
		a := answer(decided, old, 0)
		a["embed"] = req.Vendor
		writeJSON(http.StatusOK, a)
		return
	case "accept_all":
		set |= offered
	case "reject_all":
	case "save":
		for _, name := range req.Categories {
			if c, err := rules.ParseCategory(name); err == nil && offered.Has(c) {
				set = set.With(c)
			}
		}
	default:
		writeJSON(http.StatusBadRequest, map[string]string{"error": "action"})
		return
	}
	var withdrawn rules.Set
	if decided {
		withdrawn = old &^ set
	}
	kind := "json"
	if form {
		kind = "form"
	}
	s.mu.Lock()
	s.decisions = append(s.decisions, fmt.Sprintf("%s %s: %s", kind, req.Action, set))
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: testCookie, Value: strings.ReplaceAll(set.String(), " ", "."), Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if form {
		ret := r.PostForm.Get("return")
		if !strings.HasPrefix(ret, "/") || strings.HasPrefix(ret, "//") {
			ret = "/"
		}
		http.Redirect(w, r, ret, http.StatusSeeOther)
		return
	}
	writeJSON(http.StatusOK, answer(true, set, withdrawn))
}

// tab is a browser tab (internal/browsertest) with this site's steps.
type tab struct{ *browsertest.Tab }

func newTab(t *testing.T, browser context.Context) *tab {
	return &tab{browsertest.NewTab(t, browser)}
}

func evalJS[T any](tb *tab, expr string) T {
	tb.T.Helper()
	return browsertest.Eval[T](tb.Tab, expr)
}

// order returns window.order without the async Google tag, whose place
// depends on the network.
func (tb *tab) order() []string {
	tb.T.Helper()
	return evalJS[[]string](tb, `window.order.filter(function (x) { return x !== 'gtag'; })`)
}

const (
	acceptAll    = `#consentgate .cg-banner button[value=accept_all]`
	rejectAll    = `#consentgate .cg-banner button[value=reject_all]`
	openSettings = `#consentgate .cg-banner [data-cg-open]`
	saveSettings = `#consentgate .cg-settings button[value=save]`
	dialogOpen   = `!!document.querySelector('#consentgate .cg-settings[open]')`
	bannerShown  = `(function (b) { return !!b && !b.hidden; })(document.querySelector('#consentgate .cg-banner'))`
)

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	site := newTestSite(t)
	browser := browsertest.Start(t, browsertest.Options{Proxy: site.srv.URL})
	home := site.srv.URL + "/"

	t.Run("nothing runs before a decision", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.Open(home)
		tb.WaitFor("the banner", bannerShown)
		time.Sleep(500 * time.Millisecond)
		if got := evalJS[[]string](tb, `window.order`); len(got) != 0 {
			t.Errorf("ran before a decision: %v", got)
		}
		for _, p := range []string{"/t/stats.js", "/t/fonts.css", "/t/pixel.svg"} {
			if n := site.hit("127.0.0.1" + p); n != 0 {
				t.Errorf("%s was fetched %d times", p, n)
			}
		}
		if evalJS[bool](tb, `!!document.getElementById('video').getAttribute('src')`) {
			t.Error("the video iframe has its src")
		}
		if evalJS[bool](tb, `getComputedStyle(document.querySelector('#consentgate .cg-toggle')).display !== 'none'`) {
			t.Error("the persistent control shows while the banner does")
		}
		if got := evalJS[string](tb, `document.documentElement.lang + ' ' + document.getElementById('consentgate').lang`); got != "en en" {
			t.Errorf("languages: %s", got)
		}
	})

	t.Run("accept all runs everything in document order without reload", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.Open(home)
		tb.Do(chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`), chromedp.Click(chromedp.CSS(acceptAll)))
		tb.WaitFor("all trackers", `window.order.length >= 7`)
		want := []string{"stats-external", "inline-after-stats", "mkt-external", "inline-after-mkt", "prefs", "stats+mkt"}
		if got := tb.order(); !slices.Equal(got, want) {
			t.Errorf("order = %v\nwant    %v", got, want)
		}
		if !evalJS[bool](tb, `window.order.indexOf('gtag') >= 0`) {
			t.Error("the Google tag did not run")
		}
		if !evalJS[bool](tb, `window.notReloaded === true`) {
			t.Error("the page reloaded")
		}
		restored := `(function () { var l = document.getElementById('fonts'), i = document.getElementById('pixel');
			return l.getAttribute('href') === '/t/fonts.css' && !l.hasAttribute('data-consent-href') &&
				i.getAttribute('src') === '/t/pixel.svg' && i.getAttribute('srcset') === '/t/pixel.svg 1x' &&
				getComputedStyle(document.querySelector('h1')).letterSpacing === '1px' && i.complete && i.naturalWidth === 1; })()`
		tb.WaitFor("the stylesheet and image", restored)
		if evalJS[bool](tb, bannerShown) {
			t.Error("the banner still shows")
		}
		if !evalJS[bool](tb, `getComputedStyle(document.querySelector('#consentgate .cg-toggle')).display !== 'none'`) {
			t.Error("the persistent control does not show")
		}
		if got := evalJS[string](tb, `document.activeElement.className`); got != "cg-toggle" {
			t.Errorf("focus went to %q, want the persistent control", got)
		}
		if evalJS[bool](tb, `!!document.querySelector('#consentgate .cg-settings')`) {
			t.Error("the settings dialog was fetched before it was asked for")
		}
		// The dialog, fetched now, shows the choice just made.
		tb.Do(chromedp.Click(chromedp.CSS(`#consentgate .cg-toggle`)))
		tb.WaitFor("the dialog", dialogOpen)
		if got := evalJS[[]string](tb, `Array.from(document.querySelectorAll('#consentgate input[name=category]:checked'), function (x) { return x.value; })`); !slices.Equal(got, []string{"necessary", "statistics", "preferences", "marketing"}) {
			t.Errorf("checked boxes after accepting all: %v", got)
		}
		tb.Do(chromedp.KeyEvent(kb.Escape))
		tb.WaitFor("the dialog to close", `!(`+dialogOpen+`)`)
		if got := site.lastDecision(); got != "json accept_all: necessary statistics preferences marketing" {
			t.Errorf("the endpoint got %q", got)
		}
		if got := evalJS[[]string](tb, `window.csp`); len(got) != 0 {
			t.Errorf("CSP violations: %v", got)
		}
		// The next page load has it all from the server.
		tb.Open(home)
		tb.WaitFor("trackers after reload", `window.order.length >= 7`)
		if evalJS[bool](tb, bannerShown) {
			t.Error("the banner shows again after deciding")
		}
	})

	t.Run("reject all runs nothing", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.Open(home)
		tb.Do(chromedp.Click(chromedp.CSS(rejectAll)))
		tb.WaitFor("the banner to go", `!(`+bannerShown+`)`)
		time.Sleep(700 * time.Millisecond)
		if got := evalJS[[]string](tb, `window.order`); len(got) != 0 {
			t.Errorf("ran after rejecting: %v", got)
		}
		if got := site.lastDecision(); got != "json reject_all: necessary" {
			t.Errorf("the endpoint got %q", got)
		}
		if evalJS[bool](tb, `!!document.getElementById('video').getAttribute('src')`) {
			t.Error("the video loaded")
		}
	})

	t.Run("settings with only statistics runs only statistics", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.Open(home)
		tb.Do(chromedp.Click(chromedp.CSS(openSettings)))
		tb.WaitFor("the dialog", dialogOpen)
		tb.Do(chromedp.Click(chromedp.CSS(`label[for=cg-cat-statistics]`)), chromedp.Click(chromedp.CSS(saveSettings)))
		tb.WaitFor("statistics", `window.order.indexOf('inline-after-stats') >= 0 && window.order.indexOf('gtag') >= 0`)
		time.Sleep(500 * time.Millisecond)
		if got := tb.order(); !slices.Equal(got, []string{"stats-external", "inline-after-stats"}) {
			t.Errorf("order = %v", got)
		}
		if evalJS[bool](tb, dialogOpen) || evalJS[bool](tb, bannerShown) {
			t.Error("the dialog or banner still shows")
		}
		if got := site.lastDecision(); got != "json save: necessary statistics" {
			t.Errorf("the endpoint got %q", got)
		}
	})

	t.Run("withdrawing a category reloads the page", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.Open(home)
		tb.Do(chromedp.Click(chromedp.CSS(acceptAll)))
		tb.WaitFor("all trackers", `window.order.length >= 7`)
		tb.Do(chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`),
			chromedp.Click(chromedp.CSS(`#consentgate .cg-toggle`)))
		tb.WaitFor("the dialog", dialogOpen)
		if !evalJS[bool](tb, `document.getElementById('cg-cat-marketing').checked`) {
			t.Fatal("marketing is not ticked after accepting all")
		}
		_, err := chromedp.Run(tb.Ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Steps(
			chromedp.Click(chromedp.CSS(`label[for=cg-cat-marketing]`)),
			chromedp.Click(chromedp.CSS(saveSettings)),
		)))
		if err != nil {
			t.Fatalf("waiting for the reload: %v", err)
		}
		tb.WaitFor("the script after reload", `document.getElementById('consentgate').hasAttribute('data-cg-ready') && window.order.indexOf('prefs') >= 0`)
		if evalJS[bool](tb, `window.notReloaded === true`) {
			t.Error("the page did not reload")
		}
		time.Sleep(500 * time.Millisecond)
		if got := tb.order(); !slices.Equal(got, []string{"stats-external", "inline-after-stats", "prefs"}) {
			t.Errorf("order after withdrawing marketing = %v", got)
		}
		if got := site.lastDecision(); got != "json save: necessary statistics preferences" {
			t.Errorf("the endpoint got %q", got)
		}
	})

	t.Run("a blocked embed shows a placeholder that loads it", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.Open(home)
		tb.WaitFor("the placeholder", `document.querySelector('.cg-placeholder')`)
		size := evalJS[[]float64](tb, `(function () { var r = document.querySelector('.cg-placeholder').getBoundingClientRect(); return [r.width, r.height]; })()`)
		if size[0] != 560 || size[1] != 315 {
			t.Errorf("placeholder is %vx%v, want 560x315", size[0], size[1])
		}
		text := evalJS[string](tb, `document.querySelector('.cg-placeholder p').textContent`)
		if text != "This content is hosted by YouTube. Loading it shares data with them (Marketing)." {
			t.Errorf("placeholder says %q", text)
		}
		if !evalJS[bool](tb, `document.querySelector('.cg-placeholder').nextElementSibling.id === 'video' && getComputedStyle(document.getElementById('video')).display === 'none'`) {
			t.Error("the placeholder is not in the iframe's place")
		}
		tb.Do(chromedp.Click(chromedp.CSS(`.cg-placeholder button`)))
		// Exactly this service: no marketing script starts.
		defer func() {
			time.Sleep(300 * time.Millisecond)
			if got := tb.order(); len(got) != 0 {
				t.Errorf("after loading the video, ran %v", got)
			}
		}()
		tb.WaitFor("the video", `document.getElementById('video').getAttribute('src') === 'http://www.youtube-nocookie.com/embed/abc123' && !document.querySelector('.cg-placeholder')`)
		deadline := time.Now().Add(5 * time.Second)
		for site.hit("www.youtube-nocookie.com/embed/abc123") == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if site.hit("www.youtube-nocookie.com/embed/abc123") == 0 {
			t.Error("the video was not loaded")
		}
		if got := site.lastDecision(); got != "json embed youtube always=false" {
			t.Errorf("the endpoint got %q", got)
		}
		if !evalJS[bool](tb, `getComputedStyle(document.getElementById('video')).display !== 'none'`) {
			t.Error("the video stays hidden")
		}
	})

	t.Run("keyboard only", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.Open(home)
		focused := `(function (e) { return e.tagName.toLowerCase() + ':' + (e.value || e.textContent); })(document.activeElement)`
		var seen []string
		for range 4 {
			tb.Do(chromedp.KeyEvent(kb.Tab))
			seen = append(seen, evalJS[string](tb, focused))
		}
		want := []string{"a:Privacy statement", "button:accept_all", "button:reject_all", "a:Settings"}
		if !slices.Equal(seen, want) {
			t.Errorf("Tab reaches %v\nwant            %v", seen, want)
		}
		if style := evalJS[string](tb, `getComputedStyle(document.activeElement).outlineStyle + ' ' + getComputedStyle(document.activeElement).outlineWidth`); style != "solid 3px" {
			t.Errorf("the focused button's outline is %q", style)
		}
		// Enter opens the settings; focus goes in, stays in, Escape closes.
		tb.Do(chromedp.KeyEvent(kb.Enter))
		tb.WaitFor("the dialog", dialogOpen)
		if got := evalJS[string](tb, `document.activeElement.id`); got != "cg-settings-title" {
			t.Errorf("focus in the dialog is on %q, want its title", got)
		}
		tb.Do(chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab))
		if got := evalJS[string](tb, `document.activeElement.id`); got != "cg-cat-statistics" {
			t.Errorf("two Tabs into the dialog reach %q, want the first choice (after the policy link)", got)
		}
		for i := range 12 {
			tb.Do(chromedp.KeyEvent(kb.Tab))
			if !evalJS[bool](tb, `document.querySelector('#consentgate .cg-settings').contains(document.activeElement)`) {
				t.Fatalf("Tab %d left the dialog for %s", i+1, evalJS[string](tb, focused))
			}
		}
		tb.Do(chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
		if !evalJS[bool](tb, `document.querySelector('#consentgate .cg-settings').contains(document.activeElement)`) {
			t.Fatal("Shift+Tab left the dialog")
		}
		// A modal dialog gives focus back when it closes, and the banner's
		// close handler (a task later) does so again: wait for that, or a
		// Shift+Tab in between is undone.
		tb.Do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#consentgate .cg-settings').addEventListener('close', function () { window.cgClosed = true; }, {once: true})`),
			chromedp.KeyEvent(kb.Escape))
		tb.WaitFor("the dialog to close", `window.cgClosed && !(`+dialogOpen+`)`)
		tb.WaitFor("focus back on Settings", `document.activeElement.matches('#consentgate .cg-banner [data-cg-open]')`)
		// Back to Accept all, and Enter accepts.
		tb.Do(chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)),
			chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
		if got := evalJS[string](tb, focused); got != "button:accept_all" {
			t.Fatalf("Shift+Tab twice reached %s", got)
		}
		tb.Do(chromedp.KeyEvent(kb.Enter))
		tb.WaitFor("all trackers", `window.order.length >= 7`)
		if got := site.lastDecision(); got != "json accept_all: necessary statistics preferences marketing" {
			t.Errorf("the endpoint got %q", got)
		}
		tb.WaitFor("focus on the persistent control", `document.activeElement.classList.contains('cg-toggle')`)
		// The persistent control, a link, opens the settings with Enter,
		// too, and the rest of that key press does not submit them.
		before := site.decisionCount()
		tb.Do(chromedp.KeyEvent(kb.Enter))
		tb.WaitFor("the dialog", dialogOpen)
		time.Sleep(300 * time.Millisecond)
		if !evalJS[bool](tb, dialogOpen) || site.decisionCount() != before {
			t.Fatalf("Enter on the persistent control also sent %q", site.lastDecision())
		}
		tb.Do(chromedp.KeyEvent(kb.Escape))
		tb.WaitFor("focus back on the persistent control", `!(`+dialogOpen+`) && document.activeElement.classList.contains('cg-toggle')`)

		// In the settings, Space ticks a box and Enter saves: the form's
		// default button is Save, never Accept all.
		tb = newTab(t, browser)
		tb.Open(home)
		tb.Do(chromedp.Click(chromedp.CSS(openSettings)))
		tb.WaitFor("the dialog", dialogOpen)
		tb.Do(chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(" "), chromedp.KeyEvent(kb.Enter))
		tb.WaitFor("statistics", `window.order.indexOf('inline-after-stats') >= 0`)
		if got := site.lastDecision(); got != "json save: necessary statistics" {
			t.Errorf("Space and Enter on the first box sent %q", got)
		}
	})

	t.Run("links to the settings anchor open the settings", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.Open(home)
		tb.Do(chromedp.Click(chromedp.ID("footer-settings")))
		tb.WaitFor("the dialog", dialogOpen)
		tb.Do(chromedp.Click(chromedp.CSS(`#consentgate .cg-close-btn`)))
		tb.WaitFor("the dialog to close", `!(`+dialogOpen+`)`)
		if got := evalJS[string](tb, `document.activeElement.id`); got != "footer-settings" {
			t.Errorf("focus returned to %q, want the link", got)
		}
		// Arriving with the fragment opens it; closing drops the fragment.
		tb.Open(home + "?from=footer#cookie-settings")
		tb.WaitFor("the dialog", dialogOpen)
		tb.Do(chromedp.KeyEvent(kb.Escape))
		tb.WaitFor("the dialog to close and the fragment to go", `!(`+dialogOpen+`) && location.hash === ''`)
		if got := evalJS[string](tb, `location.search`); got != "?from=footer" {
			t.Errorf("the URL lost its query: %q", got)
		}
		// A hash change opens it too.
		tb.Do(chromedp.Evaluate[chromedp.Void](`location.hash = 'cookie-settings'`))
		tb.WaitFor("the dialog", dialogOpen)
	})

	t.Run("an endpoint error keeps the dialog open with a message", func(t *testing.T) {
		site.fail.Store(true)
		defer site.fail.Store(false)
		tb := newTab(t, browser)
		tb.Open(home)
		tb.Do(chromedp.Click(chromedp.CSS(acceptAll)))
		tb.WaitFor("the error", `!document.querySelector('#consentgate .cg-banner .cg-error').hidden`)
		if got := evalJS[string](tb, `document.querySelector('#consentgate .cg-banner .cg-error').textContent`); got != "Your choice could not be saved. Please try again." {
			t.Errorf("error says %q", got)
		}
		if !evalJS[bool](tb, bannerShown) {
			t.Error("the banner went away")
		}
		tb.Do(chromedp.Click(chromedp.CSS(openSettings)))
		tb.WaitFor("the dialog", dialogOpen)
		tb.Do(chromedp.Click(chromedp.CSS(saveSettings)))
		tb.WaitFor("the error in the dialog", `!document.querySelector('#consentgate .cg-settings .cg-error').hidden`)
		if !evalJS[bool](tb, dialogOpen) {
			t.Error("the dialog closed")
		}
		if got := evalJS[[]string](tb, `window.order`); len(got) != 0 {
			t.Errorf("ran after a failed decision: %v", got)
		}
	})

	t.Run("consent mode defaults come before any Google tag", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.Open(home)
		type entry = []json.RawMessage
		layer := evalJS[[]entry](tb, `Array.from(window.dataLayer, function (a) { return Array.from(a); })`)
		if len(layer) != 1 {
			t.Fatalf("dataLayer before a decision = %s", layer)
		}
		checkConsent(t, layer[0], "default", map[string]string{"ad_storage": "denied", "ad_user_data": "denied", "ad_personalization": "denied", "analytics_storage": "denied"})

		tb.Do(chromedp.Click(chromedp.CSS(openSettings)))
		tb.WaitFor("the dialog", dialogOpen)
		tb.Do(chromedp.Click(chromedp.CSS(`label[for=cg-cat-statistics]`)), chromedp.Click(chromedp.CSS(saveSettings)))
		tb.WaitFor("the Google tag", `window.gtagSaw`)
		var saw []entry
		if err := json.Unmarshal([]byte(evalJS[string](tb, `window.gtagSaw`)), &saw); err != nil {
			t.Fatal(err)
		}
		if len(saw) != 2 {
			t.Fatalf("the Google tag saw %d dataLayer entries, want default and update", len(saw))
		}
		checkConsent(t, saw[0], "default", map[string]string{"ad_storage": "denied", "ad_user_data": "denied", "ad_personalization": "denied", "analytics_storage": "denied"})
		checkConsent(t, saw[1], "update", map[string]string{"ad_storage": "denied", "ad_user_data": "denied", "ad_personalization": "denied", "analytics_storage": "granted"})

		// Next page: the server-side state sets default, then update, and
		// the Google tag is no longer neutralised.
		tb.Open(home)
		tb.WaitFor("the Google tag", `window.gtagSaw`)
		if err := json.Unmarshal([]byte(evalJS[string](tb, `window.gtagSaw`)), &saw); err != nil {
			t.Fatal(err)
		}
		if len(saw) != 2 {
			t.Fatalf("after reload the Google tag saw %d entries", len(saw))
		}
		checkConsent(t, saw[0], "default", map[string]string{"ad_storage": "denied", "ad_user_data": "denied", "ad_personalization": "denied", "analytics_storage": "denied"})
		checkConsent(t, saw[1], "update", map[string]string{"ad_storage": "denied", "ad_user_data": "denied", "ad_personalization": "denied", "analytics_storage": "granted"})
	})

	t.Run("without JavaScript the form works", func(t *testing.T) {
		noJS := func() *tab {
			tb := newTab(t, browser)
			if _, err := chromedp.Call(tb.Ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
				t.Fatal(err)
			}
			return tb
		}
		attrOf := func(tb *tab, sel, name string) bool {
			t.Helper()
			v, err := chromedp.Run(tb.Ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
			if err != nil {
				t.Fatalf("reading %s of %s: %v", name, sel, err)
			}
			return v.Exists
		}
		post := func(tb *tab, sel string) {
			t.Helper()
			if _, err := chromedp.Run(tb.Ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(sel)))); err != nil {
				t.Fatalf("waiting for the form post: %v", err)
			}
		}

		tb := noJS()
		tb.Do(chromedp.Navigate(home+"?p=1"), chromedp.WaitVisible(chromedp.CSS(acceptAll)))
		if attrOf(tb, `#consentgate`, "data-cg-ready") {
			t.Fatal("the script ran: JavaScript is not off")
		}
		// Settings leads to the settings page, a document of its own;
		// Save posts its form, which comes back to the page.
		tb.Do(chromedp.Click(chromedp.CSS(openSettings)), chromedp.WaitVisible(chromedp.CSS(saveSettings)))
		if loc, _ := chromedp.Run(tb.Ctx, chromedp.Location()); loc != site.srv.URL+"/.well-known/consent/consent?view=settings&return=%2F%3Fp%3D1" {
			t.Errorf("Settings led to %s", loc)
		}
		tb.Do(chromedp.Click(chromedp.CSS(`label[for=cg-cat-preferences]`)))
		post(tb, saveSettings)
		if got := site.lastDecision(); got != "form save: necessary preferences" {
			t.Errorf("the endpoint got %q", got)
		}
		tb.Do(chromedp.WaitVisible(chromedp.CSS(`#consentgate .cg-toggle`)))
		if loc, _ := chromedp.Run(tb.Ctx, chromedp.Location()); loc != home+"?p=1" {
			t.Errorf("the form returned to %s", loc)
		}
		// The persistent control leads to the settings page with the saved
		// choice; Close leads back.
		tb.Do(chromedp.Click(chromedp.CSS(`#consentgate .cg-toggle`)), chromedp.WaitVisible(chromedp.CSS(saveSettings)))
		if !attrOf(tb, `#cg-cat-preferences`, "checked") || attrOf(tb, `#cg-cat-statistics`, "checked") {
			t.Error("the settings do not show the saved choice")
		}
		tb.Do(chromedp.Click(chromedp.CSS(`#consentgate .cg-settings a.cg-btn-quiet`)), chromedp.WaitVisible(chromedp.CSS(`#consentgate .cg-toggle`)))
		if loc, _ := chromedp.Run(tb.Ctx, chromedp.Location()); loc != home+"?p=1" {
			t.Errorf("Close led to %s", loc)
		}

		// Accept all and Reject all post as well.
		for _, button := range []struct{ sel, want string }{
			{acceptAll, "form accept_all: necessary statistics preferences marketing"},
			{rejectAll, "form reject_all: necessary"},
		} {
			tb := noJS()
			tb.Do(chromedp.Navigate(home), chromedp.WaitVisible(chromedp.CSS(button.sel)))
			post(tb, button.sel)
			if got := site.lastDecision(); got != button.want {
				t.Errorf("the endpoint got %q, want %q", got, button.want)
			}
			tb.Do(chromedp.WaitVisible(chromedp.CSS(`#consentgate .cg-toggle`)))
		}
	})

	t.Run("under Trusted Types the dialog comes in, or the settings page opens", func(t *testing.T) {
		// A policy may be made: the dialog is put into the page.
		tb := newTab(t, browser)
		tb.Open(home + "?tt=policy")
		tb.Do(chromedp.Click(chromedp.CSS(openSettings)))
		tb.WaitFor("the dialog", dialogOpen)
		if got := evalJS[string](tb, `document.activeElement.id`); got != "cg-settings-title" {
			t.Errorf("focus in the dialog is on %q", got)
		}
		if got := evalJS[[]string](tb, `window.errs`); len(got) != 0 {
			t.Errorf("errors in the page: %v", got)
		}
		// None may be made: inserting markup is refused, and Settings
		// leads to the settings page instead, throwing nothing.
		tb = newTab(t, browser)
		tb.Open(home + "?tt=none")
		tb.Do(chromedp.Evaluate[chromedp.Void](`window.addEventListener('pagehide', function () { sessionStorage.setItem('errs', JSON.stringify(window.errs)); })`))
		tb.Do(chromedp.Click(chromedp.CSS(openSettings)), chromedp.WaitVisible(chromedp.CSS(`#consentgate .cg-settings[open] button[value=save]`)))
		if loc := evalJS[string](tb, `location.pathname + location.search`); loc != "/.well-known/consent/consent?view=settings&return=%2F%3Ftt%3Dnone" {
			t.Errorf("the fallback led to %s", loc)
		}
		if got := evalJS[string](tb, `sessionStorage.getItem('errs')`); got != "[]" {
			t.Errorf("errors in the page before it left: %s", got)
		}
	})

	t.Run("layout, contrast and screenshots", func(t *testing.T) {
		dir := screenshotDir(t)
		for _, vp := range []struct {
			w, h   int64
			mobile bool
		}{{1280, 800, false}, {320, 640, true}} {
			tb := newTab(t, browser)
			opts := []chromedp.EmulateViewportOption{}
			if vp.mobile {
				opts = append(opts, chromedp.EmulateMobile)
			}
			tb.Do(chromedp.EmulateViewport(vp.w, vp.h, opts...))
			tb.Open(home)
			name := fmt.Sprintf("%dx%d", vp.w, vp.h)
			if got := evalJS[string](tb, `getComputedStyle(document.querySelector('#consentgate .cg-banner')).animationName`); got != "none" {
				t.Errorf("%s: the banner animates (%s) although reduced motion is preferred", name, got)
			}
			checkLayout(t, tb, name, ".cg-banner")
			shoot(t, tb, filepath.Join(dir, "first-layer-"+name+".png"))
			tb.Do(chromedp.Click(chromedp.CSS(openSettings)))
			tb.WaitFor("the dialog", dialogOpen)
			checkLayout(t, tb, name, ".cg-settings")
			shoot(t, tb, filepath.Join(dir, "second-layer-"+name+".png"))

			// Dutch has longer words; it must fit as well.
			tb.Open(home + "?lang=nl")
			checkLayout(t, tb, name+" nl", ".cg-banner")
			tb.Do(chromedp.Click(chromedp.CSS(openSettings)))
			tb.WaitFor("the dialog", dialogOpen)
			checkLayout(t, tb, name+" nl", ".cg-settings")
			tb.Do(chromedp.KeyEvent(kb.Escape), chromedp.Click(chromedp.CSS(rejectAll)))
			tb.WaitFor("the persistent control", `getComputedStyle(document.querySelector('#consentgate .cg-toggle')).display !== 'none'`)
			checkLayout(t, tb, name+" nl", ".cg-toggle")
			if vp.mobile {
				size := evalJS[[]float64](tb, `(function () { var r = document.querySelector('.cg-placeholder').getBoundingClientRect(); return [r.left, r.right, r.width / r.height]; })()`)
				// Narrow, it keeps at least the embed's height for its width,
				// more if its text needs it.
				if size[0] < 0 || size[1] > float64(vp.w) || size[2] > 560.0/315+0.01 {
					t.Errorf("%s: the placeholder spans %v..%v with ratio %v, want inside the viewport, at most 16:9", name, size[0], size[1], size[2])
				}
			}
		}
		// Motion is there for those who do not mind it.
		tb := newTab(t, browser)
		tb.ReducedMotion("no-preference")
		tb.Open(home)
		if got := evalJS[string](tb, `getComputedStyle(document.querySelector('#consentgate .cg-banner')).animationName`); got != "cg-slide-in" {
			t.Errorf("animation without reduced motion = %q", got)
		}
	})
}

// checkConsent checks one dataLayer entry: ['consent', command, {...}]
// with exactly the wanted keys.
func checkConsent(t *testing.T, e []json.RawMessage, command string, want map[string]string) {
	t.Helper()
	if len(e) != 3 {
		t.Errorf("entry %s has %d parts", e, len(e))
		return
	}
	var c0, c1 string
	var params map[string]string
	if json.Unmarshal(e[0], &c0) != nil || json.Unmarshal(e[1], &c1) != nil || json.Unmarshal(e[2], &params) != nil {
		t.Errorf("entry %s is not ['consent', string, {string: string}]", e)
		return
	}
	if c0 != "consent" || c1 != command {
		t.Errorf("entry is [%q, %q], want [consent, %s]", c0, c1, command)
	}
	if len(params) != len(want) {
		t.Errorf("%s has keys %v, want exactly %v", command, params, want)
	}
	for k, v := range want {
		if params[k] != v {
			t.Errorf("%s %s = %q, want %q", command, k, params[k], v)
		}
	}
}

// layoutJS measures the open layer: horizontal overflow, whether it fits
// the viewport, the buttons' sizes, and the contrast of every text.
const layoutJS = `(function (sel) {
	function rgb(s) { var m = s.match(/[\d.]+/g) || [0, 0, 0, 0]; return m.map(Number); }
	function lum(c) { var a = c.slice(0, 3).map(function (v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }); return 0.2126 * a[0] + 0.7152 * a[1] + 0.0722 * a[2]; }
	function bg(el) { for (; el; el = el.parentElement) { var c = rgb(getComputedStyle(el).backgroundColor); if (c.length < 4 || c[3] > 0) return c; } return [255, 255, 255]; }
	var layer = document.querySelector('#consentgate ' + sel), r = layer.getBoundingClientRect(), out = {problems: []};
	if (document.documentElement.scrollWidth > window.innerWidth) out.problems.push('page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth);
	if (layer.scrollWidth > layer.clientWidth) out.problems.push('layer scrolls sideways');
	if (r.left < 0 || r.right > window.innerWidth + 0.5) out.problems.push('layer outside the viewport: ' + r.left + '..' + r.right);
	var sizes = Array.from(layer.querySelectorAll('.cg-buttons > .cg-btn')).filter(function (b) { return b.getClientRects().length; }).map(function (b) { var x = b.getBoundingClientRect(); return Math.round(x.width) + 'x' + Math.round(x.height); });
	out.buttons = sizes;
	sizes.forEach(function (s) { if (parseInt(s.split('x')[1], 10) < 44) out.problems.push('button smaller than 44px: ' + s); });
	[layer].concat(Array.from(layer.querySelectorAll('*'))).forEach(function (el) {
		if (!el.getClientRects().length || !Array.from(el.childNodes).some(function (n) { return n.nodeType === 3 && n.textContent.trim(); })) return;
		var st = getComputedStyle(el), l1 = lum(rgb(st.color)), l2 = lum(bg(el)), ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
		if (ratio < 4.5 && !el.closest(':disabled')) out.problems.push('contrast ' + ratio.toFixed(2) + ' for ' + el.tagName + '.' + el.className);
	});
	return out;
})`

func checkLayout(t *testing.T, tb *tab, name, sel string) {
	t.Helper()
	type layout struct {
		Problems []string `json:"problems"`
		Buttons  []string `json:"buttons"`
	}
	got := evalJS[layout](tb, layoutJS+`('`+sel+`')`)
	for _, p := range got.Problems {
		t.Errorf("%s %s: %s", name, sel, p)
	}
	if sel == ".cg-banner" {
		if len(got.Buttons) != 3 {
			t.Errorf("%s: %d buttons in the first layer", name, len(got.Buttons))
		}
		for _, b := range got.Buttons {
			if b != got.Buttons[0] {
				t.Errorf("%s: the buttons differ in size: %v", name, got.Buttons)
				break
			}
		}
	}
}

var updateScreenshots = flag.Bool("update-screenshots", false, "write the banner screenshots to testdata/screenshots (the README shows them)")

// screenshotDir is where screenshots go: testdata/screenshots with
// -update-screenshots, $CONSENTGATE_ARTIFACTS/banner when set (CI keeps
// them as artefacts), else a temporary folder.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	switch {
	case *updateScreenshots:
		dir = filepath.Join("testdata", "screenshots")
	case os.Getenv("CONSENTGATE_ARTIFACTS") != "":
		dir = filepath.Join(os.Getenv("CONSENTGATE_ARTIFACTS"), "banner")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func shoot(t *testing.T, tb *tab, path string) {
	t.Helper()
	shot, err := chromedp.Run(tb.Ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
}
