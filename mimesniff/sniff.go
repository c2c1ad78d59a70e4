package mimesniff

// SniffLen is how many leading bytes of a body decide whether a browser
// sniffs it as HTML: the MIME Sniffing standard's resource header holds
// 1,445 bytes, but Chromium looks for HTML in the first 512 only.
const SniffLen = 512

// Sniffed is what the first bytes of a body of unknown type say.
type Sniffed uint8

const (
	// NeedMore: the bytes so far could still start HTML; more (up to
	// SniffLen) decide.
	NeedMore Sniffed = iota
	// SniffedHTML: a browser renders the body as text/html.
	SniffedHTML
	// SniffedXML: "<?xml": a browser renders the body as text/xml, in
	// which elements of the XHTML namespace still run scripts.
	SniffedXML
	// SniffedOther: anything else (text, images, downloads): no markup of
	// ours may go in.
	SniffedOther
)

// htmlPatterns are the tag names of the "rules for identifying an unknown
// MIME type" (MIME Sniffing §7.1 and §6.1 step 1), which Chromium's
// sniffer shares: "<" then the name, ASCII case-insensitive, then a space
// or '>'.
var htmlPatterns = []string{
	"!doctype html", "html", "head", "script", "iframe", "h1", "div", "font",
	"table", "a", "style", "title", "b", "body", "br", "p", "!--",
}

// isSniffSpace: leading white space bytes skipped before the patterns.
// The standard skips 0x09, 0x0A, 0x0C, 0x0D and 0x20; Chromium also skips
// 0x0B (base::IsAsciiWhitespace), and a page it renders as HTML must be
// rewritten, so 0x0B counts too (browser_test.go).
func isSniffSpace(c byte) bool {
	return c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == ' '
}

// SniffHTML applies the HTML and XML rules of the unknown-type sniffing a
// browser runs for a navigation to the first bytes of a body. With eof
// the body is complete. NeedMore is returned only when fewer than
// SniffLen bytes are there and more could change the answer.
func SniffHTML(b []byte, eof bool) Sniffed {
	if len(b) >= SniffLen {
		b, eof = b[:SniffLen], true
	}
	i := 0
	for i < len(b) && isSniffSpace(b[i]) {
		i++
	}
	if i == len(b) {
		if eof {
			return SniffedOther
		}
		return NeedMore
	}
	rest := b[i:]
	more := false
	for _, p := range htmlPatterns {
		switch matchTag(rest, p) {
		case matchYes:
			return SniffedHTML
		case matchMore:
			more = true
		}
	}
	switch matchPrefix(rest, "<?xml") {
	case matchYes:
		return SniffedXML
	case matchMore:
		more = true
	}
	if more && !eof {
		return NeedMore
	}
	return SniffedOther
}

type match uint8

const (
	matchNo match = iota
	matchYes
	matchMore
)

// matchPrefix matches "<"+name case-insensitively at the start of b.
func matchPrefix(b []byte, s string) match {
	for i := 0; i < len(s); i++ {
		if i >= len(b) {
			return matchMore
		}
		if lower(b[i]) != s[i] {
			return matchNo
		}
	}
	return matchYes
}

func matchTag(b []byte, name string) match {
	if len(b) == 0 {
		return matchMore
	}
	if b[0] != '<' {
		return matchNo
	}
	m := matchPrefix(b[1:], name)
	if m != matchYes {
		return m
	}
	n := 1 + len(name)
	if n >= len(b) {
		return matchMore
	}
	if b[n] == ' ' || b[n] == '>' {
		return matchYes
	}
	return matchNo
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Navigation is how a browser will treat a response it navigates to.
type Navigation uint8

const (
	// Render: the declared type stands (see Type); no sniffing.
	Render Navigation = iota
	// Sniff: the type is missing, unparsable or unknown and sniffing is
	// allowed: the first bytes decide (SniffHTML).
	Sniff
)

// ForNavigation decides, from a response's Content-Type and
// X-Content-Type-Options field lines, the type a browser navigating to it
// uses, or that it sniffs. A missing or unknown type under nosniff is
// rendered as text/plain, as Chromium does ("the most secure option").
func ForNavigation(contentTypes, xContentTypeOptions []string) (MIMEType, Navigation) {
	mt, ok := Extract(contentTypes)
	if ok && !mt.IsUnknown() {
		return mt, Render
	}
	if NoSniff(xContentTypeOptions) {
		return MIMEType{Type: "text", Subtype: "plain"}, Render
	}
	return mt, Sniff
}
