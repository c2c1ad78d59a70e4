package rules_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/consentgate/consentgate/rewrite"
	"github.com/consentgate/consentgate/rules"
)

// BenchmarkClassify measures the per-element cost of classification, as
// the rewriter does it (SplitURL, MatchURL; ScanInline for inline
// scripts), over every script, iframe and img of the 50 corpus pages,
// with the curated rules alone and with the full catalogue beneath them.
// ns/element is the figure to compare; the catalogue must not make it
// more than 10% slower:
//
//	go test ./rules -run '^$' -bench 'Classify|RewriteCorpus' -benchmem -count 6 | tee /tmp/bench.txt
//	benchstat -col /tier /tmp/bench.txt
func BenchmarkClassify(b *testing.B) {
	var urls, inline [][]byte
	for _, e := range corpusElements(b) {
		if e.url == "" {
			inline = append(inline, e.inline)
		} else {
			urls = append(urls, []byte(e.url))
		}
	}
	found := func(*rules.Vendor) {}
	for _, kind := range []struct {
		name     string
		elements [][]byte
		classify func(rs *rules.Ruleset, el, scratch []byte)
	}{
		{"url", urls, func(rs *rules.Ruleset, el, scratch []byte) { rs.MatchURL(rules.SplitURL(el, scratch)) }},
		{"inline", inline, func(rs *rules.Ruleset, el, _ []byte) { rs.ScanInline(el, 0, found) }},
	} {
		for _, tier := range []struct {
			name      string
			catalogue bool
		}{{"curated", false}, {"catalogue", true}} {
			rs := compileTiers(b, tier.catalogue)
			b.Run("kind="+kind.name+"/tier="+tier.name, func(b *testing.B) {
				var scratch [256]byte
				b.ReportAllocs()
				n := 0
				for b.Loop() {
					for _, el := range kind.elements {
						kind.classify(rs, el, scratch[:0])
					}
					n += len(kind.elements)
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/element")
			})
		}
	}
}

// BenchmarkClassifyRatio is BenchmarkClassify with the two tiers timed in
// alternation, pass by pass, so that a busy machine slows both alike: the
// catalogue/curated metric is the ratio of their per-element costs (1.10
// would be 10% slower with the catalogue).
//
//	go test ./rules -run '^$' -bench ClassifyRatio -count 6
func BenchmarkClassifyRatio(b *testing.B) {
	var urls, inline [][]byte
	for _, e := range corpusElements(b) {
		if e.url == "" {
			inline = append(inline, e.inline)
		} else {
			urls = append(urls, []byte(e.url))
		}
	}
	curated, full := compileTiers(b, false), compileTiers(b, true)
	found := func(*rules.Vendor) {}
	for _, kind := range []struct {
		name     string
		elements [][]byte
		classify func(rs *rules.Ruleset, el, scratch []byte)
	}{
		{"url", urls, func(rs *rules.Ruleset, el, scratch []byte) { rs.MatchURL(rules.SplitURL(el, scratch)) }},
		{"inline", inline, func(rs *rules.Ruleset, el, _ []byte) { rs.ScanInline(el, 0, found) }},
	} {
		b.Run("kind="+kind.name, func(b *testing.B) {
			var scratch [256]byte
			var spent [2]time.Duration
			passes := 0
			for b.Loop() {
				for i, rs := range [2]*rules.Ruleset{curated, full} {
					if passes%2 == 1 {
						i, rs = 1-i, [2]*rules.Ruleset{full, curated}[i] // alternate which goes first
					}
					start := time.Now()
					for _, el := range kind.elements {
						kind.classify(rs, el, scratch[:0])
					}
					spent[i] += time.Since(start)
				}
				passes++
			}
			n := float64(passes * len(kind.elements))
			b.ReportMetric(float64(spent[0].Nanoseconds())/n, "curated-ns/element")
			b.ReportMetric(float64(spent[1].Nanoseconds())/n, "catalogue-ns/element")
			b.ReportMetric(float64(spent[1])/float64(spent[0]), "catalogue/curated")
		})
	}
}

// BenchmarkRewriteCorpus rewrites the 50 corpus pages as a visitor who
// decided nothing sees them, with each tier, to show the whole rewriter's
// cost per page (the rewriter caches URL decisions per page, so this is
// the figure a visitor feels).
func BenchmarkRewriteCorpus(b *testing.B) {
	pages, _ := filepath.Glob(filepath.Join(corpusDir, "*.html"))
	if len(pages) == 0 {
		b.Skipf("no corpus pages in %s", corpusDir)
	}
	var bodies [][]byte
	total := 0
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		bodies = append(bodies, data)
		total += len(data)
	}
	for _, tier := range []struct {
		name      string
		catalogue bool
	}{{"curated", false}, {"catalogue", true}} {
		cfg := &rewrite.Config{Rules: compileTiers(b, tier.catalogue)}
		b.Run("tier="+tier.name, func(b *testing.B) {
			page := rewrite.Page{Host: "www.example.org", Accepted: rules.OnlyNecessary}
			rw := rewrite.New(discard{}, cfg, page)
			b.SetBytes(int64(total))
			b.ReportAllocs()
			for b.Loop() {
				for _, body := range bodies {
					rw.Reset(discard{}, cfg, page)
					for p := body; len(p) > 0; {
						n := min(32<<10, len(p))
						if _, err := rw.Write(p[:n]); err != nil {
							b.Fatal(err)
						}
						p = p[n:]
					}
					if err := rw.Close(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
