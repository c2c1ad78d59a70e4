package rewritebench

import (
	"bytes"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/internal/testpages"
	"github.com/consentgate/consentgate/rewrite"
	"github.com/consentgate/consentgate/rules"
)

// BenchmarkRewritePages rewrites each corpus page with the rules the
// gateway ships (curated and catalogue), as a visitor who decided nothing
// (consent=none) and one who accepted everything (consent=all) sees it,
// written in 32 KB pieces as reverse_proxy does, with the gateway's hooks
// inserted. Each pass times every page on its own; a page's figure is its
// fastest pass (the one nothing else on the machine interrupted). It
// reports the median and the slowest page's MB/s over the corpus (one
// core: the benchmark runs on one goroutine) and the allocations per page;
// with -v it logs the table of every page.
//
//	go test ./rules/internal/rewritebench -run '^$' -bench RewritePages -benchtime 20x -v
//	go test ./rules/internal/rewritebench -run '^$' -bench RewritePages -cpuprofile /tmp/cpu.out
func BenchmarkRewritePages(b *testing.B) {
	pages := loadPages(b)
	cfg := &rewrite.Config{Rules: compileTiers(b, true)}
	for _, mode := range consentModes {
		b.Run("consent="+mode.name, func(b *testing.B) {
			m := newPageMeter(cfg, mode.accepted, pages)
			b.SetBytes(int64(m.total))
			b.ReportAllocs()
			for b.Loop() {
				if err := m.pass(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			s, err := m.summary()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(s.median.mbps, "median-MB/s")
			b.ReportMetric(s.slowest.mbps, "slowest-MB/s")
			b.ReportMetric(s.allocsPerPage, "allocs/page")
			b.Logf("consent=%s: median %.0f MB/s (%s), slowest %.0f MB/s (%s), %.1f allocs/page\n%s",
				mode.name, s.median.mbps, s.median.name, s.slowest.mbps, s.slowest.name, s.allocsPerPage, s.table())
		})
	}
}

// TestRewritePagesBenchmark runs BenchmarkRewritePages' code once, as CI
// does: it checks the meter rewrites every page, reads its figures right,
// and that consent=none actually neutralises trackers while consent=all
// leaves the pages' tags as they are. It asserts nothing about speed.
func TestRewritePagesBenchmark(t *testing.T) {
	pages := loadPages(t)
	cfg := &rewrite.Config{Rules: compileTiers(t, true)}
	for _, mode := range consentModes {
		m := newPageMeter(cfg, mode.accepted, pages)
		for range 2 {
			if err := m.pass(); err != nil {
				t.Fatal(err)
			}
		}
		s, err := m.summary()
		if err != nil {
			t.Fatal(err)
		}
		if len(s.pages) != len(pages) {
			t.Fatalf("consent=%s: %d pages measured, want %d", mode.name, len(s.pages), len(pages))
		}
		for _, p := range s.pages {
			if !(p.mbps > 0) || p.fastest <= 0 {
				t.Errorf("consent=%s: %s: %.1f MB/s from %v", mode.name, p.name, p.mbps, p.fastest)
			}
		}
		if !(s.slowest.mbps <= s.median.mbps) || s.slowest.name == "" || s.median.name == "" {
			t.Errorf("consent=%s: slowest %.1f MB/s (%s) above the median %.1f (%s)", mode.name, s.slowest.mbps, s.slowest.name, s.median.mbps, s.median.name)
		}
		if s.allocsPerPage < 0 {
			t.Errorf("consent=%s: %.1f allocs/page", mode.name, s.allocsPerPage)
		}
		// What the benchmark rewrites must be the gateway's real work:
		// trackers neutralised without consent, none with all accepted,
		// and the hooks in every page.
		changed := 0
		for _, p := range pages {
			out, events, err := rewriteOnce(cfg, mode.accepted, p.body)
			if err != nil {
				t.Fatalf("%s: %v", p.name, err)
			}
			if !bytes.Contains(out, benchHooks.BodyStart) {
				t.Errorf("consent=%s: %s: the banner hook is missing", mode.name, p.name)
			}
			if events.blocked > 0 {
				changed++
			}
			if mode.accepted == rules.AllSet && events.blocked > 0 {
				t.Errorf("consent=all: %s: %d elements neutralised", p.name, events.blocked)
			}
		}
		if mode.accepted == rules.OnlyNecessary && changed < len(pages)*3/4 {
			t.Errorf("consent=none: trackers neutralised on only %d of %d pages", changed, len(pages))
		}
		t.Logf("consent=%s: %d pages, %d with trackers neutralised; %.1f allocs/page", mode.name, len(pages), changed, s.allocsPerPage)
	}
}

var consentModes = []struct {
	name     string
	accepted rules.Set
}{
	{"none", rules.OnlyNecessary},
	{"all", rules.AllSet},
}

// benchHooks are insertions of the size the gateway makes (its guard,
// stylesheet and banner tags), so that the benchmark inserts as it does.
var benchHooks = rewrite.Page{
	Host:      "www.example.org",
	Guard:     []byte(`<script src="/.well-known/consent/guard.js" data-consent-guard="eyJ2IjoxLCJjIjpbIm5lY2Vzc2FyeSJdfQ"></script>`),
	HeadEnd:   []byte(`<link rel="stylesheet" href="/.well-known/consent/banner.css"><script src="/.well-known/consent/banner.js" defer></script>`),
	BodyStart: []byte(`<div id="consent-banner" data-consent-banner hidden></div>`),
}

type page struct {
	name string
	body []byte
}

func loadPages(tb testing.TB) []page {
	tb.Helper()
	var pages []page
	for _, p := range testpages.Corpus(tb) {
		pages = append(pages, page{name: p.Name, body: p.Body})
	}
	return pages
}

// pageMeter rewrites a list of pages pass after pass with one Rewriter (as
// the gateway's pool reuses them), timing each page.
type pageMeter struct {
	cfg    *rewrite.Config
	page   rewrite.Page
	pages  []page
	total  int
	rw     *rewrite.Rewriter
	passes [][]time.Duration // per page
}

func newPageMeter(cfg *rewrite.Config, accepted rules.Set, pages []page) *pageMeter {
	p := benchHooks
	p.Accepted = accepted
	m := &pageMeter{cfg: cfg, page: p, pages: pages, passes: make([][]time.Duration, len(pages))}
	for _, pg := range pages {
		m.total += len(pg.body)
	}
	m.rw = rewrite.New(discard{}, cfg, p)
	return m
}

func (m *pageMeter) pass() error {
	for i, pg := range m.pages {
		start := time.Now()
		if err := m.rewrite(pg.body); err != nil {
			return fmt.Errorf("%s: %w", pg.name, err)
		}
		m.passes[i] = append(m.passes[i], time.Since(start))
	}
	return nil
}

func (m *pageMeter) rewrite(body []byte) error {
	m.rw.Reset(discard{}, m.cfg, m.page)
	for p := body; len(p) > 0; {
		n := min(32<<10, len(p))
		if _, err := m.rw.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return m.rw.Close()
}

type pageFigure struct {
	name    string
	size    int
	fastest time.Duration
	mbps    float64
	allocs  float64
}

type pageSummary struct {
	pages           []pageFigure // slowest first
	median, slowest pageFigure
	allocsPerPage   float64
}

// summary takes each page's fastest pass, and counts its allocations in
// one more, untimed pass.
func (m *pageMeter) summary() (pageSummary, error) {
	var s pageSummary
	var ms runtime.MemStats
	allocs := 0.0
	for i, pg := range m.pages {
		if len(m.passes[i]) == 0 {
			return s, fmt.Errorf("%s: no pass timed", pg.name)
		}
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		if err := m.rewrite(pg.body); err != nil {
			return s, fmt.Errorf("%s: %w", pg.name, err)
		}
		runtime.ReadMemStats(&ms)
		f := pageFigure{name: pg.name, size: len(pg.body), fastest: slices.Min(m.passes[i]), allocs: float64(ms.Mallocs - before)}
		f.mbps = float64(f.size) / 1e6 / f.fastest.Seconds()
		allocs += f.allocs
		s.pages = append(s.pages, f)
	}
	slices.SortFunc(s.pages, func(a, b pageFigure) int {
		switch {
		case a.mbps < b.mbps:
			return -1
		case a.mbps > b.mbps:
			return 1
		}
		return 0
	})
	s.slowest = s.pages[0]
	s.median = s.pages[len(s.pages)/2]
	s.allocsPerPage = allocs / float64(len(s.pages))
	return s, nil
}

func (s pageSummary) table() string {
	var sb strings.Builder
	sb.WriteString("| page | KB | MB/s | allocs |\n|---|---|---|---|\n")
	for _, p := range s.pages {
		fmt.Fprintf(&sb, "| %s | %d | %.0f | %.0f |\n", p.name, p.size/1000, p.mbps, p.allocs)
	}
	return sb.String()
}

type eventCount struct{ blocked int }

func (c *eventCount) Observe(e rewrite.Event) {
	if e.Action == rewrite.Neutralised || e.Action == rewrite.Stripped {
		c.blocked++
	}
}

// rewriteOnce rewrites body into a buffer, counting the elements blocked.
func rewriteOnce(cfg *rewrite.Config, accepted rules.Set, body []byte) ([]byte, eventCount, error) {
	var out bytes.Buffer
	var events eventCount
	p := benchHooks
	p.Accepted, p.Observer = accepted, &events
	rw := rewrite.New(&out, cfg, p)
	for b := body; len(b) > 0; {
		n := min(32<<10, len(b))
		if _, err := rw.Write(b[:n]); err != nil {
			return nil, events, err
		}
		b = b[n:]
	}
	err := rw.Close()
	return out.Bytes(), events, err
}
