package scan

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// staticOptions returns options for a static scan of the test site from
// path.
func staticOptions(ts *testSite, path string) Options {
	return Options{
		Start:      ts.url("site.test", path),
		Timeout:    2 * time.Second,
		HTTPClient: ts.client(),
	}
}

func runScan(t *testing.T, opts Options) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rep, err := Run(ctx, opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep
}

func findFinding(rep *Report, kind Kind, key string) *Finding {
	for i := range rep.Findings {
		if rep.Findings[i].Kind == kind && rep.Findings[i].Key == key {
			return &rep.Findings[i]
		}
	}
	return nil
}

func findPage(rep *Report, url string) *Page {
	for i := range rep.Pages {
		if rep.Pages[i].URL == url {
			return &rep.Pages[i]
		}
	}
	return nil
}

func TestStaticScanClassifiesTrackersAndCookies(t *testing.T) {
	ts := newTestSite(t)
	opts := staticOptions(ts, "/")
	opts.Timeout = 300 * time.Millisecond // /slow times out
	rep := runScan(t, opts)

	tests := []struct {
		name       string
		kind       Kind
		key        string
		category   string
		vendor     string
		thirdParty bool
		host       string
	}{
		{"GA4 gtag script", KindScript, "google-analytics", "statistics", "Google Analytics", true, "www.googletagmanager.com"},
		{"GA4 inline gtag snippet", KindInlineScript, "google-analytics", "statistics", "Google Analytics", false, ""},
		{"GTM inline snippet", KindInlineScript, "google-tag-manager", "statistics", "Google Tag Manager", false, ""},
		{"GTM noscript iframe", KindIframe, "google-tag-manager", "statistics", "Google Tag Manager", true, "www.googletagmanager.com"},
		{"Meta pixel noscript image", KindImage, "meta-pixel", "marketing", "Meta (Facebook) Pixel", true, "www.facebook.com"},
		{"Meta pixel inline snippet", KindInlineScript, "meta-pixel", "marketing", "Meta (Facebook) Pixel", false, ""},
		{"YouTube embed", KindIframe, "youtube", "marketing", "YouTube", true, "www.youtube.com"},
		{"unknown third-party script", KindScript, "cdn.unknown-tracker.test", "unclassified", "", true, "cdn.unknown-tracker.test"},
		{"self-hosted matomo.js, first party but known", KindScript, "matomo", "statistics", "Matomo", false, "site.test"},
		{"preconnect to Google Fonts", KindPreconnect, "google-fonts", "preferences", "Google Fonts", true, "fonts.gstatic.com"},
		{"_ga cookie", KindCookie, "_ga", "statistics", "Google Analytics", false, "site.test"},
		{"unknown cookie", KindCookie, "cgtest_visitor", "unclassified", "", false, "site.test"},
		{"script of a vendor only the catalogue knows", KindScript, "mixpanel", "statistics", "Mixpanel", true, "cdn.mxpnl.com"},
		{"cookie only the catalogue knows", KindCookie, "mp_0123abcd_mixpanel", "statistics", "Mixpanel", false, "site.test"},
		{"cookie set by a redirect", KindCookie, "moved_from", "unclassified", "", false, "site.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := findFinding(rep, tt.kind, tt.key)
			if f == nil {
				t.Fatalf("no %s finding %q in %+v", tt.kind, tt.key, rep.Findings)
			}
			if f.Category != tt.category || f.Vendor != tt.vendor || f.ThirdParty != tt.thirdParty {
				t.Errorf("got category %q vendor %q third party %v, want %q %q %v", f.Category, f.Vendor, f.ThirdParty, tt.category, tt.vendor, tt.thirdParty)
			}
			if tt.host != "" && !contains(f.Hosts, tt.host) {
				t.Errorf("hosts %v lack %q", f.Hosts, tt.host)
			}
			if f.Pages < 1 || len(f.ExamplePages) < 1 {
				t.Errorf("pages %d, examples %v: want at least one", f.Pages, f.ExamplePages)
			}
		})
	}

	t.Run("catalogue findings say so, curated ones do not", func(t *testing.T) {
		if f := findFinding(rep, KindScript, "mixpanel"); f == nil || !f.Catalogue {
			t.Errorf("Mixpanel finding %+v: want catalogue set", f)
		}
		if f := findFinding(rep, KindScript, "google-analytics"); f == nil || f.Catalogue {
			t.Errorf("Google Analytics finding %+v: want catalogue unset", f)
		}
		var table bytes.Buffer
		if err := rep.WriteTable(&table); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(table.String(), "Mixpanel (catalogue)") {
			t.Errorf("the table does not mark the catalogue vendor:\n%s", table.String())
		}
	})
	t.Run("the Caddyfile snippet proposes rules only for what neither tier knows", func(t *testing.T) {
		var b bytes.Buffer
		if err := rep.WriteCaddyfile(&b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, known := range []string{"mxpnl.com", "mp_0123abcd_mixpanel", "googletagmanager", "_ga"} {
			if strings.Contains(out, known) {
				t.Errorf("the snippet proposes a rule for %s, which a tier knows:\n%s", known, out)
			}
		}
		for _, unknown := range []string{"cdn.unknown-tracker.test", "cgtest_visitor"} {
			if !strings.Contains(out, unknown) {
				t.Errorf("the snippet lacks %s, which no tier knows:\n%s", unknown, out)
			}
		}
	})
	t.Run("first-party files no rule knows are not reported", func(t *testing.T) {
		for _, f := range rep.Findings {
			for _, u := range f.ExampleURLs {
				if strings.Contains(u, "app.js") || strings.Contains(u, "site.css") || strings.Contains(u, "logo.png") {
					t.Errorf("first-party %s reported: %+v", u, f)
				}
			}
		}
	})
	t.Run("a link to another site is not a finding", func(t *testing.T) {
		for _, f := range rep.Findings {
			if contains(f.Hosts, "other.test") {
				t.Errorf("link to other.test reported: %+v", f)
			}
		}
		if ts.hitsOf("other.test", "/elsewhere") != 0 {
			t.Error("the crawl followed a link to another origin")
		}
	})
	t.Run("JSON-LD is not scanned for inline signatures", func(t *testing.T) {
		if f := findFinding(rep, KindInlineScript, "google-analytics"); f != nil && f.Pages != 1 {
			t.Errorf("inline google-analytics on %d pages, want 1 (the JSON-LD block must not count)", f.Pages)
		}
	})
	t.Run("cookie attributes are recorded without the value", func(t *testing.T) {
		f := findFinding(rep, KindCookie, "cgtest_visitor")
		c := f.Cookie
		if c == nil || !c.HTTPOnly || c.SameSite != "Lax" || !c.HostOnly || c.Path != "/" || !c.Session || c.Source != "set-cookie" {
			t.Errorf("cgtest_visitor cookie = %+v", c)
		}
		ga := findFinding(rep, KindCookie, "_ga").Cookie
		if ga.MaxAge == nil || *ga.MaxAge != 63072000 || ga.Domain != ".site.test" || ga.HostOnly || ga.Session {
			t.Errorf("_ga cookie = %+v", ga)
		}
		for name, w := range map[string]func(*bytes.Buffer) error{
			"JSON": func(b *bytes.Buffer) error { return rep.WriteJSON(b) }, "table": func(b *bytes.Buffer) error { return rep.WriteTable(b) },
			"Caddyfile": func(b *bytes.Buffer) error { return rep.WriteCaddyfile(b) },
		} {
			var b bytes.Buffer
			if err := w(&b); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(b.String(), secret) {
				t.Errorf("the %s output contains a cookie value", name)
			}
		}
	})
}

func TestStaticScanFetchesEachPageOnce(t *testing.T) {
	ts := newTestSite(t)
	opts := staticOptions(ts, "/")
	opts.Timeout = 300 * time.Millisecond
	rep := runScan(t, opts)
	for _, path := range []string{"/", "/a", "/b", "/loop-a", "/loop-b"} {
		if n := ts.hitsOf("site.test", path); n != 1 {
			t.Errorf("%s fetched %d times, want once", path, n)
		}
	}
	seen := map[string]bool{}
	for _, p := range rep.Pages {
		if seen[p.URL] {
			t.Errorf("%s is listed twice in the pages", p.URL)
		}
		seen[p.URL] = true
	}
}

func TestStaticScanFollowsSameOriginRedirectsOnce(t *testing.T) {
	ts := newTestSite(t)
	opts := staticOptions(ts, "/")
	opts.Timeout = 300 * time.Millisecond
	rep := runScan(t, opts)
	old := findPage(rep, ts.url("site.test", "/old"))
	if old == nil || old.Status != 301 || old.RedirectTo != ts.url("site.test", "/b") {
		t.Errorf("/old page = %+v, want a 301 to /b", old)
	}
	if rep.Stats.Redirects != 1 {
		t.Errorf("redirects = %d, want 1", rep.Stats.Redirects)
	}
	if n := ts.hitsOf("site.test", "/b"); n != 1 {
		t.Errorf("/b, linked and redirected to, fetched %d times, want once", n)
	}
}

func TestStaticScanMovesToWhereTheStartURLRedirects(t *testing.T) {
	ts := newTestSite(t)
	opts := staticOptions(ts, "/")
	opts.Start = ts.url("old.test", "/")
	rep := runScan(t, opts)
	if p := findPage(rep, ts.url("old.test", "/")); p == nil || p.RedirectTo != ts.url("site.test", "/deep1") || p.Skipped != "" {
		t.Errorf("start page = %+v, want a redirect that is followed", p)
	}
	if rep.Stats.PagesScanned != 4 {
		t.Errorf("%d pages scanned, want deep1 to deep4: %+v", rep.Stats.PagesScanned, rep.Pages)
	}
}

func TestStaticScanDoesNotFollowRedirectsToOtherOrigins(t *testing.T) {
	ts := newTestSite(t)
	rep := runScan(t, staticOptions(ts, "/hop"))
	if p := findPage(rep, ts.url("site.test", "/away")); p == nil || p.Skipped != "redirect to another origin" {
		t.Errorf("/away page = %+v, want skipped as a redirect to another origin", p)
	}
	if ts.hitsOf("other.test", "/") != 0 {
		t.Error("the crawl followed a redirect to another origin")
	}
}

func TestStaticScanIsPolite(t *testing.T) {
	t.Run("it names itself in the User-Agent", func(t *testing.T) {
		ts := newTestSite(t)
		runScan(t, staticOptions(ts, "/deep1"))
		if len(ts.userAgents) != 1 || !ts.userAgents[UserAgent] || !strings.Contains(UserAgent, "consentgate-scan") {
			t.Errorf("user agents %v, want only %q", ts.userAgents, UserAgent)
		}
	})
	t.Run("it keeps to the concurrency", func(t *testing.T) {
		ts := newTestSite(t)
		ts.pairUp = true
		opts := staticOptions(ts, "/")
		opts.Timeout = 3 * time.Second
		runScan(t, opts)
		if ts.maxInflight > DefaultConcurrency {
			t.Errorf("%d requests at once, want at most %d", ts.maxInflight, DefaultConcurrency)
		}
		if ts.maxInflight < 2 {
			t.Errorf("%d requests at once: the workers did not run side by side", ts.maxInflight)
		}
	})
	t.Run("it waits between requests", func(t *testing.T) {
		ts := newTestSite(t)
		opts := staticOptions(ts, "/deep1")
		opts.Concurrency, opts.Delay = 1, 150*time.Millisecond
		began := time.Now()
		rep := runScan(t, opts)
		if d, want := time.Since(began), time.Duration(len(rep.Pages)-1)*opts.Delay; d < want {
			t.Errorf("%d pages in %s, want at least %s", len(rep.Pages), d, want)
		}
	})
}

func TestStaticScanSkipsNonHTML(t *testing.T) {
	ts := newTestSite(t)
	opts := staticOptions(ts, "/")
	opts.Timeout = 300 * time.Millisecond
	rep := runScan(t, opts)
	if n := ts.hitsOf("site.test", "/doc.pdf"); n != 0 {
		t.Errorf("a .pdf link was fetched %d times", n)
	}
	data := findPage(rep, ts.url("site.test", "/data"))
	if data == nil || !strings.Contains(data.Skipped, "not HTML") {
		t.Errorf("/data page = %+v, want skipped as not HTML", data)
	}
	if ts.hitsOf("site.test", "/never") != 0 {
		t.Error("a link inside a JSON response was followed")
	}
	if rep.Stats.SkippedNonHTML != 2 {
		t.Errorf("skipped_non_html = %d, want 2 (doc.pdf by extension, /data by type)", rep.Stats.SkippedNonHTML)
	}
}

func TestStaticScanReportsSlowPageAsTimeoutAndFinishes(t *testing.T) {
	ts := newTestSite(t)
	opts := staticOptions(ts, "/")
	opts.Timeout = 300 * time.Millisecond
	began := time.Now()
	rep := runScan(t, opts)
	if d := time.Since(began); d > 10*time.Second {
		t.Errorf("the scan took %s", d)
	}
	var found bool
	for _, e := range rep.Stats.Errors {
		if e.URL == ts.url("site.test", "/slow") {
			found = true
			if !strings.Contains(e.Reason, "timed out after 300ms") {
				t.Errorf("reason %q, want a timeout", e.Reason)
			}
		}
	}
	if !found {
		t.Errorf("no error for /slow in %+v", rep.Stats.Errors)
	}
	if rep.Stats.Incomplete != "" {
		t.Errorf("incomplete = %q", rep.Stats.Incomplete)
	}
}

func TestStaticScanRespectsLimits(t *testing.T) {
	tests := []struct {
		name          string
		start         string
		maxDepth      int
		maxPages      int
		wantPages     int
		wantMaxDepth  int
		wantDepthSkip bool
		wantLimitSkip bool
	}{
		{name: "default depth stops three links down", start: "/deep1", wantPages: 4, wantMaxDepth: 3, wantDepthSkip: true},
		{name: "depth one", start: "/deep1", maxDepth: 1, wantPages: 2, wantMaxDepth: 1, wantDepthSkip: true},
		{name: "negative depth scans the start alone", start: "/deep1", maxDepth: -1, wantPages: 1, wantMaxDepth: 0, wantDepthSkip: true},
		{name: "page limit", start: "/", maxPages: 3, wantPages: 3, wantMaxDepth: 1, wantLimitSkip: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestSite(t)
			opts := staticOptions(ts, tt.start)
			opts.MaxDepth, opts.MaxPages = tt.maxDepth, tt.maxPages
			opts.Timeout = 300 * time.Millisecond
			rep := runScan(t, opts)
			if len(rep.Pages) != tt.wantPages {
				t.Errorf("%d pages, want %d: %+v", len(rep.Pages), tt.wantPages, rep.Pages)
			}
			deepest := 0
			for _, p := range rep.Pages {
				deepest = max(deepest, p.Depth)
			}
			if deepest != tt.wantMaxDepth {
				t.Errorf("deepest page at depth %d, want %d", deepest, tt.wantMaxDepth)
			}
			if (rep.Stats.SkippedDepth > 0) != tt.wantDepthSkip {
				t.Errorf("skipped_depth = %d", rep.Stats.SkippedDepth)
			}
			if (rep.Stats.SkippedPageLimit > 0) != tt.wantLimitSkip {
				t.Errorf("skipped_page_limit = %d", rep.Stats.SkippedPageLimit)
			}
		})
	}
}

func TestStaticScanSurvivesMalformedAndHugePages(t *testing.T) {
	ts := newTestSite(t)

	rep := runScan(t, staticOptions(ts, "/malformed"))
	if findFinding(rep, KindScript, "cdn.unknown-tracker.test") == nil {
		t.Errorf("the script of a malformed page was not found: %+v", rep.Findings)
	}

	opts := staticOptions(ts, "/huge")
	opts.MaxDepth = -1
	rep = runScan(t, opts)
	p := findPage(rep, ts.url("site.test", "/huge"))
	if p == nil || !p.Truncated || p.Error != "" {
		t.Fatalf("huge page = %+v, want scanned and truncated", p)
	}
	if findFinding(rep, KindScript, "cdn.unknown-tracker.test") == nil {
		t.Error("the script before the cap was not found")
	}
	if rep.Stats.SkippedDepth != 1 {
		t.Errorf("skipped_depth = %d, want 1: the link past the cap must not be read", rep.Stats.SkippedDepth)
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	for _, start := range []string{"", "   ", "ftp://site.test/", "http://", "http://site.test:notaport/", "javascript:alert(1)"} {
		t.Run(start, func(t *testing.T) {
			rep, err := Run(context.Background(), Options{Start: start})
			if err == nil || rep != nil {
				t.Errorf("Run(%q) = %v, %v; want an error", start, rep, err)
			}
		})
	}
	t.Run("browser not found", func(t *testing.T) {
		_, err := Run(context.Background(), Options{Start: "http://site.test/", Browser: true, ChromiumPath: "/nonexistent/chromium"})
		if !errors.Is(err, ErrNoBrowser) {
			t.Errorf("err = %v, want ErrNoBrowser", err)
		}
	})
}

func TestRunReturnsPartialReportWhenContextEnds(t *testing.T) {
	ts := newTestSite(t)
	opts := staticOptions(ts, "/slow")
	opts.Timeout = time.Minute
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	rep, err := Run(ctx, opts)
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("Run took %s after its context ended", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want one wrapping DeadlineExceeded", err)
	}
	if rep == nil || rep.Stats.Incomplete == "" {
		t.Fatalf("report = %+v, want a partial one marked incomplete", rep)
	}
}

func TestProgressCallbackCountsEveryPage(t *testing.T) {
	ts := newTestSite(t)
	opts := staticOptions(ts, "/")
	opts.Timeout = 300 * time.Millisecond
	var mu sync.Mutex
	var calls [][2]int
	opts.Progress = func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, [2]int{done, total})
	}
	rep := runScan(t, opts)
	if len(calls) != len(rep.Pages) {
		t.Fatalf("%d progress calls for %d pages", len(calls), len(rep.Pages))
	}
	for i, c := range calls {
		if c[0] != i+1 || c[1] < c[0] {
			t.Errorf("call %d = %v: want done %d and total >= done", i, c, i+1)
		}
	}
	if last := calls[len(calls)-1]; last[0] != last[1] {
		t.Errorf("last call %v: want done == total", last)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
