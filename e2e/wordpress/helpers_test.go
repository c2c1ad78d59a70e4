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

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/spf13/cobra"

	// The standard modules and the gateway, as cmd/caddy has them.
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/consentgate/consentgate/caddymodule"

	"github.com/consentgate/consentgate/internal/browsertest"
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

// tab is a browser tab (internal/browsertest) with WordPress's steps.
type tab struct{ *browsertest.Tab }

func newTab(t *testing.T, browser context.Context) *tab {
	return &tab{browsertest.NewTab(t, browser)}
}

func evalJS[T any](tb *tab, expr string, opts ...chromedp.EvaluateOption) T {
	tb.T.Helper()
	return browsertest.Eval[T](tb.Tab, expr, opts...)
}

// requestedHosts returns the hosts (with port) of every request so far,
// except those on addr.
func (tb *tab) requestedHosts(except string) []string {
	var out []string
	for _, r := range tb.Requests() {
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
	tb.T.Helper()
	res, err := chromedp.Call(tb.Ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
	if err != nil {
		tb.T.Fatalf("reading cookies: %v", err)
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
	tb.T.Helper()
	return evalJS[consentState](tb, `fetch('/.well-known/consent/consent', {credentials: 'same-origin'}).then(function (r) { return r.json(); })`, chromedp.EvalAwaitPromise)
}

// Selectors and expressions of the banner (banner/markup.go).
const (
	acceptAll    = `#consentgate .cg-banner button[value=accept_all]`
	rejectAll    = `#consentgate .cg-banner button[value=reject_all]`
	openSettings = `#consentgate .cg-banner [data-cg-open]`
	toggle       = `#consentgate .cg-toggle`
	// The settings dialog is fetched on demand; a decided visitor's page
	// has no first layer at all.
	dialogOpen  = `!!document.querySelector('#consentgate .cg-settings[open]')`
	bannerShown = `(function (b) { return !!b && !b.hidden && getComputedStyle(b).display !== 'none'; })(document.querySelector('#consentgate .cg-banner'))`
)
