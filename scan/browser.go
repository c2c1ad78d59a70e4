package scan

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// FindChromium returns the path of the browser a browser scan runs: path
// itself if given (a name on the PATH or a file), else the first of
// chromium, chromium-browser, google-chrome and google-chrome-stable on the
// PATH. The error wraps ErrNoBrowser.
func FindChromium(path string) (string, error) {
	if path != "" {
		p, err := exec.LookPath(path)
		if err != nil {
			return "", fmt.Errorf("%w: %q: %w", ErrNoBrowser, path, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// Timing of the browser scan.
const (
	browserStartTimeout = 60 * time.Second
	idleWindow          = 500 * time.Millisecond // no request in flight for this long: settled
	idlePoll            = 100 * time.Millisecond
	maxRequestsPerPage  = 10000
	maxLinksPerPage     = 5000
)

// browserFetcher loads pages in one headless Chromium, each in a tab of its
// own fresh browser context, so every page is a first visit with no cookies.
type browserFetcher struct {
	s      *settings
	bctx   context.Context
	cancel func()
	ua     string
}

func newBrowserFetcher(ctx context.Context, s *settings) (*browserFetcher, error) {
	path, err := FindChromium(s.ChromiumPath)
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		// Keep cross-site iframes in the page's process, so their requests
		// (a YouTube player's, a tag manager frame's) reach the page's
		// network events. The profile is a throwaway temporary directory
		// (the allocator's default), removed when the scan ends.
		chromedp.Flag("disable-features", "Translate,BlinkGenPropertyTrees,SitePerProcess,IsolateOrigins"),
		chromedp.Flag("disable-site-isolation-trials", true),
	)
	names := make([]string, 0, len(s.BrowserFlags))
	for name := range s.BrowserFlags {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := s.BrowserFlags[name]
		name = strings.TrimLeft(name, "-")
		if v == "" {
			opts = append(opts, chromedp.Flag(name, true))
		} else {
			opts = append(opts, chromedp.Flag(name, v))
		}
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	// chromedp's own log lines may quote protocol messages, which can
	// carry cookie values: they are dropped.
	quiet := func(string, ...any) {}
	bctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(quiet), chromedp.WithErrorf(quiet))
	cancel := func() { cancelBrowser(); cancelAlloc() }

	// The first Do starts the browser and ties it to bctx, so it must not
	// get a context with a timeout: a watchdog bounds the start instead.
	watchdog := time.AfterFunc(browserStartTimeout, cancel)
	err = chromedp.Do(bctx)
	if !watchdog.Stop() {
		err = fmt.Errorf("chromium did not start within %s", browserStartTimeout)
	}
	if err != nil {
		cancel()
		return nil, fmt.Errorf("starting %s: %w", path, err)
	}
	f := &browserFetcher{s: s, bctx: bctx, cancel: cancel}
	if v, err := chromedp.CallBrowser(bctx, browser.GetVersion, cdp.Empty{}); err == nil && v.UserAgent != "" {
		f.ua = v.UserAgent + " " + strings.Fields(UserAgent)[0]
	}
	return f, nil
}

func (b *browserFetcher) close() { b.cancel() }

// domInfo is what the rendered page says about itself.
type domInfo struct {
	Links  []string `json:"links"`
	Frames []string `json:"frames"`
	Inline []string `json:"inline"`
	// Connect are the hrefs of <link rel=preconnect|dns-prefetch>, which
	// open connections but make no request the network events show.
	Connect []string `json:"connect"`
}

// domScript collects the rendered page's links, frames and inline scripts
// (capped at MaxBodyBytes of script text).
var domScript = fmt.Sprintf(`(() => {
	const str = (v) => typeof v === "string" ? v : "";
	const links = Array.from(document.querySelectorAll("a[href], area[href]"), (a) => str(a.href)).filter(Boolean).slice(0, %d);
	const frames = Array.from(document.querySelectorAll("iframe[src], frame[src]"), (f) => str(f.src)).filter(Boolean).slice(0, 1000);
	const inline = [];
	let budget = %d;
	for (const s of document.querySelectorAll("script:not([src])")) {
		if (budget <= 0) break;
		const t = str(s.text).slice(0, budget);
		budget -= t.length;
		inline.push(t);
	}
	const connect = Array.from(document.querySelectorAll("link[rel~=preconnect i][href], link[rel~=dns-prefetch i][href]"), (l) => str(l.href)).filter(Boolean).slice(0, 1000);
	return {links, frames, inline, connect};
})()`, maxLinksPerPage, MaxBodyBytes)

func (b *browserFetcher) fetch(ctx context.Context, j job) result {
	r := result{job: j, page: Page{URL: j.url.String(), Depth: j.depth}}
	cls := b.s.cls
	rec := &netRecorder{inflight: make(map[network.RequestID]bool), last: time.Now()}
	tctx, cancel := chromedp.NewContext(b.bctx, chromedp.WithNewBrowserContext(), chromedp.WithListener(rec.on))
	defer cancel()
	defer context.AfterFunc(ctx, cancel)() // the crawl ending closes the tab

	// Open the tab. Like the browser, a tab is tied to the context of its
	// first Do, so a watchdog bounds it.
	watchdog := time.AfterFunc(b.s.Timeout, cancel)
	err := chromedp.Do(tctx)
	if !watchdog.Stop() {
		err = context.DeadlineExceeded
	}
	if err != nil {
		r.page.Error = failReason(ctx, err, b.s.Timeout, "opening a tab: ")
		return r
	}
	if b.ua != "" {
		// Best effort: the page loads the same without it.
		_, _ = chromedp.Call(tctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: b.ua})
	}

	nctx, ncancel := context.WithTimeout(tctx, b.s.Timeout)
	resp, err := chromedp.Run(nctx, chromedp.NavigateResponse(j.url.String()))
	ncancel()
	if err != nil {
		if errors.Is(err, chromedp.ErrPageLoad) {
			var le *chromedp.LoadError
			if errors.As(err, &le) {
				err = errors.New(le.ErrorText)
			}
		}
		r.page.Error = failReason(ctx, err, b.s.Timeout, "")
		return r
	}
	if resp == nil {
		r.page.Error = "no response"
		return r
	}
	r.page.Status = int(resp.Status)
	if resp.Status < 200 || resp.Status >= 300 {
		r.page.Error = fmt.Sprintf("HTTP %d", resp.Status)
		return r
	}
	if !isHTMLType(strings.ToLower(resp.MimeType)) {
		r.nonHTML = true
		r.page.Skipped = fmt.Sprintf("not HTML (%s)", resp.MimeType)
		return r
	}

	// Settling, reading the DOM and the cookies get their own budget.
	ectx, ecancel := context.WithTimeout(tctx, b.s.Timeout+b.s.Settle)
	defer ecancel()
	if loc, err := chromedp.Run(ectx, chromedp.Location()); err == nil {
		if fu := resolve(j.url, loc); fu != nil && fu.String() != j.url.String() {
			r.final = fu
			r.page.RedirectTo = fu.String()
			switch {
			case sameOrigin(fu, b.s.start):
			case j.depth == 0:
				// The start URL redirected: the crawl moves to where it
				// went (see handle).
				cls = newClassifier(b.s.Rules, fu)
			default:
				r.page.Skipped = "redirect to another origin"
				return r
			}
		}
	}
	pageURL := j.url
	if r.final != nil {
		pageURL = r.final
	}

	rec.waitIdle(ectx, idleWindow, b.s.Settle)

	// Every request the page made, by type; the page's own document aside.
	mainFrame := cdp.FrameID(chromedp.FromContext(tctx).Target.TargetID)
	for _, q := range rec.requests() {
		if q.typ == network.ResourceTypeDocument && q.frame == mainFrame || q.typ == network.ResourceTypePreflight {
			continue
		}
		u, err := url.Parse(q.url)
		if err != nil || u.Scheme != "http" && u.Scheme != "https" {
			continue
		}
		if o, ok := cls.resource(kindOf(q.typ), normalize(u)); ok {
			r.obs = append(r.obs, o)
		}
	}

	if dom, err := chromedp.Run(ectx, chromedp.Evaluate[domInfo](domScript)); err == nil {
		for _, l := range dom.Links {
			if u := resolve(pageURL, l); u != nil {
				r.links = append(r.links, u)
			}
		}
		for _, f := range dom.Frames {
			if u := resolve(pageURL, f); u != nil {
				if o, ok := cls.resource(KindIframe, u); ok {
					r.obs = append(r.obs, o)
				}
			}
		}
		for _, c := range dom.Connect {
			if u := resolve(pageURL, c); u != nil {
				if o, ok := cls.resource(KindPreconnect, u); ok {
					r.obs = append(r.obs, o)
				}
			}
		}
		for _, s := range dom.Inline {
			r.obs = append(r.obs, cls.inline([]byte(s))...)
		}
	} else {
		r.page.Error = failReason(ctx, err, b.s.Timeout, "reading the rendered page: ")
		return r
	}

	// Every cookie of the tab's own browser context: first and third
	// party, from headers and from JavaScript.
	cookies, err := chromedp.CallBrowser(ectx, storage.GetCookies, storage.GetCookiesParams{
		BrowserContextID: chromedp.FromContext(tctx).BrowserContextID,
	})
	if err != nil {
		r.page.Error = failReason(ctx, err, b.s.Timeout, "reading the cookies: ")
		return r
	}
	for _, c := range cookies.Cookies {
		if c == nil {
			continue
		}
		r.obs = append(r.obs, cls.cookie(browserCookie(c)))
	}
	r.html = true
	return r
}

// browserCookie copies a browser cookie's attributes, never its value.
func browserCookie(c *network.Cookie) Cookie {
	ck := Cookie{
		Name:     truncate(c.Name, 256),
		Domain:   c.Domain,
		HostOnly: !strings.HasPrefix(c.Domain, "."),
		Path:     c.Path,
		Session:  c.Session,
		Secure:   c.Secure,
		HTTPOnly: c.HTTPOnly,
		SameSite: string(c.SameSite),
		Source:   "browser",
	}
	if !c.Session && c.Expires > 0 {
		ck.Expires = time.Unix(int64(c.Expires), 0).UTC().Format(time.RFC3339)
	}
	return ck
}

// kindOf maps a request's resource type to a finding kind.
func kindOf(t network.ResourceType) Kind {
	switch t {
	case network.ResourceTypeScript:
		return KindScript
	case network.ResourceTypeImage:
		return KindImage
	case network.ResourceTypeXHR, network.ResourceTypeFetch, network.ResourceTypeEventSource, network.ResourceTypeWebSocket:
		return KindXHR
	case network.ResourceTypeDocument:
		return KindIframe
	case network.ResourceTypeStylesheet:
		return KindStylesheet
	case network.ResourceTypeFont:
		return KindFont
	case network.ResourceTypePing:
		return KindBeacon
	case network.ResourceTypeMedia:
		return KindMedia
	case network.ResourceTypePrefetch:
		return KindPreload
	default:
		return KindOther
	}
}

// netRecorder records a tab's requests and tells when its network is idle.
// on runs in the tab's event loop, so it only appends under a lock.
type netRecorder struct {
	mu       sync.Mutex
	reqs     []netRequest
	inflight map[network.RequestID]bool
	last     time.Time // last request started or ended
}

type netRequest struct {
	url   string
	typ   network.ResourceType
	frame cdp.FrameID
}

func (n *netRecorder) on(ev any) {
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.Request == nil {
			return
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if strings.HasPrefix(ev.Request.URL, "http:") || strings.HasPrefix(ev.Request.URL, "https:") {
			n.inflight[ev.RequestID] = true
		}
		if len(n.reqs) < maxRequestsPerPage {
			n.reqs = append(n.reqs, netRequest{url: ev.Request.URL, typ: ev.Type, frame: ev.FrameID})
		}
		n.last = time.Now()
	case *network.EventLoadingFinished:
		n.done(ev.RequestID)
	case *network.EventLoadingFailed:
		n.done(ev.RequestID)
	}
}

func (n *netRecorder) done(id network.RequestID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.inflight, id)
	n.last = time.Now()
}

func (n *netRecorder) requests() []netRequest {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.reqs)
}

// waitIdle returns once no request has been in flight for window, or after
// at most max, or when ctx ends.
func (n *netRecorder) waitIdle(ctx context.Context, window, max time.Duration) {
	deadline := time.Now().Add(max)
	tick := time.NewTicker(idlePoll)
	defer tick.Stop()
	for {
		n.mu.Lock()
		idle := len(n.inflight) == 0 && time.Since(n.last) >= window
		n.mu.Unlock()
		if idle || time.Now().After(deadline) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
