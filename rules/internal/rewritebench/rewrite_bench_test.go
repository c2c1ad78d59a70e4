package rewritebench

import (
	"slices"
	"testing"
	"time"

	"github.com/consentgate/consentgate/internal/testpages"
	"github.com/consentgate/consentgate/rewrite"
	"github.com/consentgate/consentgate/rules"
)

func compileTiers(tb testing.TB, catalogue bool) *rules.Ruleset {
	tb.Helper()
	files, err := rules.DefaultFiles(catalogue)
	if err != nil {
		tb.Fatal(err)
	}
	rs, err := rules.Compile(rules.AllSet, files...)
	if err != nil {
		tb.Fatal(err)
	}
	return rs
}

// BenchmarkRewriteCorpus rewrites the 50 corpus pages as a visitor who
// decided nothing sees them, with the curated rules alone and with the
// catalogue, timed in alternation: the whole rewriter's cost per page (it
// caches URL decisions per page), and the catalogue/curated ratios.
//
//	go test ./rules/internal/rewritebench -run '^$' -bench RewriteCorpus -count 6
func BenchmarkRewriteCorpus(b *testing.B) {
	var bodies [][]byte
	total := 0
	for _, p := range testpages.Corpus(b) {
		bodies = append(bodies, p.Body)
		total += len(p.Body)
	}
	cfgs := [2]*rewrite.Config{{Rules: compileTiers(b, false)}, {Rules: compileTiers(b, true)}}
	page := rewrite.Page{Host: "www.example.org", Accepted: rules.OnlyNecessary}
	rw := rewrite.New(discard{}, cfgs[0], page)
	var passes [2][]time.Duration
	b.SetBytes(int64(2 * total))
	b.ReportAllocs()
	for b.Loop() {
		flip := len(passes[0])%2 == 1 // alternate which goes first
		for k := range 2 {
			i := k
			if flip {
				i = 1 - k
			}
			start := time.Now()
			for _, body := range bodies {
				rw.Reset(discard{}, cfgs[i], page)
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
			passes[i] = append(passes[i], time.Since(start))
		}
	}
	reportPaired(b, passes, len(bodies), "page")
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

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
