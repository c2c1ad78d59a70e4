package rewrite

import (
	"bytes"
	"fmt"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// XHTML pages (application/xhtml+xml) are parsed by the browser as XML: a
// single attribute without a value, an unclosed <link> or an undeclared
// namespace prefix and the browser shows a parse error instead of the
// page. In XHTML mode (Page.XHTML) every edit the rewriter makes is well-
// formed XML, and the markup it inserts (the hooks, the cookie
// declaration) is re-serialised as XHTML; a piece that cannot be is left
// out and counted (XHTMLDropped), never inserted broken.

// XHTMLFragment re-serialises an HTML fragment (parsed as the children of
// <body>) as well-formed XHTML: every attribute with a quoted value, void
// elements self-closed, text and attribute values escaped.
func XHTMLFragment(frag []byte) ([]byte, error) {
	if len(frag) == 0 {
		return frag, nil
	}
	ctx := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(bytes.NewReader(frag), ctx)
	if err != nil {
		return nil, fmt.Errorf("parsing inserted markup: %w", err)
	}
	var b bytes.Buffer
	for _, n := range nodes {
		if err := writeXHTML(&b, n); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

var voidElements = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true, "input": true,
	"link": true, "meta": true, "source": true, "track": true, "wbr": true,
}

func writeXHTML(b *bytes.Buffer, n *html.Node) error {
	switch n.Type {
	case html.TextNode:
		if p := n.Parent; p != nil && (p.Data == "script" || p.Data == "style") && n.Data != "" {
			if strings.Contains(n.Data, "]]>") {
				return fmt.Errorf("a <%s> text holds \"]]>\"", p.Data)
			}
			b.WriteString("<![CDATA[" + n.Data + "]]>")
			return nil
		}
		xmlEscape(b, n.Data)
	case html.CommentNode:
		if strings.Contains(n.Data, "--") {
			return nil // not allowed in an XML comment: left out
		}
		b.WriteString("<!--" + n.Data + "-->")
	case html.ElementNode:
		b.WriteString("<" + n.Data)
		for _, a := range n.Attr {
			if a.Namespace != "" || strings.ContainsAny(a.Key, ":\"'<>=/ ") {
				return fmt.Errorf("attribute %q cannot be written as XML", a.Key)
			}
			b.WriteString(" " + a.Key + `="`)
			xmlEscape(b, a.Val)
			b.WriteByte('"')
		}
		if voidElements[n.Data] {
			b.WriteString("/>")
			return nil
		}
		b.WriteByte('>')
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if err := writeXHTML(b, c); err != nil {
				return err
			}
		}
		b.WriteString("</" + n.Data + ">")
	}
	return nil
}

func xmlEscape(b *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		default:
			b.WriteByte(c)
		}
	}
}

// xhtmlHooks re-serialises the page's insertions for an XHTML page.
func (r *Rewriter) xhtmlHooks() {
	for _, h := range []*[]byte{&r.page.Guard, &r.page.HeadStart, &r.page.HeadEnd, &r.page.BodyStart} {
		x, err := XHTMLFragment(*h)
		if err != nil {
			r.xhtmlDropped++
			x = nil
		}
		*h = x
	}
	if decl := r.page.Declaration; decl != nil {
		r.page.Declaration = func() []byte {
			x, err := XHTMLFragment(decl())
			if err != nil {
				r.xhtmlDropped++
				return nil
			}
			return x
		}
	}
}

// XHTMLDropped reports how many pieces of markup an XHTML page did not
// get because they could not be written as XML (log it: the page works,
// without them).
func (r *Rewriter) XHTMLDropped() int { return r.xhtmlDropped }
