package rewrite

import (
	"strings"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/weburl"
)

// FilterLinkHeader removes from a Link header value (RFC 8288) the links that
// make the browser contact a tracker the visitor has not accepted ahead of
// time: rel=preconnect, dns-prefetch, preload, prefetch, modulepreload and
// prerender. It returns the value to keep ("" when nothing is left), whether
// it changed, and calls observe for each link removed. A malformed value is
// kept up to where it stops parsing, and the unparsable rest is dropped,
// since it cannot be checked. URIs are read as the browser reads them
// (weburl), relative ones against pageHost, the response's host.
func FilterLinkHeader(value, pageHost string, rs *rules.Ruleset, accepted rules.Set, observe func(Event)) (string, bool) {
	page := weburl.NewPage(pageHost)
	accepted = accepted.With(rules.Necessary)
	var kept []string
	changed := false
	for rest := value; ; {
		rest = strings.TrimLeft(rest, " \t,")
		if rest == "" {
			break
		}
		link, next, ok := cutLinkValue(rest)
		if !ok {
			changed = true
			break
		}
		rest = next
		if v, cat, blocked := linkBlocked(link, page, rs, accepted); blocked {
			changed = true
			if observe != nil {
				observe(Event{Action: Neutralised, Element: Link, Vendor: v, Category: cat})
			}
			continue
		}
		kept = append(kept, strings.TrimSpace(link))
	}
	if !changed {
		return value, false
	}
	return strings.Join(kept, ", "), true
}

// cutLinkValue splits the first link-value ("<uri>; params") off s, which
// starts with '<'. Commas inside the URI or inside quoted parameter values
// do not end it.
func cutLinkValue(s string) (link, rest string, ok bool) {
	if s[0] != '<' {
		return "", "", false
	}
	end := strings.IndexByte(s, '>')
	if end < 0 {
		return "", "", false
	}
	inQuote := false
	for i := end + 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			inQuote = !inQuote
		case c == '\\' && inQuote:
			i++
		case c == ',' && !inQuote:
			return s[:i], s[i+1:], true
		}
	}
	if inQuote {
		return "", "", false
	}
	return s, "", true
}

// linkBlocked reports whether a link-value is a hint or fetch towards a
// tracker the visitor did not accept.
func linkBlocked(link string, page *weburl.Page, rs *rules.Ruleset, accepted rules.Set) (*rules.Vendor, rules.Category, bool) {
	end := strings.IndexByte(link, '>')
	uri := link[1:end]
	hint, fetch := false, false
	for _, param := range strings.Split(link[end+1:], ";") {
		name, val, _ := strings.Cut(param, "=")
		if !strings.EqualFold(strings.TrimSpace(name), "rel") {
			continue
		}
		for _, r := range strings.Fields(strings.ToLower(strings.Trim(strings.TrimSpace(val), `"`))) {
			switch r {
			case "preconnect", "dns-prefetch":
				hint = true
			case "preload", "prefetch", "modulepreload", "prerender":
				fetch = true
			}
		}
	}
	var found *rules.Vendor
	page.ForEachTarget([]byte(uri), func(host, pathq []byte) bool {
		switch {
		case fetch:
			if v := rs.MatchURL(host, pathq); v != nil && !accepted.Has(v.Category) {
				found = v
			}
		case hint:
			if v, cats := rs.MatchHost(host); v != nil && cats&accepted == 0 {
				found = v
			}
		}
		return found == nil
	})
	if found != nil {
		return found, found.Category, true
	}
	return nil, 0, false
}
