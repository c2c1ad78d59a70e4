package scan

import (
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/consentgate/consentgate/rules"
)

// Kind is what a finding is: a kind of element or request, or a cookie.
type Kind string

// The kinds of findings. The static scan reports script, inline_script,
// iframe, image, stylesheet, preconnect, preload and cookie; the browser
// scan reports every kind, by the type of each request the page made.
const (
	KindScript       Kind = "script"        // <script src>, or a script request
	KindInlineScript Kind = "inline_script" // an inline snippet matching a rule's signature
	KindIframe       Kind = "iframe"        // <iframe src>/<frame src>, or a subframe document request
	KindImage        Kind = "image"         // <img src> (tracking pixels), or an image request
	KindStylesheet   Kind = "stylesheet"    // <link rel=stylesheet>, or a stylesheet request
	KindFont         Kind = "font"          // a font request
	KindPreconnect   Kind = "preconnect"    // <link rel=preconnect|dns-prefetch>: a host, no path
	KindPreload      Kind = "preload"       // <link rel=preload|modulepreload|prefetch>, or a prefetch request
	KindXHR          Kind = "xhr"           // XHR, fetch, EventSource and WebSocket requests
	KindBeacon       Kind = "beacon"        // navigator.sendBeacon and <a ping> requests
	KindMedia        Kind = "media"         // audio and video requests
	KindOther        Kind = "other"         // any other request
	KindCookie       Kind = "cookie"        // a cookie set by a response or by JavaScript
)

// Report is the result of a scan. Its JSON form (see WriteJSON) is stable:
// fields are only ever added.
type Report struct {
	// Format is the version of the JSON form, ReportFormat.
	Format int `json:"format"`
	// Start is the normalised start URL.
	Start string `json:"start"`
	// Mode is "static" or "browser".
	Mode string `json:"mode"`
	// StartedAt is when the scan began.
	StartedAt time.Time `json:"started_at"`
	// Findings are sorted by category (necessary, statistics, preferences,
	// marketing, unclassified), then kind, then key.
	Findings []Finding `json:"findings"`
	// Pages lists every URL the crawl requested, by depth, then URL.
	Pages []Page `json:"pages"`
	// Stats sums up the crawl.
	Stats Stats `json:"stats"`

	start *url.URL
}

// ReportFormat is the version of the report's JSON form.
const ReportFormat = 1

// Finding is one thing the site loads or stores, aggregated over the pages
// it was seen on.
type Finding struct {
	// Kind is what was seen.
	Kind Kind `json:"kind"`
	// Key identifies the finding within its kind: the vendor ID for a
	// classified element or request, the host for an unclassified one, and
	// the name for a cookie.
	Key string `json:"key"`
	// Category is the category of the rule that matched, or "unclassified".
	Category string `json:"category"`
	// VendorID and Vendor are the ID and name of the matching rule's
	// vendor; empty when unclassified.
	VendorID string `json:"vendor_id,omitempty"`
	Vendor   string `json:"vendor,omitempty"`
	// Catalogue says the vendor is known only from the generated
	// catalogue (third-party-web, Open Cookie Database), not from rules
	// written from the vendor's documentation.
	Catalogue bool `json:"catalogue,omitempty"`
	// Hosts are the hosts the requests went to (none for inline scripts;
	// the cookie's domain for cookies), sorted.
	Hosts []string `json:"hosts,omitempty"`
	// ThirdParty reports whether a host or the cookie's domain belongs to
	// another site (registrable domain) than the start URL.
	ThirdParty bool `json:"third_party"`
	// Pages is the number of pages the finding was seen on.
	Pages int `json:"pages"`
	// ExamplePages are up to MaxExamples of those pages, sorted.
	ExamplePages []string `json:"example_pages"`
	// ExampleURLs are up to MaxExamples resource URLs that were requested
	// (none for cookies and inline scripts), sorted.
	ExampleURLs []string `json:"example_urls,omitempty"`
	// Cookie describes a cookie finding as first seen; nil for others.
	Cookie *Cookie `json:"cookie,omitempty"`
}

// MaxExamples is how many example pages and URLs a finding keeps.
const MaxExamples = 3

// Cookie holds a cookie's attributes. There is deliberately no field for its
// value: the scanner never records one.
type Cookie struct {
	Name string `json:"name"`
	// Domain is the Domain attribute with a leading dot, as browsers show
	// it (".example.com": the domain and its subdomains), or the host that
	// set a host-only cookie.
	Domain   string `json:"domain"`
	HostOnly bool   `json:"host_only"`
	Path     string `json:"path,omitempty"`
	// MaxAge is the Max-Age attribute in seconds, if the response gave one.
	MaxAge *int `json:"max_age_seconds,omitempty"`
	// Expires is when the cookie expires (RFC 3339), if it does.
	Expires string `json:"expires,omitempty"`
	// Session reports a cookie that ends with the browser session.
	Session  bool   `json:"session"`
	Secure   bool   `json:"secure"`
	HTTPOnly bool   `json:"http_only"`
	SameSite string `json:"same_site,omitempty"`
	// Source is "set-cookie" for a Set-Cookie response header (static
	// scan) or "browser" for the browser's cookie store (browser scan,
	// which includes cookies set by JavaScript).
	Source string `json:"source"`
}

// Page is one URL the crawl requested.
type Page struct {
	URL   string `json:"url"`
	Depth int    `json:"depth"`
	// Status is the HTTP status code, 0 when no response came.
	Status int `json:"status,omitempty"`
	// Error is why the page could not be scanned; empty on success.
	Error string `json:"error,omitempty"`
	// Skipped says why a response that came was not scanned, e.g.
	// "not HTML (application/pdf)" or "redirect to another origin".
	Skipped string `json:"skipped,omitempty"`
	// RedirectTo is where a redirect pointed.
	RedirectTo string `json:"redirect_to,omitempty"`
	// Truncated reports a page larger than MaxBodyBytes, of which only
	// the start was read.
	Truncated bool `json:"truncated,omitempty"`
}

// Stats sum up a crawl.
type Stats struct {
	// PagesScanned counts HTML pages that were fetched and scanned.
	PagesScanned int `json:"pages_scanned"`
	// Errors lists the pages that failed, with the reason.
	Errors []PageError `json:"errors"`
	// SkippedDepth counts distinct same-origin links not followed because
	// they were deeper than MaxDepth.
	SkippedDepth int `json:"skipped_depth"`
	// SkippedPageLimit counts distinct same-origin links not followed
	// because MaxPages was reached.
	SkippedPageLimit int `json:"skipped_page_limit"`
	// SkippedNonHTML counts links not scanned because they were not HTML,
	// by their extension (not fetched) or their Content-Type.
	SkippedNonHTML int `json:"skipped_non_html"`
	// Redirects counts redirect responses.
	Redirects int `json:"redirects"`
	// Elapsed is how long the scan took, in seconds.
	Elapsed float64 `json:"elapsed_seconds"`
	// Incomplete says why the scan stopped early (its context ended);
	// empty when it finished.
	Incomplete string `json:"incomplete,omitempty"`
}

// PageError is a page that could not be scanned.
type PageError struct {
	URL    string `json:"url"`
	Reason string `json:"reason"`
}

// observation is one finding on one page, before aggregation.
type observation struct {
	kind       Kind
	vendor     *rules.Vendor  // nil: unclassified
	category   rules.Category // the matching rule's, when vendor is set
	host       string         // resources: the request's host; cookies: the domain
	url        string         // resources: the URL requested
	thirdParty bool
	cookie     *Cookie
}

// key returns the aggregation key of o: kind and vendor, host or cookie name.
func (o *observation) key() string {
	switch {
	case o.cookie != nil:
		return o.cookie.Name
	case o.vendor != nil:
		return o.vendor.ID
	default:
		return o.host
	}
}

// aggregate collects observations into findings.
type aggregate struct {
	byKey map[string]*aggEntry
}

type aggEntry struct {
	f     Finding
	cat   rules.Category
	pages map[string]bool
	hosts map[string]bool
	urls  map[string]bool
}

const maxKeptURLs = 64

func (a *aggregate) add(page string, o observation) {
	if a.byKey == nil {
		a.byKey = make(map[string]*aggEntry)
	}
	k := string(o.kind) + "\x00" + o.key()
	e := a.byKey[k]
	if e == nil {
		e = &aggEntry{
			f:     Finding{Kind: o.kind, Key: o.key(), Category: rules.Unclassified.String()},
			cat:   rules.Unclassified,
			pages: make(map[string]bool),
			hosts: make(map[string]bool),
			urls:  make(map[string]bool),
		}
		if o.vendor != nil {
			e.cat = o.category
			e.f.Category = o.category.String()
			e.f.VendorID, e.f.Vendor = o.vendor.ID, o.vendor.Name
			e.f.Catalogue = o.vendor.Catalogue
		}
		if o.cookie != nil {
			c := *o.cookie
			e.f.Cookie = &c
		}
		a.byKey[k] = e
	}
	e.pages[page] = true
	if o.host != "" {
		e.hosts[o.host] = true
	}
	if o.url != "" && len(e.urls) < maxKeptURLs {
		e.urls[o.url] = true
	}
	e.f.ThirdParty = e.f.ThirdParty || o.thirdParty
}

// findings returns the sorted findings.
func (a *aggregate) findings() []Finding {
	entries := make([]*aggEntry, 0, len(a.byKey))
	for _, e := range a.byKey {
		e.f.Pages = len(e.pages)
		e.f.ExamplePages = firstSorted(e.pages, MaxExamples)
		e.f.ExampleURLs = firstSorted(e.urls, MaxExamples)
		e.f.Hosts = firstSorted(e.hosts, -1)
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(x, y *aggEntry) int {
		if x.cat != y.cat {
			return int(x.cat) - int(y.cat)
		}
		if c := strings.Compare(string(x.f.Kind), string(y.f.Kind)); c != 0 {
			return c
		}
		return strings.Compare(x.f.Key, y.f.Key)
	})
	out := make([]Finding, len(entries))
	for i, e := range entries {
		out[i] = e.f
	}
	return out
}

// firstSorted returns the n smallest keys of m (all with n < 0), sorted;
// nil when m is empty.
func firstSorted(m map[string]bool, n int) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if n >= 0 && len(keys) > n {
		keys = keys[:n]
	}
	return keys
}
