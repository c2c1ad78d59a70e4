package caddymodule

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/consentgate/consentgate/internal/browsertest"
)

// The second layer shows the visitor's consent ID and the date of their
// decision, and links to their own history, which holds their records.
func TestVisitorSeesWhatWasRecorded(t *testing.T) {
	r := newBrowserRig(t)
	home := r.base + "/"
	tb := r.tab(t)
	tb.Open(home)
	if tb.eval(`(function (p) { return !p || p.hidden; })(document.querySelector('#consentgate .cg-record')) ? 'hidden' : 'shown'`) != "hidden" {
		t.Error("the record line shows before a decision")
	}
	tb.Do(chromedp.Click(chromedp.CSS(gwAcceptAll)))
	tb.WaitFor("the trackers", `(window.__trackers || []).length >= 4`)
	tb.Open(home)
	tb.Do(chromedp.Click(chromedp.CSS(`#consentgate .cg-toggle`)))
	tb.WaitFor("the record line", `(function (p) { return !!p && !p.hidden; })(document.querySelector('#consentgate .cg-record'))`)
	state := browsertest.Eval[string](tb.Tab, `fetch('/.well-known/consent/consent').then(function (r) { return r.json(); }).then(function (s) { return s.id + ' ' + s.time; })`, chromedp.EvalAwaitPromise)
	id, when, _ := strings.Cut(state, " ")
	line := tb.eval(`document.querySelector('#consentgate .cg-record').textContent`)
	if !strings.Contains(line, "Uw toestemmings-ID is "+id+"; uw keuze is vastgelegd op ") || !strings.Contains(line, when[:4]) {
		t.Errorf("the record line says %q (ID %s, time %s)", line, id, when)
	}
	link := tb.eval(`(function (a) { return a.getAttribute('href') + ' ' + a.getAttribute('download') + ' ' + a.textContent; })(document.querySelector('#consentgate .cg-record a'))`)
	if link != r.base+"/.well-known/consent/consent/history consent-history.json Download wat er is vastgelegd" {
		t.Errorf("the history link is %q", link)
	}
	hist := browsertest.Eval[string](tb.Tab, `fetch(document.querySelector('#consentgate .cg-record a').href).then(function (r) { return r.json(); }).then(function (h) {
		return h.consent_id + ' ' + h.records.map(function (x) { return x.method + '@' + x.time; }).join(','); })`, chromedp.EvalAwaitPromise)
	// The cookie keeps the time to the second, the log to the
	// millisecond.
	if !strings.HasPrefix(hist, id+" accept_all@"+when[:19]) || strings.Contains(hist, ",") {
		t.Errorf("the history says %q, want one accept_all of %s at %s", hist, id, when)
	}
	r.trackers.take()
}
