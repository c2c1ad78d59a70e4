package scan

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/consentgate/consentgate/rules"
)

// Defaults of Options.
const (
	DefaultMaxDepth    = 3
	DefaultMaxPages    = 50
	DefaultConcurrency = 2
	DefaultTimeout     = 15 * time.Second
	DefaultSettle      = 5 * time.Second
	// MaxBodyBytes is how much of a page the static scan reads; the rest
	// of a larger page is ignored (and the page marked truncated).
	MaxBodyBytes = 5 << 20
	// maxConcurrency keeps a scan polite whatever the caller asks for.
	maxConcurrency = 16
)

// UserAgent is the User-Agent of the static scan's requests, so operators
// can tell the scanner apart in their logs.
const UserAgent = "consentgate-scan/1 (+https://github.com/consentgate/consentgate)"

// Options configure a scan. The zero value of every field but Start means
// its default.
type Options struct {
	// Start is the URL the crawl starts at, e.g. "https://example.com/". A
	// URL without a scheme gets https. Only pages of its origin (scheme,
	// host and port) are followed.
	Start string
	// MaxDepth is how many links away from Start the crawl goes: 0 means
	// DefaultMaxDepth (3), a negative value scans Start alone.
	MaxDepth int
	// MaxPages caps the pages fetched, Start included; 0 means
	// DefaultMaxPages (50).
	MaxPages int
	// Concurrency is how many pages are fetched at once; 0 means
	// DefaultConcurrency (2). It is capped at 16.
	Concurrency int
	// Delay is a pause before each request of a worker, to go easy on the
	// site; 0 means none.
	Delay time.Duration
	// Timeout bounds each request (static) or each page load (browser); 0
	// means DefaultTimeout (15s). The whole scan is bounded by the context
	// given to Run.
	Timeout time.Duration
	// Browser scans with headless Chromium instead of net/http.
	Browser bool
	// ChromiumPath is the browser to run; empty means the first of
	// "chromium", "chromium-browser" and "google-chrome" on the PATH.
	ChromiumPath string
	// BrowserFlags are extra Chromium command-line switches, name without
	// the leading dashes; an empty value is a switch without a value. For
	// example {"host-resolver-rules": "MAP www.example.com 10.0.0.5"} scans
	// a staging server under the production host name.
	BrowserFlags map[string]string
	// Settle bounds how long the browser scan waits, after a page's load
	// event, for its network to be idle; 0 means DefaultSettle (5s).
	Settle time.Duration
	// Rules classify the findings; nil means the embedded rules (the
	// curated tier and the generated catalogue, as the gateway uses them)
	// with every category enabled.
	Rules *rules.Ruleset
	// Progress, if set, is called after each page with the number of pages
	// done and the number known so far (both grow as links are found). It
	// is called from one goroutine at a time and must return quickly.
	Progress func(done, total int)
	// HTTPClient is used by the static scan; nil means a client with
	// http.DefaultTransport's settings. Its redirect policy and cookie jar
	// are not used: the scanner follows redirects itself so it sees the
	// cookies every response sets, and fetches every page as a first
	// visit.
	HTTPClient *http.Client
}

// ErrNoBrowser is returned (wrapped) when a browser scan finds no Chromium.
var ErrNoBrowser = errors.New("no Chromium or Chrome found: install chromium or set the browser path")

// settings are Options with defaults applied and the start URL parsed.
// The crawl may rebase start and cls once, when the start URL redirects to
// another origin, before any other page is fetched.
type settings struct {
	Options
	start *url.URL
	cls   *classifier
}

// rebase makes u the origin of the crawl.
func (s *settings) rebase(u *url.URL) {
	s.start = u
	s.cls = newClassifier(s.Rules, u)
}

func (o Options) withDefaults() (*settings, error) {
	s := &settings{Options: o}
	if s.MaxDepth == 0 {
		s.MaxDepth = DefaultMaxDepth
	} else if s.MaxDepth < 0 {
		s.MaxDepth = 0
	}
	if s.MaxPages <= 0 {
		s.MaxPages = DefaultMaxPages
	}
	if s.Concurrency <= 0 {
		s.Concurrency = DefaultConcurrency
	}
	s.Concurrency = min(s.Concurrency, maxConcurrency)
	if s.Delay < 0 {
		s.Delay = 0
	}
	if s.Timeout <= 0 {
		s.Timeout = DefaultTimeout
	}
	if s.Settle <= 0 {
		s.Settle = DefaultSettle
	}
	if s.Rules == nil {
		files, err := rules.DefaultFiles(true)
		if err != nil {
			return nil, fmt.Errorf("loading the default rules: %w", err)
		}
		rs, err := rules.Compile(rules.AllSet, files...)
		if err != nil {
			return nil, fmt.Errorf("compiling the default rules: %w", err)
		}
		s.Rules = rs
	}
	u, err := parseStart(o.Start)
	if err != nil {
		return nil, err
	}
	s.rebase(u)
	return s, nil
}

// parseStart parses and normalises the start URL.
func parseStart(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("no start URL")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("start URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("start URL %q: the scheme must be http or https", raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("start URL %q has no host", raw)
	}
	return normalize(u), nil
}
