package rules

import (
	"regexp"
	"testing"
	"time"

	"github.com/consentgate/consentgate/internal/testpages"
)

// withOperatorRules compiles an operator's rules for any host before both
// default tiers.
func withOperatorRules(t testing.TB, urls ...string) *Ruleset {
	t.Helper()
	op := &File{Format: 1, Vendors: []VendorSpec{{ID: "op", Category: "statistics", URLs: urls}}}
	files, err := DefaultFiles(true)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(AllSet, append([]*File{op}, files...)...)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestAnyHostFilter(t *testing.T) {
	rs := bothTiers(t)
	if !rs.anyFilter.on {
		t.Fatal("the default rules for any host have no filter")
	}
	for _, tt := range []struct {
		path string
		may  bool
	}{
		{"/wp-content/uploads/2026/11/hero-300x200.jpg", false},
		{"/wp-content/themes/x/style.css?ver=6.4", false},
		{"/js/matomo.js", true},
		{"/stats/piwik.php?idsite=1", true},
		{"/cdn-cgi/rum?x", true},
		{"", false},
		{"/", false},
	} {
		if got := rs.anyFilter.mayMatch([]byte(tt.path)); got != tt.may {
			t.Errorf("mayMatch(%q) = %v, want %v", tt.path, got, tt.may)
		}
		if !rs.anyFilter.mayMatch([]byte(tt.path)) && rs.matchURL(nil, []byte(tt.path), false) != nil {
			t.Errorf("%q: ruled out, but a rule matches it", tt.path)
		}
	}
	// A rule with no pair to look for turns the filter off.
	for _, u := range []string{"*/*", "*/*a*b", "*"} {
		if withOperatorRules(t, u).anyFilter.on {
			t.Errorf("with %q the filter is on", u)
		}
	}
}

// corpusURLs returns every src and href value of the corpus pages.
func corpusURLs(t testing.TB) [][]byte {
	t.Helper()
	attr := regexp.MustCompile(`(?i)\s(?:src|href|data-src)\s*=\s*["']([^"']+)["']`)
	var urls [][]byte
	for _, p := range testpages.Corpus(t) {
		for _, m := range attr.FindAllSubmatch(p.Body, -1) {
			urls = append(urls, m[1])
		}
	}
	return urls
}

// TestAnyHostFilterOnCorpusURLs: MatchURL gives every URL of the corpus
// pages the vendor it gives without the filter, with the default rules and
// with operator rules for any host.
func TestAnyHostFilterOnCorpusURLs(t *testing.T) {
	urls := corpusURLs(t)
	for _, rs := range []*Ruleset{bothTiers(t), withOperatorRules(t, "*/*jquery*", "*/wp-json/*", "*/?p=*", "*/*.gif?*")} {
		skipped, matched := 0, 0
		for _, u := range urls {
			host, pathq := SplitURL(u, nil)
			got, want := rs.matchURL(host, pathq, true), rs.matchURL(host, pathq, false)
			if got != want {
				t.Errorf("%s: %v with the filter, %v without", u, got, want)
			}
			if !rs.anyFilter.mayMatch(pathq) {
				skipped++
			}
			if want != nil {
				matched++
			}
		}
		t.Logf("%d URLs, %d matched, rules for any host skipped for %d", len(urls), matched, skipped)
		if skipped < len(urls)/2 {
			t.Errorf("the filter ruled out only %d of %d URLs", skipped, len(urls))
		}
	}
}

// FuzzMatchURLAnyHostFilter holds MatchURL with the filter to MatchURL
// without it on arbitrary URLs.
func FuzzMatchURLAnyHostFilter(f *testing.F) {
	rs := withOperatorRules(f, "*/*jquery*", "*/collect?*tid=", "*/*.gif?*", "*/a/b*cd")
	for _, s := range []string{"https://x.example/js/matomo.js", "/piwik.php?a", "//cdn.example/a/bxcd", "/collect?v=1&tid=UA-1", "https://www.googletagmanager.com/gtag/js?id=G-1", "/x.gif?y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, u string) {
		host, pathq := SplitURL([]byte(u), nil)
		if got, want := rs.matchURL(host, pathq, true), rs.matchURL(host, pathq, false); got != want {
			t.Fatalf("%q: %v with the filter, %v without", u, got, want)
		}
	})
}

// BenchmarkAnyHostFilter times MatchURL on every corpus URL with and
// without the filter, in alternation (a busy machine slows both alike),
// and reports each one's fastest pass per URL.
//
//	go test ./rules -run '^$' -bench AnyHostFilter -count 3
func BenchmarkAnyHostFilter(b *testing.B) {
	rs := bothTiers(b)
	var hosts, paths [][]byte
	for _, u := range corpusURLs(b) {
		h, p := SplitURL(u, nil)
		hosts = append(hosts, h)
		paths = append(paths, p)
	}
	var fastest [2]time.Duration
	for b.Loop() {
		for k, filter := range []bool{true, false} {
			start := time.Now()
			for i := range hosts {
				rs.matchURL(hosts[i], paths[i], filter)
			}
			if d := time.Since(start); fastest[k] == 0 || d < fastest[k] {
				fastest[k] = d
			}
		}
	}
	b.ReportMetric(float64(fastest[0].Nanoseconds())/float64(len(hosts)), "filter-ns/url")
	b.ReportMetric(float64(fastest[1].Nanoseconds())/float64(len(hosts)), "unfiltered-ns/url")
}
