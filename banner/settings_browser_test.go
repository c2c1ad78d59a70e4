package banner

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/consentgate/consentgate/internal/browsertest"
	"github.com/consentgate/consentgate/internal/testenv"
)

// axeVersion is the axe-core version e2e/wordpress/testdata/axe-setup.sh
// pins (and the WordPress accessibility test checks).
const axeVersion = "4.14.1"

// axeSource reads axe.min.js: CONSENTGATE_AXE_JS, or where axe-setup.sh
// puts it by default; skips (fails under CI=true) without it.
func axeSource(t *testing.T) string {
	t.Helper()
	p := os.Getenv("CONSENTGATE_AXE_JS")
	if p == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if home, err := os.UserHomeDir(); cache == "" && err == nil {
			cache = filepath.Join(home, ".cache")
		}
		p = filepath.Join(cache, "consentgate", "axe-core-"+axeVersion, "node_modules", "axe-core", "axe.min.js")
	}
	src, err := os.ReadFile(p)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf(`the settings' accessibility test needs axe-core: eval "$(bash e2e/wordpress/testdata/axe-setup.sh)" (sets CONSENTGATE_AXE_JS); %v`, err))
	}
	return string(src)
}

// checkAxe runs axe-core's WCAG 2 A/AA rules on #consentgate and fails on
// a serious or critical violation.
func checkAxe(t *testing.T, tb *tab, what, src string) {
	t.Helper()
	if !evalJS[bool](tb, `typeof window.axe === 'object'`) {
		tb.Do(chromedp.Evaluate[chromedp.Void](src))
	}
	type finding struct {
		ID, Impact, Help string
		Nodes            []string
	}
	var r struct {
		Version    string
		Passes     int
		Violations []finding
	}
	out := browsertest.Eval[string](tb.Tab, `axe.run({include: [['#consentgate']]}, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa']},
		resultTypes: ['violations']
	}).then(function (r) {
		return JSON.stringify({Version: axe.version, Passes: r.passes.length, Violations: r.violations.map(function (v) {
			return {ID: v.id, Impact: v.impact || '', Help: v.help, Nodes: v.nodes.map(function (n) { return n.target.join(' '); })};
		})});
	})`, chromedp.EvalAwaitPromise)
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%s: axe answered %q: %v", what, out, err)
	}
	if r.Version != axeVersion || r.Passes == 0 {
		t.Errorf("%s: axe-core %s passed %d rules", what, r.Version, r.Passes)
	}
	for _, v := range r.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: %s violation %s (%s) at %s", what, v.Impact, v.ID, v.Help, strings.Join(v.Nodes, ", "))
		} else {
			t.Logf("%s: minor violation %s at %s", what, v.ID, strings.Join(v.Nodes, ", "))
		}
	}
}

// The settings dialog, fetched on demand and open in the page, and the
// settings page served without JavaScript pass axe-core with no serious
// or critical violation, in both languages.
func TestSettingsAccessibility(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	src := axeSource(t)
	site := newTestSite(t)
	browser := browsertest.Start(t, browsertest.Options{Proxy: site.srv.URL})
	for _, lang := range []string{"en", "nl"} {
		t.Run(lang, func(t *testing.T) {
			tb := newTab(t, browser)
			tb.Open(site.srv.URL + "/?lang=" + lang)
			tb.Do(chromedp.Click(chromedp.CSS(openSettings)))
			tb.WaitFor("the dialog", dialogOpen)
			checkAxe(t, tb, lang+" dialog", src)

			tb = newTab(t, browser)
			tb.Do(chromedp.Navigate(site.srv.URL+"/.well-known/consent/consent?view=settings&return=%2F&lang="+lang),
				chromedp.WaitVisible(chromedp.CSS(saveSettings)))
			if got := evalJS[string](tb, `document.documentElement.lang`); got != lang {
				t.Errorf("the settings page is in %q", got)
			}
			checkAxe(t, tb, lang+" settings page", src)
		})
	}
}
