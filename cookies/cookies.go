// Package cookies enforces a visitor's consent decision on cookies: it
// classifies cookies by the rules, removes Set-Cookie headers of categories
// the visitor has not accepted, strips such cookies from the Cookie header
// sent upstream, builds the Set-Cookie headers that delete them from the
// browser on withdrawal, and keeps the cookie declaration a privacy
// statement carries.
//
// A cookie no rule knows is unclassified: it passes only once the visitor
// accepted that category.
package cookies

import (
	"net/netip"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/consentgate/consentgate/rules"
)

// Removed names a cookie kept from the browser or the upstream.
type Removed struct {
	Name     string
	Category rules.Category
}

// Category returns the category of the cookie called name: its rule's, or
// unclassified.
func Category(rs *rules.Ruleset, name string) rules.Category {
	if c := rs.MatchCookie(name); c != nil {
		return c.Category()
	}
	return rules.Unclassified
}

// Allowed reports whether the cookie called name may be set and sent, and
// its category: its category is accepted, or its rule's vendor is among
// services, the services (vendor IDs) the visitor accepted one by one.
func Allowed(rs *rules.Ruleset, name string, accepted rules.Set, services []string) (bool, rules.Category) {
	accepted = accepted.With(rules.Necessary)
	c := rs.MatchCookie(name)
	if c == nil {
		return accepted.Has(rules.Unclassified), rules.Unclassified
	}
	if accepted.Has(c.Category()) {
		return true, c.Category()
	}
	return c.Vendor != nil && slices.Contains(services, c.Vendor.ID), c.Category()
}

// SetCookieName returns the name of the cookie a Set-Cookie value sets, as
// browsers read it: the text before the first '=' of the first ';'-separated
// pair, trimmed; a pair without '=' is a cookie with an empty name.
func SetCookieName(v string) string {
	pair := v
	if i := strings.IndexByte(pair, ';'); i >= 0 {
		pair = pair[:i]
	}
	name, _, ok := strings.Cut(pair, "=")
	if !ok {
		return ""
	}
	return strings.TrimSpace(name)
}

// FilterSetCookie returns the Set-Cookie values whose cookies the visitor
// accepted (by category, or by the services accepted one by one), in
// order and unchanged (attributes included), and the cookies removed.
func FilterSetCookie(values []string, rs *rules.Ruleset, accepted rules.Set, services ...string) (kept []string, removed []Removed) {
	accepted = accepted.With(rules.Necessary)
	for _, v := range values {
		name := SetCookieName(v)
		if ok, c := Allowed(rs, name, accepted, services); !ok {
			removed = append(removed, Removed{Name: name, Category: c})
			continue
		}
		kept = append(kept, v)
	}
	return kept, removed
}

// FilterCookieHeader returns a Cookie request header without the cookies of
// categories the visitor has not accepted (unless their vendor is among the
// services accepted one by one), so the upstream cannot read tracker IDs
// the visitor refused, and the cookies removed. Pairs that pass keep their
// bytes.
func FilterCookieHeader(value string, rs *rules.Ruleset, accepted rules.Set, services ...string) (string, []Removed) {
	accepted = accepted.With(rules.Necessary)
	var kept []string
	var removed []Removed
	for _, pair := range strings.Split(value, ";") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		name, _, ok := strings.Cut(pair, "=")
		if !ok {
			name = ""
		}
		name = strings.TrimSpace(name)
		if ok, c := Allowed(rs, name, accepted, services); !ok {
			removed = append(removed, Removed{Name: name, Category: c})
			continue
		}
		kept = append(kept, pair)
	}
	if len(removed) == 0 {
		return value, nil
	}
	return strings.Join(kept, "; "), removed
}

// RequestCookieNames returns the names of the cookies in Cookie headers,
// each once.
func RequestCookieNames(headers []string) []string {
	var names []string
	ForEachRequestCookie(headers, func(name string) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	})
	return names
}

// ForEachRequestCookie calls f with the name of each cookie in Cookie
// headers (a name sent twice comes twice), without allocating.
func ForEachRequestCookie(headers []string, f func(name string)) {
	for _, h := range headers {
		for rest := h; rest != ""; {
			var pair string
			pair, rest, _ = strings.Cut(rest, ";")
			name, _, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if name = strings.TrimSpace(name); ok && name != "" {
				f(name)
			}
		}
	}
}

// ExpiryHeaders returns the Set-Cookie values that delete the cookies called
// names, whatever domain they were set for: host-only, and with Domain set
// to the host and to each parent domain up to the registrable domain (for
// www.shop.example.com: www.shop.example.com, shop.example.com and
// example.com). Path is "/", where trackers set them. HttpOnly cookies go
// too, which no script in the page could do.
func ExpiryHeaders(host string, names []string, secure bool) []string {
	host = strings.ToLower(strings.TrimSuffix(hostOnly(host), "."))
	domains := parentDomains(host)
	attrs := "; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT"
	if secure {
		attrs += "; Secure"
	}
	var out []string
	for _, n := range names {
		if !validName(n) {
			continue
		}
		out = append(out, n+"="+attrs)
		for _, d := range domains {
			out = append(out, n+"="+attrs+"; Domain="+d)
		}
	}
	return out
}

// parentDomains lists host and its parents down to the registrable domain;
// none for an IP address or a host without a public suffix.
func parentDomains(host string) []string {
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil || host == "" {
		return nil
	}
	site, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return nil
	}
	var out []string
	for d := host; ; {
		out = append(out, d)
		if d == site {
			return out
		}
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return out
		}
		d = d[i+1:]
	}
}

func hostOnly(hostport string) string {
	if strings.HasPrefix(hostport, "[") {
		if i := strings.IndexByte(hostport, ']'); i >= 0 {
			return hostport[:i+1]
		}
	}
	if i := strings.LastIndexByte(hostport, ':'); i >= 0 && strings.Count(hostport, ":") == 1 {
		return hostport[:i]
	}
	return hostport
}

// validName reports whether n can be written as a cookie name.
func validName(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}
