package weburl

// The reference: ForEachTarget as it was before the wider fast path and
// the single parse (commit 3b0055c), kept to hold the new one to it
// (FuzzForEachTarget, TestForEachTargetCorpus).

import (
	"bytes"
	"strings"
)

// ForEachTarget calls f with the target of a URL found in the page, until
// f returns false. The page's scheme matters to "https:host" (a path on
// an https page, a host on an http one), and the gateway may not know it:
// such a URL is given with both readings. The slices are valid during
// the call.
func refForEachTarget(p *Page, ref []byte, f func(host, pathq []byte) bool) {
	if host, pq, ok := refFastSplit(ref); ok {
		f(host, pq)
		return
	}
	if pq, ok := refFastRelative(ref); ok {
		f(p.plainHost, pq)
		return
	}
	// A server decodes percent-encoded letters, digits and -._~ in the
	// path: "/%74r" is "/tr" to it. Such a path is given both ways.
	f = refWithDecodedPath(f)
	s := string(ref)

	seen := ""
	for _, scheme := range [...]string{"https://", "http://"} {
		t, ok := Resolve(s, scheme+p.host+"/")
		if !ok {
			continue
		}
		key := t.Host + " " + t.PathQuery
		if key == seen {
			continue
		}
		seen = key
		if !f([]byte(t.Host), []byte(t.PathQuery)) {
			return
		}
	}
}

// refFastSplit reads ref when it is a plain absolute or protocol-relative
// http(s) URL: nothing in it that the parser would strip, map, decode or
// normalise. Otherwise ok is false and the parser decides.
func refFastSplit(ref []byte) (host, pathq []byte, ok bool) {
	var rest []byte
	switch {
	case hasPrefix(ref, "https://"):
		rest = ref[len("https://"):]
	case hasPrefix(ref, "http://"):
		rest = ref[len("http://"):]
	case hasPrefix(ref, "//"):
		rest = ref[len("//"):] // the page's scheme, which is http(s)
	default:
		return nil, nil, false
	}
	end := len(rest)
	dots, digitsOnlyLast, label := 0, true, 0
	for i, c := range rest {
		switch {
		case c == '/' || c == '?':
			end = i
		case c >= 'a' && c <= 'z' || c == '-':
			digitsOnlyLast = false
			label++
			continue
		case c >= '0' && c <= '9':
			label++
			continue
		case c == '.':
			if label == 0 {
				return nil, nil, false // empty label
			}
			dots++
			digitsOnlyLast, label = true, 0
			continue
		default:
			return nil, nil, false // a port, userinfo, upper case, escapes, IPv6...
		}
		break
	}
	host, pathq = rest[:end], rest[end:]
	if last := bytes.LastIndexByte(host, '.') + 1; last < len(host) && (host[last] < 'a' || host[last] > 'z') {
		digitsOnlyLast = true // a last label that may read as a number: the parser decides
	}
	if len(host) == 0 || label == 0 || digitsOnlyLast || dots == 0 {
		// Empty, a trailing dot, an IPv4 number or a single label: the
		// parser knows those rules.
		return nil, nil, false
	}
	if hasPrefix(host, "xn--") || bytes.Contains(host, []byte(".xn--")) {
		return nil, nil, false // punycode is validated by UTS-46
	}
	if len(pathq) == 0 {
		return host, rootPath, true // the parser's "/"
	}
	for _, c := range pathq {
		if c <= 0x20 || c >= 0x7F || c == '\\' || c == '#' || c == '"' || c == '<' || c == '>' || c == '`' || c == '{' || c == '}' || c == '%' || c == '^' || c == '|' || c == '\'' {
			return nil, nil, false
		}
	}
	if pathq[0] != '/' || pathq[len(pathq)-1] == '?' || bytes.Contains(pathq, []byte("/.")) {
		return nil, nil, false // the "/" the parser adds, an empty query, dot segments
	}
	return host, pathq, true
}

// refFastRelative reads a plain path-absolute or path-relative reference,
// which stays on the page's host. A path-relative one resolves against
// the page's path, which the caller does not know: its path is given as
// it stands.
func refFastRelative(ref []byte) ([]byte, bool) {
	if len(ref) == 0 {
		return nil, false
	}
	if ref[0] == '/' && len(ref) >= 2 && (ref[1] == '/' || ref[1] == '\\') {
		return nil, false // "//host" or "/\\host"
	}
	for _, c := range ref {
		switch {
		case c == ':':
			return nil, false // a scheme, maybe
		case c == '/' || c == '?' || c == '#':
			// past the first segment: no scheme can follow
			return refCheckRest(ref)
		case c <= 0x20 || c >= 0x7F || c == '\\' || c == '%':
			return nil, false
		}
	}
	return refCheckRest(ref)
}

func refCheckRest(ref []byte) ([]byte, bool) {
	for _, c := range ref {
		if c <= 0x20 || c >= 0x7F || c == '\\' || c == '%' || c == '"' || c == '<' || c == '>' || c == '`' || c == '{' || c == '}' || c == '^' || c == '|' || c == '\'' {
			return nil, false
		}
	}
	if bytes.Contains(ref, []byte("/.")) || ref[0] == '.' {
		return nil, false
	}
	if i := bytes.IndexByte(ref, '#'); i >= 0 {
		ref = ref[:i]
	}
	return ref, true
}

func refWithDecodedPath(f func(host, pathq []byte) bool) func(host, pathq []byte) bool {
	return func(host, pathq []byte) bool {
		if !f(host, pathq) {
			return false
		}
		if d, changed := refDecodeUnreserved(pathq); changed {
			return f(host, d)
		}
		return true
	}
}

// refDecodeUnreserved decodes the percent-encoded unreserved characters
// (RFC 3986: letters, digits, -._~) of a path and query.
func refDecodeUnreserved(pq []byte) ([]byte, bool) {
	if !strings.Contains(string(pq), "%") {
		return pq, false
	}
	out := make([]byte, 0, len(pq))
	changed := false
	for i := 0; i < len(pq); i++ {
		if pq[i] == '%' && i+2 < len(pq) && isHex(pq[i+1]) && isHex(pq[i+2]) {
			c := unhex(pq[i+1])<<4 | unhex(pq[i+2])
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
				out = append(out, c)
				i += 2
				changed = true
				continue
			}
		}
		out = append(out, pq[i])
	}
	return out, changed
}
