package caddymodule

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/consentgate/consentgate/internal/browsertest"
)

// heldKindsPage holds one tracker URL in each way the rewriter neutralises
// something other than a script or an embed's src: a style attribute, a
// <style> sheet's @import, a legacy background attribute, SVG image href
// and xlink:href, a video poster and an <a ping>. Each URL has a path of
// its own, so the stand-in's log tells which came back.
const heldKindsPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>held kinds</title>
<style>@import url("https://fonts.googleapis.com/css/sheet.css");</style>
</head>
<body>
<div style="width:10px;height:10px;background:url('https://www.facebook.com/tr/style-attr')"></div>
<table background="https://www.facebook.com/tr/table-background"><tr><td>x</td></tr></table>
<svg width="10" height="10"><image href="https://www.facebook.com/tr/svg-href" width="10" height="10"/></svg>
<svg width="10" height="10" xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="https://www.facebook.com/tr/svg-xlink" width="10" height="10"/></svg>
<video poster="https://www.facebook.com/tr/poster" width="10" height="10"></video>
<a id="ping" href="#here" ping="https://www.facebook.com/tr/ping">here</a>
</body></html>`

// TestHeldKindsRestoreWithoutReload: everything the rewriter holds comes
// back after "accept all" in the same page view, not only scripts and
// embeds.
func TestHeldKindsRestoreWithoutReload(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, heldKindsPage)
	}))
	t.Cleanup(up.Close)
	gateway, trackers, browser := standInGateway(t, strings.TrimPrefix(up.URL, "http://"), "")
	tab := browsertest.NewTab(t, browser)

	tab.Open(gateway + "/")
	// Images and sheets start at parse; the page's load event has passed.
	tab.WaitFor("the page's load", `document.readyState === 'complete'`)
	if got := trackers.take(); len(got) != 0 {
		t.Fatalf("tracker requests before a decision: %v", got)
	}
	tab.Do(chromedp.Evaluate[chromedp.Void](`window.sameDocument = true`), chromedp.Click(chromedp.CSS(gwAcceptAll)))

	want := []string{
		"fonts.googleapis.com/css/sheet.css",
		"www.facebook.com/tr/style-attr",
		"www.facebook.com/tr/table-background",
		"www.facebook.com/tr/svg-href",
		"www.facebook.com/tr/svg-xlink",
		"www.facebook.com/tr/poster",
	}
	var seen []string
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		seen = append(seen, trackers.take()...)
		if !slices.ContainsFunc(want, func(w string) bool { return !slices.Contains(seen, w) }) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, w := range want {
		if !slices.Contains(seen, w) {
			t.Errorf("after accept all, no request for %s (requests: %v)", w, seen)
		}
	}
	if !browsertest.Eval[bool](tab, `window.sameDocument === true`) {
		t.Error("the page was reloaded: restoring must happen in the same page view")
	}
	// A ping goes out only on a click; its attribute must be back.
	if got := browsertest.Eval[string](tab, `document.getElementById('ping').getAttribute('ping') || ''`); got != "https://www.facebook.com/tr/ping" {
		t.Errorf("a[ping] after accept all: %q", got)
	}
}
