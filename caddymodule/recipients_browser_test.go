package caddymodule

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The first layer names who receives the data, grouped by category and
// shortened, and "and N more" opens the second layer, which lists them all.
func TestFirstLayerNamesRecipientsInABrowser(t *testing.T) {
	r := newBrowserRig(t)
	post := r.base + "/hello-world/"
	tb := r.tab(t)
	tb.Open(post) // the rules see the post's vendors
	// Another URL: the browser may reuse its copy of the first without
	// asking (heuristic freshness of a static file).
	tb.Open(post + "?again")
	line := tb.eval(`(document.querySelector('#consentgate .cg-banner .cg-recipients') || {}).textContent || ''`)
	if !strings.HasPrefix(line, "Met uw toestemming ontvangen deze partijen gegevens: ") {
		t.Fatalf("the first layer's recipients line is %q", line)
	}
	for _, want := range []string{"Google Analytics", "; "} {
		if !strings.Contains(line, want) {
			t.Errorf("the line %q lacks %q", line, want)
		}
	}
	if tb.eval(`document.querySelector('#consentgate .cg-banner').contains(document.querySelector('.cg-recipients')) && getComputedStyle(document.querySelector('.cg-recipients')).display !== 'none' ? 'shown' : 'hidden'`) != "shown" {
		t.Error("the line is not shown on the first layer")
	}
	more := tb.eval(`(document.querySelector('#consentgate .cg-recipients a') || {}).textContent || ''`)
	if !strings.HasPrefix(more, "en ") || !strings.HasSuffix(more, " meer") {
		t.Fatalf("the post's many services are not shortened with a link (%q in %q)", more, line)
	}
	// Should the settings not open, say where the click went: not
	// reproduced in 45 runs, one failure seen.
	tb.eval(`window.__clicks = [], window.addEventListener('click', (e) => { window.__clicks.push(e.target.outerHTML.slice(0, 80) + (e.defaultPrevented ? ' (handled)' : '')); }), ''`)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("clicks: %s; link at %s; first paint: %s", tb.eval(`JSON.stringify(window.__clicks || null)`),
				tb.eval(`JSON.stringify(document.querySelector('#consentgate .cg-recipients a').getBoundingClientRect())`),
				tb.eval(`performance.getEntriesByType('paint').map((e) => e.name).join(' ') || 'none'`))
		}
	})
	tb.Do(chromedp.Click(chromedp.CSS(`#consentgate .cg-recipients a`)))
	tb.WaitFor("the second layer", `(function (d) { return !!d && d.open; })(document.querySelector('#consentgate .cg-settings'))`)
	tb.WaitFor("its services", `document.querySelectorAll('#consentgate .cg-services input').length >= 7`)
	if got := r.trackers.take(); len(got) != 0 {
		t.Errorf("tracker requests: %v", got)
	}
}
