package rewrite

import "bytes"

// This file keeps the CSS scanner as it was before the fast scan in
// css.go (byte by byte, every identifier collected): the differential
// tests and FuzzCSSURLs check the fast scan reports exactly what it did.

// refForEachCSSURL calls f with every URL a CSS text may load, until f
// returns false: url() tokens, the string of an @import, and the strings
// in image-set() and src(). Comments are skipped and escapes decoded, as a
// CSS tokenizer does (CSS Syntax §4).
func refForEachCSSURL(css []byte, f func([]byte) bool) {
	var buf []byte
	var name [24]byte
	importPending := false
	depth, special := 0, 0 // parenthesis depth; depth inside image-set() or src()
	for i := 0; i < len(css); {
		c := css[i]
		switch {
		case c == '/' && i+1 < len(css) && css[i+1] == '*':
			k := bytes.Index(css[i+2:], []byte("*/"))
			if k < 0 {
				return
			}
			i += k + 4
		case c == '"' || c == '\'':
			buf, i = refCSSString(css, i, buf[:0])
			if (importPending || special > 0) && refMayBeURL(buf) && !f(buf) {
				return
			}
			importPending = false
		case c == '@':
			var n []byte
			n, i = refCSSIdentName(css, i+1, name[:0])
			importPending = equalFold(n, "import")
		case c == ';' || c == '{' || c == '}':
			importPending = false
			i++
		case c == '(':
			depth++
			i++
		case c == ')':
			if special > 0 && depth <= special {
				special = 0
			}
			if depth > 0 {
				depth--
			}
			i++
		case refIsCSSNameStart(c) || c == '\\' && i+1 < len(css) && css[i+1] != '\n':
			var n []byte
			n, i = refCSSIdentName(css, i, name[:0])
			if i >= len(css) || css[i] != '(' {
				continue
			}
			if !equalFold(n, "url") {
				depth++
				i++
				if special == 0 && (equalFold(n, "image-set") || equalFold(n, "-webkit-image-set") || equalFold(n, "src")) {
					special = depth
				}
				continue
			}
			i++
			for i < len(css) && refIsCSSSpace(css[i]) {
				i++
			}
			if i < len(css) && (css[i] == '"' || css[i] == '\'') {
				depth++
				if special == 0 {
					special = depth // url("..."): the string is a URL
				}
				continue
			}
			buf, i = refCSSURL(css, i, buf[:0])
			importPending = false
			if !f(buf) {
				return
			}
		default:
			i++
		}
	}
}

// refCSSIdentName consumes the identifier at css[i] and returns its first
// cap(dst) bytes, escapes decoded (longer names are cut: none that
// matters here is that long).
func refCSSIdentName(css []byte, i int, dst []byte) ([]byte, int) {
	var one [8]byte
	for i < len(css) {
		c := css[i]
		switch {
		case c == '\\' && i+1 < len(css) && css[i+1] != '\n':
			var dec []byte
			dec, i = refCSSEscape(css, i, one[:0])
			if len(dst)+len(dec) <= cap(dst) {
				dst = append(dst, dec...)
			}
		case refIsCSSName(c):
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

// refCSSMayLoad reports whether a CSS text can hold a URL at all: a url(
// function, an @import, an image-set( or an escape (which could spell
// any of them). Most sheets and style attributes have none, and skip the
// tokenizer.
func refCSSMayLoad(css []byte) bool {
	if bytes.IndexByte(css, '\\') >= 0 {
		return true
	}
	for i := 0; i < len(css); i++ {
		k := indexAny2(css[i:], '(', '@')
		if k < 0 {
			return false
		}
		i += k
		switch css[i] {
		case '(':
			// url( or image-set( ends here.
			if i >= 3 && equalFold(css[i-3:i], "url") || i >= 9 && equalFold(css[i-9:i], "image-set") {
				return true
			}
		case '@':
			if i+7 <= len(css) && equalFold(css[i+1:i+7], "import") {
				return true
			}
		}
	}
	return false
}

// refMayBeURL reports whether a CSS string could name another host: a font
// family or a content string ("Open Sans") cannot, and is not worth the
// URL parser's time.
func refMayBeURL(s []byte) bool {
	for _, c := range s {
		if c == '.' || c == '/' || c == ':' || c == '\\' || c >= 0x80 {
			return true
		}
	}
	return false
}

func refIsCSSSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func refIsCSSNameStart(c byte) bool {
	return isAlpha(c) || c == '_' || c >= 0x80 || c == '-'
}

func refIsCSSName(c byte) bool { return refIsCSSNameStart(c) || c >= '0' && c <= '9' }

func refIsHex(c byte) bool { return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f' }

// refCSSEscape decodes the escape whose backslash is at css[i] into dst.
func refCSSEscape(css []byte, i int, dst []byte) ([]byte, int) {
	i++ // the backslash
	if i >= len(css) {
		return appendRune(dst, 0xFFFD), i
	}
	if !refIsHex(css[i]) {
		return appendRune(dst, rune(css[i])), i + 1 // one byte of a UTF-8 sequence stays as it is
	}
	var r rune
	n := 0
	for ; n < 6 && i < len(css) && refIsHex(css[i]); n++ {
		c := css[i] | 0x20
		d := rune(c - '0')
		if c >= 'a' {
			d = rune(c-'a') + 10
		}
		r = r*16 + d
		i++
	}
	if i < len(css) && refIsCSSSpace(css[i]) {
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

// refCSSString decodes the string whose quote is at css[i].
func refCSSString(css []byte, i int, dst []byte) ([]byte, int) {
	q := css[i]
	for i++; i < len(css); {
		switch c := css[i]; {
		case c == q:
			return dst, i + 1
		case c == '\n':
			return dst, i // a bad string ends at the newline
		case c == '\\':
			if i+1 < len(css) && css[i+1] == '\n' {
				i += 2 // a line continuation
				continue
			}
			dst, i = refCSSEscape(css, i, dst)
		default:
			dst = append(dst, c)
			i++
		}
	}
	return dst, i
}

// refCSSURL decodes an unquoted url( ) token's value from css[i].
func refCSSURL(css []byte, i int, dst []byte) ([]byte, int) {
	for i < len(css) {
		switch c := css[i]; {
		case c == ')':
			return dst, i + 1
		case refIsCSSSpace(c):
			i++
		case c == '\\' && i+1 < len(css) && css[i+1] != '\n':
			dst, i = refCSSEscape(css, i, dst)
		default:
			dst = append(dst, c)
			i++
		}
	}
	return dst, i
}
