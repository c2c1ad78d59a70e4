package rules

import (
	"bytes"
	"fmt"
	"strings"
)

// A URL pattern names where a tracker lives: a host pattern, optionally
// followed by a path (and query) pattern.
//
//	www.googletagmanager.com/gtag/js   host www.googletagmanager.com, path starting /gtag/js
//	*.hotjar.com                       hotjar.com and every subdomain, any path
//	*/*matomo.js                       any host (first party too), path containing matomo.js
//	www.googletagmanager.com/gtag/js?id=AW-   a query prefix is part of the path pattern
//
// The path pattern matches a prefix of the URL's path and query; "*" in it
// matches any run of characters. Hosts are compared case-insensitively,
// paths case-sensitively. Scheme and port are ignored.
type urlPattern struct {
	raw      string
	host     string   // lower case; "" with anyHost
	wildcard bool     // host was "*.host": the host itself and its subdomains
	anyHost  bool     // host was "*"
	path     [][]byte // the path glob split at "*"; nil matches every path
}

func parseURLPattern(s string) (urlPattern, error) {
	p := urlPattern{raw: s}
	if s == "" {
		return p, fmt.Errorf("empty URL pattern")
	}
	if strings.ContainsAny(s, " \t\r\n\"'<>\\") {
		return p, fmt.Errorf("URL pattern %q contains a space, quote, angle bracket or backslash", s)
	}
	if i := strings.Index(s, "://"); i >= 0 {
		return p, fmt.Errorf("URL pattern %q has a scheme: write the host and path only, e.g. %q", s, s[i+3:])
	}
	host, path := s, ""
	if i := strings.IndexByte(s, '/'); i >= 0 {
		host, path = s[:i], s[i:]
	}
	if i := strings.IndexByte(host, '?'); i >= 0 {
		return p, fmt.Errorf("URL pattern %q: a query needs a path before it, e.g. %q", s, host[:i]+"/"+host[i:])
	}
	host = strings.ToLower(host)
	switch {
	case host == "*":
		p.anyHost = true
	case strings.HasPrefix(host, "*."):
		p.wildcard = true
		host = host[2:]
		fallthrough
	default:
		if err := checkHostname(host); err != nil {
			return p, fmt.Errorf("URL pattern %q: %w", s, err)
		}
		p.host = host
	}
	if path != "" {
		for _, seg := range strings.Split(path, "*") {
			p.path = append(p.path, []byte(seg))
		}
	}
	return p, nil
}

func checkHostname(h string) error {
	if h == "" {
		return fmt.Errorf("empty host")
	}
	if i := strings.IndexByte(h, ':'); i >= 0 {
		return fmt.Errorf("host %q has a port: ports are ignored, leave it out", h)
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c == '*' {
			return fmt.Errorf("host %q: '*' is allowed only as the whole host or as a leading \"*.\"", h)
		}
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c >= 0x80) {
			return fmt.Errorf("host %q has the invalid character %q", h, c)
		}
	}
	if h[0] == '.' || h[len(h)-1] == '.' || strings.Contains(h, "..") {
		return fmt.Errorf("host %q has an empty label", h)
	}
	return nil
}

// matchPath reports whether the path pattern matches a prefix of pathq.
func (p *urlPattern) matchPath(pathq []byte) bool {
	return globPrefix(p.path, pathq)
}

// globPrefix reports whether the glob, split at its "*"s into segs, matches
// a prefix of s. Because any tail is allowed, matching every later segment
// at its leftmost position is exact.
func globPrefix(segs [][]byte, s []byte) bool {
	if len(segs) == 0 {
		return true
	}
	if !bytes.HasPrefix(s, segs[0]) {
		return false
	}
	s = s[len(segs[0]):]
	for _, seg := range segs[1:] {
		i := bytes.Index(s, seg)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
	}
	return true
}

// globFull reports whether pattern, in which "*" matches any run of bytes,
// matches all of s.
func globFull(pattern, s string) bool {
	i := strings.IndexByte(pattern, '*')
	if i < 0 {
		return pattern == s
	}
	if !strings.HasPrefix(s, pattern[:i]) {
		return false
	}
	s = s[i:]
	pattern = pattern[i+1:]
	// Only the last segment must sit at the end; the ones between match
	// leftmost.
	for {
		j := strings.IndexByte(pattern, '*')
		if j < 0 {
			return strings.HasSuffix(s, pattern)
		}
		k := strings.Index(s, pattern[:j])
		if k < 0 {
			return false
		}
		s = s[k+j:]
		pattern = pattern[j+1:]
	}
}

// SplitURL returns the lower-cased host and the path-and-query of a URL as it
// appears in an attribute: absolute ("https://h/p"), protocol-relative
// ("//h/p") or relative ("/p", "p"), which has no host. Leading and
// trailing ASCII whitespace is ignored, as browsers do, and so are a
// fragment, userinfo and port. Backslashes count as slashes, as they do
// for http(s) in browsers. The returned slices may alias u or scratch.
func SplitURL(u []byte, scratch []byte) (host, pathq []byte) {
	for len(u) > 0 && isASCIISpace(u[0]) {
		u = u[1:]
	}
	for len(u) > 0 && isASCIISpace(u[len(u)-1]) {
		u = u[:len(u)-1]
	}
	if i := bytes.IndexByte(u, '#'); i >= 0 {
		u = u[:i]
	}
	rest, ok := stripScheme(u)
	if !ok {
		return nil, u // relative, or a scheme without a host (data:, blob:, javascript:)
	}
	if len(rest) < 2 || !isSlash(rest[0]) || !isSlash(rest[1]) {
		return nil, rest
	}
	rest = rest[2:]
	end := len(rest)
	for i, c := range rest {
		if c == '/' || c == '\\' || c == '?' {
			end = i
			break
		}
	}
	host, pathq = rest[:end], rest[end:]
	if i := bytes.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	if len(host) > 0 && host[0] == '[' {
		if i := bytes.IndexByte(host, ']'); i >= 0 {
			host = host[:i+1]
		}
	} else if i := bytes.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	host = bytes.TrimSuffix(host, []byte("."))
	if hasUpper(host) {
		host = append(scratch[:0], host...)
		for i, c := range host {
			if 'A' <= c && c <= 'Z' {
				host[i] = c + 'a' - 'A'
			}
		}
	}
	return host, pathq
}

// stripScheme removes a leading "http:", "https:" or nothing (for "//h")
// and reports whether the URL can name a network host.
func stripScheme(u []byte) ([]byte, bool) {
	if len(u) >= 2 && isSlash(u[0]) && isSlash(u[1]) {
		return u, true
	}
	for i, c := range u {
		switch {
		case c == ':':
			scheme := u[:i]
			if equalFoldASCII(scheme, "https") || equalFoldASCII(scheme, "http") {
				return u[i+1:], true
			}
			return u, false
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return u, false
		}
	}
	return u, false
}

func isSlash(c byte) bool { return c == '/' || c == '\\' }

func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'
}

func hasUpper(b []byte) bool {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}

func equalFoldASCII(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
