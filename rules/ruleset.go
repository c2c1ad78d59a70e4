package rules

import (
	"bytes"
	"fmt"
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
}

// Cookie is a compiled cookie rule.
type Cookie struct {
	// Pattern is the cookie name, or a glob with "*", e.g. "_ga_*".
	Pattern    string
	Purpose    string
	Lifetime   string
	ThirdParty bool
	Vendor     *Vendor
	order      int
}

// Category returns the category of the cookie's vendor.
func (c *Cookie) Category() Category { return c.Vendor.Category }

type urlRule struct {
	pattern urlPattern
	vendor  *Vendor
	order   int
}

// Ruleset is the compiled, read-only form of one or more rules files. It is
// safe for concurrent use.
type Ruleset struct {
	vendors      []*Vendor
	exactHosts   map[string][]*urlRule
	wildHosts    map[string][]*urlRule
	anyHost      []*urlRule
	sigs         sigMatcher
	exactCookies map[string]*Cookie
	globCookies  []*Cookie
}

// Compile builds a Ruleset from files. Where rules overlap, the earlier file
// wins, and within a file the earlier rule: put operator rules first.
// Categories outside enabled (other than necessary) become unclassified,
// since a visitor could never accept them; pass AllSet to keep all.
func Compile(enabled Set, files ...*File) (*Ruleset, error) {
	enabled = enabled.With(Necessary).With(Unclassified)
	rs := &Ruleset{
		exactHosts:   make(map[string][]*urlRule),
		wildHosts:    make(map[string][]*urlRule),
		exactCookies: make(map[string]*Cookie),
	}
	seen := make(map[string]bool)
	order := 0
	for fi, f := range files {
		for vi := range f.Vendors {
			spec := &f.Vendors[vi]
			where := fmt.Sprintf("rules file %d, vendor %d (%q)", fi+1, vi+1, spec.ID)
			if err := checkVendorID(spec.ID); err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if seen[spec.ID] {
				return nil, fmt.Errorf("%s: vendor id %q is used twice", where, spec.ID)
			}
			seen[spec.ID] = true
			cat, err := ParseCategory(spec.Category)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if !enabled.Has(cat) {
				cat = Unclassified
			}
			name := spec.Name
			if name == "" {
				name = spec.ID
			}
			v := &Vendor{ID: spec.ID, Name: name, Category: cat, Docs: spec.Docs}
			rs.vendors = append(rs.vendors, v)
			for _, u := range spec.URLs {
				p, err := parseURLPattern(u)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", where, err)
				}
				r := &urlRule{pattern: p, vendor: v, order: order}
				order++
				switch {
				case p.anyHost:
					rs.anyHost = append(rs.anyHost, r)
				case p.wildcard:
					rs.wildHosts[p.host] = append(rs.wildHosts[p.host], r)
				default:
					rs.exactHosts[p.host] = append(rs.exactHosts[p.host], r)
				}
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
				c := &Cookie{Pattern: cs.Name, Purpose: cs.Purpose, Lifetime: cs.Lifetime, ThirdParty: cs.ThirdParty, Vendor: v, order: order}
				order++
				v.Cookies = append(v.Cookies, c)
				if strings.Contains(cs.Name, "*") {
					rs.globCookies = append(rs.globCookies, c)
				} else if _, dup := rs.exactCookies[cs.Name]; !dup {
					rs.exactCookies[cs.Name] = c
				}
			}
		}
	}
	return rs, nil
}

// Vendors returns the vendors in rule order.
func (rs *Ruleset) Vendors() []*Vendor { return rs.vendors }

// Vendor returns the vendor with the given ID, or nil.
func (rs *Ruleset) Vendor(id string) *Vendor {
	for _, v := range rs.vendors {
		if v.ID == id {
			return v
		}
	}
	return nil
}

// MatchURL returns the vendor of the first rule matching a URL split by
// SplitURL, or nil. host is empty for relative URLs, which only rules for
// any host ("*/...") can match.
func (rs *Ruleset) MatchURL(host, pathq []byte) *Vendor {
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
	consider(rs.anyHost)
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
// body, looking at matches that end after from. To scan a body that grows,
// pass from = the previous length minus InlineOverlap(), so a signature
// split across the growth is found; the same vendor may then be reported
// more than once.
func (rs *Ruleset) ScanInline(body []byte, from int, found func(*Vendor)) {
	rs.sigs.scan(body, from, func(s *signature) { found(s.vendor) })
}

// InlineOverlap is how many bytes before the end of what was scanned a
// signature may start and still be incomplete.
func (rs *Ruleset) InlineOverlap() int { return max(rs.sigs.maxLen-1, 0) }

// HasInline reports whether any inline signature exists.
func (rs *Ruleset) HasInline() bool { return len(rs.sigs.ordered) > 0 }

// MatchCookie returns the first cookie rule matching name, or nil.
func (rs *Ruleset) MatchCookie(name string) *Cookie {
	best := rs.exactCookies[name]
	for _, c := range rs.globCookies {
		if best != nil && c.order > best.order {
			break
		}
		if globFull(c.Pattern, name) {
			return c
		}
	}
	return best
}
