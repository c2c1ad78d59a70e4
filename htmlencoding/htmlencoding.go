// Package htmlencoding decides the character encoding of an HTML document
// as browsers do (HTML §13.2.3 "determining the character encoding", with
// the WHATWG Encoding standard's labels) and turns the documents whose
// encoding is not ASCII-compatible into UTF-8.
//
// A scanner that reads markup as ASCII bytes is right for every WHATWG
// encoding except UTF-16BE, UTF-16LE, ISO-2022-JP and the replacement
// encoding: in those, the bytes of "<script" or "</script>" are not those
// characters to a browser, or characters of markup are not those bytes.
// Such documents go through the Writer transcoded to UTF-8, behind a UTF-8
// byte order mark, which a browser obeys over any charset in the header
// or in a <meta>.
package htmlencoding

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
)

// PrescanLen is how many bytes the <meta> prescan reads (HTML §13.2.3.2).
const PrescanLen = 1024

var boms = []struct {
	bom  string
	name string
}{
	{"\xef\xbb\xbf", "utf-8"},
	{"\xfe\xff", "utf-16be"},
	{"\xff\xfe", "utf-16le"},
}

// Label returns the WHATWG name of the encoding an encoding label stands
// for ("ucs-2" and "unicodefeff" are utf-16le, "csiso2022kr" is
// replacement, ...), or "" when it is no label of the standard, which
// browsers ignore.
func Label(label string) string {
	e, err := htmlindex.Get(strings.Trim(label, "\t\n\f\r "))
	if err != nil {
		return ""
	}
	name, err := htmlindex.Name(e)
	if err != nil {
		return ""
	}
	return name
}

// MaxHeadScan bounds the bytes held while the head is searched for a
// <meta> that declares the encoding.
const MaxHeadScan = 64 << 10

// Decide returns the name of the encoding a browser decodes a document in,
// given its first bytes and the charset parameter of its Content-Type
// ("" when there is none), and the length of the byte order mark it
// starts with. With eof the document is complete. ok is false while more
// bytes could still change the answer: then hold them and call again.
//
// The order is the standard's: a BOM; a charset label of the Content-Type;
// a <meta charset> or <meta http-equiv=content-type content=...> (a UTF-16
// label there means UTF-8); then windows-1252. Chromium looks for the
// <meta> further than the standard's prescan of 1,024 bytes: as long as
// only elements that belong in a head came, however long that is
// (HTMLMetaCharsetParser). Decide does too, up to MaxHeadScan bytes.
func Decide(first []byte, headerCharset string, eof bool) (name string, bomLen int, ok bool) {
	for _, b := range boms {
		if bytes.HasPrefix(first, []byte(b.bom)) {
			return b.name, len(b.bom), true
		}
		if !eof && len(first) < len(b.bom) && strings.HasPrefix(b.bom, string(first)) {
			return "", 0, false
		}
	}
	if name := Label(headerCharset); name != "" {
		return name, 0, true
	}
	if len(first) >= MaxHeadScan {
		first, eof = first[:MaxHeadScan], true
	}
	name, done := scanMeta(first, eof)
	if !done {
		return "", 0, false
	}
	if name == "" {
		name = "windows-1252"
	}
	return name, 0, true
}

// headElements may come before a <meta charset> without ending the
// search (Chromium's list).
var headElements = map[string]bool{
	"script": true, "noscript": true, "style": true, "link": true, "meta": true,
	"object": true, "title": true, "base": true,
}

// scanMeta tokenises b as Chromium's meta charset parser does and returns
// the encoding a <meta> declares ("" for none), and whether the search is
// over: a meta was found, or the head section ended with at least
// PrescanLen bytes read, or b is the whole document.
func scanMeta(b []byte, eof bool) (string, bool) {
	z := html.NewTokenizer(bytes.NewReader(b))
	inHead := true
	consumed := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			return "", eof
		}
		raw := z.Raw()
		consumed += len(raw)
		if consumed == len(b) && !eof && tt != html.TextToken && raw[len(raw)-1] != '>' {
			return "", false // the tag may be cut short
		}
		if tt == html.StartTagToken || tt == html.SelfClosingTagToken || tt == html.EndTagToken {
			tok := z.Token()
			end := tt == html.EndTagToken
			if !end && tok.Data == "meta" {
				if name := metaEncoding(tok.Attr); name != "" {
					return name, true
				}
			}
			if !headElements[tok.Data] && (end || tok.Data != "html" && tok.Data != "head") {
				inHead = false
			}
		}
		if !inHead && consumed >= PrescanLen {
			return "", true
		}
	}
}

// metaEncoding returns the encoding a meta element's attributes declare,
// or "".
func metaEncoding(attrs []html.Attribute) string {
	pragma := false
	var cs string
	mode := 0 // 1: charset attribute, 2: content attribute
	for _, a := range attrs {
		switch {
		case a.Key == "http-equiv":
			if strings.EqualFold(a.Val, "content-type") {
				pragma = true
			}
		case cs != "":
		case a.Key == "charset":
			cs, mode = a.Val, 1
		case a.Key == "content":
			if cs = charsetFromContent(a.Val); cs != "" {
				mode = 2
			}
		}
	}
	if mode == 1 || mode == 2 && pragma {
		switch name := Label(cs); name {
		case "utf-16be", "utf-16le":
			return "utf-8"
		case "x-user-defined":
			return "windows-1252"
		default:
			return name
		}
	}
	return ""
}

// charsetFromContent is the standard's "algorithm for extracting a
// character encoding from a meta element" (HTML §2.5.4 of the URL and
// fetching infrastructure), on a content attribute's value.
func charsetFromContent(s string) string {
	for pos := 0; ; {
		i := indexFold(s[pos:], "charset")
		if i < 0 {
			return ""
		}
		pos += i + len("charset")
		for pos < len(s) && isHTMLSpace(s[pos]) {
			pos++
		}
		if pos >= len(s) || s[pos] != '=' {
			continue
		}
		pos++
		for pos < len(s) && isHTMLSpace(s[pos]) {
			pos++
		}
		if pos >= len(s) {
			return ""
		}
		if q := s[pos]; q == '"' || q == '\'' {
			end := strings.IndexByte(s[pos+1:], q)
			if end < 0 {
				return ""
			}
			return s[pos+1 : pos+1+end]
		}
		end := pos
		for end < len(s) && !isHTMLSpace(s[end]) && s[end] != ';' {
			end++
		}
		return s[pos:end]
	}
}

func isHTMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }

func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// NeedsTranscoding reports whether the named encoding is one in which
// markup cannot be read as ASCII bytes.
func NeedsTranscoding(name string) bool {
	switch name {
	case "utf-16be", "utf-16le", "iso-2022-jp", "replacement":
		return true
	}
	return false
}

// decoder returns the decoder of a WHATWG encoding name.
func decoder(name string) *encoding.Decoder {
	if name == "iso-2022-jp" {
		return &encoding.Decoder{Transformer: new(iso2022JPDecoder)}
	}
	e, err := htmlindex.Get(name)
	if err != nil {
		return nil
	}
	return e.NewDecoder()
}
