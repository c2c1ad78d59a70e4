package caddymodule

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/consentgate/consentgate/internal/browsertest"
	"github.com/consentgate/consentgate/internal/testenv"
	"github.com/consentgate/consentgate/internal/testpages"
)

// These tests run the whole gateway — a real Caddy with cookie_consent in
// front of the demo site, whose pages carry the vendors' snippets verbatim —
// in headless Chromium. The real tracker host names point at a loopback
// Caddy site with `tls internal` (Chromium's --host-resolver-rules), whose
// stand-in scripts record that they ran and in which order; every other
// name resolves nowhere, so nothing leaves the machine.

var updateDemoScreenshot = flag.Bool("update-demo-screenshot", false, "write docs/demo.png, the screenshot the README shows")

// trackerHosts are the hosts the demo pages load trackers from.
var trackerHosts = []string{
	"www.googletagmanager.com", "www.google-analytics.com", "region1.google-analytics.com",
	"static.hotjar.com", "script.hotjar.com", "connect.facebook.net", "www.facebook.com",
	"www.youtube.com", "player.vimeo.com", "www.google.com", "fonts.googleapis.com", "fonts.gstatic.com",
	"secure.gravatar.com", "s.w.org",
}

// trackerStandIns serves the stand-in scripts and records every request.
type trackerStandIns struct {
	mu       sync.Mutex
	requests []string
}

func (s *trackerStandIns) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Host+r.URL.Path)
	s.mu.Unlock()
	ran := func(name string) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprintf(w, "(window.__trackers = window.__trackers || []).push(%q);\n", name)
	}
	switch {
	case r.Host == "www.googletagmanager.com" && r.URL.Path == "/gtag/js":
		ran("gtag.js")
	case r.Host == "www.googletagmanager.com" && r.URL.Path == "/gtm.js":
		ran("gtm.js")
	case r.Host == "static.hotjar.com":
		ran("hotjar")
	case r.Host == "connect.facebook.net":
		ran("fbevents")
	case strings.HasSuffix(r.URL.Path, ".css"), r.Host == "fonts.googleapis.com":
		w.Header().Set("Content-Type", "text/css")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *trackerStandIns) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = nil
	return r
}

type browserRig struct {
	base     string
	trackers *trackerStandIns
	browser  context.Context
}

func newBrowserRig(t *testing.T) *browserRig {
	t.Helper()
	testenv.Chromium(t) // skip (or fail under CI) before starting Caddy
	trackers := &trackerStandIns{}
	rec := httptest.NewServer(trackers)
	t.Cleanup(rec.Close)
	gport, tport := testenv.FreePort(t), testenv.FreePort(t)
	var names []string
	for _, h := range trackerHosts {
		names = append(names, fmt.Sprintf("https://%s:%d", h, tport))
	}
	site := testpages.Dir()
	startCaddyWith(t, "\tskip_install_trust\n\tauto_https disable_redirects", fmt.Sprintf(`
http://:%[1]d {
	bind 127.0.0.1
	cookie_consent {
		controller "Bakkerij De Korenschoof"
		policy_url /privacy/
		consent_mode
		rate_limit off
		proof_log {
			dir %[2]s
		}
	}
	root * %[3]s
	file_server
}
%[4]s {
	bind 127.0.0.1
	tls internal
	reverse_proxy %[5]s {
		header_up Host {host}
	}
}
`, gport, filepath.Join(t.TempDir(), "prooflog"), site, strings.Join(names, ", "), strings.TrimPrefix(rec.URL, "http://")))
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", gport))
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", tport))

	var rules []string
	for _, h := range trackerHosts {
		rules = append(rules, fmt.Sprintf("MAP %s:443 127.0.0.1:%d", h, tport))
	}
	browser := browsertest.Start(t, browsertest.Options{HostRules: rules, Lang: "nl-NL"})
	return &browserRig{base: fmt.Sprintf("http://127.0.0.1:%d", gport), trackers: trackers, browser: browser}
}

// gatewayTab is a browser tab (internal/browsertest) with the demo site's
// steps.
type gatewayTab struct{ *browsertest.Tab }

func (r *browserRig) tab(t *testing.T) *gatewayTab {
	return &gatewayTab{browsertest.NewTab(t, r.browser)}
}

func (tb *gatewayTab) eval(expr string) string {
	tb.T.Helper()
	return browsertest.Eval[string](tb.Tab, expr)
}

// ran lists the stand-in trackers that ran, and the globals the vendors'
// inline snippets define.
func (tb *gatewayTab) ran() string {
	tb.T.Helper()
	return tb.eval(`[].concat(window.__trackers || [],
		typeof window.fbq === 'function' ? ['fbq()'] : [],
		window._hjSettings ? ['_hjSettings'] : [],
		(window.dataLayer || []).some(function (e) { return e && (e[0] === 'config' || e.event === 'gtm.js'); }) ? ['dataLayer config'] : []
	).sort().join(' ')`)
}

const (
	gwAcceptAll = `#consentgate .cg-banner button[value=accept_all]`
	gwRejectAll = `#consentgate .cg-banner button[value=reject_all]`
	gwSettings  = `#consentgate .cg-banner [data-cg-open]`
	gwSave      = `#consentgate .cg-settings button[value=save]`
	// settingsLoaded: the settings dialog came (it is fetched on demand),
	// is open and lists the site's services (rendered once the endpoint
	// answered, which moves the boxes).
	settingsLoaded = `(function (d) { return !!d && d.open && d.hasAttribute('data-cg-loaded'); })(document.querySelector('#consentgate .cg-settings'))`
	// firstLayerGone: the first layer is hidden, or (a decided visitor's
	// page) not in the page at all.
	firstLayerGone = `(function (b) { return !b || b.hidden; })(document.querySelector('#consentgate .cg-banner'))`
)

// settle gives async scripts time to load and run.
func settle() { time.Sleep(700 * time.Millisecond) }

func TestGatewayInABrowser(t *testing.T) {
	r := newBrowserRig(t)
	home, post := r.base+"/", r.base+"/hello-world/"
	allTrackers := "_hjSettings dataLayer config fbevents fbq() gtag.js gtm.js hotjar"

	t.Run("before a decision no tracker runs or is requested", func(t *testing.T) {
		for _, u := range []string{home, post} {
			tb := r.tab(t)
			tb.Open(u)
			tb.WaitFor("the banner", `!document.querySelector('#consentgate .cg-banner').hidden`)
			settle()
			if got := tb.ran(); got != "" {
				t.Errorf("%s: ran before a decision: %s", u, got)
			}
			if got := r.trackers.take(); len(got) != 0 {
				t.Errorf("%s: tracker requests before a decision: %v", u, got)
			}
		}
	})

	t.Run("accept all runs every tracker without a reload", func(t *testing.T) {
		tb := r.tab(t)
		tb.Open(home)
		tb.Do(chromedp.Evaluate[chromedp.Void](`window.sameDocument = true`), chromedp.Click(chromedp.CSS(gwAcceptAll)))
		tb.WaitFor("the trackers", `(window.__trackers || []).length >= 4`)
		settle()
		if got := tb.ran(); got != allTrackers {
			t.Errorf("ran %q, want %q", got, allTrackers)
		}
		if tb.eval(`String(window.sameDocument)`) != "true" {
			t.Error("the page reloaded")
		}
		// All four are async, so their order is the network's; each must
		// run exactly once.
		if got := tb.eval(`(window.__trackers || []).slice().sort().join(' ')`); got != "fbevents gtag.js gtm.js hotjar" {
			t.Errorf("the stand-ins ran as %q", got)
		}
		reqs := strings.Join(r.trackers.take(), " ")
		for _, want := range []string{"www.googletagmanager.com/gtag/js", "www.googletagmanager.com/gtm.js", "connect.facebook.net/en_US/fbevents.js", "static.hotjar.com/c/hotjar-1000001.js"} {
			if !strings.Contains(reqs, want) {
				t.Errorf("no request for %s (got %s)", want, reqs)
			}
		}
		// The next page comes with the trackers straight from the server.
		tb.Open(post)
		settle()
		if got := tb.ran(); got != allTrackers {
			t.Errorf("the next page ran %q", got)
		}
		if tb.eval(`document.querySelector('iframe[title^="Zuurdesem"]').getAttribute('src') || ''`) == "" {
			t.Error("the YouTube embed has no src after accepting marketing")
		}
		r.trackers.take()
	})

	t.Run("reject all runs nothing, also after a reload", func(t *testing.T) {
		tb := r.tab(t)
		tb.Open(home)
		tb.Do(chromedp.Click(chromedp.CSS(gwRejectAll)))
		tb.WaitFor("the banner to close", firstLayerGone)
		settle()
		tb.Open(home)
		settle()
		if got := tb.ran(); got != "" {
			t.Errorf("ran %q after rejecting", got)
		}
		if got := r.trackers.take(); len(got) != 0 {
			t.Errorf("tracker requests after rejecting: %v", got)
		}
		if tb.eval(firstLayerGone+` ? 'hidden' : 'shown'`) != "hidden" {
			t.Error("the banner shows again after a decision")
		}
	})

	t.Run("statistics only runs only the statistics trackers", func(t *testing.T) {
		tb := r.tab(t)
		tb.Open(home)
		tb.Do(chromedp.Click(chromedp.CSS(gwSettings)))
		tb.WaitFor("the settings", settingsLoaded)
		tb.Do(chromedp.Click(chromedp.CSS(`#cg-cat-statistics`)), chromedp.Click(chromedp.CSS(gwSave)))
		tb.WaitFor("the trackers", `(window.__trackers || []).length >= 3`)
		settle()
		if got, want := tb.ran(), "_hjSettings dataLayer config gtag.js gtm.js hotjar"; got != want {
			t.Errorf("ran %q, want %q", got, want)
		}
		if reqs := strings.Join(r.trackers.take(), " "); strings.Contains(reqs, "facebook") {
			t.Errorf("marketing was requested: %s", reqs)
		}
	})

	t.Run("withdrawing stops the trackers after the reload", func(t *testing.T) {
		tb := r.tab(t)
		tb.Open(home)
		tb.Do(chromedp.Click(chromedp.CSS(gwAcceptAll)))
		tb.WaitFor("the trackers", `(window.__trackers || []).length >= 4`)
		r.trackers.take()
		// Reopen from the site's own link, as a privacy statement would.
		tb.Do(chromedp.Click(chromedp.CSS(`a[href="#cookie-settings"]:not(#consentgate *)`)))
		tb.WaitFor("the settings", settingsLoaded)
		for _, c := range []string{"statistics", "marketing"} {
			tb.Do(chromedp.Click(chromedp.CSS(`#cg-cat-` + c)))
		}
		if _, err := chromedp.Run(tb.Ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(gwSave)))); err != nil {
			t.Fatalf("waiting for the reload: %v", err)
		}
		tb.WaitFor("the banner script", `document.getElementById('consentgate').hasAttribute('data-cg-ready')`)
		settle()
		if got := tb.ran(); strings.Contains(got, "gtag") || strings.Contains(got, "fb") {
			t.Errorf("after withdrawing, ran %q", got)
		}
		if reqs := strings.Join(r.trackers.take(), " "); strings.Contains(reqs, "googletagmanager") || strings.Contains(reqs, "facebook") {
			t.Errorf("after withdrawing, requested %s", reqs)
		}
	})

	t.Run("with JavaScript off the form sets consent", func(t *testing.T) {
		tb := r.tab(t)
		if _, err := chromedp.Call(tb.Ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		tb.Do(chromedp.Navigate(home), chromedp.WaitVisible(chromedp.CSS(gwRejectAll)))
		if _, err := chromedp.Run(tb.Ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(gwRejectAll)))); err != nil {
			t.Fatalf("posting the form: %v", err)
		}
		cookies, err := chromedp.CallBrowser(tb.Ctx, storage.GetCookies, storage.GetCookiesParams{BrowserContextID: chromedp.FromContext(tb.Ctx).BrowserContextID})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, c := range cookies.Cookies {
			if c.Name == "consentgate" && c.HTTPOnly {
				found = true
			}
		}
		if !found {
			t.Fatal("the form post set no consent cookie")
		}
		if url := tb.eval(`location.pathname`); url != "/" {
			t.Errorf("the form came back to %s, want /", url)
		}
		if got := r.trackers.take(); len(got) != 0 {
			t.Errorf("tracker requests: %v", got)
		}
	})

	t.Run("keyboard only: Tab reaches the buttons, Enter accepts", func(t *testing.T) {
		tb := r.tab(t)
		tb.Open(home)
		seen := map[string]bool{}
		for i := 0; i < 40 && !seen["accept_all"]; i++ {
			tb.Do(chromedp.KeyEvent(kb.Tab))
			if v := tb.eval(`document.activeElement.closest('#consentgate') ? (document.activeElement.value || document.activeElement.textContent) : ''`); v != "" {
				seen[v] = true
			}
		}
		if !seen["accept_all"] {
			t.Fatalf("Tab never reached Accept all (reached %v)", seen)
		}
		tb.Do(chromedp.KeyEvent(kb.Enter))
		tb.WaitFor("the trackers", `(window.__trackers || []).length >= 4`)
		r.trackers.take()
	})

	t.Run("screenshot of the demo", func(t *testing.T) {
		tb := r.tab(t)
		tb.Open(home)
		settle()
		shot, err := chromedp.Run(tb.Ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		dir := os.Getenv("CONSENTGATE_ARTIFACTS")
		path := ""
		switch {
		case *updateDemoScreenshot:
			path = filepath.Join("..", "docs", "demo.png")
		case dir != "":
			path = filepath.Join(dir, "gateway-demo.png")
		}
		if path != "" {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r.trackers.take()
	})
}
