// Package mimesniff reads a response's content type the way browsers do:
// the WHATWG MIME Sniffing standard's MIME type parser and serialiser,
// Fetch's "extract a MIME type" over every Content-Type header and its
// "determine nosniff", and the HTML sniffing a browser applies to a
// navigation whose type is missing or unknown.
//
// The parser is held to the web-platform-tests vectors (testdata/wpt) and
// the navigation decision to headless Chromium (browser_test.go).
package mimesniff

import "strings"

// MIMEType is a parsed MIME type. Type, Subtype and parameter names are in
// ASCII lower case; parameter values are as given (quotes and escapes
// removed).
type MIMEType struct {
	Type, Subtype string
	Params        []Param
}

// Param is one parameter of a MIME type.
type Param struct{ Name, Value string }

// Essence is type/subtype.
func (m MIMEType) Essence() string { return m.Type + "/" + m.Subtype }

// Param returns the value of the parameter name (lower case).
func (m MIMEType) Param(name string) (string, bool) {
	for _, p := range m.Params {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// IsHTML reports whether the type is an HTML MIME type (text/html).
func (m MIMEType) IsHTML() bool { return m.Type == "text" && m.Subtype == "html" }

// IsXHTML reports whether the type is application/xhtml+xml.
func (m MIMEType) IsXHTML() bool { return m.Type == "application" && m.Subtype == "xhtml+xml" }

// IsUnknown reports whether the type says nothing, so a browser sniffs:
// unknown/unknown, application/unknown or */* (MIME Sniffing §7).
func (m MIMEType) IsUnknown() bool {
	switch m.Essence() {
	case "unknown/unknown", "application/unknown", "*/*":
		return true
	}
	return false
}

// String serialises the type as the standard does (§4.5): parameter values
// that are not tokens are quoted.
func (m MIMEType) String() string {
	var b strings.Builder
	b.WriteString(m.Essence())
	for _, p := range m.Params {
		b.WriteByte(';')
		b.WriteString(p.Name)
		b.WriteByte('=')
		if p.Value != "" && isTokenString(p.Value) {
			b.WriteString(p.Value)
			continue
		}
		b.WriteByte('"')
		for i := 0; i < len(p.Value); i++ {
			if c := p.Value[i]; c == '"' || c == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(p.Value[i])
		}
		b.WriteByte('"')
	}
	return b.String()
}

// Header values are byte strings; the standards read them "isomorphic
// decoded", one code point per byte. The functions below work on bytes
// accordingly: byte 0x80-0xFF stands for U+0080-U+00FF.

func isHTTPWhitespace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isTabOrSpace(c byte) bool { return c == ' ' || c == '\t' }

var tokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func isTokenString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tokenTable[s[i]] {
			return false
		}
	}
	return true
}

// isQuotedStringTokenString: only U+0009, U+0020-007E and U+0080-00FF.
func isQuotedStringTokenString(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '\t' && (c < 0x20 || c == 0x7F) {
			return false
		}
	}
	return true
}

func trimHTTPWhitespace(s string) string {
	for len(s) > 0 && isHTTPWhitespace(s[0]) {
		s = s[1:]
	}
	return trimTrailingHTTPWhitespace(s)
}

func trimTrailingHTTPWhitespace(s string) string {
	for len(s) > 0 && isHTTPWhitespace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// collectQuoted collects an HTTP quoted string from s at *pos (a '"'),
// Fetch §2.2. With extract it returns the value without quotes and
// escapes, otherwise the raw text consumed.
func collectQuoted(s string, pos *int, extract bool) string {
	start := *pos
	var value strings.Builder
	*pos++ // the opening quote
	for {
		i := *pos
		for i < len(s) && s[i] != '"' && s[i] != '\\' {
			i++
		}
		value.WriteString(s[*pos:i])
		*pos = i
		if *pos >= len(s) {
			break
		}
		q := s[*pos]
		*pos++
		if q == '\\' {
			if *pos >= len(s) {
				value.WriteByte('\\')
				break
			}
			value.WriteByte(s[*pos])
			*pos++
			continue
		}
		break // the closing quote
	}
	if !extract {
		return s[start:*pos]
	}
	return value.String()
}

// Parse parses a MIME type (MIME Sniffing §4.4). It reports false where the
// standard returns failure.
func Parse(s string) (MIMEType, bool) {
	s = trimHTTPWhitespace(s)
	slash := strings.IndexByte(s, '/')
	if slash <= 0 || !isTokenString(s[:slash]) {
		return MIMEType{}, false
	}
	typ := s[:slash]
	pos := slash + 1
	end := strings.IndexByte(s[pos:], ';')
	if end < 0 {
		end = len(s)
	} else {
		end += pos
	}
	sub := trimTrailingHTTPWhitespace(s[pos:end])
	if sub == "" || !isTokenString(sub) {
		return MIMEType{}, false
	}
	m := MIMEType{Type: strings.ToLower(typ), Subtype: strings.ToLower(sub)}
	pos = end
	for pos < len(s) {
		pos++ // the ';'
		for pos < len(s) && isHTTPWhitespace(s[pos]) {
			pos++
		}
		ns := pos
		for pos < len(s) && s[pos] != ';' && s[pos] != '=' {
			pos++
		}
		name := strings.ToLower(s[ns:pos])
		if pos < len(s) {
			if s[pos] == ';' {
				continue
			}
			pos++ // the '='
		}
		if pos >= len(s) {
			break
		}
		var value string
		if s[pos] == '"' {
			value = collectQuoted(s, &pos, true)
			for pos < len(s) && s[pos] != ';' {
				pos++
			}
		} else {
			vs := pos
			for pos < len(s) && s[pos] != ';' {
				pos++
			}
			value = trimTrailingHTTPWhitespace(s[vs:pos])
			if value == "" {
				continue
			}
		}
		if name != "" && isTokenString(name) && isQuotedStringTokenString(value) {
			if _, dup := m.Param(name); !dup {
				m.Params = append(m.Params, Param{Name: name, Value: value})
			}
		}
	}
	return m, true
}

// splitValues gets, decodes and splits a header's values (Fetch §2.2):
// the field lines joined with ", ", then split at commas outside quoted
// strings, each trimmed of tabs and spaces. It returns nil when the header
// is absent.
func splitValues(lines []string) []string {
	if len(lines) == 0 {
		return nil
	}
	in := strings.Join(lines, ", ")
	var values []string
	var tmp strings.Builder
	for pos := 0; ; {
		i := pos
		for i < len(in) && in[i] != '"' && in[i] != ',' {
			i++
		}
		tmp.WriteString(in[pos:i])
		pos = i
		if pos < len(in) && in[pos] == '"' {
			tmp.WriteString(collectQuoted(in, &pos, false))
			if pos < len(in) {
				continue
			}
		}
		v := tmp.String()
		for len(v) > 0 && isTabOrSpace(v[0]) {
			v = v[1:]
		}
		for len(v) > 0 && isTabOrSpace(v[len(v)-1]) {
			v = v[:len(v)-1]
		}
		values = append(values, v)
		tmp.Reset()
		if pos >= len(in) {
			return values
		}
		pos++ // the ','
	}
}

// Extract is Fetch's "extract a MIME type" (§3.1.7) from the field lines of
// every Content-Type header of a response, in order. It reports false for
// failure: no header, or none that parses to something other than */*.
// The last valid type wins; a charset given by an earlier value of the
// same essence carries over.
func Extract(contentTypes []string) (MIMEType, bool) {
	var charset, essence string
	var hasCharset, found bool
	var mt MIMEType
	for _, v := range splitValues(contentTypes) {
		tmp, ok := Parse(v)
		if !ok || tmp.Essence() == "*/*" {
			continue
		}
		mt, found = tmp, true
		if mt.Essence() != essence {
			charset, hasCharset = mt.Param("charset")
			essence = mt.Essence()
		} else if _, has := mt.Param("charset"); !has && hasCharset {
			mt.Params = append(mt.Params, Param{Name: "charset", Value: charset})
		}
	}
	return mt, found
}

// NoSniff is Fetch's "determine nosniff" (§3.5) over the field lines of
// X-Content-Type-Options: true when the first value is "nosniff".
func NoSniff(xContentTypeOptions []string) bool {
	values := splitValues(xContentTypeOptions)
	return len(values) > 0 && strings.EqualFold(values[0], "nosniff")
}
