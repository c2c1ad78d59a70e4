package rewrite

import (
	"bytes"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/internal/testpages"
	"github.com/consentgate/consentgate/rules"
)

// The tests of this file hold the rewriter's shortcuts (caches, reused
// scratch space, skipped work) to the plain computation they replace.

// thirdPartyRef is the uncached third-party test the site cache replaces.
func thirdPartyRef(pageHost, host string) bool {
	h := pageHost
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	return registrableDomain(host) != registrableDomain(strings.ToLower(strings.TrimSuffix(h, ".")))
}

// TestSiteCacheMatchesUncached asks one pooled rewriter about more hosts
// than the cache holds, for several page hosts in turn, and compares each
// answer with the uncached computation.
func TestSiteCacheMatchesUncached(t *testing.T) {
	pageHosts := []string{"example.com", "www.Example.COM.", "shop.example.co.uk:8443", "[::1]:2015", "127.0.0.1", "localhost", ""}
	hosts := []string{"example.com", "cdn.example.com", "example.co.uk", "a.b.example.co.uk", "tracker.net",
		"127.0.0.1", "[::1]", "localhost", "foo.github.io", "bar.github.io", "github.io", "co.uk", "xn--bcher-kva.example"}
	for i := range maxSites + 100 {
		hosts = append(hosts, fmt.Sprintf("h%d.vendor%d.com", i, i%3))
	}
	r := New(&bytes.Buffer{}, &Config{Rules: testRules}, Page{})
	for round := range 3 {
		for _, ph := range pageHosts {
			r.Reset(&bytes.Buffer{}, &Config{Rules: testRules}, Page{Host: ph})
			for k := range 2 * len(hosts) {
				h := hosts[(k*7+round)%len(hosts)] // 7 is prime to len(hosts): every host, twice
				got := r.site([]byte(h))
				if want := thirdPartyRef(ph, h); got.third != want || got.host != h {
					t.Fatalf("page %q, host %q: cache says (%q, %v), want (%q, %v)", ph, h, got.host, got.third, h, want)
				}
			}
		}
	}
}

// TestSiteCacheAllocations: a script host seen before costs no allocation.
func TestSiteCacheAllocations(t *testing.T) {
	r := New(&bytes.Buffer{}, &Config{Rules: testRules, BlockUnknown: true}, Page{Host: "example.com", Accepted: rules.OnlyNecessary})
	host := []byte("static.tracker.net")
	r.site(host)
	if n := testing.AllocsPerRun(100, func() { r.site(host) }); n != 0 {
		t.Errorf("%v allocations per cached lookup", n)
	}
}

// classifyURLRef is classifyURL as it was before a script's URL was read
// once for both the rules and its host: matchURL, then a second reading
// for the host of the first target, then the uncached third-party test.
func (r *Rewriter) classifyURLRef(u []byte, el Element) decision {
	if v := r.matchURL(u); v != nil {
		return decision{cats: rules.SetOf(v.Category), vendor: v}
	}
	var host []byte
	if el == ScriptSrc && !isDataURL(u) {
		r.resolver().ForEachTarget(u, func(h, _ []byte) bool {
			host = append([]byte(nil), h...)
			return false
		})
	}
	if el == ScriptSrc && len(host) > 0 && thirdPartyRef(r.page.Host, string(host)) {
		r.observe(Event{Action: UnknownThirdParty, Element: el, Category: rules.Unclassified, Host: string(host)})
		if r.cfg.BlockUnknown {
			return decision{cats: rules.SetOf(rules.Unclassified)}
		}
	}
	return decision{}
}

var classifyURLSeeds = []string{
	"https://www.googletagmanager.com/gtag/js?id=G-1", "//static.hotjar.com/c/hotjar-1.js", "/wp-includes/js/jquery.js",
	"js/app.js", "https://cdn.jsdelivr.net/npm/x", "HTTPS://CONNECT.FACEBOOK.NET/en_US/fbevents.js", "data:text/javascript,fbq(1)",
	"https://www.google-analytics.com/%61nalytics.js", "https://example.com/x.js", "https://sub.example.com/x.js", "http://[::1]/x.js",
	"https://127.0.0.1:8080/x.js", "javascript:void(0)", "https://localhost/x.js", "  https://www.googletagmanager.com/gtm.js ",
	"https://www.googletagmanager.com\\gtm.js", "https:www.facebook.com/tr", "", "#", "?x=1", "https://xn--bcher-kva.example/x.js",
	"https://user:pw@snap.licdn.com/li.lms-analytics/insight.min.js", "https://%77ww.google-analytics.com/analytics.js",
}

// classifyChecker compares classifyURL with classifyURLRef from one page
// host, for every element kind that classifies URLs and both
// unknown-script policies. Its rewriters live across URLs, so that the
// site cache fills, evicts and answers from memory as in a real page.
type classifyChecker struct {
	host     string
	got, ref [2]*Rewriter
	rg, rw   recorder
}

func newClassifyChecker(host string) *classifyChecker {
	c := &classifyChecker{host: host}
	for i, blockUnknown := range []bool{false, true} {
		cfg := &Config{Rules: testRules, BlockUnknown: blockUnknown}
		c.got[i] = New(&bytes.Buffer{}, cfg, Page{Host: host, Observer: &c.rg})
		c.ref[i] = New(&bytes.Buffer{}, cfg, Page{Host: host, Observer: &c.rw})
	}
	return c
}

func (c *classifyChecker) check(t *testing.T, u []byte) {
	t.Helper()
	for i := range c.got {
		for _, el := range []Element{ScriptSrc, Link, Img} {
			c.rg.events, c.rw.events = c.rg.events[:0], c.rw.events[:0]
			if dg, dw := c.got[i].classifyURL(u, el), c.ref[i].classifyURLRef(u, el); dg != dw {
				t.Fatalf("page %q, %v %q (block unknown %v): decision %+v, want %+v", c.host, el, u, i == 1, dg, dw)
			}
			if c.rg.String() != c.rw.String() {
				t.Fatalf("page %q, %v %q: events %s, want %s", c.host, el, u, &c.rg, &c.rw)
			}
		}
	}
}

// TestClassifyURLMatchesReference runs checkClassifyURL on the seeds and
// on every script, link and image URL of the corpus pages (when present).
func TestClassifyURLMatchesReference(t *testing.T) {
	urls := append([]string(nil), classifyURLSeeds...)
	pages, err := testpages.ReadCorpus()
	if err != nil {
		t.Fatal(err)
	}
	src := regexp.MustCompile(`(?i)\s(?:src|href)\s*=\s*["']?([^"'\s>]+)`)
	for _, p := range pages {
		for _, m := range src.FindAllSubmatch(p.Body, -1) {
			urls = append(urls, string(m[1]))
		}
	}
	if len(pages) == 0 {
		t.Log("../shared/corpus/pages is not there: seeds only")
	}
	slices.Sort(urls)
	urls = slices.Compact(urls)
	for _, host := range []string{"www.example.com", "threatpost.com", "localhost:2015"} {
		c := newClassifyChecker(host)
		for _, u := range urls {
			c.check(t, []byte(u))
			c.check(t, []byte(u)) // again, from the site cache
		}
	}
	t.Logf("%d URLs", len(urls))
}

func FuzzClassifyURL(f *testing.F) {
	for _, u := range classifyURLSeeds {
		f.Add("www.example.com", u)
	}
	f.Fuzz(func(t *testing.T, host, u string) {
		c := newClassifyChecker(host)
		c.check(t, []byte(u))
		c.check(t, []byte(u))
	})
}

// TestMayBeIPCoversEveryAddress: registrableDomain asks netip only about
// hosts mayBeIP lets through, so mayBeIP must let through every host
// netip.ParseAddr accepts.
func TestMayBeIPCoversEveryAddress(t *testing.T) {
	for _, h := range []string{"127.0.0.1", "[::1]", "::1", "fe80::1%eth0", "[fe80::1%25eth0]", "::ffff:1.2.3.4", "1.2.3.4",
		"0.0.0.0", "[1.2.3.4]", "example.com", "1.2.3.com", "", "localhost", "xn--bcher-kva.example", "1.2.3.4.5"} {
		if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil && !mayBeIP(h) {
			t.Errorf("mayBeIP(%q) = false for an address", h)
		}
	}
}

func FuzzMayBeIP(f *testing.F) {
	f.Add("::1")
	f.Add("1.2.3.4")
	f.Add("[a::b%x]")
	f.Fuzz(func(t *testing.T, h string) {
		if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil && !mayBeIP(h) {
			t.Fatalf("mayBeIP(%q) = false for an address", h)
		}
	})
}

// interestingAttrRef is interestingAttr before it rejected names not
// starting with "data-" early.
func interestingAttrRef(name []byte) bool {
	for _, n := range []string{"as", "src", "rel", "href", "data", "type", "ping", "style", "srcset", "poster", "srcdoc",
		"content", "encoding", "background", "http-equiv", "xlink:href", "imagesrcset"} {
		if equalFold(name, n) {
			return true
		}
	}
	if len(name) > len(AttrPrefix) && equalFold(name[:len(AttrPrefix)], AttrPrefix) {
		return true
	}
	for _, n := range [...]string{"data-src", "data-lazy-src", "data-litespeed-src", "data-rocket-src", "data-rocket-type",
		"data-pmdelayedscript", "data-perfmatters-type", "data-type"} {
		if equalFold(name, n) {
			return true
		}
	}
	return false
}

// TestInterestingAttrMatchesReference compares interestingAttr with its
// reference on every attribute name of the corpus pages and on names
// around the ones it looks for.
func TestInterestingAttrMatchesReference(t *testing.T) {
	names := []string{"", "d", "data", "data-", "DATA-SRC", "data-sr", "data-srcx", "Data-Consent-", "data-consent-x", "data-consent",
		"data-TYPE", "datA-Rocket-Src", "xlink:HREF", "class", "id", "alt", "loading", "srcSet", "imageSrcset"}
	pages, err := testpages.ReadCorpus()
	if err != nil {
		t.Fatal(err)
	}
	attr := regexp.MustCompile(`\s([^\s"'<>/=]+)=`)
	for _, p := range pages {
		for _, m := range attr.FindAllSubmatch(p.Body, -1) {
			names = append(names, string(m[1]))
		}
	}
	for _, n := range names {
		if got, want := interestingAttr([]byte(n)), interestingAttrRef([]byte(n)); got != want {
			t.Errorf("interestingAttr(%q) = %v, want %v", n, got, want)
		}
	}
}

func FuzzInterestingAttr(f *testing.F) {
	f.Add("data-src")
	f.Add("data-consent-src")
	f.Fuzz(func(t *testing.T, n string) {
		if got, want := interestingAttr([]byte(n)), interestingAttrRef([]byte(n)); got != want {
			t.Fatalf("interestingAttr(%q) = %v, want %v", n, got, want)
		}
	})
}

// rewriteCuts rewrites in pieces of the given sizes (the last one
// repeated), as one rewriter reused for every call (so that buffers and
// caches carry over as in a pool), and returns the output and events.
func rewriteCuts(t testing.TB, rw *Rewriter, cfg *Config, page Page, in []byte, sizes []int) string {
	t.Helper()
	var out bytes.Buffer
	rec := &recorder{}
	page.Observer = rec
	rw.Reset(&out, cfg, page)
	for i := 0; len(in) > 0; i++ {
		k := min(sizes[min(i, len(sizes)-1)], len(in))
		if _, err := rw.Write(in[:k]); err != nil {
			t.Fatal(err)
		}
		in = in[k:]
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String() + "\n" + rec.String()
}

// checkCuts compares rewriting in in the given pieces with piece as
// minCarryPiece against the same pieces written as before Write scanned
// in place (a piece larger than any write: everything goes behind the
// carry-over), and, where the output cannot depend on the cuts (tags
// within the hold limit), against one write.
func checkCuts(t testing.TB, in []byte, sizes []int, piece int) {
	t.Helper()
	defer func(n int) { minCarryPiece = n }(minCarryPiece)
	rw := new(Rewriter)
	cfgs := []*Config{defaultConfig, {Rules: testRules, Strip: rules.AllSet, BlockUnknown: true}, {Rules: testRules, ReportOnly: true},
		{Rules: testRules, MaxHold: 300}}
	for _, cfg := range cfgs {
		for _, acc := range []rules.Set{rules.OnlyNecessary, rules.AllSet} {
			page := Page{Accepted: acc, Host: "www.example.com", Guard: []byte("<G>"), HeadEnd: []byte("<HE>"), BodyStart: []byte("<BS>")}
			minCarryPiece = 1 << 62
			want := rewriteCuts(t, rw, cfg, page, in, sizes)
			if cfg.MaxHold == 0 {
				if whole := rewriteCuts(t, rw, cfg, page, in, []int{len(in) + 1}); whole != want {
					t.Fatalf("pieces %v (of %d bytes) give another output or events than one write", sizes, len(in))
				}
			}
			minCarryPiece = piece
			if got := rewriteCuts(t, rw, cfg, page, in, sizes); got != want {
				t.Fatalf("pieces %v (of %d bytes), carry piece %d: another output or events than before", sizes, len(in), piece)
			}
		}
	}
}

// TestWriteInPlaceMatchesOneWrite cuts the corpus pages into writes of
// sizes around the piece Write puts behind a carry-over, with the piece
// at its real size and made tiny so that the in-place scan runs often.
func TestWriteInPlaceMatchesOneWrite(t *testing.T) {
	pages, err := testpages.ReadCorpus()
	if err != nil {
		t.Fatal(err)
	}
	home, err := testpages.Load("index.html")
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, testpages.CorpusPage{Name: "demo", Body: home})
	for i, p := range pages {
		in := p.Body
		checkCuts(t, in, []int{32 << 10}, 4<<10)
		checkCuts(t, in, []int{4<<10 + 1, 5000, 9000 + i, 32 << 10}, 4<<10)
		checkCuts(t, in, []int{3, 17, 100, 1000 + i, 333}, 1+i%7)
	}
}

func FuzzWriteInPlace(f *testing.F) {
	f.Add(`<p>x</p><img src="https://www.facebook.com/tr?id=1"><script>fbq(1)</script>`, uint64(1))
	f.Add(`<svg><script>fbq(1)</script></svg><noscript><img src=//www.facebook.com/tr></noscript><!-- x --><style>@import "//fonts.googleapis.com/css";</style>`, uint64(7))
	f.Fuzz(func(t *testing.T, in string, seed uint64) {
		sizes := []int{1 + int(seed>>4%29), 1 + int(seed>>9%61), 1 + int(seed>>15%7), 1 + int(seed>>20%97)}
		checkCuts(t, []byte(in), sizes, 1+int(seed%13))
	})
}
