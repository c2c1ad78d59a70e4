// Package wordpress holds end-to-end tests of the gateway in front of real
// software in a real browser: a WordPress installed from Debian's packages
// (wordpress_test.go), and the axe-core accessibility engine run on the
// banner (axe_test.go). They need things outside Go, which the scripts in
// testdata/ install; without them the tests skip with a message saying what
// to run, and under CI=true they fail instead.
package wordpress

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/spf13/cobra"

	// The standard modules and the gateway, as cmd/caddy has them.
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/consentgate/consentgate/caddymodule"

	"github.com/consentgate/consentgate/internal/testenv"
)

func TestMain(m *testing.M) {
	// Keep Caddy from writing an autosave file into the user's config dir.
	dir, err := os.MkdirTemp("", "consentgate-e2e-home")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("XDG_CONFIG_HOME", dir)
	os.Setenv("XDG_DATA_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// caddyRun is a Caddy running in this process.
type caddyRun struct {
	// Caddyfile is the config's file on disk, global options included, as
	// `caddy consent --config` reads it.
	Caddyfile string
	// Storage is Caddy's storage folder (the proof log's signing key, the
	// consent cookie's secret, the internal CA).
	Storage string
	logFile string
	once    sync.Once
}

// startCaddy writes the global options and sites to a Caddyfile, adapts it
// and runs it until Stop or the end of the test. The global options turn
// off the admin endpoint, name a fresh storage folder and send Caddy's log
// to a file that is printed when the test fails; more may be given (e.g.
// auto_https). Caddy runs one config per process, so these tests do not
// run in parallel.
func startCaddy(t *testing.T, globalOptions, sites string) *caddyRun {
	t.Helper()
	dir := t.TempDir()
	run := &caddyRun{
		Caddyfile: filepath.Join(dir, "Caddyfile"),
		Storage:   filepath.Join(dir, "storage"),
		logFile:   filepath.Join(dir, "caddy.log"),
	}
	cf := fmt.Sprintf("{\n\tadmin off\n\tstorage file_system %s\n\tlog {\n\t\toutput file %s\n\t\tlevel INFO\n\t}\n%s\n}\n\n%s", run.Storage, run.logFile, globalOptions, sites)
	if err := os.WriteFile(run.Caddyfile, []byte(cf), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgJSON, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": run.Caddyfile})
	if err != nil {
		t.Fatalf("adapting the Caddyfile: %v\n%s", err, cf)
	}
	for _, w := range warnings {
		t.Logf("adapt warning: %s:%d: %s", w.File, w.Line, w.Message)
	}
	if err := caddy.Load(cfgJSON, true); err != nil {
		t.Fatalf("loading the config: %v\n%s", err, cf)
	}
	t.Cleanup(func() {
		run.Stop(t)
		if t.Failed() {
			run.dumpLog(t)
		}
	})
	return run
}

// Stop stops Caddy (once); a clean stop signs the proof log's head.
func (r *caddyRun) Stop(t *testing.T) {
	t.Helper()
	r.once.Do(func() {
		if err := caddy.Stop(); err != nil {
			t.Errorf("stopping caddy: %v", err)
		}
	})
}

// dumpLog prints Caddy's log lines of level warn and above.
func (r *caddyRun) dumpLog(t *testing.T) {
	t.Helper()
	data, err := os.ReadFile(r.logFile)
	if err != nil {
		return
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, `"level":"warn"`) && !strings.Contains(line, `"level":"error"`) {
			continue
		}
		if strings.Contains(line, "admin endpoint disabled") || strings.Contains(line, "requires TLS") {
			continue // what these configs ask for
		}
		if n++; n <= 40 {
			t.Logf("caddy: %.600s", line)
		}
	}
}

// consentCommand runs `caddy consent <args>` in this process: the real
// command, as the caddy binary registers it.
func consentCommand(t *testing.T, args ...string) (string, error) {
	t.Helper()
	c, ok := caddycmd.Commands()["consent"]
	if !ok {
		t.Fatal("the consent command is not registered")
	}
	root := &cobra.Command{Use: c.Name, SilenceUsage: true, SilenceErrors: true}
	c.CobraFunc(root)
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// startBrowser starts headless Chromium with a fresh profile. Every host
// name resolves to nothing except those mapped in hostRules (MAP rules,
// comma-separated) and 127.0.0.1, so the browser reaches only loopback.
func startBrowser(t *testing.T, hostRules string) context.Context {
	t.Helper()
	exec := testenv.Chromium(t)
	rules := "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
	if hostRules != "" {
		rules = hostRules + ", " + rules
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
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
		chromedp.Flag("lang", "en-US"),
		chromedp.Flag("accept-lang", "en-US,en"),
		chromedp.Flag("host-resolver-rules", rules),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v", exec, err)
	}
	return browser
}

// tab is one browser tab in its own browser context (its own cookies),
// with a log of every request the page made.
type tab struct {
	t   *testing.T
	ctx context.Context

	mu       sync.Mutex
	requests []string
}

func newTab(t *testing.T, browser context.Context) *tab {
	t.Helper()
	tb := &tab{t: t}
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
	tb.ctx = tctx
	// No slide-in, so clicks land where the buttons are.
	if _, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	}); err != nil {
		t.Fatalf("emulating prefers-reduced-motion: %v", err)
	}
	return tb
}

func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

func evalJS[T any](tb *tab, expr string, opts ...chromedp.EvaluateOption) T {
	tb.t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, opts...))
	if err != nil {
		tb.t.Fatalf("evaluating %.200s: %v", expr, err)
	}
	return v
}

// waitFor polls expr until it is truthy. Errors while a navigation replaces
// the page count as not yet.
func (tb *tab) waitFor(what, expr string) {
	tb.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(tb.ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		lastErr = err
		if tb.ctx.Err() != nil {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	tb.t.Fatalf("waiting for %s (%s): %v", what, expr, lastErr)
}

// open navigates and waits until the banner's script has run.
func (tb *tab) open(u string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(u))
	tb.waitFor("the banner script", `document.getElementById('consentgate') && document.getElementById('consentgate').hasAttribute('data-cg-ready')`)
}

// requestedHosts returns the hosts (with port) of every request so far,
// except those on addr.
func (tb *tab) requestedHosts(except string) []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []string
	for _, r := range tb.requests {
		u, err := url.Parse(r)
		if err != nil || u.Scheme == "data" || u.Scheme == "blob" || u.Scheme == "about" {
			continue
		}
		if u.Host != except {
			out = append(out, r)
		}
	}
	return out
}

// cookies returns the browser's cookies for u, by name.
func (tb *tab) cookies(u string) map[string]*network.Cookie {
	tb.t.Helper()
	res, err := chromedp.Call(tb.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
	if err != nil {
		tb.t.Fatalf("reading cookies: %v", err)
	}
	out := make(map[string]*network.Cookie)
	for _, c := range res.Cookies {
		out[c.Name] = c
	}
	return out
}

// consentState asks the consent endpoint, from the page, what it knows of
// this visitor.
type consentState struct {
	Decided    bool            `json:"decided"`
	ID         string          `json:"id"`
	Categories map[string]bool `json:"categories"`
}

func (tb *tab) consentState() consentState {
	tb.t.Helper()
	return evalJS[consentState](tb, `fetch('/.well-known/consent/consent', {credentials: 'same-origin'}).then(function (r) { return r.json(); })`, chromedp.EvalAwaitPromise)
}

// Selectors and expressions of the banner (banner/markup.go).
const (
	acceptAll    = `#consentgate .cg-banner button[value=accept_all]`
	rejectAll    = `#consentgate .cg-banner button[value=reject_all]`
	openSettings = `#consentgate .cg-banner button[data-cg-open]`
	toggle       = `#consentgate .cg-toggle`
	dialogOpen   = `document.querySelector('#consentgate .cg-settings').hasAttribute('open')`
	bannerShown  = `!document.querySelector('#consentgate .cg-banner').hidden && getComputedStyle(document.querySelector('#consentgate .cg-banner')).display !== 'none'`
)
