package scan

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"time"
)

// Run scans the site at opts.Start and returns what it found.
//
// Bad options (no or a malformed start URL, no browser for a browser scan)
// return a nil report and an error. Pages that fail are not errors of Run:
// they are listed in Report.Stats.Errors. If ctx ends before the crawl is
// done, Run returns the partial report together with an error wrapping the
// context's cause, and Report.Stats.Incomplete says so.
func Run(ctx context.Context, opts Options) (*Report, error) {
	s, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	var f fetcher
	mode := "static"
	if s.Browser {
		mode = "browser"
		bf, err := newBrowserFetcher(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		f = bf
	} else {
		f = newStaticFetcher(s)
	}
	defer f.close()
	rep := crawl(ctx, s, mode, f)
	if rep.Stats.Incomplete != "" {
		return rep, fmt.Errorf("scan of %s stopped after %d pages: %w", rep.Start, rep.Stats.PagesScanned, context.Cause(ctx))
	}
	return rep, nil
}

// job is a page to fetch.
type job struct {
	url   *url.URL // normalised
	depth int
}

// result is what fetching a page gave.
type result struct {
	job      job
	page     Page
	final    *url.URL // where a browser ended up after redirects; nil when unknown
	html     bool     // the page was HTML and was scanned
	nonHTML  bool     // the response was not HTML
	redirect *url.URL // a redirect's target, for the crawl to follow
	links    []*url.URL
	obs      []observation
}

// fetcher fetches and scans one page; it must be safe for concurrent use.
type fetcher interface {
	fetch(ctx context.Context, j job) result
	close()
}

// linkState is what the crawl did with a URL.
type linkState uint8

const (
	stateNew linkState = iota
	stateScheduled
	stateSkippedDepth
	stateSkippedLimit
	stateSkippedNonHTML
)

// crawl runs the fetcher over the site breadth first, with s.Concurrency
// workers, and aggregates what they find.
func crawl(ctx context.Context, s *settings, mode string, f fetcher) *Report {
	began := time.Now()
	rep := &Report{
		Format:    ReportFormat,
		Start:     s.start.String(),
		Mode:      mode,
		StartedAt: began.UTC().Truncate(time.Millisecond),
		Findings:  []Finding{},
		Pages:     []Page{},
		start:     s.start,
	}
	rep.Stats.Errors = []PageError{}
	var agg aggregate

	state := map[string]linkState{s.start.String(): stateScheduled}
	scanned := map[string]bool{}
	scheduled := 1
	queue := []job{{url: s.start, depth: 0}}
	enqueue := func(u *url.URL, depth int) {
		k := u.String()
		switch state[k] {
		case stateNew:
		case stateSkippedDepth:
			if depth > s.MaxDepth {
				return
			}
			rep.Stats.SkippedDepth-- // found again, nearer the start
		default:
			return
		}
		switch {
		case looksNonHTML(u):
			state[k] = stateSkippedNonHTML
			rep.Stats.SkippedNonHTML++
		case depth > s.MaxDepth:
			state[k] = stateSkippedDepth
			rep.Stats.SkippedDepth++
		case scheduled >= s.MaxPages:
			state[k] = stateSkippedLimit
			rep.Stats.SkippedPageLimit++
		default:
			state[k] = stateScheduled
			scheduled++
			queue = append(queue, job{url: u, depth: depth})
		}
	}

	jobs := make(chan job)
	results := make(chan result)
	var wg sync.WaitGroup
	for range s.Concurrency {
		wg.Go(func() {
			first := true
			for j := range jobs {
				if !first && s.Delay > 0 {
					t := time.NewTimer(s.Delay)
					select {
					case <-t.C:
					case <-ctx.Done():
						t.Stop()
					}
				}
				first = false
				results <- f.fetch(ctx, j)
			}
		})
	}

	done, inflight := 0, 0
	ctxDone := ctx.Done()
	for len(queue) > 0 || inflight > 0 {
		var send chan job
		var next job
		if len(queue) > 0 && ctx.Err() == nil {
			send, next = jobs, queue[0]
		}
		select {
		case send <- next:
			queue = queue[1:]
			inflight++
		case r := <-results:
			inflight--
			done++
			handle(rep, &agg, s, r, enqueue, state, scanned)
			if s.Progress != nil {
				s.Progress(done, scheduled)
			}
		case <-ctxDone:
			ctxDone = nil
			rep.Stats.Incomplete = fmt.Sprintf("%v; %d queued pages were not fetched", context.Cause(ctx), len(queue))
			queue = nil
		}
	}
	close(jobs)
	wg.Wait()
	if rep.Stats.Incomplete == "" && ctx.Err() != nil {
		rep.Stats.Incomplete = context.Cause(ctx).Error()
	}

	rep.Findings = agg.findings()
	slices.SortFunc(rep.Pages, func(a, b Page) int {
		return cmp.Or(cmp.Compare(a.Depth, b.Depth), cmp.Compare(a.URL, b.URL))
	})
	slices.SortFunc(rep.Stats.Errors, func(a, b PageError) int { return cmp.Compare(a.URL, b.URL) })
	rep.Stats.Elapsed = time.Since(began).Seconds()
	return rep
}

// handle records one page's result and queues its links. scanned holds
// the pages whose findings are recorded: a browser that followed a redirect
// to a page the crawl also loads under its own URL counts it once.
func handle(rep *Report, agg *aggregate, s *settings, r result, enqueue func(*url.URL, int), state map[string]linkState, scanned map[string]bool) {
	// The start URL (depth 0) redirecting to another origin, such as
	// https://example.com/ to https://www.example.com/, moves the crawl
	// there; no other page is in flight yet.
	if r.job.depth == 0 {
		if to := cmp.Or(r.redirect, r.final); to != nil && !sameOrigin(to, s.start) {
			s.rebase(to)
			rep.start = to
		}
	}
	pageKey := r.page.URL
	if r.final != nil {
		pageKey = r.final.String()
		state[pageKey] = stateScheduled // loaded under another URL
	}
	if r.html {
		if scanned[pageKey] {
			r.html, r.obs, r.links = false, nil, nil
			r.page.Skipped = "already scanned as " + pageKey
		}
		scanned[pageKey] = true
	}
	rep.Pages = append(rep.Pages, r.page)
	if r.page.Error != "" {
		rep.Stats.Errors = append(rep.Stats.Errors, PageError{URL: r.page.URL, Reason: r.page.Error})
	}
	for _, o := range r.obs {
		agg.add(pageKey, o)
	}
	if r.final != nil {
		rep.Stats.Redirects++ // followed by the browser
	}
	switch {
	case r.redirect != nil:
		rep.Stats.Redirects++
		if sameOrigin(r.redirect, s.start) {
			enqueue(r.redirect, r.job.depth)
		}
	case r.nonHTML:
		rep.Stats.SkippedNonHTML++
	case r.html:
		rep.Stats.PagesScanned++
		for _, l := range r.links {
			if sameOrigin(l, s.start) {
				enqueue(l, r.job.depth+1)
			}
		}
	}
}
