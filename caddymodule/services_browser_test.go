package caddymodule

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The second layer lists the site's services under their categories; the
// category's switch sets them all, and a choice per service starts exactly
// the services chosen.
func TestServicesInsideCategories(t *testing.T) {
	r := newBrowserRig(t)
	post := r.base + "/hello-world/"
	tb := r.tab(t)
	tb.Open(post) // the rules see the post's vendors
	tb.Open(post)
	tb.Do(chromedp.Click(chromedp.CSS(gwSettings)))
	tb.WaitFor("the services", settingsLoaded)
	list := tb.eval(`Array.from(document.querySelectorAll('#cg-cat-marketing ~ .cg-services input')).map(function (b) {
		return b.value + ':' + (document.querySelector('label[for="' + b.id + '"]') || {}).textContent + ':' + b.checked; }).join(' ')`)
	for _, want := range []string{"youtube:YouTube:false", "google-maps:Google Maps:false", "meta-pixel:Meta (Facebook) Pixel:false"} {
		if !strings.Contains(list, want) {
			t.Errorf("marketing's services %q lack %s", list, want)
		}
	}
	if got := tb.eval(`document.querySelector('#cg-cat-marketing ~ .cg-services').getAttribute('aria-label')`); got != "Diensten in Marketing" {
		t.Errorf("the list is labelled %q", got)
	}
	// The category's switch sets all of its services; one off makes the
	// category no longer whole.
	// Clicks by script: the dialog's sticky buttons may cover a box at
	// the bottom of its scrolled view.
	click := func(id string) { tb.eval(`document.getElementById('` + id + `').click(), ''`) }
	click("cg-cat-marketing")
	if got := tb.eval(`String(Array.from(document.querySelectorAll('#cg-cat-marketing ~ .cg-services input')).every(function (b) { return b.checked; }))`); got != "true" {
		t.Error("ticking Marketing did not tick its services")
	}
	click("cg-svc-meta-pixel")
	if tb.eval(`String(document.getElementById('cg-cat-marketing').checked)`) != "false" {
		t.Error("Marketing stays ticked with one of its services off")
	}
	r.trackers.take()
	tb.Do(chromedp.Click(chromedp.CSS(gwSave)))
	tb.WaitFor("YouTube", `document.querySelector('iframe[title^="Zuurdesem"]').getAttribute('src')`)
	r.trackers.waitFor(t, "www.youtube.com/")
	r.trackers.waitFor(t, "www.google.com/maps")
	settle()
	reqs := strings.Join(r.trackers.take(), " ")
	if !strings.Contains(reqs, "www.youtube.com/") || !strings.Contains(reqs, "www.google.com/maps") {
		t.Errorf("YouTube and Google Maps were not requested: %s", reqs)
	}
	if strings.Contains(reqs, "facebook") || strings.Contains(tb.ran(), "fb") {
		t.Errorf("the Meta pixel started: %s / %s", reqs, tb.ran())
	}
	// The next page: the same, from the server.
	tb.Open(post)
	r.trackers.waitFor(t, "www.youtube.com/")
	settle()
	reqs = strings.Join(r.trackers.take(), " ")
	if !strings.Contains(reqs, "www.youtube.com/") || strings.Contains(reqs, "facebook") || strings.Contains(reqs, "googletagmanager") {
		t.Errorf("the next page requested %s", reqs)
	}
	tb.Do(chromedp.Click(chromedp.CSS(`#consentgate .cg-toggle`)))
	tb.WaitFor("the services", `document.querySelector('#cg-svc-youtube')`)
	if got := tb.eval(`['youtube', 'google-maps', 'meta-pixel'].map(function (s) { return s + ':' + document.getElementById('cg-svc-' + s).checked; }).join(' ')`); got != "youtube:true google-maps:true meta-pixel:false" {
		t.Errorf("reopened, the switches say %s", got)
	}
}
