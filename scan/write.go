package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/consentgate/consentgate/rules"
)

// WriteTable writes the report for people: a summary line, the findings in
// aligned columns grouped by category in banner order with the unclassified
// ones last and marked, and the pages that failed.
func (r *Report) WriteTable(w io.Writer) error {
	ew := &errWriter{w: w}
	s := r.Stats
	fmt.Fprintf(ew, "consentgate scan of %s (%s)\n", r.Start, r.Mode)
	fmt.Fprintf(ew, "%s scanned, %s, skipped: %d deeper than the depth limit, %d over the page limit, %d not HTML; %s; %.1fs\n",
		plural(s.PagesScanned, "page", "pages"), plural(len(s.Errors), "error", "errors"), s.SkippedDepth, s.SkippedPageLimit, s.SkippedNonHTML,
		plural(s.Redirects, "redirect", "redirects"), s.Elapsed)
	if s.Incomplete != "" {
		fmt.Fprintf(ew, "INCOMPLETE: the scan stopped early (%s)\n", s.Incomplete)
	}
	fmt.Fprintln(ew)

	if len(r.Findings) == 0 {
		fmt.Fprintln(ew, "Nothing found: no third-party resources, known trackers or cookies.")
	} else {
		tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CATEGORY\tKIND\tVENDOR\tWHAT\tPAGES\tSEEN ON")
		prev := ""
		unclassified := 0
		for _, f := range r.Findings {
			cat := ""
			if f.Category != prev {
				cat, prev = f.Category, f.Category
				if cat == rules.Unclassified.String() {
					cat = "UNCLASSIFIED!"
				}
			}
			if f.Category == rules.Unclassified.String() {
				unclassified++
			}
			vendor := f.Vendor
			switch {
			case vendor == "":
				vendor = "-"
			case f.Catalogue:
				vendor += " (catalogue)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", cat, f.Kind, clean(vendor), clean(what(f)), f.Pages, r.seenOn(f))
		}
		tw.Flush()
		if unclassified > 0 {
			fmt.Fprintf(ew, "\n! %s unclassified: no rule knows %s. Write rules for %s (the Caddyfile snippet is a start).\n",
				plural(unclassified, "finding is", "findings are"), pick(unclassified, "it", "them"), pick(unclassified, "it", "them"))
		}
	}

	if len(s.Errors) > 0 {
		fmt.Fprintln(ew, "\nERRORS")
		tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PAGE\tREASON")
		for _, e := range s.Errors {
			fmt.Fprintf(tw, "%s\t%s\n", clean(shortURL(r.startURL(), e.URL)), clean(e.Reason))
		}
		tw.Flush()
	}
	return ew.err
}

// what describes the subject of a finding for the table.
func what(f Finding) string {
	switch {
	case f.Kind == KindCookie && f.Cookie != nil && f.ThirdParty:
		return fmt.Sprintf("%s (on %s)", f.Key, strings.TrimPrefix(f.Cookie.Domain, "."))
	case f.Kind == KindCookie:
		return f.Key
	case f.Kind == KindInlineScript:
		return "inline <script>"
	case len(f.Hosts) > 2:
		return fmt.Sprintf("%s, %s +%d more", f.Hosts[0], f.Hosts[1], len(f.Hosts)-2)
	case len(f.Hosts) > 0:
		return strings.Join(f.Hosts, ", ")
	}
	return f.Key
}

func (r *Report) seenOn(f Finding) string {
	var b strings.Builder
	for i, p := range f.ExamplePages {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(clean(shortURL(r.startURL(), p)))
	}
	if f.Pages > len(f.ExamplePages) {
		b.WriteString(", …")
	}
	return b.String()
}

func (r *Report) startURL() *url.URL {
	if r.start != nil {
		return r.start
	}
	u, err := parseStart(r.Start)
	if err != nil {
		return nil
	}
	return u
}

// WriteJSON writes the report as indented JSON. The field names are stable
// snake_case (see the json tags of Report, Finding, Cookie, Page, Stats and
// PageError); the top-level "format" field (ReportFormat) changes only if
// a field changes meaning or goes away. Example:
//
//	{
//	  "format": 1,
//	  "start": "https://example.com/",
//	  "mode": "static",
//	  "started_at": "2025-01-02T15:04:05Z",
//	  "findings": [
//	    {
//	      "kind": "script",
//	      "key": "google-analytics",
//	      "category": "statistics",
//	      "vendor_id": "google-analytics",
//	      "vendor": "Google Analytics",
//	      "hosts": ["www.googletagmanager.com"],
//	      "third_party": true,
//	      "pages": 12,
//	      "example_pages": ["https://example.com/", "https://example.com/about"],
//	      "example_urls": ["https://www.googletagmanager.com/gtag/js?id=G-1"]
//	    },
//	    {
//	      "kind": "cookie",
//	      "key": "visitor",
//	      "category": "unclassified",
//	      "hosts": ["example.com"],
//	      "third_party": false,
//	      "pages": 12,
//	      "example_pages": ["https://example.com/"],
//	      "cookie": {"name": "visitor", "domain": "example.com", "host_only": true,
//	        "path": "/", "max_age_seconds": 31536000, "session": false,
//	        "secure": true, "http_only": true, "same_site": "Lax", "source": "set-cookie"}
//	    }
//	  ],
//	  "pages": [{"url": "https://example.com/", "depth": 0, "status": 200}],
//	  "stats": {"pages_scanned": 12, "errors": [], "skipped_depth": 0,
//	    "skipped_page_limit": 3, "skipped_non_html": 1, "redirects": 0,
//	    "elapsed_seconds": 4.2}
//	}
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing the JSON report: %w", err)
	}
	return nil
}

// WriteCaddyfile writes, for everything unclassified, the lines to paste
// into the cookie_consent block of a Caddyfile: "rule unclassified <host>"
// for each host of unclassified requests and "cookie unclassified <name>"
// for each unclassified cookie, each with a comment saying what was seen
// and on how many pages. The scanner cannot know what each is for, so a
// header comment asks the operator to replace "unclassified" with the
// right category. A host or name that could not be written as a valid
// pattern is written as a comment.
func (r *Report) WriteCaddyfile(w io.Writer) error {
	ew := &errWriter{w: w}
	type hostSeen struct {
		host  string
		kinds []string
	}
	hosts := map[string]*hostSeen{}
	var cookies []Finding
	for _, f := range r.Findings {
		if f.Category != rules.Unclassified.String() {
			continue
		}
		if f.Kind == KindCookie {
			cookies = append(cookies, f)
			continue
		}
		for _, h := range f.Hosts {
			hs := hosts[h]
			if hs == nil {
				hs = &hostSeen{host: h}
				hosts[h] = hs
			}
			hs.kinds = append(hs.kinds, fmt.Sprintf("%s on %s", f.Kind, plural(f.Pages, "page", "pages")))
		}
	}
	n := len(hosts) + len(cookies)
	fmt.Fprintf(ew, "# consentgate scan of %s (%s, %s): %s.\n", comment(r.Start), r.Mode, r.StartedAt.UTC().Format(time.DateTime+" MST"), plural(n, "unclassified finding", "unclassified findings"))
	if n == 0 {
		fmt.Fprintln(ew, "# Every finding matched a rule: nothing to add.")
		return ew.err
	}
	fmt.Fprint(ew, `#
# Paste these lines into the cookie_consent block of your Caddyfile. The
# scanner cannot know what each one is for: replace "unclassified" with
# statistics, preferences, marketing or necessary as appropriate. A host
# pattern can be widened to its subdomains ("*.example.com") or narrowed to
# a path ("cdn.example.com/widget/"); a cookie name can end in "*" for a
# family of cookies ("_pk_id*").
`)
	names := make([]string, 0, len(hosts))
	for h := range hosts {
		names = append(names, h)
	}
	slices.Sort(names)
	for _, h := range names {
		seen := strings.Join(hosts[h].kinds, ", ")
		if err := checkPattern(h); err != nil || !safeToken(h) {
			fmt.Fprintf(ew, "# not written: host %q cannot be a rule pattern (%s)\n", h, comment(seen))
			continue
		}
		fmt.Fprintf(ew, "rule unclassified %s  # %s\n", h, comment(seen))
	}
	for _, f := range cookies {
		seen := fmt.Sprintf("cookie set on %s", plural(f.Pages, "page", "pages"))
		if f.Cookie != nil {
			seen += " by " + describeCookie(f)
		}
		if err := checkCookie(f.Key); err != nil || !safeToken(f.Key) {
			fmt.Fprintf(ew, "# not written: cookie %q cannot be a cookie rule (%s)\n", f.Key, comment(seen))
			continue
		}
		fmt.Fprintf(ew, "cookie unclassified %s  # %s\n", f.Key, comment(seen))
	}
	return ew.err
}

// describeCookie says where a cookie came from and how long it lives.
func describeCookie(f Finding) string {
	c := f.Cookie
	d := strings.TrimPrefix(c.Domain, ".")
	var parts []string
	if f.ThirdParty {
		parts = append(parts, d+", a third party: the gateway cannot remove it, only declare it")
	} else {
		parts = append(parts, d)
	}
	switch {
	case c.Session:
		parts = append(parts, "session")
	case c.MaxAge != nil:
		parts = append(parts, "max-age "+humanSeconds(*c.MaxAge))
	case c.Expires != "":
		parts = append(parts, "expires "+c.Expires)
	}
	if c.Source == "browser" {
		parts = append(parts, "seen by the browser")
	}
	return strings.Join(parts, "; ")
}

// humanSeconds writes a lifetime in the largest whole unit, e.g. "2 years"
// or "90 minutes".
func humanSeconds(s int) string {
	for _, u := range []struct {
		secs int
		one  string
		many string
	}{{365 * 86400, "year", "years"}, {86400, "day", "days"}, {3600, "hour", "hours"}, {60, "minute", "minutes"}} {
		if s >= u.secs && s%u.secs == 0 {
			return plural(s/u.secs, u.one, u.many)
		}
	}
	return plural(s, "second", "seconds")
}

// checkPattern checks a URL pattern as the gateway's rules would.
func checkPattern(p string) error {
	_, err := rules.Compile(rules.AllSet, &rules.File{Format: rules.FileFormat, Vendors: []rules.VendorSpec{
		{ID: "scan", Category: rules.Unclassified.String(), URLs: []string{p}},
	}})
	return err
}

// checkCookie checks a cookie name as the gateway's rules would.
func checkCookie(name string) error {
	_, err := rules.Compile(rules.AllSet, &rules.File{Format: rules.FileFormat, Vendors: []rules.VendorSpec{
		{ID: "scan", Category: rules.Unclassified.String(), Cookies: []rules.CookieSpec{{Name: name}}},
	}})
	return err
}

// safeToken reports whether s can stand unquoted as one Caddyfile token:
// no quotes, backslashes, braces, comment signs or spaces.
func safeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
		case strings.IndexByte("-._~!$%&*+^|:@/?=[]()", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// comment makes s safe for a one-line comment.
func comment(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return '?'
		}
		return r
	}, s)
}

// clean makes s safe for one table cell.
func clean(s string) string {
	return strings.ReplaceAll(comment(s), "\t", " ")
}

func plural(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, pick(n, one, many))
}

func pick(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// errWriter remembers the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = fmt.Errorf("writing the report: %w", err)
	}
	return n, err
}
