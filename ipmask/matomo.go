package ipmask

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
)

var errNotObject = errors.New("not a JSON object")

// MaskMatomoBulkBody masks the named parameters in a Matomo bulk tracking
// body: a JSON object whose "requests" member lists the hits, each either
// a query string ("?idsite=1&rec=1&cip=203.0.113.77", or a whole URL) or
// an object of parameters ({"idsite":1,"cip":"203.0.113.77"}).
//
// In a string, the query (after the first '?', up to a '#'; the whole
// string when there is no '?') is masked as MaskQueryParams masks one. In
// an object, a named member with a string value is masked; any other value
// is replaced by the masked client address. With Ensure, every hit without
// one of Names gets Names[0]. All other members (token_auth and any
// unknown ones), their order and their formatting are kept byte for byte;
// a string that needs rewriting and holds escapes is re-encoded.
//
// Matomo trims the body and deletes its line breaks before decoding it.
// A body that only becomes valid JSON that way is treated the same way,
// and the result, trimmed and without line breaks, counts as changed. Any
// other invalid JSON, or JSON that is not an object, is an error and the
// result is nil: do not forward such a body. It returns body itself when
// nothing changed.
func (p ParamMasker) MaskMatomoBulkBody(body []byte, client netip.Addr) ([]byte, bool, error) {
	src, sanitized := body, false
	if !json.Valid(src) {
		src, sanitized = sanitizeLikeMatomo(body), true
		if !json.Valid(src) {
			var raw json.RawMessage
			err := json.Unmarshal(body, &raw)
			if err == nil { // unreachable: json.Valid said no
				err = errors.New("invalid JSON")
			}
			return nil, false, fmt.Errorf("masking Matomo bulk body: %w", err)
		}
	}
	i := skipSpace(src, 0)
	if i >= len(src) || src[i] != '{' {
		return nil, false, fmt.Errorf("masking Matomo bulk body: %w", errNotObject)
	}
	s := splicer[[]byte]{src: src}
	c := clientText{m: p.Masker, addr: client}
	// src is valid JSON from here on, which the scanning below relies on;
	// it still checks bounds so that no input can make it panic.
	for i = skipSpace(src, i+1); i < len(src) && src[i] == '"'; {
		ke := stringEnd(src, i)
		isRequests := jsonStringIs(src[i:ke], "requests")
		vs := skipSpace(src, skipSpace(src, ke)+1) // past ':'
		ve := valueEnd(src, vs)
		if isRequests && vs < len(src) && src[vs] == '[' {
			p.maskBulkRequests(&s, vs, ve, &c)
		}
		i = skipSpace(src, ve)
		if i < len(src) && src[i] == ',' {
			i = skipSpace(src, i+1)
		}
	}
	if !s.changed() {
		if sanitized {
			return src, true, nil
		}
		return body, false, nil
	}
	return s.finish(), true, nil
}

// maskBulkRequests masks the hits in the array s.src[start:end].
func (p *ParamMasker) maskBulkRequests(s *splicer[[]byte], start, end int, c *clientText) {
	b := s.src
	for i := skipSpace(b, start+1); i < end && b[i] != ']'; {
		e := max(valueEnd(b, i), i+1) // always move on, even past junk
		switch b[i] {
		case '"':
			p.maskBulkString(s, i, e, c)
		case '{':
			p.maskBulkObject(s, i, e, c)
		}
		i = skipSpace(b, e)
		if i < end && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
}

// maskBulkString masks the query in the JSON string s.src[start:end].
func (p *ParamMasker) maskBulkString(s *splicer[[]byte], start, end int, c *clientText) {
	raw := s.src[start:end]
	if len(raw) < 2 {
		return
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		// No escapes: the query's bytes are the string's, and whatever
		// masking inserts needs no escaping, so splice in place.
		qs, qe := queryBounds(raw[1 : len(raw)-1])
		maskParamSet(p, s, start+1+qs, start+1+qe, c)
		return
	}
	var str string
	if json.Unmarshal(raw, &str) != nil {
		return // unreachable: raw is a valid JSON string
	}
	inner := splicer[string]{src: str}
	qs, qe := queryBounds(str)
	maskParamSet(p, &inner, qs, qe, c)
	if !inner.changed() {
		return
	}
	s.replace(start, end)
	s.out = appendJSONString(s.out, inner.finish())
}

// queryBounds returns where the query starts and ends in a hit given as a
// URL: after the first '?' and up to the next '#', as PHP's parse_url
// finds it. Without a '?' it is all of u up to a '#'.
func queryBounds[T ~string | ~[]byte](u T) (start, end int) {
	for i := 0; i < len(u); i++ {
		if u[i] == '?' {
			start = i + 1
			break
		}
	}
	end = len(u)
	for i := start; i < len(u); i++ {
		if u[i] == '#' {
			end = i
			break
		}
	}
	return start, end
}

// maskBulkObject masks the named members of the JSON object
// s.src[start:end].
func (p *ParamMasker) maskBulkObject(s *splicer[[]byte], start, end int, c *clientText) {
	b := s.src
	found, members := false, false
	i := skipSpace(b, start+1)
	for i < end && b[i] == '"' {
		members = true
		ke := stringEnd(b, i)
		isName := false
		if key, ok := jsonStringText(b[i:ke]); ok {
			isName = keyIsName(key, p.Names)
		}
		vs := skipSpace(b, skipSpace(b, ke)+1) // past ':'
		ve := valueEnd(b, vs)
		if isName && vs < ve {
			found = true
			p.maskBulkMember(s, vs, ve, c)
		}
		i = skipSpace(b, ve)
		if i < end && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	if found || !p.Ensure || len(p.Names) == 0 || p.Names[0] == "" || i >= end || b[i] != '}' {
		return
	}
	s.replace(i, i)
	if members {
		s.out = append(s.out, ',')
	}
	s.out = appendJSONString(s.out, p.Names[0])
	s.out = append(s.out, ':', '"')
	s.out = append(s.out, c.text()...)
	s.out = append(s.out, '"')
}

// maskBulkMember masks the value s.src[start:end] of a named member.
func (p *ParamMasker) maskBulkMember(s *splicer[[]byte], start, end int, c *clientText) {
	var buf [64]byte
	var repl []byte
	keep := false
	if v, ok := jsonStringText(s.src[start:end]); ok {
		// Members are not URL-encoded: the string is the value.
		fits := len(v) <= maxValueLen
		var text string
		if fits {
			text = string(v)
		}
		repl, keep = p.Masker.maskValue(buf[:0], text, fits, c)
	} else {
		repl = append(buf[:0], c.text()...)
	}
	if keep {
		return
	}
	s.replace(start, end)
	s.out = append(s.out, '"')
	s.out = append(s.out, repl...)
	s.out = append(s.out, '"')
}

// jsonStringIs reports whether the JSON string raw decodes to want.
func jsonStringIs(raw []byte, want string) bool {
	t, ok := jsonStringText(raw)
	return ok && string(t) == want
}

// jsonStringText returns the text of the JSON string raw, without copying
// when it holds no escapes. ok is false when raw is not a string.
func jsonStringText(raw []byte) (text []byte, ok bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], true
	}
	var str string
	if json.Unmarshal(raw, &str) != nil {
		return nil, false
	}
	return []byte(str), true
}

// appendJSONString appends text to dst as a JSON string. Escaping '"',
// '\\' and control characters is all JSON needs; text is valid UTF-8
// wherever it came from a decoded JSON string.
func appendJSONString[T ~string | ~[]byte](dst []byte, text T) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string starting at i.
func stringEnd(b []byte, i int) int {
	for j := i + 1; j < len(b); {
		k := bytes.IndexByte(b[j:], '"')
		if k < 0 {
			break
		}
		q := j + k
		// The quote ends the string unless an odd number of
		// backslashes escapes it.
		n := 0
		for p := q - 1; p > i && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		j = q + 1
	}
	return len(b)
}

// valueEnd returns the index just past the JSON value starting at i.
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return len(b)
	}
	for i < len(b) {
		switch b[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return len(b)
}

// sanitizeLikeMatomo returns a copy of b trimmed as PHP's trim does and
// without line breaks or NUL bytes, as Matomo cleans a bulk body before
// decoding it.
func sanitizeLikeMatomo(b []byte) []byte {
	b = bytes.Trim(b, " \t\n\r\x00\x0b")
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c != '\n' && c != '\r' && c != 0 {
			out = append(out, c)
		}
	}
	return out
}
