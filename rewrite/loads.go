package rewrite

import (
	"bytes"
	"encoding/base64"
	"encoding/json"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/weburl"
)

// This file holds every attribute through which an element makes the
// browser fetch something without a click, beyond the src of scripts,
// iframes, images and embeds and the data of objects: srcset and poster
// of media, the background of legacy tables, ping, meta refresh, style
// attributes and sheets (url(), image-set(), @import), speculation rules,
// iframe srcdoc, data: and javascript: documents, and <base href>.

// attrSet names attributes an element is neutralised by renaming.
type attrSet uint16

const (
	aSrc attrSet = 1 << iota
	aSrcset
	aHref
	aData
	aPoster
	aImagesrcset
	aBackground
	aPing
	aContent
	aStyle
	aSrcdoc
	aType
	aXlinkHref
	numAttrNames = iota
)

var attrSetNames = [numAttrNames]string{"src", "srcset", "href", "data", "poster", "imagesrcset", "background", "ping", "content", "style", "srcdoc", "type", "xlink:href"}

// attrBit returns the bit of an attribute name (any case), 0 for others.
func attrBit(name []byte) attrSet {
	for i, n := range attrSetNames {
		if equalFold(name, n) {
			return 1 << i
		}
	}
	return 0
}

// valueKind says how an attribute's value holds URLs.
type valueKind uint8

const (
	vURL     valueKind = iota // one URL
	vSrcset                   // image candidate list
	vPing                     // white-space-separated URLs
	vCSS                      // a CSS declaration list
	vRefresh                  // meta refresh content
)

// loadAttr is an attribute that makes an element load.
type loadAttr struct {
	bit  attrSet
	kind valueKind
}

// defaultRenames are the attributes renamed to neutralise an element of a
// kind when its own decision does not name them (operator-marked
// elements, inline scripts).
func defaultRenames(el Element, script bool) attrSet {
	switch el {
	case ScriptSrc, ScriptInline:
		if script {
			return aSrc | aType
		}
		return aSrc
	case Img:
		return aSrc | aSrcset
	case IFrame, Embed, Frame, InputImage:
		return aSrc
	case Object:
		return aData
	case Link:
		return aHref | aImagesrcset
	case Media:
		return aSrc | aSrcset | aPoster
	case Background:
		return aBackground
	case Ping:
		return aPing
	case Refresh:
		return aContent
	case CSS:
		return aStyle
	case Base:
		return aHref
	}
	return 0
}

var (
	srcAndSrcset = []loadAttr{{aSrc, vURL}, {aSrcset, vSrcset}}
	srcAndPoster = []loadAttr{{aSrc, vURL}, {aPoster, vURL}}
	srcOnly      = []loadAttr{{aSrc, vURL}}
	dataOnly     = []loadAttr{{aData, vURL}}
	background   = []loadAttr{{aBackground, vURL}}
	pingOnly     = []loadAttr{{aPing, vPing}}
)

// loadAttrsOf lists what loads in an element of kind.
func loadAttrsOf(kind tagKind) []loadAttr {
	switch kind {
	case kImg, kSource:
		return srcAndSrcset
	case kVideo:
		return srcAndPoster
	case kAudio, kTrack, kFrame, kInput, kIFrame, kEmbed:
		return srcOnly
	case kObject:
		return dataOnly
	case kBackground, kBody:
		return background
	case kPing:
		return pingOnly
	}
	return nil
}

// elementOf is the event kind of an element of kind.
func elementOf(kind tagKind) Element {
	switch kind {
	case kImg:
		return Img
	case kSource, kVideo, kAudio, kTrack:
		return Media
	case kFrame:
		return Frame
	case kInput:
		return InputImage
	case kIFrame:
		return IFrame
	case kEmbed:
		return Embed
	case kObject:
		return Object
	case kBackground, kBody:
		return Background
	case kPing:
		return Ping
	}
	return CSS
}

// loadingElement decides an element that loads through its attributes or
// a style attribute, and neutralises what the visitor has not accepted.
func (r *Rewriter) loadingElement(b []byte, t *tag, kind tagKind) {
	if r.allAccepted {
		return
	}
	el := elementOf(kind)
	attrs := loadAttrsOf(kind)
	if kind == kInput {
		if typ, _ := attrValue(b, t, "type", &r.valA); !equalFold(bytes.TrimSpace(typ), "image") {
			attrs = nil
		}
	}
	// A held element has every attribute that loads moved out of the
	// way, so that it is inert whatever made it blocked, and a second
	// pass (which reads the category it now carries) changes nothing.
	var all attrSet
	for _, a := range attrs {
		all |= a.bit
	}
	// The style attribute moves only when its own URLs are held: it
	// usually keeps a tracking pixel invisible.
	var sd decision
	if t.style {
		if sd = r.attrDecision(b, t, loadAttr{aStyle, vCSS}); sd.cats != 0 {
			if blocked, _ := r.blocked(sd); blocked {
				all |= aStyle
			} else {
				sd = decision{}
			}
		}
	}
	if d, marked := r.markedDecision(b, t); marked {
		if all == 0 {
			return
		}
		r.applyDecision(b, t, d, el, false, all)
		r.clearVoidDrop(kind)
		return
	}
	var d decision
	for _, a := range attrs {
		if ad := r.attrDecision(b, t, a); ad.cats != 0 {
			if blocked, _ := r.blocked(ad); blocked {
				d = mergeDecision(d, ad)
			}
		}
	}
	if kind == kIFrame || kind == kFrame || kind == kEmbed || kind == kObject {
		if dd := r.embeddedDocument(b, t, kind); dd.cats != 0 {
			if blocked, _ := r.blocked(dd); blocked {
				d = mergeDecision(d, dd)
			}
		}
	}
	if sd.cats != 0 {
		if d.cats == 0 {
			el = CSS
		}
		d = mergeDecision(d, sd)
	}
	if d.cats == 0 {
		return
	}
	r.applyDecision(b, t, d, el, false, all)
	r.clearVoidDrop(kind)
}

// clearVoidDrop undoes the content drop of a strip for elements whose end
// the scanner does not follow.
func (r *Rewriter) clearVoidDrop(kind tagKind) {
	if kind != kIFrame {
		r.drop = false
	}
}

func mergeDecision(a, b decision) decision {
	if a.vendor == nil {
		a.vendor = b.vendor
	}
	a.cats |= b.cats
	return a
}

// attrDecision classifies the URLs in one attribute.
func (r *Rewriter) attrDecision(b []byte, t *tag, a loadAttr) decision {
	name := attrSetNames[bitIndex(a.bit)]
	switch a.kind {
	case vURL:
		return r.classifyAttr(b, t, name, Img)
	case vSrcset:
		return r.classifyAttr(b, t, "srcset", Img)
	}
	val, ok := attrValue(b, t, name, &r.valA)
	if !ok {
		return decision{}
	}
	var v *rules.Vendor
	match := func(u []byte) bool {
		v = r.matchURL(u)
		return v == nil
	}
	switch a.kind {
	case vPing:
		for rest := val; len(rest) > 0 && v == nil; {
			var tok []byte
			tok, rest = nextToken(rest)
			if len(tok) > 0 {
				match(tok)
			}
		}
	case vCSS:
		if cssMayLoad(val) {
			forEachCSSURL(val, match)
		}
	case vRefresh:
		if u, ok := refreshURL(val); ok {
			match(u)
		}
	}
	if v == nil {
		return decision{}
	}
	return decision{cats: rules.SetOf(v.Category), vendor: v}
}

func bitIndex(a attrSet) int {
	for i := 0; i < numAttrNames; i++ {
		if a == 1<<i {
			return i
		}
	}
	return 0
}

// matchURL is the vendor whose rules match u, read as the browser reads
// it (weburl), or nil.
func (r *Rewriter) matchURL(u []byte) *rules.Vendor {
	if isDataURL(u) {
		return nil
	}
	var v *rules.Vendor
	r.resolver().ForEachTarget(u, func(host, pathq []byte) bool {
		v = r.cfg.Rules.MatchURL(host, pathq)
		return v == nil
	})
	return v
}

// matchHost is MatchHost on the host u leads to: the vendor of the first
// host with rules, and the categories of every vendor on it.
func (r *Rewriter) matchHost(u []byte) (*rules.Vendor, rules.Set) {
	var v *rules.Vendor
	var cats rules.Set
	r.resolver().ForEachTarget(u, func(host, _ []byte) bool {
		v, cats = r.cfg.Rules.MatchHost(host)
		return v == nil
	})
	return v, cats
}

// resolver reads the page's URLs; made once per response.
func (r *Rewriter) resolver() *weburl.Page {
	if r.web == nil || r.webHost != r.page.Host {
		r.web, r.webHost = weburl.NewPage(r.page.Host), r.page.Host
	}
	return r.web
}

// metaElement handles <meta http-equiv=refresh content="0;url=...">, which
// navigates without a click.
func (r *Rewriter) metaElement(b []byte, t *tag) {
	if r.allAccepted {
		return
	}
	he, _ := attrValue(b, t, "http-equiv", &r.valA)
	if !equalFold(bytes.TrimSpace(he), "refresh") {
		return
	}
	d, marked := r.markedDecision(b, t)
	if !marked {
		d = r.attrDecision(b, t, loadAttr{aContent, vRefresh})
	}
	r.applyDecision(b, t, d, Refresh, false, aContent)
	r.drop = false
}

// baseElement handles <base href>: the browser resolves every relative URL
// of the page against it, so a base on a tracker's host would send them
// all there. Such a base is neutralised; relative URLs then stay on the
// page's own site.
func (r *Rewriter) baseElement(b []byte, t *tag) {
	if r.allAccepted || r.baseSeen {
		return
	}
	href, ok := attrValue(b, t, "href", &r.valA)
	if !ok {
		return
	}
	r.baseSeen = true // only the first <base href> counts
	d, marked := r.markedDecision(b, t)
	if !marked {
		if v, cats := r.matchHost(href); v != nil {
			if cats&r.page.Accepted != 0 {
				return
			}
			d = decision{cats: rules.SetOf(v.Category), vendor: v}
		}
	}
	r.applyDecision(b, t, d, Base, false, aHref)
	r.drop = false
}

// refreshURL extracts the URL of a meta refresh content value, as the
// HTML standard's "shared declarative refresh steps" do.
func refreshURL(v []byte) ([]byte, bool) {
	i := 0
	skip := func() {
		for i < len(v) && isSpace(v[i]) {
			i++
		}
	}
	skip()
	start := i
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	for i < len(v) && (v[i] >= '0' && v[i] <= '9' || v[i] == '.') {
		i++
	}
	if i == start && (i >= len(v) || v[i] != '.') {
		return nil, false
	}
	skip()
	if i < len(v) && (v[i] == ';' || v[i] == ',') {
		i++
	}
	skip()
	if i >= len(v) {
		return nil, false
	}
	if i+3 <= len(v) && equalFold(v[i:i+3], "url") {
		j := i + 3
		for j < len(v) && isSpace(v[j]) {
			j++
		}
		if j < len(v) && v[j] == '=' {
			i = j + 1
			skip()
		}
	}
	u := v[i:]
	if len(u) > 0 && (u[0] == '"' || u[0] == '\'') {
		q := u[0]
		u = u[1:]
		if k := bytes.IndexByte(u, q); k >= 0 {
			u = u[:k]
		}
	}
	u = bytes.TrimRight(u, " \t\n\r\f")
	return u, len(u) > 0
}

// isDataURL reports whether u (as in an attribute, before trimming) is a
// data: URL.
func isDataURL(u []byte) bool {
	for len(u) > 0 && u[0] <= ' ' { // the C0 controls and spaces a URL parser strips
		u = u[1:]
	}
	return len(u) >= 5 && equalFold(u[:5], "data:")
}

// schemeBody returns the text after "scheme:" when u starts with it
// (after the C0 controls and spaces a URL parser strips, tabs and
// newlines removed), percent-decoded.
func schemeBody(u []byte, scheme string) ([]byte, bool) {
	k := 0
	for k < len(u) && u[k] <= ' ' {
		k++
	}
	if k == len(u) || lower(u[k]) != scheme[0] {
		return nil, false // cheap: most URLs are not of this scheme
	}
	u = bytes.Trim(u, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
	var clean []byte
	for _, c := range u {
		if c != '\t' && c != '\n' && c != '\r' {
			clean = append(clean, c)
		}
	}
	if len(clean) <= len(scheme) || !equalFold(clean[:len(scheme)], scheme) || clean[len(scheme)] != ':' {
		return nil, false
	}
	return percentDecode(clean[len(scheme)+1:]), true
}

func percentDecode(s []byte) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			out = append(out, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		out = append(out, s[i])
	}
	return out
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c | 0x20 - 'a' + 10
}

// dataURLBody decodes a data: URL's body (Fetch's data: URL processor,
// forgiving-base64 included); ok is false when u is no data: URL or its
// base64 does not decode.
func dataURLBody(u []byte) (mediaType, body []byte, ok bool) {
	rest, ok := schemeBody(u, "data")
	if !ok {
		return nil, nil, false
	}
	comma := bytes.IndexByte(rest, ',')
	if comma < 0 {
		return nil, nil, false
	}
	mediaType, body = bytes.TrimSpace(rest[:comma]), rest[comma+1:]
	if semi := bytes.LastIndexByte(mediaType, ';'); semi >= 0 && equalFold(bytes.TrimSpace(mediaType[semi+1:]), "base64") {
		mediaType = mediaType[:semi]
		var b64 []byte
		for _, c := range body {
			if !isSpace(c) {
				b64 = append(b64, c)
			}
		}
		b64 = bytes.TrimRight(b64, "=")
		dec, err := base64.RawStdEncoding.DecodeString(string(b64))
		if err != nil {
			return nil, nil, false
		}
		body = dec
	}
	return mediaType, body, true
}

// inlineDecision classifies text as an inline script is classified.
func (r *Rewriter) inlineDecision(text []byte) decision {
	var d decision
	r.cfg.Rules.ScanInline(text, 0, func(v *rules.Vendor) {
		if d.vendor == nil {
			d.vendor = v
		}
		d.cats = d.cats.With(v.Category)
	})
	return d
}

// maxNesting bounds srcdoc, data: and javascript: documents inside each
// other; deeper ones are neutralised unread.
const maxNesting = 3

// embeddedDocument decides the document an iframe, frame, embed or object
// carries in a data: or javascript: URL: a javascript: URL's result and a
// data: document are read as inline script text and as markup, and are
// held when either holds something the visitor has not accepted.
func (r *Rewriter) embeddedDocument(b []byte, t *tag, kind tagKind) decision {
	name := "src"
	if kind == kObject {
		name = "data"
	}
	u, ok := attrValue(b, t, name, &r.valB)
	if !ok {
		return decision{}
	}
	var text []byte
	if js, ok := schemeBody(u, "javascript"); ok {
		text = js
	} else if _, body, ok := dataURLBody(u); ok {
		text = body
	} else {
		return decision{}
	}
	text = bytes.Clone(text) // r.valB is scratch that nested work reuses
	d := r.inlineDecision(text)
	if nd := r.nestedDecision(text); nd.cats != 0 {
		d = mergeDecision(d, nd)
	}
	return d
}

// nestedDecision rewrites doc as a document of its own (srcdoc, data:,
// javascript:) and returns what was held in it, if anything, with the
// rewritten markup in r.nestedOut.
func (r *Rewriter) nestedDecision(doc []byte) decision {
	if r.depth >= maxNesting {
		return decision{cats: rules.SetOf(rules.Unclassified)}
	}
	rec := &nestedObserver{}
	page := Page{Accepted: r.page.Accepted, Host: r.page.Host, Observer: rec}
	var out bytes.Buffer
	n := New(&out, r.cfg, page)
	n.depth = r.depth + 1
	_, _ = n.Write(doc)
	_ = n.Close()
	r.nestedOut = out.Bytes()
	return rec.d
}

type nestedObserver struct{ d decision }

func (o *nestedObserver) Observe(e Event) {
	switch e.Action {
	case Neutralised, Stripped, WouldNeutralise, WouldStrip:
		if e.Category != 0 || e.Vendor != nil {
			if o.d.vendor == nil {
				o.d.vendor = e.Vendor
			}
			o.d.cats = o.d.cats.With(e.Category)
		}
	}
}

// srcdocElement rewrites an iframe's srcdoc document; the rewritten
// document goes back into the attribute, entity-encoded.
func (r *Rewriter) srcdocElement(b []byte, t *tag) {
	i := attrIndex(b, t, "srcdoc")
	if i < 0 || r.allAccepted {
		return
	}
	doc, _ := attrValue(b, t, "srcdoc", &r.valB)
	doc = bytes.Clone(doc)
	d := r.nestedDecision(doc)
	if d.cats == 0 {
		return
	}
	if r.depth+1 >= maxNesting {
		r.applyDecision(b, t, d, IFrame, false, aSrcdoc)
		r.drop = false
		return
	}
	blocked, cat := r.blocked(d)
	if !blocked {
		return
	}
	r.observe(Event{Action: Neutralised, Element: IFrame, Vendor: d.vendor, Category: cat})
	if r.cfg.ReportOnly {
		return
	}
	a := t.attrs[i]
	end := a.valEnd
	if end < t.end && (b[end] == '"' || b[end] == '\'') && a.valStart > 0 && b[a.valStart-1] == b[end] {
		end++
	}
	e := append(r.edit[:0], b[t.start:a.nameEnd]...)
	e = append(e, `="`...)
	e = appendAttrValue(e, r.nestedOut, r.page.XHTML)
	e = append(e, '"')
	e = append(e, b[end:t.end]...)
	r.edit = e
	r.emitTo(b, t.start)
	r.put(e)
	r.skipTo(t.end)
}

// speculationDecision classifies speculation rules (JSON): every string in
// them that is the URL of a tracker counts, whether a list rule's URL or
// a document rule's pattern.
func (r *Rewriter) speculationDecision(text []byte) decision {
	var doc any
	if json.Unmarshal(text, &doc) != nil {
		return decision{}
	}
	var d decision
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case string:
			if v := r.matchURL([]byte(x)); v != nil {
				d = mergeDecision(d, decision{cats: rules.SetOf(v.Category), vendor: v})
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	return d
}

// dataScriptDecision classifies a script whose src is a data: URL by its
// decoded text, as an inline script.
func (r *Rewriter) dataScriptDecision(src []byte) (decision, bool) {
	_, body, ok := dataURLBody(src)
	if !ok {
		return decision{}, false
	}
	return r.inlineDecision(body), true
}
