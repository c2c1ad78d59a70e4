package rewrite

import (
	"bytes"

	"golang.org/x/net/html"
)

// Foreign content (<svg>, <math>): the tree builder parses elements there
// in the SVG or MathML namespace, where <style>, <script>, <title> and
// the other raw-text elements hold markup, character references and
// CDATA sections, not raw text; until a "breakout" HTML tag (<img>,
// <p>, <div>, ...) pops back to HTML, or an integration point
// (<foreignObject>, <desc>, <title> in SVG; <mi>, <mo>, <mn>, <ms>,
// <mtext>, HTML <annotation-xml> in MathML) holds HTML again.
//
// The rewriter keeps a model of the open foreign elements, enough to
// know in which of the two the next tag is read. Where the model and a
// browser could disagree (an end tag of an HTML element still open
// outside the <svg>), it stays in foreign content: there a raw-text
// element's text is read as markup too, which can only make it see more.

type foreignFrame struct {
	name        string // lower case
	math        bool   // MathML, else SVG
	integration bool   // HTML is parsed inside
}

// inForeign reports whether the next tag is read in foreign content.
func (r *Rewriter) inForeign() bool {
	n := len(r.foreign)
	return n > 0 && !r.foreign[n-1].integration
}

// breakout reports whether a start tag leaves foreign content (HTML
// §13.2.6.5).
func breakout(b []byte, t *tag, name []byte) bool {
	switch len(name) {
	case 1:
		return equalFold(name, "b") || equalFold(name, "i") || equalFold(name, "p") || equalFold(name, "s") || equalFold(name, "u")
	case 2:
		for _, n := range []string{"br", "dd", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "ol", "tt", "ul"} {
			if equalFold(name, n) {
				return true
			}
		}
	case 3:
		for _, n := range []string{"big", "div", "img", "pre", "sub", "sup", "var"} {
			if equalFold(name, n) {
				return true
			}
		}
	case 4:
		for _, n := range []string{"body", "code", "head", "menu", "meta", "nobr", "ruby", "span"} {
			if equalFold(name, n) {
				return true
			}
		}
		if equalFold(name, "font") {
			lexTag(b, t.start, t, true)
			return attrIndexAny(b, t, "color", "face", "size")
		}
	case 5:
		return equalFold(name, "embed") || equalFold(name, "small") || equalFold(name, "table")
	case 6:
		return equalFold(name, "center") || equalFold(name, "strike") || equalFold(name, "strong")
	case 7:
		return equalFold(name, "listing")
	case 10:
		return equalFold(name, "blockquote")
	}
	return false
}

func attrIndexAny(b []byte, t *tag, names ...string) bool {
	for _, n := range names {
		if attrIndexAll(b, t, n) {
			return true
		}
	}
	return false
}

// attrIndexAll finds an attribute whether or not lexTag records it.
func attrIndexAll(b []byte, t *tag, name string) bool {
	p := t.nameEnd
	for p < t.end {
		i := bytes.IndexByte(b[p:t.end], name[0])
		if i < 0 {
			return false
		}
		p += i
		if p+len(name) <= t.end && equalFold(b[p:p+len(name)], name) && isSpace(b[p-1]) {
			return true
		}
		p++
	}
	return false
}

// foreignStart handles a start tag in foreign content. It returns false
// when the tag breaks out: the caller then handles it as HTML.
func (r *Rewriter) foreignStart(b []byte, t *tag) (int, bool) {
	name := b[t.start+1 : t.nameEnd]
	if breakout(b, t, name) {
		// Pop to the nearest integration point (or out of foreign
		// content) and read the tag as HTML.
		for len(r.foreign) > 0 && !r.foreign[len(r.foreign)-1].integration {
			r.foreign = r.foreign[:len(r.foreign)-1]
		}
		return 0, false
	}
	top := r.foreign[len(r.foreign)-1]
	r.hostBuf = lowerCopy(name, r.hostBuf[:0])
	lname := foreignName(r.hostBuf)
	if !lexTag(b, t.start, t, true) {
		return t.end, true
	}
	selfClosing := t.end >= 2 && b[t.end-2] == '/'
	switch lname {
	case "script":
		if top.math {
			break
		}
		if !selfClosing && !r.eof {
			if _, ok := foreignEnd(b, t.end, "script"); !ok && len(b)-t.end < r.maxHold() {
				r.wantMore = true
				return t.start, true
			}
		}
		r.foreignScript(b, t, selfClosing)
		if !selfClosing {
			r.foreign = append(r.foreign, foreignFrame{name: lname})
		}
		return t.end, true
	case "image", "feimage", "use":
		r.hrefElement(b, t)
	case "style":
		if !top.math && !selfClosing {
			if _, ok := foreignEnd(b, t.end, "style"); !ok && !r.eof && len(b)-t.end < r.maxHold() {
				r.wantMore = true
				return t.start, true
			}
			if end := r.foreignStyle(b, t); end > t.end {
				return end, true // the sheet moved into an attribute
			}
		}
	}
	if t.style {
		r.styleAttr(b, t)
	}
	if !selfClosing {
		r.foreign = append(r.foreign, foreignFrame{name: lname, math: top.math, integration: integrationPoint(b, t, lname, top.math)})
	}
	return t.end, true
}

// foreignName returns the lower-case name of a foreign element as a string:
// a constant for the names pages use most, so that the open elements of an
// icon-heavy page cost no allocation.
func foreignName(lower []byte) string {
	switch string(lower) {
	case "path":
		return "path"
	case "g":
		return "g"
	case "use":
		return "use"
	case "symbol":
		return "symbol"
	case "defs":
		return "defs"
	case "circle":
		return "circle"
	case "rect":
		return "rect"
	case "polygon":
		return "polygon"
	case "polyline":
		return "polyline"
	case "line":
		return "line"
	case "ellipse":
		return "ellipse"
	case "title":
		return "title"
	case "desc":
		return "desc"
	case "script":
		return "script"
	case "style":
		return "style"
	case "image":
		return "image"
	case "lineargradient":
		return "lineargradient"
	case "radialgradient":
		return "radialgradient"
	case "stop":
		return "stop"
	case "clippath":
		return "clippath"
	case "mask":
		return "mask"
	case "text":
		return "text"
	case "tspan":
		return "tspan"
	case "foreignobject":
		return "foreignobject"
	}
	return string(lower)
}

// integrationPoint reports whether HTML is parsed inside the foreign
// element name.
func integrationPoint(b []byte, t *tag, name string, math bool) bool {
	if math {
		switch name {
		case "mi", "mo", "mn", "ms", "mtext":
			return true
		case "annotation-xml":
			var scratch []byte
			enc, _ := attrValue(b, t, "encoding", &scratch)
			enc = bytes.TrimSpace(enc)
			return equalFold(enc, "text/html") || equalFold(enc, "application/xhtml+xml")
		}
		return false
	}
	switch name {
	case "foreignobject", "desc", "title":
		return true
	}
	return false
}

// pushForeign enters foreign content at an <svg> or <math> start tag read
// as HTML.
func (r *Rewriter) pushForeign(b []byte, t *tag, math bool) {
	if t.end >= 2 && b[t.end-2] == '/' {
		return // <svg/>: an empty element
	}
	name := "svg"
	if math {
		name = "math"
	}
	r.foreign = append(r.foreign, foreignFrame{name: name, math: math})
}

// foreignEnd handles an end tag while foreign elements are open: it pops
// the element it closes, if it is one of them. </br> and </p> in foreign
// content break out, as their start tags do.
func (r *Rewriter) foreignEnd(b []byte, t *tag) {
	name := b[t.start+2 : t.nameEnd]
	if r.inForeign() && (equalFold(name, "br") || equalFold(name, "p")) {
		for len(r.foreign) > 0 && !r.foreign[len(r.foreign)-1].integration {
			r.foreign = r.foreign[:len(r.foreign)-1]
		}
		return
	}
	if !r.inForeign() {
		// In an integration point: only its own end tag leaves it.
		if top := r.foreign[len(r.foreign)-1]; equalFold(name, top.name) {
			r.foreign = r.foreign[:len(r.foreign)-1]
		}
		return
	}
	for i := len(r.foreign) - 1; i >= 0; i-- {
		if equalFold(name, r.foreign[i].name) {
			r.foreign = r.foreign[:i]
			return
		}
		if r.foreign[i].integration {
			return
		}
	}
}

// hrefElement decides an SVG element that loads its href or xlink:href
// (<image>, <feImage>, <use>).
func (r *Rewriter) hrefElement(b []byte, t *tag) {
	if r.allAccepted {
		return
	}
	d, marked := r.markedDecision(b, t)
	if !marked {
		for _, n := range []string{"href", "xlink:href"} {
			if d = r.classifyAttr(b, t, n, Img); d.cats != 0 {
				break
			}
		}
	}
	r.applyDecision(b, t, d, Img, false, aHref|aXlinkHref)
	r.drop = false
}

// foreignScript decides an SVG <script>: its href or xlink:href loads a
// script; its text, markup with character references and CDATA sections,
// runs.
func (r *Rewriter) foreignScript(b []byte, t *tag, selfClosing bool) {
	typ, hasType := attrValue(b, t, "type", &r.valA)
	if !executableType(typ, hasType) {
		return
	}
	d, marked := r.markedDecision(b, t)
	if !marked {
		for _, n := range []string{"href", "xlink:href"} {
			if u, ok := attrValue(b, t, n, &r.valB); ok {
				d = r.classifyURL(u, ScriptSrc)
				break
			}
		}
		if d.cats == 0 && !selfClosing {
			// The text up to </script> (read as markup) decides.
			end, ok := foreignEnd(b, t.end, "script")
			if !ok {
				end = min(len(b), t.end+r.maxHold())
			}
			d = r.inlineDecision(foreignText(b[t.end:end]))
		}
	}
	r.applyDecision(b, t, d, ScriptSrc, true, aHref|aXlinkHref|aType)
	r.drop = false
}

// foreignEnd finds the end tag (</script>, </style>) that ends an SVG
// element's text, past comments and CDATA sections.
func foreignEnd(b []byte, from int, name string) (int, bool) {
	for p := from; ; {
		k := bytes.IndexByte(b[p:], '<')
		if k < 0 {
			return len(b), false
		}
		p += k
		switch {
		case bytes.HasPrefix(b[p:], []byte("<!--")):
			e, ok := commentEnd(b, p+4, p+4)
			if !ok {
				return len(b), false
			}
			p = e
		case bytes.HasPrefix(b[p:], []byte("<![CDATA[")):
			e := bytes.Index(b[p:], []byte("]]>"))
			if e < 0 {
				return len(b), false
			}
			p += e + 3
		case endTagAt(b, p, name) == matchYes:
			return p, true
		default:
			p++
		}
	}
}

// foreignText is the text foreign content makes of b: CDATA sections as
// they are, character references decoded, tags and comments left out.
func foreignText(b []byte) []byte {
	var out []byte
	for len(b) > 0 {
		k := bytes.IndexByte(b, '<')
		if k < 0 {
			k = len(b)
		}
		out = append(out, html.UnescapeString(string(b[:k]))...)
		b = b[k:]
		switch {
		case len(b) == 0:
		case bytes.HasPrefix(b, []byte("<![CDATA[")):
			e := bytes.Index(b, []byte("]]>"))
			if e < 0 {
				return append(out, b[9:]...)
			}
			out = append(out, b[9:e]...)
			b = b[e+3:]
		case !opensMarkup(b):
			// "<" before anything that opens a tag, a comment or a
			// declaration is text: "x<0t>fbq(" runs as that text.
			out = append(out, '<')
			b = b[1:]
		default:
			e := bytes.IndexByte(b, '>')
			if e < 0 {
				return out
			}
			b = b[e+1:]
		}
	}
	return out
}

// opensMarkup reports whether the "<" at b[0] opens a tag, an end tag, a
// comment or a declaration (the tokenizer's tag open state); otherwise it
// is text.
func opensMarkup(b []byte) bool {
	return len(b) >= 2 && (isAlpha(b[1]) || b[1] == '/' || b[1] == '!' || b[1] == '?')
}

// nextMarkup returns the index of the first "<" in b that opens markup
// (see opensMarkup), or -1; a "<" at the very end is not known to yet.
func nextMarkup(b []byte) int {
	for p := 0; ; {
		k := bytes.IndexByte(b[p:], '<')
		if k < 0 {
			return -1
		}
		p += k
		if opensMarkup(b[p:]) {
			return p
		}
		p++
	}
}

// foreignStyle decides an SVG <style>: its sheet is every text child up to
// </style> (character references decoded; comments and child elements
// between them do not end it), it applies, and Chromium's preload
// scanner fetches its @import URLs. A sheet that loads a tracker not
// accepted moves, with everything up to </style>, into the
// data-consent-sheet attribute, and foreignStyle returns where scanning
// goes on; otherwise nothing is written and it returns t.end, and the
// children are read as usual.
func (r *Rewriter) foreignStyle(b []byte, t *tag) int {
	if r.allAccepted {
		return t.end
	}
	end, ok := foreignEnd(b, t.end, "style")
	if !ok {
		end = min(len(b), t.end+r.maxHold())
	}
	d, done := r.sheetDecision(b, t, foreignText(b[t.end:end]))
	if blocked, _ := r.blocked(d); done || !blocked {
		return t.end
	}
	r.holdStart, r.holdBody = t.start, t.end
	if t != &r.t {
		lexTag(b, t.start, &r.t, true)
	}
	r.applyStyle(b, end, ok || r.eof, d)
	r.lexAgain(b, t)
	return end
}

// lexAgain lexes t again after a helper used r.t.
func (r *Rewriter) lexAgain(b []byte, t *tag) {
	if t != &r.t {
		return
	}
	lexTag(b, t.start, t, true)
}
