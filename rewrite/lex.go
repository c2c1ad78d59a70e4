package rewrite

import "bytes"

// This file holds the lexing primitives of the scanner. They follow the
// tokenizer of the WHATWG HTML standard (§13.2.5) as golang.org/x/net/html
// implements it, which the differential fuzz test checks, except where
// x/net departs from the standard in a way that matters for what a browser
// executes (see scriptEnd).
//
// Every function works on a buffer that may end in the middle of a
// construct: it then reports "incomplete" and the caller resumes once more
// bytes arrived, from a position the function gives.

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f'
}

func isAlpha(c byte) bool {
	return c|0x20 >= 'a' && c|0x20 <= 'z'
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold reports whether b equals the lower-case ASCII s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		if lower(b[i]) != s[i] {
			return false
		}
	}
	return true
}

// attr is one attribute of a tag, as offsets into the tag's buffer.
type attr struct {
	nameStart, nameEnd int
	valStart, valEnd   int // both equal nameEnd when there is no value
	hasVal             bool
}

// tag is a lexed start or end tag: b[start:end] runs from '<' to '>'.
type tag struct {
	start, end int
	nameEnd    int // the name is b[start+1:nameEnd] (start+2 for end tags)
	attrs      []attr
	// declaration says an attribute is named data-consent-declaration;
	// lexTag finds that even when it does not collect attributes.
	declaration bool
	// style says an attribute is named style (whose CSS may load URLs);
	// ping and background, that one of those names is there.
	style, ping, background bool
	// need is, when lexTag returned false, the byte whose arrival can
	// complete the tag: the closing quote of a value, or else '>'.
	need byte
	// tooMany says lexTag stopped at maxAttrs recorded attributes.
	tooMany bool
}

// maxAttrs bounds the attributes recorded for one tag, so that a tag of
// 100,000 attributes costs bounded memory; such a tag is treated as one
// too large to hold.
const maxAttrs = 1024

// interestingAttr reports whether the rewriter ever reads or renames an
// attribute of this name; only those are recorded.
func interestingAttr(name []byte) bool {
	switch len(name) {
	case 2:
		if equalFold(name, "as") {
			return true
		}
	case 3:
		if equalFold(name, "src") || equalFold(name, "rel") {
			return true
		}
	case 4:
		if equalFold(name, "href") || equalFold(name, "data") || equalFold(name, "type") || equalFold(name, "ping") {
			return true
		}
	case 5:
		if equalFold(name, "style") {
			return true
		}
	case 6:
		if equalFold(name, "srcset") || equalFold(name, "poster") || equalFold(name, "srcdoc") {
			return true
		}
	case 7:
		if equalFold(name, "content") {
			return true
		}
	case 8:
		if equalFold(name, "encoding") {
			return true
		}
	case 10:
		if equalFold(name, "background") || equalFold(name, "http-equiv") || equalFold(name, "xlink:href") {
			return true
		}
	case 11:
		if equalFold(name, "imagesrcset") {
			return true
		}
	}
	// Every name left to look for starts with "data-".
	if len(name) < len("data-src") || !equalFold(name[:len("data-")], "data-") {
		return false
	}
	if len(name) > len(AttrPrefix) && equalFold(name[:len(AttrPrefix)], AttrPrefix) {
		return true
	}
	for _, n := range [...]string{"data-src", "data-lazy-src", "data-litespeed-src", "data-rocket-src", "data-rocket-type",
		"data-pmdelayedscript", "data-perfmatters-type", "data-type"} {
		if equalFold(name, n) {
			return true
		}
	}
	return false
}

// Byte classes of the tag lexer.
const (
	clSpace = 1 << iota // white space
	clEnd               // '/' or '>': ends a tag or attribute name
	clEq                // '='
)

var class = func() (t [256]uint8) {
	for _, c := range []byte(" \n\r\t\f") {
		t[c] = clSpace
	}
	t['/'], t['>'], t['='] = clEnd, clEnd, clEq
	return t
}()

// lexTag lexes the tag whose '<' is at b[i] (followed by a letter, or by
// "/" and a letter for an end tag). With collect it appends the attributes
// to t.attrs; without, it only finds where the tag ends. It returns false
// when b ends inside the tag.
func lexTag(b []byte, i int, t *tag, collect bool) bool {
	t.start = i
	t.attrs = t.attrs[:0]
	t.declaration, t.style, t.ping, t.background, t.need, t.tooMany = false, false, false, false, '>', false
	p := i + 1
	if p >= len(b) {
		return false
	}
	if b[p] == '/' {
		p++
	}
	// Tag name: up to white space, '/' or '>'.
	for p++; p < len(b) && class[b[p]]&(clSpace|clEnd) == 0; p++ {
	}
	if p >= len(b) {
		return false
	}
	t.nameEnd = p
	for {
		for p < len(b) && class[b[p]] == clSpace {
			p++
		}
		if p >= len(b) {
			return false
		}
		if b[p] == '>' {
			t.end = p + 1
			return true
		}
		// Attribute name: an '=' is part of the name only as its first byte.
		ks := p
		for p++; p < len(b) && class[b[p]] == 0; p++ {
		}
		if p >= len(b) {
			return false
		}
		if b[ks] == '/' {
			p = ks // a lone solidus: an empty name, consumed below
		}
		a := attr{nameStart: ks, nameEnd: p, valStart: p, valEnd: p}
		for p < len(b) && class[b[p]] == clSpace {
			p++
		}
		if p >= len(b) {
			return false
		}
		switch b[p] {
		case '/':
			p++ // a solidus after a name ends the attribute
		case '=':
			p++
			for p < len(b) && class[b[p]] == clSpace {
				p++
			}
			if p >= len(b) {
				return false
			}
			switch q := b[p]; q {
			case '>':
				// "a=>": empty value; the '>' ends the tag.
			case '"', '\'':
				k := bytes.IndexByte(b[p+1:], q)
				if k < 0 {
					t.need = q
					return false
				}
				a.valStart, a.valEnd, a.hasVal = p+1, p+1+k, true
				p += k + 2
			default:
				a.valStart, a.hasVal = p, true
				for p++; p < len(b) && class[b[p]]&clSpace == 0 && b[p] != '>'; p++ {
				}
				if p >= len(b) {
					return false
				}
				a.valEnd = p
				if b[p] != '>' {
					p++
				}
			}
		}
		if collect && a.nameEnd > a.nameStart && interestingAttr(b[a.nameStart:a.nameEnd]) {
			if len(t.attrs) >= maxAttrs {
				t.tooMany, t.need = true, 0
				return false
			}
			t.attrs = append(t.attrs, a)
		}
		switch a.nameEnd - a.nameStart {
		case len(AttrDeclaration):
			if equalFold(b[a.nameStart:a.nameEnd], AttrDeclaration) {
				t.declaration = true
			}
		case len("style"):
			if equalFold(b[a.nameStart:a.nameEnd], "style") {
				t.style = true
			}
		case len("ping"):
			if equalFold(b[a.nameStart:a.nameEnd], "ping") {
				t.ping = true
			}
		case len("background"):
			if equalFold(b[a.nameStart:a.nameEnd], "background") {
				t.background = true
			}
		}
	}
}

// commentEnd finds the end of a comment whose body (after "<!--") starts
// at body, looking at b[from:]. It returns the index just past the closing
// '>' and true, or false when b ends first: then everything was looked at,
// and the caller must keep the last three bytes (or from body, if later)
// and resume at the new data. A comment ends at "-->" or "--!>", or at once
// as "<!-->" or "<!--->". body may be negative once the comment's start
// has been passed on; at least three bytes before from are then in b.
func commentEnd(b []byte, body, from int) (int, bool) {
	for p := max(from, body); ; {
		k := bytes.IndexByte(b[p:], '>')
		if k < 0 {
			return len(b), false
		}
		g := p + k // the '>'
		n := g - body
		if n == 0 || n == 1 && b[g-1] == '-' ||
			n >= 2 && b[g-1] == '-' && b[g-2] == '-' ||
			n >= 3 && b[g-1] == '!' && b[g-2] == '-' && b[g-3] == '-' {
			return g + 1, true
		}
		p = g + 1
	}
}

// rawEnd finds the end tag "</name" (ASCII case-insensitive, followed by
// white space, '/' or '>') that closes a RAWTEXT or RCDATA element. It
// returns the index of its '<' and true, or the position from which to look
// again and false.
func rawEnd(b []byte, from int, name string) (int, bool) {
	for p := from; ; {
		k := bytes.IndexByte(b[p:], '<')
		if k < 0 {
			return len(b), false
		}
		p += k
		switch endTagAt(b, p, name) {
		case matchYes:
			return p, true
		case matchMore:
			return p, false
		}
		p++
	}
}

type match uint8

const (
	matchNo match = iota
	matchYes
	matchMore // b ends before it can tell
)

// endTagAt reports whether b[p:] starts with "</name" and a delimiter.
func endTagAt(b []byte, p int, name string) match {
	n := p + 2 + len(name)
	if n >= len(b) {
		// Decide early on a mismatch in what is there.
		if p+1 < len(b) && b[p+1] != '/' {
			return matchNo
		}
		for i := p + 2; i < len(b) && i < n; i++ {
			if lower(b[i]) != name[i-p-2] {
				return matchNo
			}
		}
		return matchMore
	}
	if b[p+1] != '/' || !equalFold(b[p+2:n], name) {
		return matchNo
	}
	if c := b[n]; isSpace(c) || c == '/' || c == '>' {
		return matchYes
	}
	return matchNo
}

// scriptState is where the script-data tokenizer states of the standard
// stand between calls.
type scriptState uint8

const (
	ssData scriptState = iota
	ssEscaped
	ssEscapedDash
	ssEscapedDashDash
	ssDoubleEscaped
	ssDoubleEscapedDash
	ssDoubleEscapedDashDash
)

// scriptEnd finds the "</script" that ends a script element's text, given
// the tokenizer state st at from. It returns the index of that '<' and
// true, or the position and state from which to continue and false.
//
// It follows the standard's script data states, including the "escaped"
// states entered by "<!--" and the "double escaped" states entered by
// "<script" inside them, in which "</script>" does not end the element.
// golang.org/x/net/html (v0.62) differs in one transition: after "<" in
// the escaped state followed by anything other than '/' or a letter it
// returns to the plain data state, where the standard stays escaped.
// Following x/net there could end a script earlier than a browser does and
// leave the rest of its text (and any tracker signature in it) unexamined,
// so the standard wins.
func scriptEnd(b []byte, from int, st scriptState) (int, bool, scriptState) {
	p := from
	for p < len(b) {
		switch st {
		case ssData:
			k := bytes.IndexByte(b[p:], '<')
			if k < 0 {
				return len(b), false, st
			}
			p += k
			if p+1 >= len(b) {
				return p, false, st
			}
			switch b[p+1] {
			case '/':
				switch endTagAt(b, p, "script") {
				case matchYes:
					return p, true, st
				case matchMore:
					return p, false, st
				}
				p += 2 // "</" then reconsume what follows in data
			case '!':
				// "<!--" enters the escaped state (already past the dashes).
				if p+3 >= len(b) {
					if p+2 < len(b) && b[p+2] != '-' {
						p += 2
						continue
					}
					return p, false, st
				}
				if b[p+2] == '-' && b[p+3] == '-' {
					st = ssEscapedDashDash
					p += 4
				} else {
					p += 2
				}
			default:
				p++
			}
		case ssEscaped, ssEscapedDash, ssEscapedDashDash:
			c := b[p]
			switch {
			case c == '-':
				if st == ssEscaped {
					st = ssEscapedDash
				} else {
					st = ssEscapedDashDash
				}
				p++
			case c == '>' && st == ssEscapedDashDash:
				st = ssData
				p++
			case c == '<':
				if p+1 >= len(b) {
					return p, false, st
				}
				next := b[p+1]
				switch {
				case next == '/':
					switch endTagAt(b, p, "script") {
					case matchYes:
						return p, true, st
					case matchMore:
						return p, false, st
					}
					st = ssEscaped
					p += 2
				case isAlpha(next):
					// "<script" and a delimiter enters double escaping.
					m := startWordAt(b, p+1, "script")
					if m == matchMore {
						return p, false, st
					}
					st = ssEscaped
					if m == matchYes {
						st = ssDoubleEscaped
						p += 1 + len("script") + 1
					} else {
						p++
					}
				default:
					st = ssEscaped
					p++
				}
			default:
				st = ssEscaped
				// Skip to the next byte that can change the state.
				k := indexAny2(b[p:], '-', '<')
				if k < 0 {
					return len(b), false, st
				}
				p += k
			}
		default: // double escaped
			c := b[p]
			switch {
			case c == '-':
				if st == ssDoubleEscaped {
					st = ssDoubleEscapedDash
				} else {
					st = ssDoubleEscapedDashDash
				}
				p++
			case c == '>' && st == ssDoubleEscapedDashDash:
				st = ssData
				p++
			case c == '<':
				if p+1 >= len(b) {
					return p, false, st
				}
				if b[p+1] == '/' {
					// "</script" and a delimiter ends double escaping only.
					m := startWordAt(b, p+2, "script")
					if m == matchMore {
						return p, false, st
					}
					if m == matchYes {
						st = ssEscaped
						p += 2 + len("script") + 1
						continue
					}
					st = ssDoubleEscaped
					p += 2
					continue
				}
				st = ssDoubleEscaped
				p++
			default:
				st = ssDoubleEscaped
				k := indexAny2(b[p:], '-', '<')
				if k < 0 {
					return len(b), false, st
				}
				p += k
			}
		}
	}
	return p, false, st
}

// startWordAt reports whether b[p:] starts with word (ASCII
// case-insensitive) followed by white space, '/' or '>'.
func startWordAt(b []byte, p int, word string) match {
	n := p + len(word)
	for i := p; i < n; i++ {
		if i >= len(b) {
			return matchMore
		}
		if lower(b[i]) != word[i-p] {
			return matchNo
		}
	}
	if n >= len(b) {
		return matchMore
	}
	if c := b[n]; isSpace(c) || c == '/' || c == '>' {
		return matchYes
	}
	return matchNo
}

func indexAny2(b []byte, x, y byte) int {
	i := bytes.IndexByte(b, x)
	if i < 0 {
		return bytes.IndexByte(b, y)
	}
	if j := bytes.IndexByte(b[:i], y); j >= 0 {
		return j
	}
	return i
}
