package rules

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/net/idna"
)

// GuardTable returns the compact form of the ruleset that the runtime guard
// (the script the gateway puts first in every page) matches with: every URL
// rule and every cookie rule of every tier (operator, curated, catalogue),
// in the order the matchers consider them, with vendor IDs and
// categories. It is JSON:
//
//	{"v":["google-analytics","",…],   vendor IDs
//	 "c":"13…",                        each vendor's category, one digit (Category)
//	 "u":[[0,"0*.google-analytics.com 0www.googletagmanager.com/gtag/js"],…],
//	 "k":[[0,1,"0_ga 3_*"],…]}
//
// "u" holds runs of URL patterns of one vendor (its index in "v"), "k"
// runs of cookie names of one vendor and one category (a cookie rule may
// have its own). A run's patterns are sorted, separated by spaces (which
// neither holds) and front-coded: each starts with one character, '0'
// plus the number of ASCII bytes it shares with the pattern before it,
// followed by the rest ("*.a.com *.ab.com" is written "0*.a.com 3b.com").
// A pattern's host is lower case and, when it is not ASCII, in its IDNA
// (punycode) form, as a browser's URL parser gives it.
//
// Vendors written by people (operator and curated rules) keep their IDs,
// which the guard writes into data-consent-vendor. The catalogue's
// thousands of vendors are known to the guard by their category alone
// (an entry with the ID "" per category), which keeps the table within
// the guard's size budget. So the guard's matcher gives the answers of
// MatchURL, MatchHost and MatchCookie, with a catalogue vendor's ID as "";
// a differential test holds it to that.
func GuardTable(rs *Ruleset) ([]byte, error) {
	t := guardTable{URLs: [][]any{}, Cookies: [][]any{}}
	var urlRuns, cookieRuns []guardRun
	index := make(map[*Vendor]int)
	var byCategory [numCategories]int // index+1 of a catalogue category's entry
	var cats strings.Builder
	vendorIndex := func(v *Vendor) (int, error) {
		if v == nil {
			return 0, fmt.Errorf("guard table: a rule without a vendor")
		}
		if i, ok := index[v]; ok {
			return i, nil
		}
		if v.Catalogue {
			if byCategory[v.Category] == 0 {
				t.Vendors = append(t.Vendors, "")
				cats.WriteByte('0' + byte(v.Category))
				byCategory[v.Category] = len(t.Vendors)
			}
			index[v] = byCategory[v.Category] - 1
			return index[v], nil
		}
		i := len(t.Vendors)
		index[v] = i
		t.Vendors = append(t.Vendors, v.ID)
		cats.WriteByte('0' + byte(v.Category))
		return i, nil
	}

	var urls []*urlRule
	for _, rules := range rs.exactHosts {
		urls = append(urls, rules...)
	}
	for _, rules := range rs.wildHosts {
		urls = append(urls, rules...)
	}
	urls = append(urls, rs.anyHost...)
	slices.SortFunc(urls, func(a, b *urlRule) int { return cmp.Compare(a.order, b.order) })
	// Every URL rule stays, even one an earlier rule hides from MatchURL:
	// MatchHost answers the categories of every rule for a host.
	for _, r := range urls {
		vi, err := vendorIndex(r.vendor)
		if err != nil {
			return nil, err
		}
		p, err := guardPattern(&r.pattern)
		if err != nil {
			return nil, err
		}
		urlRuns = addGuardRun(urlRuns, vi, -1, p, urlPatternsOverlap)
	}

	var cookies []*Cookie
	for _, c := range rs.exactCookies {
		cookies = append(cookies, c)
	}
	cookies = append(cookies, rs.globCookies...)
	slices.SortFunc(cookies, func(a, b *Cookie) int { return cmp.Compare(a.order, b.order) })
	var globs, prefixes []string // earlier globs; earlier "prefix*" globs' prefixes
	for _, c := range cookies {
		if cookieHidden(c.Pattern, globs, prefixes) {
			continue // an earlier rule matches every name it matches
		}
		if strings.Contains(c.Pattern, "*") {
			globs = append(globs, c.Pattern)
			if strings.IndexByte(c.Pattern, '*') == len(c.Pattern)-1 {
				prefixes = append(prefixes, c.Pattern[:len(c.Pattern)-1])
			}
		}
		vi, err := vendorIndex(c.Vendor)
		if err != nil {
			return nil, err
		}
		cookieRuns = addGuardRun(cookieRuns, vi, int(c.Category()), c.Pattern, cookiePatternsOverlap)
	}
	// Within a run any rule that matches gives the same answer, so a run
	// may be sorted: neighbours then share their beginnings.
	for _, r := range append(urlRuns, cookieRuns...) {
		slices.Sort(r.patterns)
	}
	for _, r := range urlRuns {
		t.URLs = append(t.URLs, []any{r.vendor, frontCode(r.patterns)})
	}
	for _, r := range cookieRuns {
		t.Cookies = append(t.Cookies, []any{r.vendor, r.category, frontCode(r.patterns)})
	}
	t.Categories = cats.String()
	out, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("guard table: %w", err)
	}
	return out, nil
}

type guardTable struct {
	Vendors    []string `json:"v"`
	Categories string   `json:"c"`
	URLs       [][]any  `json:"u"`
	Cookies    [][]any  `json:"k"`
}

// maxShared is the longest shared beginning front coding writes, so the
// count stays one character ('0' to 'Z').
const maxShared = 42

// frontCode joins sorted patterns with spaces, each written as the number
// of ASCII bytes it shares with the one before ('0'+n) and the rest.
// Sharing stops at the first non-ASCII byte, so no character is split.
func frontCode(ps []string) string {
	var b strings.Builder
	prev := ""
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(' ')
		}
		n := 0
		for n < len(prev) && n < len(p) && n < maxShared && prev[n] == p[n] && p[n] < 0x80 {
			n++
		}
		b.WriteByte(byte('0' + n))
		b.WriteString(p[n:])
		prev = p
	}
	return b.String()
}

// guardRun is a run of patterns of one vendor (and, for cookies, one
// category: -1 for URLs).
type guardRun struct {
	vendor, category int
	patterns         []string
}

// cookieHidden reports whether an earlier cookie rule matches every name
// pattern matches: for a name, an earlier glob matching it; for a glob,
// an earlier "prefix*" whose prefix starts the glob.
func cookieHidden(pattern string, globs, prefixes []string) bool {
	if i := strings.IndexByte(pattern, '*'); i >= 0 {
		for _, p := range prefixes {
			if strings.HasPrefix(pattern[:i], p) {
				return true
			}
		}
		return false
	}
	for _, g := range globs {
		if globFull(g, pattern) {
			return true
		}
	}
	return false
}

// addGuardRun adds p to the run of its vendor (and category) that is
// latest in the table, as long as no rule of another answer after that
// run could match what p matches (overlaps says when two might); else it
// starts a run at the end. So the answer for every URL or cookie name
// stays that of the first rule in rule order, while the table has few
// runs: the catalogue, ordered by specificity, would otherwise alternate
// between vendors every few rules, and each run costs bytes.
func addGuardRun(runs []guardRun, vi, cat int, p string, overlaps func(a, b string) bool) []guardRun {
	for i := len(runs) - 1; i >= 0; i-- {
		r := &runs[i]
		if r.vendor == vi && r.category == cat {
			r.patterns = append(r.patterns, p)
			return runs
		}
		for _, q := range r.patterns {
			if overlaps(p, q) {
				return append(runs, guardRun{vendor: vi, category: cat, patterns: []string{p}})
			}
		}
	}
	return append(runs, guardRun{vendor: vi, category: cat, patterns: []string{p}})
}

// urlPatternsOverlap reports whether two patterns (as guardPattern writes
// them) might match the same URL: their hosts can be the same. Paths are
// not compared, which errs on the safe side.
func urlPatternsOverlap(a, b string) bool {
	ha, _, _ := strings.Cut(a, "/")
	hb, _, _ := strings.Cut(b, "/")
	if ha == "*" || hb == "*" {
		return true
	}
	wa, wb := strings.HasPrefix(ha, "*."), strings.HasPrefix(hb, "*.")
	ha, hb = strings.TrimPrefix(ha, "*."), strings.TrimPrefix(hb, "*.")
	covers := func(wild, h string) bool { return h == wild || strings.HasSuffix(h, "."+wild) }
	switch {
	case wa && wb:
		return covers(ha, hb) || covers(hb, ha)
	case wa:
		return covers(ha, hb)
	case wb:
		return covers(hb, ha)
	}
	return ha == hb
}

// cookiePatternsOverlap reports whether two cookie names or globs might
// match the same name: exactly for a name, and for two globs when their
// literal beginnings and ends agree, which errs on the safe side.
func cookiePatternsOverlap(a, b string) bool {
	ga, gb := strings.Contains(a, "*"), strings.Contains(b, "*")
	switch {
	case !ga && !gb:
		return a == b
	case !ga:
		return globFull(b, a)
	case !gb:
		return globFull(a, b)
	}
	pa, pb := a[:strings.IndexByte(a, '*')], b[:strings.IndexByte(b, '*')]
	sa, sb := a[strings.LastIndexByte(a, '*')+1:], b[strings.LastIndexByte(b, '*')+1:]
	return (strings.HasPrefix(pa, pb) || strings.HasPrefix(pb, pa)) && (strings.HasSuffix(sa, sb) || strings.HasSuffix(sb, sa))
}

// guardPattern writes a compiled URL pattern back as host[/path], with the
// host as a browser's URL parser spells it.
func guardPattern(p *urlPattern) (string, error) {
	var b strings.Builder
	switch {
	case p.anyHost:
		b.WriteByte('*')
	default:
		host := p.host
		if !guardIsASCII(host) {
			a, err := idna.Lookup.ToASCII(host)
			if err != nil {
				return "", fmt.Errorf("guard table: host %q of pattern %q: %w", p.host, p.raw, err)
			}
			host = a
		}
		if p.wildcard {
			b.WriteString("*.")
		}
		b.WriteString(host)
	}
	for i, seg := range p.path {
		if i > 0 {
			b.WriteByte('*')
		}
		b.Write(seg)
	}
	return b.String(), nil
}

func guardIsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
