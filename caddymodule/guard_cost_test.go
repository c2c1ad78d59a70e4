package caddymodule

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/chromedp"

	"github.com/consentgate/consentgate/internal/browsertest"
	"github.com/consentgate/consentgate/internal/testenv"
	"github.com/consentgate/consentgate/internal/testpages"
)

var guardCost = flag.Bool("guard-cost", false, "measure what the runtime guard costs in Chromium (the demo page and the largest corpus pages) and log it")

// TestGuardCost measures, in headless Chromium, what the runtime guard and
// the banner add to a page: main-thread script time (Chromium's
// ScriptDuration metric, median of several cold loads: with the guard
// against no_guard, and the banner's script against the same page with
// that script blocked), the guard's extra request on a first and a repeat
// visit, and the work per inserted element. It is a measurement, not a
// check: run it with
//
//	go test ./caddymodule -run TestGuardCost -guard-cost -v
func TestGuardCost(t *testing.T) {
	if !*guardCost {
		t.Skip("a measurement: run with -run TestGuardCost -guard-cost -v")
	}
	testenv.Chromium(t)
	corpus := testpages.CorpusDir()
	pages := []string{"/"}
	if entries, err := os.ReadDir(corpus); err == nil {
		type sized struct {
			name string
			size int64
		}
		var all []sized
		for _, e := range entries {
			if info, err := e.Info(); err == nil && strings.HasSuffix(e.Name(), ".html") {
				all = append(all, sized{e.Name(), info.Size()})
			}
		}
		sort.Slice(all, func(i, j int) bool { return all[i].size > all[j].size })
		for _, s := range all[:min(5, len(all))] {
			pages = append(pages, "/corpus/"+s.name)
		}
	} else {
		t.Logf("no corpus at %s: the demo page only", corpus)
	}
	on, off := testenv.FreePort(t), testenv.FreePort(t)
	site := func(port int, extra string) string {
		return fmt.Sprintf(`
http://:%d {
	bind 127.0.0.1
	cookie_consent {
		rate_limit off
		proof_log {
			dir %s
		}
		%s
	}
	handle_path /corpus/* {
		root * %s
		file_server
	}
	handle {
		root * %s
		file_server
	}
}
`, port, filepath.Join(t.TempDir(), "prooflog"), extra, corpus, testpages.Dir())
	}
	startCaddy(t, site(on, "")+site(off, "no_guard"))
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", on))
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", off))
	browser := browsertest.Start(t, browsertest.Options{})

	// load opens u in a fresh tab (a cold cache) and returns its script
	// time in ms, the guard's transfer size, and, on a second visit, its
	// transfer size again.
	load := func(u string, blocked ...string) (scriptMS float64, first, repeat int) {
		tb := browsertest.NewTab(t, browser)
		if _, err := chromedp.Call(tb.Ctx, performance.Enable, performance.EnableParams{}); err != nil {
			t.Fatal(err)
		}
		if len(blocked) > 0 {
			if _, err := chromedp.Call(tb.Ctx, network.Enable, network.EnableParams{}); err != nil {
				t.Fatal(err)
			}
			var patterns []*network.BlockPattern
			for _, b := range blocked {
				patterns = append(patterns, &network.BlockPattern{URLPattern: b, Block: true})
			}
			if _, err := chromedp.Call(tb.Ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: patterns}); err != nil {
				t.Fatal(err)
			}
		}
		guardSize := func() int {
			return browsertest.Eval[int](tb, `(performance.getEntriesByType('resource').filter(function (e) { return e.name.indexOf('/guard.') >= 0; })[0] || {transferSize: -1}).transferSize`)
		}
		tb.Do(chromedp.Navigate(u))
		tb.WaitFor("the load", `document.readyState === 'complete'`)
		time.Sleep(500 * time.Millisecond)
		m, err := chromedp.Call(tb.Ctx, performance.GetMetrics, cdp.Empty{})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range m.Metrics {
			if x.Name == "ScriptDuration" {
				scriptMS = x.Value * 1000
			}
		}
		first = guardSize()
		tb.Do(chromedp.Navigate(u))
		tb.WaitFor("the load", `document.readyState === 'complete'`)
		repeat = guardSize()
		return scriptMS, first, repeat
	}
	median := func(xs []float64) float64 {
		slices.Sort(xs)
		return xs[len(xs)/2]
	}
	const runs = 5
	for _, p := range pages {
		var with, without, noBanner []float64
		var first, repeat int
		for range runs {
			ms, f, r := load(fmt.Sprintf("http://127.0.0.1:%d%s", on, p))
			with, first, repeat = append(with, ms), f, r
			ms, _, _ = load(fmt.Sprintf("http://127.0.0.1:%d%s", off, p))
			without = append(without, ms)
			// The banner's script blocked: what the page costs without it.
			ms, _, _ = load(fmt.Sprintf("http://127.0.0.1:%d%s", off, p), "*://*:*/.well-known/consent/banner.*.js")
			noBanner = append(noBanner, ms)
		}
		t.Logf("%-55s script time %6.1f ms with the guard, %6.1f ms without (median of %d): +%.1f ms; the banner's script +%.1f ms (%.1f ms with it blocked); guard transfer %d B first visit, %d B repeat visit",
			p, median(with), median(without), runs, median(with)-median(without), median(without)-median(noBanner), median(noBanner), first, repeat)
	}

	// The work per inserted element: 2000 frames pointed at a first-party
	// URL and appended to a detached container (nothing loads, nothing
	// lays out), with and without the guard.
	perElement := func(port int) float64 {
		tb := browsertest.NewTab(t, browser)
		tb.Do(chromedp.Navigate(fmt.Sprintf("http://127.0.0.1:%d/", port)))
		tb.WaitFor("the load", `document.readyState === 'complete'`)
		return browsertest.Eval[float64](tb, `(function () {
			var best = Infinity;
			for (var r = 0; r < 7; r++) {
				var box = document.createElement('div'), t0 = performance.now();
				for (var i = 0; i < 2000; i++) {
					var f = document.createElement('iframe');
					f.src = '/frame/' + i;
					var w = document.createElement('div');
					w.appendChild(f);
					box.appendChild(w);
				}
				best = Math.min(best, performance.now() - t0);
			}
			return best * 1000 / 2000;
		})()`)
	}
	w, wo := perElement(on), perElement(off)
	t.Logf("per inserted element (setter + two insertions, best of 7 x 2000): %.2f us with the guard, %.2f us without: +%.2f us", w, wo, w-wo)
}
