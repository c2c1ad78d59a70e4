package rules_test

import (
	"slices"
	"testing"
	"time"

	"github.com/consentgate/consentgate/rules"
)

// BenchmarkClassify measures the per-element cost of classification, as
// the rewriter does it (SplitURL, MatchURL; ScanInline for inline
// scripts), over every script, iframe and img of the 50 corpus pages,
// with the curated rules alone and with the full catalogue beneath them.
// ns/element is the figure to compare; the catalogue must not make it
// more than 10% slower:
//
//	go test ./rules -run '^$' -bench 'Classify$' -benchmem -count 6 | tee /tmp/bench.txt
//	benchstat -col /tier /tmp/bench.txt
//
// BenchmarkClassifyRatio below times the tiers in alternation, which a
// busy machine does not skew; rules/internal/rewritebench measures the
// whole rewriter the same way.
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
// ratio-fastest and ratio-median metrics are catalogue/curated of their
// per-element costs (1.10 would be 10% slower with the catalogue).
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
			var passes [2][]time.Duration
			for b.Loop() {
				flip := len(passes[0])%2 == 1 // alternate which goes first
				for k := range 2 {
					i := k
					if flip {
						i = 1 - k
					}
					rs := [2]*rules.Ruleset{curated, full}[i]
					start := time.Now()
					for _, el := range kind.elements {
						kind.classify(rs, el, scratch[:0])
					}
					passes[i] = append(passes[i], time.Since(start))
				}
			}
			reportPaired(b, passes, len(kind.elements), "element")
		})
	}
}

// reportPaired reports the per-item cost of each tier's fastest pass, and
// the catalogue/curated ratio of the fastest and of the median passes: on
// a shared machine the fastest pass is the one nothing interrupted.
func reportPaired(b *testing.B, passes [2][]time.Duration, items int, unit string) {
	var lo, mid [2]time.Duration
	for i := range passes {
		slices.Sort(passes[i])
		lo[i], mid[i] = passes[i][0], passes[i][len(passes[i])/2]
	}
	b.ReportMetric(float64(lo[0].Nanoseconds())/float64(items), "curated-ns/"+unit)
	b.ReportMetric(float64(lo[1].Nanoseconds())/float64(items), "catalogue-ns/"+unit)
	b.ReportMetric(float64(lo[1])/float64(lo[0]), "ratio-fastest")
	b.ReportMetric(float64(mid[1])/float64(mid[0]), "ratio-median")
}
