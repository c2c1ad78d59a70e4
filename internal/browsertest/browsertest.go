// Package browsertest drives the headless Chromium that the browser tests
// run in: one way to start it that keeps all traffic on loopback, and a tab
// with its own cookie jar and the few steps every browser test needs.
// Whether Chromium is there, and what happens when it is not, is
// testenv.Chromium's rule.
package browsertest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/consentgate/consentgate/internal/testenv"
)

// Options say how to start the browser.
type Options struct {
	// HostRules map host names to loopback ("MAP www.example.com:443
	// 127.0.0.1:8443"). Every other name except 127.0.0.1 resolves to
	// nothing, so a page can reach only loopback.
	HostRules []string
	// Lang is the browser's language and Accept-Language; default en-US.
	Lang string
	// Proxy, when set, sends every request through this proxy.
	Proxy string
}

// Start starts headless Chromium with a fresh profile and returns its
// context; the browser stops when the test ends.
func Start(t testing.TB, o Options) context.Context {
	t.Helper()
	exec := testenv.Chromium(t)
	lang := o.Lang
	if lang == "" {
		lang = "en-US"
	}
	rules := append(append([]string(nil), o.HostRules...), "MAP * ~NOTFOUND", "EXCLUDE 127.0.0.1")
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exec),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", lang),
		chromedp.Flag("accept-lang", lang+","+strings.SplitN(lang, "-", 2)[0]),
		chromedp.Flag("host-resolver-rules", strings.Join(rules, ", ")),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	}
	if o.Proxy != "" {
		opts = append(opts, chromedp.ProxyServer(o.Proxy))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v", exec, err)
	}
	return browser
}

// Tab is one browser tab in its own browser context (its own cookies),
// with a log of every request its pages made. Its steps fail the test.
type Tab struct {
	T   testing.TB
	Ctx context.Context

	mu       sync.Mutex
	requests []string
}

// NewTab opens a tab in browser. Motion is reduced, so the banner does not
// slide in and clicks land where the buttons are.
func NewTab(t testing.TB, browser context.Context) *Tab {
	t.Helper()
	tb := &Tab{T: t}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext(),
		chromedp.WithListener(func(ev any) {
			if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Request != nil {
				tb.mu.Lock()
				tb.requests = append(tb.requests, e.Request.URL)
				tb.mu.Unlock()
			}
		}))
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(tcancel)
	tb.Ctx = tctx
	tb.ReducedMotion("reduce")
	return tb
}

// ReducedMotion emulates the prefers-reduced-motion media feature ("reduce"
// or "no-preference").
func (tb *Tab) ReducedMotion(v string) {
	tb.T.Helper()
	if _, err := chromedp.Call(tb.Ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: v}},
	}); err != nil {
		tb.T.Fatalf("emulating prefers-reduced-motion: %v", err)
	}
}

// Do runs steps.
func (tb *Tab) Do(steps ...chromedp.Action[chromedp.Void]) {
	tb.T.Helper()
	if err := chromedp.Do(tb.Ctx, steps...); err != nil {
		tb.T.Fatalf("browser: %v", err)
	}
}

// Eval evaluates expr in the page.
func Eval[T any](tb *Tab, expr string, opts ...chromedp.EvaluateOption) T {
	tb.T.Helper()
	v, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		tb.T.Fatalf("evaluating %.200s: %v", expr, err)
	}
	return v
}

// WaitFor polls expr until it is truthy, for up to 15 s. Errors while a
// navigation replaces the page count as not yet.
func (tb *Tab) WaitFor(what, expr string) {
	tb.T.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		lastErr = err
		if tb.Ctx.Err() != nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	tb.T.Fatalf("waiting for %s (%s): %v", what, expr, lastErr)
}

// Open navigates to u and waits until the banner's script has run.
func (tb *Tab) Open(u string) {
	tb.T.Helper()
	tb.Do(chromedp.Navigate(u))
	tb.WaitFor("the banner script", `document.getElementById('consentgate') && document.getElementById('consentgate').hasAttribute('data-cg-ready')`)
}

// Requests returns the URL of every request the tab made so far.
func (tb *Tab) Requests() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.requests...)
}
