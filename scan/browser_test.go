package scan

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/internal/testenv"
)

// browserOptions returns options for a browser scan of the test site from
// path, with every host name resolving to the loopback server.
func browserOptions(t *testing.T, ts *testSite, path string) Options {
	return Options{
		Start:        ts.url("site.test", path),
		Browser:      true,
		ChromiumPath: testenv.Chromium(t),
		// Every host to loopback; URLs keep the server's port.
		BrowserFlags: map[string]string{"host-resolver-rules": "MAP * 127.0.0.1"},
		Timeout:      10 * time.Second,
		Settle:       3 * time.Second,
	}
}

func TestBrowserScanSeesWhatScriptsDoAtRunTime(t *testing.T) {
	ts := newTestSite(t)
	opts := browserOptions(t, ts, "/browser")
	brep := runScan(t, opts)
	srep := runScan(t, staticOptions(ts, "/browser"))

	tests := []struct {
		name     string
		kind     Kind
		key      string
		category string
		source   string // cookies: where it was seen
	}{
		{"third-party script injected by an inline script", KindScript, "cdn.injected-ads.test", "unclassified", ""},
		{"pixel requested by the injected script", KindImage, "px.injected-ads.test", "unclassified", ""},
		{"beacon sent by the injected script", KindBeacon, "cdn.injected-ads.test", "unclassified", ""},
		{"cookie set with document.cookie", KindCookie, "js_pref", "unclassified", "browser"},
		{"_ga set by the gtag script", KindCookie, "_ga", "statistics", "browser"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := findFinding(brep, tt.kind, tt.key)
			if f == nil {
				t.Fatalf("browser scan: no %s %q in %+v (errors %+v)", tt.kind, tt.key, brep.Findings, brep.Stats.Errors)
			}
			if f.Category != tt.category {
				t.Errorf("category %q, want %q", f.Category, tt.category)
			}
			if tt.source != "" && (f.Cookie == nil || f.Cookie.Source != tt.source) {
				t.Errorf("cookie %+v, want source %q", f.Cookie, tt.source)
			}
			if s := findFinding(srep, tt.kind, tt.key); s != nil {
				t.Errorf("the static scan found it too: %+v", s)
			}
		})
	}

	t.Run("both scans see the gtag script in the markup", func(t *testing.T) {
		for name, rep := range map[string]*Report{"browser": brep, "static": srep} {
			if f := findFinding(rep, KindScript, "google-analytics"); f == nil || f.Category != "statistics" {
				t.Errorf("%s scan: gtag script = %+v", name, f)
			}
		}
	})
	t.Run("the browser follows links of the rendered page", func(t *testing.T) {
		rendered := ts.url("site.test", "/rendered")
		if findPage(brep, rendered) == nil {
			t.Errorf("browser scan did not visit %s: %+v", rendered, brep.Pages)
		}
		if findPage(srep, rendered) != nil {
			t.Error("the static scan found a link that only script adds")
		}
	})
	t.Run("cookie values are not in the report", func(t *testing.T) {
		var b strings.Builder
		if err := brep.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(b.String(), secret) {
			t.Error("the browser report contains a cookie value")
		}
	})
	if brep.Mode != "browser" || brep.Stats.PagesScanned != 2 {
		t.Errorf("mode %q, %d pages scanned; want browser, 2", brep.Mode, brep.Stats.PagesScanned)
	}
}

func TestBrowserScanClassifiesTheFixtureSite(t *testing.T) {
	ts := newTestSite(t)
	opts := browserOptions(t, ts, "/")
	opts.Timeout = 5 * time.Second // /slow times out
	opts.MaxDepth = 1
	began := time.Now()
	rep := runScan(t, opts)
	if d := time.Since(began); d > 45*time.Second {
		t.Errorf("the scan took %s", d)
	}
	for _, want := range []struct {
		kind     Kind
		key      string
		category string
	}{
		{KindScript, "google-analytics", "statistics"},
		{KindInlineScript, "meta-pixel", "marketing"},
		{KindIframe, "youtube", "marketing"},
		{KindScript, "cdn.unknown-tracker.test", "unclassified"},
		{KindCookie, "cgtest_visitor", "unclassified"},
		{KindCookie, "_ga", "statistics"},
		{KindPreconnect, "google-fonts", "preferences"},
	} {
		if f := findFinding(rep, want.kind, want.key); f == nil || f.Category != want.category {
			t.Errorf("%s %q = %+v, want category %s", want.kind, want.key, f, want.category)
		}
	}
	var timedOut bool
	for _, e := range rep.Stats.Errors {
		if e.URL == ts.url("site.test", "/slow") && strings.Contains(e.Reason, "timed out") {
			timedOut = true
		}
	}
	if !timedOut {
		t.Errorf("no timeout error for /slow: %+v", rep.Stats.Errors)
	}
	if n := ts.hitsOf("site.test", "/doc.pdf"); n != 0 {
		t.Errorf("a .pdf link was loaded %d times", n)
	}
	if p := findPage(rep, ts.url("site.test", "/data")); p == nil || !strings.Contains(p.Skipped, "not HTML") {
		t.Errorf("/data page = %+v, want skipped as not HTML", p)
	}
	for _, path := range []string{"/", "/a", "/loop-a"} {
		if n := ts.hitsOf("site.test", path); n != 1 {
			t.Errorf("%s loaded %d times, want once", path, n)
		}
	}
	// /b is linked and is where /old redirects: the browser may load it
	// twice, but it is one page.
	if f := findFinding(rep, KindIframe, "youtube"); f == nil || f.Pages != 1 {
		t.Errorf("the YouTube iframe of /b = %+v, want on 1 page", f)
	}
}

func TestBrowserScanStopsWithItsContext(t *testing.T) {
	ts := newTestSite(t)
	opts := browserOptions(t, ts, "/slow")
	opts.Timeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		select {
		case <-ts.slowHit: // the browser is loading the page that hangs
			cancel()
		case <-ctx.Done():
		}
	}()
	rep, err := Run(ctx, opts)
	if !errors.Is(err, context.Canceled) || rep == nil || rep.Stats.Incomplete == "" {
		t.Fatalf("Run = %+v, %v; want a partial report and an error wrapping Canceled", rep, err)
	}
	if len(rep.Stats.Errors) != 1 || !strings.Contains(rep.Stats.Errors[0].Reason, "scan stopped") {
		t.Errorf("errors %+v, want /slow stopped by the scan's end", rep.Stats.Errors)
	}
}

func TestBrowserScanMovesToWhereTheStartURLRedirects(t *testing.T) {
	ts := newTestSite(t)
	opts := browserOptions(t, ts, "/")
	opts.Start = ts.url("old.test", "/")
	rep := runScan(t, opts)
	if p := findPage(rep, ts.url("old.test", "/")); p == nil || p.RedirectTo != ts.url("site.test", "/deep1") || p.Skipped != "" || p.Error != "" {
		t.Errorf("start page = %+v, want a redirect that is followed", p)
	}
	if rep.Stats.PagesScanned != 4 {
		t.Errorf("%d pages scanned, want deep1 to deep4: %+v", rep.Stats.PagesScanned, rep.Pages)
	}
}
