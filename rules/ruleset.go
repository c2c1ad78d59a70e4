package rules

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
)

// Vendor is a compiled vendor: who is behind an element or cookie and which
// category it belongs to.
type Vendor struct {
	ID       string
	Name     string
	Category Category
	Docs     []string
	Cookies  []*Cookie
	// Catalogue says the vendor is known only from the generated
	// catalogue, not from rules written by people.
	Catalogue bool
}

// Cookie is a compiled cookie rule.
type Cookie struct {
	// Pattern is the cookie name, or a glob with "*", e.g. "_ga_*".
	Pattern  string
	Purpose  string
	Lifetime string
	// Texts are the purpose and lifetime in other languages, by language
	// tag (see CookieSpec).
	Texts      map[string]CookieText
	ThirdParty bool
	// Catalogue says the rule comes from the generated catalogue, also
	// when it is folded into a curated vendor.
	Catalogue bool
	Vendor    *Vendor
	category  Category
	order     int
}

// Category returns the cookie's category: its own where its rule gives
// one, else its vendor's.
func (c *Cookie) Category() Category { return c.category }

type urlRule struct {
	pattern urlPattern
	vendor  *Vendor
	order   int
}

// Ruleset is the compiled, read-only form of one or more rules files. It is
// safe for concurrent use.
type Ruleset struct {
	vendors      []*Vendor // defined outside a catalogue, in rule order
	catVendors   []*Vendor // defined only by a catalogue
	byID         map[string]*Vendor
	exactHosts   map[string][]*urlRule
	wildHosts    map[string][]*urlRule
	anyHost      []*urlRule
	anyFilter    anyHostFilter // rules anyHost out for most paths
	sigs         sigMatcher
	exactCookies map[string]*Cookie
	globCookies  []*Cookie // every cookie rule with a "*", in order
	// The glob cookies split for lookup: "prefix*" patterns in a trie,
	// the others tried one by one.
	cookiePrefixes prefixTrie
	otherGlobs     []*Cookie
}

// Compile builds a Ruleset from files. Where rules overlap, the earlier file
// wins, and within a file the earlier rule: put operator rules first.
// Categories outside enabled (other than necessary) become unclassified,
// since a visitor could never accept them; pass AllSet to keep all.
//
// A generated catalogue (a file with Catalogue set) compiles differently,
// since its order means nothing. Within it the most specific rule wins:
// an exact host before a wildcard, a longer host before a shorter one, an
// exact cookie name before a pattern, a longer pattern before a shorter
// one. And a catalogue vendor whose ID an earlier file defines is that
// vendor: its hosts and cookies join it and take its category and name,
// so where the catalogue and a curated vendor disagree, the curated vendor
// wins (and the earlier file's own rules still come first).
func Compile(enabled Set, files ...*File) (*Ruleset, error) {
	enabled = enabled.With(Necessary).With(Unclassified)
	rs := &Ruleset{
		byID:         make(map[string]*Vendor),
		exactHosts:   make(map[string][]*urlRule),
		wildHosts:    make(map[string][]*urlRule),
		exactCookies: make(map[string]*Cookie),
	}
	category := func(name string) (Category, error) {
		c, err := ParseCategory(name)
		if err == nil && !enabled.Has(c) {
			c = Unclassified
		}
		return c, err
	}
	order := 0
	for fi, f := range files {
		catalogue := f.Catalogue != nil
		inFile := make(map[string]bool)
		var urls []*urlRule
		var cookies []*Cookie
		for vi := range f.Vendors {
			spec := &f.Vendors[vi]
			where := fmt.Sprintf("rules file %d, vendor %d (%q)", fi+1, vi+1, spec.ID)
			if err := checkVendorID(spec.ID); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			v := rs.byID[spec.ID]
			if inFile[spec.ID] || v != nil && !catalogue {
				return nil, fmt.Errorf("%s: vendor id %q is used twice", where, spec.ID)
			}
			inFile[spec.ID] = true
			cat, err := category(spec.Category)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			folded := v != nil
			if !folded {
				name := spec.Name
				if name == "" {
					name = spec.ID
				}
				v = &Vendor{ID: spec.ID, Name: name, Category: cat, Docs: spec.Docs, Catalogue: catalogue}
				rs.byID[v.ID] = v
				if catalogue {
					rs.catVendors = append(rs.catVendors, v)
				} else {
					rs.vendors = append(rs.vendors, v)
				}
			}
			for _, u := range spec.URLs {
				p, err := parseURLPattern(u)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", where, err)
				}
				urls = append(urls, &urlRule{pattern: p, vendor: v})
			}
			for _, s := range spec.Inline {
				sig, err := parseSignature(s)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", where, err)
				}
				sig.vendor, sig.order = v, order
				order++
				rs.sigs.add(&sig)
			}
			for _, cs := range spec.Cookies {
				if err := checkCookieName(cs.Name); err != nil {
					return nil, fmt.Errorf("%s: %w", where, err)
				}
				ccat := v.Category
				if cs.Category != "" {
					c, err := category(cs.Category)
					if err != nil {
						return nil, fmt.Errorf("%s: cookie %q: %w", where, cs.Name, err)
					}
					if !folded {
						ccat = c
					}
				}
				for tag := range cs.Texts {
					if err := checkLanguageTag(tag); err != nil {
						return nil, fmt.Errorf("%s: cookie %q: %w", where, cs.Name, err)
					}
				}
				c := &Cookie{Pattern: cs.Name, Purpose: cs.Purpose, Lifetime: cs.Lifetime, Texts: cs.Texts, ThirdParty: cs.ThirdParty, Catalogue: catalogue, Vendor: v, category: ccat}
				v.Cookies = append(v.Cookies, c)
				cookies = append(cookies, c)
			}
		}
		if catalogue {
			slices.SortStableFunc(urls, func(a, b *urlRule) int { return a.pattern.specificity().compare(b.pattern.specificity()) })
			slices.SortStableFunc(cookies, func(a, b *Cookie) int { return compareCookieSpecificity(a.Pattern, b.Pattern) })
		}
		for _, r := range urls {
			r.order = order
			order++
			p := r.pattern
			switch {
			case p.anyHost:
				rs.anyHost = append(rs.anyHost, r)
			case p.wildcard:
				rs.wildHosts[p.host] = append(rs.wildHosts[p.host], r)
			default:
				rs.exactHosts[p.host] = append(rs.exactHosts[p.host], r)
			}
		}
		for _, c := range cookies {
			c.order = order
			order++
			switch {
			case !strings.Contains(c.Pattern, "*"):
				if _, dup := rs.exactCookies[c.Pattern]; !dup {
					rs.exactCookies[c.Pattern] = c
				}
			case strings.IndexByte(c.Pattern, '*') == len(c.Pattern)-1:
				rs.globCookies = append(rs.globCookies, c)
				rs.cookiePrefixes.add(c.Pattern[:len(c.Pattern)-1], c)
			default:
				rs.globCookies = append(rs.globCookies, c)
				rs.otherGlobs = append(rs.otherGlobs, c)
			}
		}
	}
	rs.sigs.build()
	rs.anyFilter.build(rs.anyHost)
	return rs, nil
}

// Vendors returns the vendors of the rules written by people (the
// operator's, rules files, the curated defaults) in rule order: the ones
// worth listing to visitors whatever the page. The catalogue's thousands
// are in CatalogueVendors; every vendor a Match method returns is in one
// of the two.
func (rs *Ruleset) Vendors() []*Vendor { return rs.vendors }

// CatalogueVendors returns the vendors known only from a generated
// catalogue, in its order.
func (rs *Ruleset) CatalogueVendors() []*Vendor { return rs.catVendors }

// Vendor returns the vendor with the given ID, from either tier, or nil.
func (rs *Ruleset) Vendor(id string) *Vendor { return rs.byID[id] }

// MatchURL returns the vendor of the first rule matching a URL split by
// SplitURL, or nil. host is empty for relative URLs, which only rules for
// any host ("*/...") can match.
func (rs *Ruleset) MatchURL(host, pathq []byte) *Vendor {
	return rs.matchURL(host, pathq, true)
}

// matchURL is MatchURL, with the filter of rules for any host or (for the
// test that holds it to the rules) without.
func (rs *Ruleset) matchURL(host, pathq []byte, filter bool) *Vendor {
	var best *urlRule
	consider := func(rules []*urlRule) {
		for _, r := range rules {
			if best != nil && r.order >= best.order {
				return // rules are in order: nothing later can win
			}
			if r.pattern.matchPath(pathq) {
				best = r
				return
			}
		}
	}
	if len(host) > 0 {
		consider(rs.exactHosts[string(host)])
		for h := host; ; {
			consider(rs.wildHosts[string(h)])
			i := bytes.IndexByte(h, '.')
			if i < 0 {
				break
			}
			h = h[i+1:]
		}
	}
	if len(rs.anyHost) > 0 && (!filter || rs.anyFilter.mayMatch(pathq)) {
		consider(rs.anyHost)
	}
	if best == nil {
		return nil
	}
	return best.vendor
}

// MatchHost returns the vendor of the first rule for host whatever its path,
// or nil, and the categories of every rule for host: for connections opened
// ahead of time (preconnect, dns-prefetch, Link headers) that carry no path
// and serve whichever of those vendors the page goes on to load.
func (rs *Ruleset) MatchHost(host []byte) (*Vendor, Set) {
	var best *urlRule
	var cats Set
	pick := func(rules []*urlRule) {
		for _, r := range rules {
			cats = cats.With(r.vendor.Category)
		}
		if len(rules) > 0 && (best == nil || rules[0].order < best.order) {
			best = rules[0]
		}
	}
	pick(rs.exactHosts[string(host)])
	for h := host; len(h) > 0; {
		pick(rs.wildHosts[string(h)])
		i := bytes.IndexByte(h, '.')
		if i < 0 {
			break
		}
		h = h[i+1:]
	}
	if best == nil {
		return nil, 0
	}
	return best.vendor, cats
}

// ScanInline calls found for the vendor of every inline signature found in
// body (once per signature, in the order of where they first occur), and
// of every tracker script whose URL body names (see loader.go), looking at
// matches that start at or after from. To scan a body that
// grows, pass from = the previous length minus InlineOverlap(), so a
// signature or URL split across the growth is found; the same vendor may
// then be reported more than once.
func (rs *Ruleset) ScanInline(body []byte, from int, found func(*Vendor)) {
	rs.sigs.scan(body, from, func(s *signature) { found(s.vendor) })
	if rs.hasHostRules() {
		rs.scanLoaders(body, from, found)
	}
}

// InlineOverlap is how many bytes before the end of what was scanned a
// signature or a script URL may start and still be incomplete.
func (rs *Ruleset) InlineOverlap() int {
	n := max(rs.sigs.maxLen-1, 0)
	if rs.hasHostRules() {
		n = max(n, maxLoaderLen)
	}
	return n
}

// HasInline reports whether inline scripts can be classified: whether any
// inline signature or URL rule for a host exists.
func (rs *Ruleset) HasInline() bool { return len(rs.sigs.ordered) > 0 || rs.hasHostRules() }

// MatchCookie returns the first cookie rule matching name, or nil.
func (rs *Ruleset) MatchCookie(name string) *Cookie {
	best := rs.exactCookies[name]
	if c := rs.cookiePrefixes.match(name); c != nil && (best == nil || c.order < best.order) {
		best = c
	}
	for _, c := range rs.otherGlobs {
		if best != nil && c.order > best.order {
			break
		}
		if globFull(c.Pattern, name) {
			return c
		}
	}
	return best
}
