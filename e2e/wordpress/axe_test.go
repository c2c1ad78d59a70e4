package wordpress

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/consentgate/consentgate/internal/browsertest"
	"github.com/consentgate/consentgate/internal/testenv"
)

// startDemoGateway runs the gateway in front of the repository's demo site
// (testdata/site, a WordPress-like page with trackers) with a file_server.
func startDemoGateway(t *testing.T) string {
	t.Helper()
	site, err := filepath.Abs(filepath.Join("..", "..", "testdata", "site"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(site, "index.html")); err != nil {
		t.Fatalf("the demo site: %v", err)
	}
	port := testenv.FreePort(t)
	host := fmt.Sprintf("127.0.0.1:%d", port)
	startCaddy(t, "\tauto_https off", fmt.Sprintf(`http://%s {
	bind 127.0.0.1
	root * %s
	encode
	cookie_consent {
		controller "Bakkerij De Korenschoof"
		policy_url /privacy/
		proof_log {
			dir %s
		}
	}
	file_server
}
`, host, site, filepath.Join(t.TempDir(), "prooflog")))
	testenv.WaitListening(t, host)
	return "http://" + host
}

// TestBannerAccessibility runs the axe-core engine on the banner in
// headless Chromium, in front of the demo site: the first layer, the
// settings (second layer) and the persistent control, in English and
// Dutch; and goes through the banner with the keyboard alone.
func TestBannerAccessibility(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	src := browsertest.AxeJS(t)
	browser := browsertest.Start(t, browsertest.Options{})
	base := startDemoGateway(t)

	for _, lang := range []string{"en", "nl"} {
		t.Run("axe "+lang, func(t *testing.T) {
			tb := newTab(t, browser)
			// The gateway picks the banner's language by Accept-Language.
			if _, err := chromedp.Call(tb.Ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": lang}}); err != nil {
				t.Fatal(err)
			}
			home := base + "/"
			tb.Open(home)
			tb.WaitFor("the banner", bannerShown)
			if got := evalJS[string](tb, `document.getElementById('consentgate').lang`); got != lang {
				t.Fatalf("the banner's language is %q, want %q", got, lang)
			}
			browsertest.CheckAxe(t, lang+" first layer", browsertest.RunAxe(tb.Tab, src))

			tb.Do(chromedp.Click(chromedp.CSS(openSettings)))
			tb.WaitFor("the settings", dialogOpen)
			browsertest.CheckAxe(t, lang+" second layer (settings)", browsertest.RunAxe(tb.Tab, src))

			tb.Do(chromedp.KeyEvent(kb.Escape))
			tb.WaitFor("the settings to close", `!(`+dialogOpen+`)`)
			tb.Do(chromedp.Click(chromedp.CSS(rejectAll)))
			tb.WaitFor("the Cookie settings control", `!(`+bannerShown+`) && getComputedStyle(document.querySelector('`+toggle+`')).display !== 'none'`)
			browsertest.CheckAxe(t, lang+" after a decision (Cookie settings control)", browsertest.RunAxe(tb.Tab, src))
		})
	}

	t.Run("keyboard only", func(t *testing.T) {
		tb := newTab(t, browser)
		home := base + "/"
		tb.Open(home)
		tb.WaitFor("the banner", bannerShown)
		// focused describes the focused element: b: for the banner's, p:
		// for the page's.
		const focused = `(function (e) {
			if (!e || e === document.body) return 'body';
			var where = e.closest('#consentgate') ? 'b:' : 'p:';
			return where + e.tagName.toLowerCase() + ':' + (e.getAttribute('value') || e.id || e.className || e.textContent.trim().slice(0, 30));
		})(document.activeElement)`
		if got := evalJS[string](tb, focused); got != "body" {
			t.Fatalf("focus starts on %s, want the page itself", got)
		}
		var seen []string
		for range 10 {
			tb.Do(chromedp.KeyEvent(kb.Tab))
			f := evalJS[string](tb, focused)
			seen = append(seen, f)
			if f == "b:a:cg-btn" {
				break
			}
		}
		t.Logf("Tab from the top of the page: %v", seen)
		idx := func(s string) int { return slices.Index(seen, s) }
		accept, reject, settings := idx("b:button:accept_all"), idx("b:button:reject_all"), idx("b:a:cg-btn")
		if accept < 0 || reject < 0 || settings < 0 {
			t.Fatalf("Tab from the top does not reach Accept all, Reject all and Settings: %v", seen)
		}
		if !(accept < reject && reject < settings) {
			t.Errorf("Tab reaches the buttons in the order %v, want Accept all, Reject all, Settings", seen)
		}
		if !strings.HasPrefix(seen[0], "b:") {
			t.Errorf("the first Tab goes to %s, not into the banner", seen[0])
		}
		for _, s := range seen[:settings] {
			if !strings.HasPrefix(s, "b:") {
				t.Errorf("Tab passes %s of the page before the banner's buttons: %v", s, seen)
			}
		}

		// From the top again: Tab to Accept all, Enter.
		tb.Open(home)
		for range accept + 1 {
			tb.Do(chromedp.KeyEvent(kb.Tab))
		}
		if got := evalJS[string](tb, focused); got != "b:button:accept_all" {
			t.Fatalf("after %d Tabs the focus is on %s", accept+1, got)
		}
		tb.Do(chromedp.KeyEvent(kb.Enter))
		tb.WaitFor("the banner to go", `!(`+bannerShown+`)`)
		st := tb.consentState()
		if !st.Decided || !st.Categories["statistics"] || !st.Categories["preferences"] || !st.Categories["marketing"] {
			t.Errorf("Enter on Accept all left the state %+v", st)
		}
		if c := tb.cookies(home)["consentgate"]; c == nil || !c.HTTPOnly {
			t.Errorf("no HttpOnly consent cookie after Enter on Accept all: %+v", c)
		}
		tb.WaitFor("focus on the Cookie settings control", `document.activeElement && document.activeElement.matches('`+toggle+`')`)

		// Reopen with the keyboard: Enter on the control opens the settings
		// with the choice ticked; Escape closes them and focus comes back.
		tb.Do(chromedp.KeyEvent(kb.Enter))
		tb.WaitFor("the settings", dialogOpen)
		if !evalJS[bool](tb, `document.querySelector('#consentgate .cg-settings').contains(document.activeElement)`) {
			t.Errorf("focus is not in the settings but on %s", evalJS[string](tb, focused))
		}
		if !evalJS[bool](tb, `['statistics', 'preferences', 'marketing'].every(function (c) { return document.getElementById('cg-cat-' + c).checked; })`) {
			t.Error("the settings do not show the accepted categories ticked")
		}
		tb.Do(chromedp.KeyEvent(kb.Escape))
		tb.WaitFor("the settings to close and focus to come back", `!(`+dialogOpen+`) && document.activeElement.matches('`+toggle+`')`)

		// On the next page the control is the first stop of Tab; change
		// the choice with the keyboard alone: untick marketing, save.
		tb.Open(home)
		tb.Do(chromedp.KeyEvent(kb.Tab))
		if got := evalJS[string](tb, focused); got != "b:a:cg-toggle" {
			t.Fatalf("the first Tab after deciding goes to %s, want the Cookie settings control", got)
		}
		tb.Do(chromedp.KeyEvent(kb.Enter))
		tb.WaitFor("the settings", dialogOpen)
		tabTo := func(what, expr string) {
			t.Helper()
			// Each category lists its services, each a switch: Tab
			// passes them all.
			for range 40 {
				if evalJS[bool](tb, expr) {
					return
				}
				tb.Do(chromedp.KeyEvent(kb.Tab))
			}
			t.Fatalf("Tab does not reach %s in the settings (focus on %s)", what, evalJS[string](tb, focused))
		}
		tabTo("the marketing box", `document.activeElement.id === 'cg-cat-marketing'`)
		tb.Do(chromedp.KeyEvent(" "))
		if evalJS[bool](tb, `document.getElementById('cg-cat-marketing').checked`) {
			t.Fatal("Space did not untick the marketing box")
		}
		tabTo("Save", `document.activeElement.matches('#consentgate .cg-settings button[value=save]')`)
		tb.Do(chromedp.KeyEvent(kb.Enter))
		// Withdrawing a category reloads the page.
		tb.WaitFor("the new choice", `(function (r) { var a = r.getAttribute('data-cg-accepted').split(' '); return r.hasAttribute('data-cg-ready') && a.indexOf('marketing') < 0 && a.indexOf('statistics') >= 0; })(document.getElementById('consentgate'))`)
		st = tb.consentState()
		if !st.Decided || st.Categories["marketing"] || !st.Categories["statistics"] {
			t.Errorf("after unticking marketing with the keyboard the state is %+v", st)
		}
	})
}
