// Package weburl reads the URLs in a page as a browser does: the WHATWG
// URL Standard's parser, with the standard's host parsing (percent-
// decoding, IDNA/UTS-46 mapping of fullwidth letters and ideographic full
// stops, IPv4 in its many spellings), tab and newline removal, leading and
// trailing C0 controls and spaces stripped, backslashes as slashes and the
// "https:host" and "///host" forms.
//
// The parser is github.com/nlnwa/whatwg-url (which maps hosts with
// golang.org/x/net/idna), held here to the web-platform-tests URL vectors
// and, as a fuzz oracle, to node's URL. A fast path reads the forms that
// make up nearly all of a page's URLs (99.8% of the corpus's URL
// attributes: plain absolute and relative URLs, with fragments, escapes,
// text the parser percent-encodes, and URLs of schemes without a network
// host) as the parser does, mostly without allocating; fuzz tests hold it
// to the parser and to the implementation before it (reference_test.go).
// The parser reads the rest once (twice for "https:host", whose reading
// depends on the page's scheme), against the page's URLs parsed once.
package weburl

import (
	"bytes"
	"strings"
	"sync"
	"unicode/utf8"

	whatwg "github.com/nlnwa/whatwg-url/url"
)

var parser = whatwg.NewParser()

// Target is where a URL leads: its host (lower case, ASCII, without a
// trailing dot; empty for URLs without a network host such as data:) and
// its path and query.
type Target struct {
	Host, PathQuery string
}

// Resolve parses ref against base (an absolute URL; "" for none) as a
// browser does. ok is false when the standard's parser fails (the browser
// requests nothing).
func Resolve(ref, base string) (Target, bool) {
	var u *whatwg.Url
	var err error
	if base == "" {
		u, err = parser.Parse(ref)
	} else {
		u, err = parser.ParseRef(base, ref)
	}
	if err != nil {
		return Target{}, false
	}
	return target(u), true
}

// target is where a parsed URL leads.
func target(u *whatwg.Url) Target {
	switch u.Scheme() {
	case "http", "https", "ws", "wss", "ftp":
	default:
		return Target{}
	}
	host := strings.TrimSuffix(u.Hostname(), ".")
	pq := u.Pathname()
	if q := u.Query(); q != "" {
		pq += "?" + q
	}
	return Target{Host: host, PathQuery: pq}
}

// Page resolves the URLs of one page.
type Page struct {
	host      string // as given, for the parser's base
	plainHost []byte // without port, lower case
	// plain: plainHost is what the parser makes of host (a plain DNS
	// name, a valid port), so the fast path may give it for forms the
	// parser would otherwise resolve against the page.
	plain bool

	basesOnce sync.Once
	bases     [2]*whatwg.Url // https://host/ and http://host/; nil if invalid
}

// NewPage returns the resolver for a page served from host (a port is
// allowed).
func NewPage(host string) *Page {
	return &Page{host: host, plainHost: hostOnly(host), plain: plainPageHost(host)}
}

// ForEachTarget calls f with the target of a URL found in the page, until
// f returns false. The page's scheme matters to "https:host" (a path on
// an https page, a host on an http one), and the gateway may not know it:
// such a URL is given with both readings. A server decodes percent-encoded
// letters, digits and -._~ in the path ("/%74r" is "/tr" to it): a path
// with such escapes is given both ways. The slices are valid during the
// call.
func (p *Page) ForEachTarget(ref []byte, f func(host, pathq []byte) bool) {
	p.forEachTarget(ref, f)
}

// forEachTarget is ForEachTarget; parsed reports whether the parser read
// ref (the slow path).
func (p *Page) forEachTarget(ref []byte, f func(host, pathq []byte) bool) (parsed bool) {
	if host, pq, wide, ok := fastSplit(ref); ok {
		if wide && p.baseless() {
			return false // the reference's parser failed on the page's URL
		}
		giveDecoded(host, pq, f)
		return false
	}
	if pq, ok := fastRelative(ref); ok {
		f(p.plainHost, pq)
		return false
	}
	// The parser strips leading controls and spaces.
	r := ref
	for len(r) > 0 && r[0] <= 0x20 {
		r = r[1:]
	}
	if len(r) < len(ref) {
		if host, pq, _, ok := fastSplit(r); ok {
			if p.baseless() {
				return false
			}
			giveDecoded(host, pq, f)
			return false
		}
	}
	if pq, ok := p.fastPage(r); ok {
		giveDecoded(p.plainHost, pq, f)
		return false
	}
	if opaqueScheme(r) {
		// javascript:, data:, mailto:, about:blank...: no network host.
		if !p.baseless() {
			f(nil, nil)
		}
		return false
	}
	s := string(ref)
	bases := p.parsedBases()
	// Only an http(s) ref without "//" reads differently on an http and
	// an https page; any other is read once.
	both := pageSchemeMatters(ref)
	var seen Target
	given := false
	for _, base := range bases {
		if base == nil {
			continue
		}
		t, ok := resolveAgainst(s, base)
		if ok && (!given || t != seen) {
			seen, given = t, true
			if !giveDecoded([]byte(t.Host), []byte(t.PathQuery), f) {
				return true
			}
		}
		if !both {
			break
		}
	}
	return true
}

// baseless reports whether the page's URL does not parse (its host is
// not a host): the parser then reads no ref against it, and the
// reference gave nothing for a ref its fast path did not read.
func (p *Page) baseless() bool {
	if p.plain {
		return false
	}
	b := p.parsedBases()
	return b[0] == nil && b[1] == nil
}

// parsedBases are the page's two possible URLs, parsed once.
func (p *Page) parsedBases() *[2]*whatwg.Url {
	p.basesOnce.Do(func() {
		for i, scheme := range [...]string{"https://", "http://"} {
			if u, err := parser.Parse(scheme + p.host + "/"); err == nil {
				// Url.Clone, which every parse against u runs, makes
				// u's search params on first use: made here, a parse
				// only reads u.
				u.SearchParams()
				p.bases[i] = u
			}
		}
	})
	return &p.bases
}

// resolveAgainst is Resolve against a parsed base (the parser clones it:
// it is not changed).
func resolveAgainst(ref string, base *whatwg.Url) (Target, bool) {
	u, err := base.Parse(ref)
	if err != nil {
		return Target{}, false
	}
	return target(u), true
}

// giveDecoded gives pq, and then its decoded reading if it has one; false
// when f asked to stop.
func giveDecoded(host, pq []byte, f func(host, pathq []byte) bool) bool {
	if !f(host, pq) {
		return false
	}
	if d, changed := decodeUnreserved(pq); changed {
		return f(host, d)
	}
	return true
}

// fastSplit reads ref when it is a plain absolute or protocol-relative
// http(s) URL: a host the parser leaves as it stands (but for ASCII upper
// case) and what readPathQuery reads. Otherwise ok is false and the
// parser decides. wide reports a form that the fast path before the
// parsed bases did not read (a fragment, an escape, an empty query, a
// byte the parser encodes...).
func fastSplit(ref []byte) (host, pathq []byte, wide, ok bool) {
	var rest []byte
	switch {
	case hasPrefix(ref, "https://"):
		rest = ref[len("https://"):]
	case hasPrefix(ref, "http://"):
		rest = ref[len("http://"):]
	case hasPrefix(ref, "//"):
		rest = ref[len("//"):] // the page's scheme, which is http(s)
	default:
		return nil, nil, false, false
	}
	for len(rest) > 0 && rest[len(rest)-1] <= 0x20 {
		rest, wide = rest[:len(rest)-1], true // the parser trims controls and spaces
	}
	end := len(rest)
	dots, digitsOnlyLast, label, upper := 0, true, 0, false
	for i, c := range rest {
		switch {
		case c == '/' || c == '?' || c == '#':
			end = i
		case c >= 'a' && c <= 'z' || c == '-':
			digitsOnlyLast = false
			label++
			continue
		case c >= 'A' && c <= 'Z':
			digitsOnlyLast, upper = false, true
			label++
			continue
		case c >= '0' && c <= '9':
			label++
			continue
		case c == '.':
			if label == 0 {
				return nil, nil, false, false // empty label
			}
			dots++
			digitsOnlyLast, label = true, 0
			continue
		default:
			return nil, nil, false, false // a port, userinfo, escapes, IPv6...
		}
		break
	}
	host, pathq = rest[:end], rest[end:]
	if last := bytes.LastIndexByte(host, '.') + 1; last < len(host) && (host[last]|0x20 < 'a' || host[last]|0x20 > 'z') {
		digitsOnlyLast = true // a last label that may read as a number: the parser decides
	}
	if len(host) == 0 || label == 0 || digitsOnlyLast || dots == 0 {
		// Empty, a trailing dot, an IPv4 number or a single label: the
		// parser knows those rules.
		return nil, nil, false, false
	}
	if upper {
		host, wide = bytes.ToLower(host), true // the parser's ASCII lower case
	}
	if hasPrefix(host, "xn--") || bytes.Contains(host, []byte(".xn--")) {
		return nil, nil, false, false // punycode is validated by UTS-46
	}
	if len(pathq) == 0 || pathq[0] == '#' {
		return host, rootPath, wide || len(pathq) > 0, true // the parser's "/"
	}
	if pathq[0] != '/' {
		return nil, nil, false, false // "?q": the parser adds a "/"
	}
	pathq, w, ok := readPathQuery(pathq)
	return host, pathq, wide || w, ok
}

// readPathQuery is the path and query the parser reads from pq, which
// starts with "/" and has no trailing controls or spaces: it removes tabs
// and newlines, cuts the fragment, drops an empty query and percent-
// encodes what the path and the (special) query percent-encode sets name,
// with non-ASCII text as UTF-8. Percent escapes are left as they are. ok
// is false for what the parser would normalise (dot segments, also as
// "%2e"; backslashes in the path) and for invalid UTF-8.
//
// wide reports what the fast path before it refused: "%", a fragment, an
// empty query, "|^'" in the path or "`{}|^\\" in the query, "/." in the
// query, bytes to encode, tabs and newlines.
func readPathQuery(pq []byte) (_ []byte, wide, ok bool) {
	if bytes.IndexByte(pq, '\t') >= 0 || bytes.IndexByte(pq, '\n') >= 0 || bytes.IndexByte(pq, '\r') >= 0 {
		clean := make([]byte, 0, len(pq))
		for _, c := range pq {
			if c != '\t' && c != '\n' && c != '\r' {
				clean = append(clean, c)
			}
		}
		pq, wide = clean, true
	}
	q, encode, high := -1, false, false
scan:
	for i := 0; i < len(pq); i++ {
		c := pq[i]
		if plainByte[c] {
			continue // a letter, a digit or "-_~&=+,;:@!$()*"
		}
		switch c {
		case '#':
			pq, wide = pq[:i], true
			break scan
		case '%', '|', '^', '\'', '`', '{', '}', '\\':
			wide = true
		}
		if c >= 0x80 {
			high = true
		}
		if q >= 0 {
			if c == '.' && pq[i-1] == '/' {
				wide = true // "/." in the query
			}
			if queryEncoded(c) {
				encode = true
			}
			continue
		}
		switch {
		case c == '?':
			q = i
		case c == '/':
			if i+1 < len(pq) && (pq[i+1] == '.' || pq[i+1] == '%' && i+3 < len(pq) && pq[i+2] == '2' && pq[i+3]|0x20 == 'e') {
				return nil, false, false // maybe a dot segment
			}
		case c == '\\':
			return nil, false, false // a slash to the parser
		case pathEncoded(c):
			encode = true
		}
	}
	if high && !utf8.Valid(pq) {
		return nil, false, false // the parser reads U+FFFD
	}
	if len(pq) > 0 && pq[len(pq)-1] == '?' {
		wide = true
		if q == len(pq)-1 {
			pq = pq[:q] // an empty query
		}
	}
	if encode {
		out := make([]byte, 0, len(pq)+32)
		for i, c := range pq {
			if q >= 0 && i > q && queryEncoded(c) || (q < 0 || i < q) && pathEncoded(c) {
				out = append(out, '%', upperHex[c>>4], upperHex[c&15])
			} else {
				out = append(out, c)
			}
		}
		pq, wide = out, true
	}
	return pq, wide, true
}

const upperHex = "0123456789ABCDEF"

// plainByte are the bytes readPathQuery passes over in a path and in a
// query alike.
var plainByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "-_~&=+,;:@!$()*" {
		t[c] = true
	}
	return t
}()

// pathEncoded: the path percent-encode set (nlnwa/whatwg-url v0.6.2),
// but "?" and "#", which end the path.
func pathEncoded(c byte) bool {
	return c <= 0x20 || c >= 0x7F || c == '"' || c == '<' || c == '>' || c == '`' || c == '{' || c == '}'
}

// queryEncoded: the special-query percent-encode set, but "#".
func queryEncoded(c byte) bool {
	return c <= 0x20 || c >= 0x7F || c == '"' || c == '<' || c == '>' || c == '\''
}

var rootPath = []byte("/")

func hasPrefix(b []byte, s string) bool {
	return len(b) >= len(s) && string(b[:len(s)]) == s
}

// fastRelative reads a plain path-absolute or path-relative reference,
// which stays on the page's host. A path-relative one resolves against
// the page's path, which the caller does not know: its path is given as
// it stands.
func fastRelative(ref []byte) ([]byte, bool) {
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
			return checkRest(ref)
		case c <= 0x20 || c >= 0x7F || c == '\\' || c == '%':
			return nil, false
		}
	}
	return checkRest(ref)
}

func checkRest(ref []byte) ([]byte, bool) {
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

// fastPage reads a reference the parser would resolve against the page in a plain way: the empty
// reference (the page itself, "/"), a path-absolute one, also as
// "./path", and a path-relative one (against the page's root, as the
// parser reads it against https://host/), with what readPathQuery reads.
// Only on a page whose host the parser leaves as it stands.
func (p *Page) fastPage(ref []byte) ([]byte, bool) {
	if !p.plain {
		return nil, false
	}
	for len(ref) > 0 && ref[0] <= 0x20 {
		ref = ref[1:] // the parser trims controls and spaces
	}
	for len(ref) > 0 && ref[len(ref)-1] <= 0x20 {
		ref = ref[:len(ref)-1]
	}
	if len(ref) == 0 {
		return rootPath, true
	}
	switch {
	case len(ref) >= 2 && ref[0] == '.' && ref[1] == '/':
		ref = ref[1:] // "./x" is "/x" against the page's root
	case ref[0] != '/' && ref[0] != '\\':
		// A path-relative ref, if it has no scheme (no ":" in its first
		// segment): "x" is "/x" against the page's root.
		if i := bytes.IndexAny(ref, ":/?#"); i >= 0 && ref[i] == ':' {
			return nil, false
		}
		ref = append([]byte{'/'}, ref...)
	}
	if ref[0] != '/' || len(ref) >= 2 && (ref[1] == '/' || ref[1] == '\\' || ref[1] == '\t' || ref[1] == '\n' || ref[1] == '\r') {
		return nil, false
	}
	pq, _, ok := readPathQuery(ref)
	return pq, ok
}

// opaqueScheme reports whether ref is a URL of a scheme that is not
// special, without an authority ("javascript:...", "data:...",
// "about:blank", "mailto:...") or with a plain one ("whatsapp://send?"):
// the parser reads it without failing, and no network host.
func opaqueScheme(ref []byte) bool {
	if len(ref) == 0 || ref[0]|0x20 < 'a' || ref[0]|0x20 > 'z' {
		return false
	}
	for i := 1; i < len(ref); i++ {
		c := ref[i]
		switch {
		case c|0x20 >= 'a' && c|0x20 <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.':
		case c == ':':
			switch strings.ToLower(string(ref[:i])) {
			case "http", "https", "ws", "wss", "ftp", "file":
				return false
			}
			rest := ref[i+1:]
			if hasPrefix(rest, "//") {
				return plainOpaqueHost(rest[2:])
			}
			for _, c := range rest {
				if c != '\t' && c != '\n' && c != '\r' {
					return c != '/' && c != '\\' // a path
				}
			}
			return true
		default:
			return false
		}
	}
	return false
}

// plainOpaqueHost reports whether the authority that starts rest (after
// "scheme://" of a scheme that is not special) is a host the parser
// accepts: letters, digits and "-._~" up to the path, query or fragment,
// which never fail.
func plainOpaqueHost(rest []byte) bool {
	for i, c := range rest {
		switch {
		case c|0x20 >= 'a' && c|0x20 <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~':
		case c == '/' || c == '?' || c == '#':
			return i > 0
		default:
			return false
		}
	}
	return len(rest) > 0
}

// pageSchemeMatters reports whether ref may read differently on an http
// and an https page: only an http or https URL (after the parser strips
// leading controls and spaces and removes tabs and newlines) that does
// not go on with "//": "https:host" is a path on an https page and a host
// on an http one.
func pageSchemeMatters(ref []byte) bool {
	i := 0
	for i < len(ref) && ref[i] <= 0x20 {
		i++
	}
	var scheme [6]byte
	n := 0
	for ; i < len(ref); i++ {
		c := ref[i]
		if c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		if c == ':' {
			break
		}
		if n == len(scheme) {
			return false
		}
		scheme[n] = c | 0x20 // lower case for letters; "http(s)" has only letters
		n++
	}
	if i == len(ref) || string(scheme[:n]) != "http" && string(scheme[:n]) != "https" {
		return false
	}
	slashes := 0
	for _, c := range ref[i+1:] {
		if c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		if c != '/' {
			break
		}
		if slashes++; slashes == 2 {
			return false
		}
	}
	return true
}

// plainPageHost reports whether the parser reads the page host h as
// hostOnly does: lower-case DNS labels whose last starts with a letter
// (no IPv4 number), no punycode, and an optional valid port.
func plainPageHost(h string) bool {
	if i := strings.IndexByte(h, ':'); i >= 0 {
		port := h[i+1:]
		h = h[:i]
		if len(port) > 5 {
			return false
		}
		v := 0
		for j := 0; j < len(port); j++ {
			if port[j] < '0' || port[j] > '9' {
				return false
			}
			v = v*10 + int(port[j]-'0')
		}
		if v > 65535 {
			return false
		}
	}
	label := 0
	for i := 0; i < len(h); i++ {
		switch c := h[i]; {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-':
			if label == 0 && (c < 'a' || c > 'z') && strings.IndexByte(h[i:], '.') < 0 {
				return false // a last label that may read as a number
			}
			label++
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		default:
			return false
		}
	}
	return label > 0 && !strings.HasPrefix(h, "xn--") && !strings.Contains(h, ".xn--")
}

// hostOnly is a page host without its port, in lower case.
func hostOnly(h string) []byte {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	return []byte(strings.ToLower(strings.TrimSuffix(h, ".")))
}

// decodeUnreserved decodes the percent-encoded unreserved characters
// (RFC 3986: letters, digits, -._~) of a path and query.
func decodeUnreserved(pq []byte) ([]byte, bool) {
	first := -1
	for i := 0; i+2 < len(pq); i++ {
		k := bytes.IndexByte(pq[i:len(pq)-2], '%')
		if k < 0 {
			break
		}
		i += k
		if isHex(pq[i+1]) && isHex(pq[i+2]) && unreserved(unhex(pq[i+1])<<4|unhex(pq[i+2])) {
			first = i
			break
		}
	}
	if first < 0 {
		return pq, false
	}
	out := make([]byte, first, len(pq))
	copy(out, pq[:first])
	changed := false
	for i := first; i < len(pq); i++ {
		if pq[i] == '%' && i+2 < len(pq) && isHex(pq[i+1]) && isHex(pq[i+2]) {
			if c := unhex(pq[i+1])<<4 | unhex(pq[i+2]); unreserved(c) {
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

func unreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f' }

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}
