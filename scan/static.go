package scan

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
)

// staticFetcher fetches pages with net/http and reads their HTML.
type staticFetcher struct {
	s      *settings
	client *http.Client
}

func newStaticFetcher(s *settings) *staticFetcher {
	var c http.Client
	if s.HTTPClient != nil {
		c = *s.HTTPClient
	} else {
		c.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	// Redirects are followed by the crawl, so that the cookies of every
	// response are seen and each target is fetched once; without a jar
	// every page is a first visit, which is when a site sets its cookies.
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.Jar = nil
	return &staticFetcher{s: s, client: &c}
}

func (f *staticFetcher) close() {}

func (f *staticFetcher) fetch(ctx context.Context, j job) result {
	r := result{job: j, page: Page{URL: j.url.String(), Depth: j.depth}}
	cls := f.s.cls
	rctx, cancel := context.WithTimeout(ctx, f.s.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, j.url.String(), nil)
	if err != nil {
		r.page.Error = fmt.Sprintf("building the request: %v", err)
		return r
	}
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1")
	resp, err := f.client.Do(req)
	if err != nil {
		r.page.Error = failReason(ctx, err, f.s.Timeout, "")
		return r
	}
	defer resp.Body.Close()
	r.page.Status = resp.StatusCode

	for _, line := range resp.Header.Values("Set-Cookie") {
		if c, ok := parseSetCookie(line, j.url.Hostname(), time.Now()); ok {
			r.obs = append(r.obs, cls.cookie(c))
		}
	}

	switch code := resp.StatusCode; {
	case code >= 300 && code < 400 && resp.Header.Get("Location") != "":
		r.redirect = resolve(j.url, resp.Header.Get("Location"))
		switch {
		case r.redirect == nil:
			r.page.Error = fmt.Sprintf("HTTP %d redirect to an unusable location", code)
		case !sameOrigin(r.redirect, f.s.start) && j.depth > 0:
			// At depth 0, the start URL's redirects move the crawl.
			r.page.RedirectTo = r.redirect.String()
			r.page.Skipped = "redirect to another origin"
		default:
			r.page.RedirectTo = r.redirect.String()
		}
		return r
	case code < 200 || code >= 300:
		r.page.Error = fmt.Sprintf("HTTP %d", code)
		return r
	}

	ct := resp.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	if ct != "" && !isHTMLType(mt) {
		r.nonHTML = true
		r.page.Skipped = fmt.Sprintf("not HTML (%s)", mt)
		return r
	}
	body, truncated, err := readCapped(resp.Body, MaxBodyBytes)
	if err != nil {
		r.page.Error = failReason(ctx, err, f.s.Timeout, "reading the page: ")
		return r
	}
	r.page.Truncated = truncated
	if ct == "" {
		ct = http.DetectContentType(body)
		mt, _, _ = mime.ParseMediaType(ct)
		if !isHTMLType(mt) {
			r.nonHTML = true
			r.page.Skipped = fmt.Sprintf("not HTML (%s)", mt)
			return r
		}
	}
	doc, err := parseHTML(body, ct)
	if err != nil {
		r.page.Error = fmt.Sprintf("parsing the page: %v", err)
		return r
	}
	r.html = true
	links, obs := extract(doc, j.url, cls)
	r.links = links
	r.obs = append(r.obs, obs...)
	return r
}

// failReason explains a failed request for the report.
func failReason(ctx context.Context, err error, timeout time.Duration, prefix string) string {
	switch {
	case ctx.Err() != nil:
		return prefix + "scan stopped before the page finished: " + context.Cause(ctx).Error()
	case errors.Is(err, context.DeadlineExceeded):
		return prefix + fmt.Sprintf("timed out after %s", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return prefix + err.Error()
}

func isHTMLType(mt string) bool {
	return mt == "text/html" || mt == "application/xhtml+xml"
}

// readCapped reads at most limit bytes of r and reports whether there was
// more.
func readCapped(r io.Reader, limit int64) ([]byte, bool, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, false, err
	}
	if int64(len(body)) > limit {
		return body[:limit], true, nil
	}
	return body, false, nil
}

// parseHTML parses a page in its declared or sniffed character set, with
// scripting disabled so that the contents of <noscript> (where tracking
// pixels and tag manager frames hide) are parsed as elements.
func parseHTML(body []byte, contentType string) (*goquery.Document, error) {
	rd, err := charset.NewReader(bytes.NewReader(body), contentType)
	if err != nil {
		rd = bytes.NewReader(body) // unknown charset: read as UTF-8
	}
	root, err := html.ParseWithOptions(rd, html.ParseOptionEnableScripting(false))
	if err != nil {
		return nil, err
	}
	return goquery.NewDocumentFromNode(root), nil
}

// extract returns the page's links (absolute, normalised, any origin) and
// what it loads.
func extract(doc *goquery.Document, pageURL *url.URL, cls *classifier) ([]*url.URL, []observation) {
	base := pageURL
	if href, ok := doc.Find("base[href]").First().Attr("href"); ok {
		if b := resolve(pageURL, href); b != nil {
			base = b
		}
	}
	var obs []observation
	addResource := func(kind Kind, ref string) {
		if u := resolve(base, ref); u != nil {
			if o, ok := cls.resource(kind, u); ok {
				obs = append(obs, o)
			}
		}
	}

	doc.Find("script").Each(func(_ int, s *goquery.Selection) {
		if src := srcAttr(s, "src"); src != "" {
			addResource(KindScript, src)
			return
		}
		if t := strings.ToLower(s.AttrOr("type", "")); strings.Contains(t, "json") || strings.Contains(t, "template") {
			return // data, not code
		}
		obs = append(obs, cls.inline([]byte(s.Text()))...)
	})
	doc.Find("iframe, frame").Each(func(_ int, s *goquery.Selection) {
		if src := srcAttr(s, "src"); src != "" {
			addResource(KindIframe, src)
		}
	})
	doc.Find("img").Each(func(_ int, s *goquery.Selection) {
		if src := srcAttr(s, "src"); src != "" {
			addResource(KindImage, src)
		}
	})
	doc.Find("link").Each(func(_ int, s *goquery.Selection) {
		href := srcAttr(s, "href")
		if href == "" {
			return
		}
		kind := Kind("")
		for _, rel := range strings.Fields(strings.ToLower(s.AttrOr("rel", ""))) {
			switch rel {
			case "stylesheet":
				kind = KindStylesheet
			case "preconnect", "dns-prefetch":
				if kind == "" {
					kind = KindPreconnect
				}
			case "preload", "modulepreload", "prefetch":
				if kind == "" || kind == KindPreconnect {
					kind = KindPreload
				}
			}
		}
		if kind != "" {
			addResource(kind, href)
		}
	})

	var links []*url.URL
	doc.Find("a[href], area[href]").Each(func(_ int, s *goquery.Selection) {
		if u := resolve(base, s.AttrOr("href", "")); u != nil {
			links = append(links, u)
		}
	})
	return links, obs
}

// srcAttr returns the element's attribute name, or the data-consent-
// attribute the gateway moves it to when it neutralises the element, so a
// site already behind the gateway is scanned as its visitors' browsers
// would load it after consent.
func srcAttr(s *goquery.Selection, name string) string {
	if v := strings.TrimSpace(s.AttrOr(name, "")); v != "" {
		return v
	}
	return strings.TrimSpace(s.AttrOr("data-consent-"+name, ""))
}

// parseSetCookie reads the attributes of a Set-Cookie header, dropping the
// value at once. host is the host that sent it. A cookie that deletes
// itself (Max-Age zero or below, or an expiry in the past) is not reported.
func parseSetCookie(line, host string, now time.Time) (Cookie, bool) {
	hc, err := http.ParseSetCookie(line)
	if err != nil {
		// Not valid to net/http, but a browser may still store it: keep
		// the name if it is printable.
		name, _, _ := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		if name == "" || strings.ContainsAny(name, ";") || strings.IndexFunc(name, func(r rune) bool { return r < 0x21 || r == 0x7f }) >= 0 {
			return Cookie{}, false
		}
		return Cookie{Name: truncate(name, 256), Domain: host, HostOnly: true, Session: true, Source: "set-cookie"}, true
	}
	hc.Value = "" // never kept
	if hc.MaxAge < 0 || hc.MaxAge == 0 && !hc.Expires.IsZero() && hc.Expires.Before(now) {
		return Cookie{}, false
	}
	c := Cookie{
		Name:     hc.Name,
		Domain:   hc.Domain,
		Path:     hc.Path,
		Secure:   hc.Secure,
		HTTPOnly: hc.HttpOnly,
		Source:   "set-cookie",
	}
	if c.Domain == "" {
		c.Domain, c.HostOnly = host, true
	} else {
		c.Domain = "." + strings.TrimPrefix(strings.ToLower(c.Domain), ".") // as browsers show it
	}
	if hc.MaxAge > 0 {
		m := hc.MaxAge
		c.MaxAge = &m
	}
	if !hc.Expires.IsZero() {
		c.Expires = hc.Expires.UTC().Format(time.RFC3339)
	}
	c.Session = c.MaxAge == nil && c.Expires == ""
	switch hc.SameSite {
	case http.SameSiteStrictMode:
		c.SameSite = "Strict"
	case http.SameSiteLaxMode:
		c.SameSite = "Lax"
	case http.SameSiteNoneMode:
		c.SameSite = "None"
	}
	return c, true
}
