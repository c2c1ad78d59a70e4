package rewrite

import (
	"bytes"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// unescapeAttr decodes the character references of an attribute value into
// dst[:0] and returns it. Numeric references and the five XML entities,
// which are what URLs in real pages carry (WordPress writes "&#038;"), are
// decoded here without allocating; anything else goes through x/net/html.
func unescapeAttr(dst, v []byte) []byte {
	dst = dst[:0]
	for len(v) > 0 {
		i := bytes.IndexByte(v, '&')
		if i < 0 {
			return append(dst, v...)
		}
		dst = append(dst, v[:i]...)
		v = v[i:]
		r, n := simpleReference(v)
		if n == 0 {
			return append(dst[:0], html.UnescapeString(string(append(dst, v...)))...)
		}
		dst = appendRune(dst, r)
		v = v[n:]
	}
	return dst
}

// simpleReference decodes a numeric reference or &amp; &lt; &gt; &quot;
// &apos; with its semicolon at the start of v, returning the rune and the
// bytes used, or 0 bytes for anything else.
func simpleReference(v []byte) (rune, int) {
	for _, e := range [...]struct {
		name string
		r    rune
	}{{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}} {
		if bytes.HasPrefix(v, []byte(e.name)) {
			return e.r, len(e.name)
		}
	}
	if len(v) < 4 || v[1] != '#' {
		return 0, 0
	}
	base, i := rune(10), 2
	if v[2] == 'x' || v[2] == 'X' {
		base, i = 16, 3
	}
	var r rune
	start := i
	for ; i < len(v) && i-start < 7; i++ {
		c := v[i]
		var d rune
		switch {
		case c >= '0' && c <= '9':
			d = rune(c - '0')
		case base == 16 && c|0x20 >= 'a' && c|0x20 <= 'f':
			d = rune(c|0x20-'a') + 10
		case c == ';' && i > start:
			if r == 0 || r > 0x10FFFF || r >= 0xD800 && r <= 0xDFFF || r >= 0x80 && r <= 0x9F {
				return 0, 0 // the standard's replacements: leave them to x/net
			}
			return r, i + 1
		default:
			return 0, 0
		}
		r = r*base + d
	}
	return 0, 0
}

func appendRune(dst []byte, r rune) []byte {
	if r < 0x80 {
		return append(dst, byte(r))
	}
	return utf8.AppendRune(dst, r)
}

// appendAttrValue appends v to e escaped for a double-quoted attribute
// value: '&' and '"' always, '<' too in XHTML, where XML allows none in a
// value.
func appendAttrValue[T string | []byte](e []byte, v T, xhtml bool) []byte {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '&':
			e = append(e, "&amp;"...)
		case c == '"':
			e = append(e, "&quot;"...)
		case c == '<' && xhtml:
			e = append(e, "&lt;"...)
		default:
			e = append(e, c)
		}
	}
	return e
}
