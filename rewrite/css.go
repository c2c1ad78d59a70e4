package rewrite

import "bytes"

// forEachCSSURL calls f with every URL a CSS text may load, until f
// returns false: url() tokens, the string of an @import, and the strings
// in image-set() and src(). Comments are skipped and escapes decoded, as a
// CSS tokenizer does (CSS Syntax §4). f must not keep u: its bytes are
// reused for the next URL.
//
// The scan reads a token only where it can matter: it jumps over runs of
// bytes that are none of the stops (cssStopBytes) and reads the identifier a
// '(' closes backwards from it. Between two stops there are only name
// bytes and punctuation that no token spans, so the identifier before a
// '(' is the run of name bytes there (without leading digits, which start
// no identifier); an escape, which can put any byte in an identifier, is
// a stop, and the identifier that holds it is read forwards, exactly.
// Strings and unquoted url() values without escapes or line breaks are
// found with bytes.IndexByte and copied whole. It reports exactly what the
// byte-by-byte tokenizer (kept in css_ref_test.go) reports.
func forEachCSSURL(css []byte, f func([]byte) bool) {
	var buf []byte
	var name [24]byte
	importPending := false
	// nest counts the parentheses open in the image-set(), src() or
	// url("...") whose strings are URLs (0: outside any). Outside, the
	// depth of other parentheses matters to nothing, and ')' is no stop.
	nest := 0
	var stops cssStopper
	stops.init(css)
	lo := 0 // where the last token read ended: no identifier starts before it
	for i := 0; i < len(css); {
		if i = stops.next(i, importPending, nest > 0); i >= len(css) {
			return
		}
		var n []byte // the identifier that a '(' at css[i] closes
		switch css[i] {
		case '/':
			if i+1 < len(css) && css[i+1] == '*' {
				k := bytes.Index(css[i+2:], cssCommentEnd)
				if k < 0 {
					return
				}
				i += k + 4
			} else {
				i++
			}
			lo = i
			continue
		case '"', '\'':
			if importPending || nest > 0 {
				buf, i = cssStringFast(css, i, buf[:0])
				if mayBeURL(buf) && !f(buf) {
					return
				}
			} else {
				i = skipCSSString(css, i, &buf)
			}
			importPending = false
			lo = i
			continue
		case '@':
			n, i = cssIdentName(css, i+1, name[:0])
			importPending = equalFold(n, "import")
			lo = i
			continue
		case ';', '{', '}':
			importPending = false
			i++
			lo = i
			continue
		case ')': // only inside (nest > 0)
			nest--
			i++
			lo = i
			continue
		case '(':
			j := identStart(css, lo, i)
			n = css[j:i]
		case '\\':
			if i+1 >= len(css) || isCSSNewline(css[i+1]) {
				i++ // no escape: a stray backslash
				lo = i
				continue
			}
			// The identifier the escape is in starts at the name bytes
			// before it, if any: read it all, forwards.
			n, i = cssIdentName(css, identStart(css, lo, i), name[:0])
			if i >= len(css) || css[i] != '(' {
				lo = i
				continue
			}
		}
		// css[i] is a '(' and n the identifier before it.
		if !equalFold(n, "url") {
			i++
			if nest > 0 || equalFold(n, "image-set") || equalFold(n, "-webkit-image-set") || equalFold(n, "src") {
				nest++
			}
			lo = i
			continue
		}
		i++
		for i < len(css) && isCSSSpace(css[i]) {
			i++
		}
		if i < len(css) && (css[i] == '"' || css[i] == '\'') {
			nest++ // url("..."): the string is a URL
			lo = i
			continue
		}
		buf, i = cssURLFast(css, i, buf[:0])
		importPending = false
		if !f(buf) {
			return
		}
		lo = i
	}
}

var cssCommentEnd = []byte("*/")

// cssStopBytes are the bytes forEachCSSURL stops at: those that start a
// comment, a string, an at-keyword or an escape, '(' and, inside an
// image-set(), src() or url("..."), ')'. While an @import waits for its
// URL, ';', '{' and '}' (which end it) are stops too.
const cssStopBytes = "/\"'@()\\"

const cssCloseStop = 5 // ')' in cssStopBytes

// cssStopper finds the next stop in a CSS text. It keeps, for each stop
// byte, where it occurs next, and searches again (bytes.IndexByte) only
// once the scan has passed that: every byte is searched once per stop
// byte, at the speed of IndexByte, not of a loop over bytes. Where stops
// crowd (a text of parentheses or quotes, as an attacker may write), an
// IndexByte per stop costs more than a loop: there it loops over a few
// bytes first, so that no text scans much slower than byte by byte.
type cssStopper struct {
	css   []byte
	at    [len(cssStopBytes)]int // the next occurrence of each stop byte (len(css): none)
	dense bool                   // the last stop was near: look at the next bytes first
}

// A stop found less than cssDenseGap bytes from where its search began
// makes next look at the cssDenseWindow bytes that follow first.
const cssDenseGap, cssDenseWindow = 3, 16

var cssStopTable = func() (t [256]bool) {
	for _, c := range []byte(cssStopBytes) {
		t[c] = true
	}
	return t
}()

func (s *cssStopper) init(css []byte) {
	s.css = css
	for k := range s.at {
		s.at[k] = -1
	}
}

// next returns the position of the first stop at or after i, or len(css);
// ')' is one only when nested.
func (s *cssStopper) next(i int, importPending, nested bool) int {
	if s.dense && !importPending {
		// The last stop was near where its search began, as in a run of
		// parentheses or quotes: a loop over the next few bytes finds the
		// next one sooner than an IndexByte per stop byte does.
		end := min(i+cssDenseWindow, len(s.css))
		for j := i; j < end; j++ {
			if c := s.css[j]; cssStopTable[c] && (c != ')' || nested) {
				return j
			}
		}
		if end == len(s.css) {
			return end
		}
		i, s.dense = end, false
	}
	stop := s.search(i, importPending, nested)
	s.dense = stop-i < cssDenseGap
	return stop
}

// search is next by IndexByte.
func (s *cssStopper) search(i int, importPending, nested bool) int {
	stop := len(s.css)
	for k := range s.at {
		if k == cssCloseStop && !nested {
			continue
		}
		at := s.at[k]
		if at < i {
			at = indexFrom(s.css, i, cssStopBytes[k])
			s.at[k] = at
		}
		stop = min(stop, at)
	}
	if importPending {
		for j := i; j < stop; j++ {
			if c := s.css[j]; c == ';' || c == '{' || c == '}' {
				return j
			}
		}
	}
	return stop
}

// cssURLByte marks the bytes an unquoted url() value cannot copy as they
// are: the spaces it drops and the backslash of an escape.
var cssURLByte = func() (t [256]bool) {
	for _, c := range []byte(" \t\n\r\f\\") {
		t[c] = true
	}
	return t
}()

// identStart is where the identifier that ends at css[i] starts, when
// css[lo:i] holds no stop: after the run of name bytes before i and the
// digits that lead it (a digit starts no identifier); i when there is none.
func identStart(css []byte, lo, i int) int {
	j := i
	for j > lo && isCSSName(css[j-1]) {
		j--
	}
	for j < i && css[j] >= '0' && css[j] <= '9' {
		j++
	}
	return j
}

// cssStringFast is cssString for a string without escapes or line breaks
// (most are): found with bytes.IndexByte and copied whole.
func cssStringFast(css []byte, i int, dst []byte) ([]byte, int) {
	body, end, ok := plainCSSString(css, i)
	if !ok {
		return cssString(css, i, dst)
	}
	return append(dst, body...), end
}

// skipCSSString returns where the string whose quote is at css[i] ends;
// only a string with escapes or line breaks is decoded (into *scratch).
func skipCSSString(css []byte, i int, scratch *[]byte) int {
	if _, end, ok := plainCSSString(css, i); ok {
		return end
	}
	var end int
	*scratch, end = cssString(css, i, (*scratch)[:0])
	return end
}

// plainCSSString returns the body of the string whose quote is at css[i]
// and where it ends, when the body has no backslash and no line break; ok
// is false otherwise.
func plainCSSString(css []byte, i int) (body []byte, end int, ok bool) {
	rest := css[i+1:]
	k := bytes.IndexByte(rest, css[i])
	body, end = rest, len(css) // unterminated: the string runs to the end
	if k >= 0 {
		body, end = rest[:k], i+1+k+1
	}
	if bytes.ContainsAny(body, "\n\r\f\\") {
		return nil, 0, false
	}
	return body, end, true
}

// cssURLFast is cssURL for a value without spaces or escapes (most are,
// data: URLs included): found with bytes.IndexByte and copied whole.
func cssURLFast(css []byte, i int, dst []byte) ([]byte, int) {
	rest := css[i:]
	k := bytes.IndexByte(rest, ')')
	body, end := rest, len(css)
	if k >= 0 {
		body, end = rest[:k], i+k+1
	}
	for _, c := range body {
		if cssURLByte[c] {
			return cssURL(css, i, dst)
		}
	}
	return append(dst, body...), end
}

// cssIdentName consumes the identifier at css[i] and returns its first
// cap(dst) bytes, escapes decoded (longer names are cut: none that
// matters here is that long).
func cssIdentName(css []byte, i int, dst []byte) ([]byte, int) {
	var one [8]byte
	for i < len(css) {
		c := css[i]
		switch {
		case c == '\\' && i+1 < len(css) && !isCSSNewline(css[i+1]):
			var dec []byte
			dec, i = cssEscape(css, i, one[:0])
			if len(dst)+len(dec) <= cap(dst) {
				dst = append(dst, dec...)
			}
		case isCSSName(c):
			if len(dst) < cap(dst) {
				dst = append(dst, c)
			}
			i++
		default:
			return dst, i
		}
	}
	return dst, i
}

// cssMayLoad reports whether a CSS text can hold a URL at all: a url(
// function, an @import, an image-set( or an escape (which could spell
// any of them). Most style attributes and many sheets have none, and skip
// the scan. It looks at each '(' and '@' (the next of each found with
// bytes.IndexByte), and for a backslash only when none of them answers:
// a sheet's first url( is usually near its start.
func cssMayLoad(css []byte) bool {
	paren, at := -1, -1 // the next '(' and '@' at or after i (len(css): none)
	for i := 0; i < len(css); i++ {
		if paren < i {
			paren = indexFrom(css, i, '(')
		}
		if at < i {
			at = indexFrom(css, i, '@')
		}
		if i = min(paren, at); i >= len(css) {
			break
		}
		switch css[i] {
		case '(':
			// url(, src( or image-set( ends here: the strings in src()
			// are URLs to forEachCSSURL too.
			if i >= 3 && (equalFold(css[i-3:i], "url") || equalFold(css[i-3:i], "src")) || i >= 9 && equalFold(css[i-9:i], "image-set") {
				return true
			}
		case '@':
			if i+7 <= len(css) && equalFold(css[i+1:i+7], "import") {
				return true
			}
		}
	}
	return bytes.IndexByte(css, '\\') >= 0
}

// indexFrom is the position of the first c in b at or after i, or len(b).
func indexFrom(b []byte, i int, c byte) int {
	if k := bytes.IndexByte(b[i:], c); k >= 0 {
		return i + k
	}
	return len(b)
}

// mayBeURL reports whether a CSS string could name another host: a font
// family or a content string ("Open Sans") cannot, and is not worth the
// URL parser's time.
func mayBeURL(s []byte) bool {
	for _, c := range s {
		if c == '.' || c == '/' || c == ':' || c == '\\' || c >= 0x80 {
			return true
		}
	}
	return false
}

func isCSSSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func isCSSNameStart(c byte) bool {
	return isAlpha(c) || c == '_' || c >= 0x80 || c == '-'
}

func isCSSName(c byte) bool { return isCSSNameStart(c) || c >= '0' && c <= '9' }

func isHex(c byte) bool { return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f' }

// cssEscape decodes the escape whose backslash is at css[i] into dst.
func cssEscape(css []byte, i int, dst []byte) ([]byte, int) {
	i++ // the backslash
	if i >= len(css) {
		return appendRune(dst, 0xFFFD), i
	}
	if !isHex(css[i]) {
		return appendRune(dst, rune(css[i])), i + 1 // one byte of a UTF-8 sequence stays as it is
	}
	var r rune
	n := 0
	for ; n < 6 && i < len(css) && isHex(css[i]); n++ {
		c := css[i] | 0x20
		d := rune(c - '0')
		if c >= 'a' {
			d = rune(c-'a') + 10
		}
		r = r*16 + d
		i++
	}
	if i < len(css) && isCSSSpace(css[i]) {
		if css[i] == '\r' && i+1 < len(css) && css[i+1] == '\n' {
			i++
		}
		i++
	}
	if r == 0 || r > 0x10FFFF || r >= 0xD800 && r <= 0xDFFF {
		r = 0xFFFD
	}
	return appendRune(dst, r), i
}

// cssString decodes the string whose quote is at css[i].
func cssString(css []byte, i int, dst []byte) ([]byte, int) {
	q := css[i]
	for i++; i < len(css); {
		switch c := css[i]; {
		case c == q:
			return dst, i + 1
		case isCSSNewline(c):
			return dst, i // a bad string ends at the newline
		case c == '\\':
			if i+1 < len(css) && isCSSNewline(css[i+1]) {
				i += 2 // a line continuation
				if css[i-1] == '\r' && i < len(css) && css[i] == '\n' {
					i++ // CR LF is one newline
				}
				continue
			}
			dst, i = cssEscape(css, i, dst)
		default:
			dst = append(dst, c)
			i++
		}
	}
	return dst, i
}

// cssURL decodes an unquoted url( ) token's value from css[i].
func cssURL(css []byte, i int, dst []byte) ([]byte, int) {
	for i < len(css) {
		switch c := css[i]; {
		case c == ')':
			return dst, i + 1
		case isCSSSpace(c):
			i++
		case c == '\\' && i+1 < len(css) && !isCSSNewline(css[i+1]):
			dst, i = cssEscape(css, i, dst)
		default:
			dst = append(dst, c)
			i++
		}
	}
	return dst, i
}

// isCSSNewline: CSS reads CR, LF and FF as newlines (CR LF as one), as
// its input preprocessing turns them into LF.
func isCSSNewline(c byte) bool { return c == '\n' || c == '\r' || c == '\f' }
