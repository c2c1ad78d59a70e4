package caddymodule

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/consentgate/consentgate/internal/browsertest"
)

// Withdrawing must be as easy as consenting (GDPR art. 7(3)): wherever the
// visitor reopens their choice, one click withdraws everything.
func TestWithdrawalTakesOneClick(t *testing.T) {
	r := newBrowserRig(t)
	home := r.base + "/"
	dialogRejectAll := `#consentgate .cg-settings button[value=reject_all]`

	for _, reopen := range []struct{ name, control string }{
		{"the floating control", `#consentgate .cg-toggle`},
		{"the site's own link", `a[href="#cookie-settings"]:not(#consentgate *)`},
	} {
		t.Run("from "+reopen.name, func(t *testing.T) {
			tb := r.tab(t)
			tb.Open(home)
			tb.Do(chromedp.Click(chromedp.CSS(gwAcceptAll)))
			tb.WaitFor("the trackers", `(window.__trackers || []).length >= 4`)
			tb.Open(home)
			tb.WaitFor("the trackers after the reload", `(window.__trackers || []).length >= 4`)
			r.trackers.take()

			tb.Do(chromedp.Click(chromedp.CSS(reopen.control)))
			tb.WaitFor("the settings", settingsLoaded)
			// A decided visitor's page has no first layer: its Reject all
			// is class cg-btn (banner/markup.go), as Accept all here.
			if got := tb.eval(`document.querySelector('` + dialogRejectAll + `').className + '|' + document.querySelector('#consentgate .cg-settings button[value=accept_all]').className`); got != "cg-btn|cg-btn" {
				t.Errorf("Reject all in the settings is not styled as on the first layer: %s", got)
			}
			// One click; the page reloads, since scripts that ran cannot be
			// stopped.
			if _, err := chromedp.Run(tb.Ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(dialogRejectAll)))); err != nil {
				t.Fatalf("waiting for the reload: %v", err)
			}
			tb.WaitFor("the banner script", `document.getElementById('consentgate').hasAttribute('data-cg-ready')`)
			tb.Open(home)
			tb.WaitFor("the banner script", `document.getElementById('consentgate').hasAttribute('data-cg-ready')`)
			settle()
			if got := tb.ran(); got != "" {
				t.Errorf("after withdrawing, ran %q", got)
			}
			if got := r.trackers.take(); len(got) != 0 {
				t.Errorf("after withdrawing, tracker requests: %v", got)
			}
			state := browsertest.Eval[string](tb.Tab, `fetch('/.well-known/consent/consent').then(function (r) { return r.json(); }).then(function (s) {
				return Object.keys(s.categories).filter(function (c) { return s.categories[c]; }).join(' ') + '|' + s.decided; })`, chromedp.EvalAwaitPromise)
			if state != "necessary|true" {
				t.Errorf("after withdrawing, the endpoint says %q, want nothing accepted and decided", state)
			}
		})
	}

	t.Run("with JavaScript off, from the persistent control", func(t *testing.T) {
		tb := r.tab(t)
		if _, err := chromedp.Call(tb.Ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
		tb.Do(chromedp.Navigate(home), chromedp.WaitVisible(chromedp.CSS(gwAcceptAll)))
		if _, err := chromedp.Run(tb.Ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(gwAcceptAll)))); err != nil {
			t.Fatalf("posting the form: %v", err)
		}
		r.trackers.take()
		// The control leads to the settings page; its Reject all withdraws
		// in one click and comes back.
		tb.Do(chromedp.Click(chromedp.CSS(`#consentgate .cg-toggle`)), chromedp.WaitVisible(chromedp.CSS(dialogRejectAll)))
		if _, err := chromedp.Run(tb.Ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(dialogRejectAll)))); err != nil {
			t.Fatalf("posting the form: %v", err)
		}
		html := tb.eval(`location.pathname + ' ' + (document.getElementById('consentgate') ? document.getElementById('consentgate').getAttribute('data-cg-accepted') : document.body.textContent)`)
		if html != "/ necessary" {
			t.Errorf("after the no-JavaScript withdrawal the page says accepted=%q", html)
		}
		if got := strings.Join(r.trackers.take(), " "); got != "" {
			t.Errorf("tracker requests: %s", got)
		}
	})
}
