package rewrite

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"

	"github.com/consentgate/consentgate/rules"
	"golang.org/x/net/publicsuffix"
)

// The attribute contract between the rewriter and the banner script (README,
// "Attribute contract"). A neutralised element keeps every attribute it had,
// except that the ones that would load or run something are renamed with
// the AttrPrefix, and it gains:
const (
	// AttrCategory lists the categories (space-separated) that must all be
	// accepted before the element may be restored. Operators may set it
	// themselves to classify an element.
	AttrCategory = "data-consent-category"
	// AttrVendor is the ID of the vendor rule that matched, when one did.
	AttrVendor = "data-consent-vendor"
	// AttrVendorName is the vendor's name, written for vendors known only
	// from the generated catalogue: the banner's script knows the curated
	// vendors' names, not the catalogue's thousands (an embed's placeholder
	// shows it).
	AttrVendorName = "data-consent-vendor-name"
	// AttrPrefix is put in front of a renamed attribute: src becomes
	// data-consent-src, srcset data-consent-srcset, href data-consent-href,
	// data (of object) data-consent-data, and a script's type becomes
	// data-consent-type (absent when the script had no type).
	AttrPrefix = "data-consent-"
	// AttrDeclaration marks the element the cookie declaration fills;
	// AttrFilled is added once it was filled, so a second pass leaves it.
	AttrDeclaration = "data-consent-declaration"
	AttrFilled      = "data-consent-filled"
	// AttrSheet holds the text of a neutralised <style> element, whose
	// content is left empty (entity-encoded, restored as its text).
	AttrSheet = "data-consent-sheet"
	// InertType is the type given to a neutralised script.
	InertType = "text/plain"
)

type tagKind uint8

const (
	kOther tagKind = iota
	kScript
	kIFrame
	kImg
	kEmbed
	kObject
	kLink
	kNoscript
	kHead
	kBody
	kHTML
	kRawText // xmp, noembed, noframes
	kRCData  // textarea, title
	kPlaintext
	kStyle      // <style>: its sheet may load URLs
	kSource     // <source src|srcset>
	kVideo      // <video src poster>
	kAudio      // <audio src>
	kTrack      // <track src>
	kInput      // <input type=image src>
	kFrame      // <frame src>
	kBackground // <table|td|th background>
	kPing       // <a|area ping>
	kMeta       // <meta http-equiv=refresh>
	kBase       // <base href>
)

func kindOf(name []byte) tagKind {
	switch len(name) {
	case 1:
		if equalFold(name, "a") {
			return kPing
		}
	case 2:
		if equalFold(name, "td") || equalFold(name, "th") {
			return kBackground
		}
	case 3:
		if equalFold(name, "img") {
			return kImg
		}
		if equalFold(name, "xmp") {
			return kRawText
		}
	case 4:
		switch {
		case equalFold(name, "link"):
			return kLink
		case equalFold(name, "head"):
			return kHead
		case equalFold(name, "body"):
			return kBody
		case equalFold(name, "html"):
			return kHTML
		case equalFold(name, "area"):
			return kPing
		case equalFold(name, "meta"):
			return kMeta
		case equalFold(name, "base"):
			return kBase
		}
	case 5:
		switch {
		case equalFold(name, "embed"):
			return kEmbed
		case equalFold(name, "style"):
			return kStyle
		case equalFold(name, "title"):
			return kRCData
		case equalFold(name, "image"):
			return kImg // the tree builder makes <image> an <img>
		case equalFold(name, "video"):
			return kVideo
		case equalFold(name, "audio"):
			return kAudio
		case equalFold(name, "track"):
			return kTrack
		case equalFold(name, "input"):
			return kInput
		case equalFold(name, "frame"):
			return kFrame
		case equalFold(name, "table"):
			return kBackground
		}
	case 6:
		switch {
		case equalFold(name, "script"):
			return kScript
		case equalFold(name, "iframe"):
			return kIFrame
		case equalFold(name, "object"):
			return kObject
		case equalFold(name, "source"):
			return kSource
		}
	case 7:
		if equalFold(name, "noembed") {
			return kRawText
		}
	case 8:
		switch {
		case equalFold(name, "noscript"):
			return kNoscript
		case equalFold(name, "noframes"):
			return kRawText
		case equalFold(name, "textarea"):
			return kRCData
		}
	case 9:
		if equalFold(name, "plaintext") {
			return kPlaintext
		}
	}
	return kOther
}

// rawTextName returns the lower-case name of a RAWTEXT or RCDATA element.
func rawTextName(name []byte) string {
	for _, n := range [...]string{"style", "title", "textarea", "xmp", "noembed", "noframes"} {
		if equalFold(name, n) {
			return n
		}
	}
	return string(name)
}

// needsAttrs reports whether the handling of a start tag of kind reads its
// attributes, so the lexer records them only then.
func (r *Rewriter) needsAttrs(kind tagKind) bool {
	if r.inForeign() {
		return true
	}
	switch kind {
	case kScript:
		return true
	case kIFrame, kImg, kEmbed, kObject, kLink, kSource, kVideo, kAudio, kTrack, kInput,
		kFrame, kMeta, kBase, kStyle, kBody:
		return !r.allAccepted
	}
	return false
}

// startTag acts on a lexed start tag and returns where scanning goes on.
func (r *Rewriter) startTag(b []byte, t *tag) int {
	name := b[t.start+1 : t.nameEnd]
	kind := kindOf(name)
	if r.document && !r.headStartDone && kind != kHTML && kind != kHead && kind != kBody {
		// A document without <head>: the guard still goes first.
		r.emitTo(b, t.start)
		r.insertHeadStart()
	}
	if !r.bodyDone && !r.earlyBody && !r.page.XHTML && !r.inForeign() {
		r.beforeBody(b, t, name, kind)
	}
	if r.page.Declaration != nil && kind == kOther && r.fillDeclaration(b, t) {
		return t.end
	}
	if r.inForeign() {
		if end, handled := r.foreignStart(b, t); handled {
			return end
		}
		kind = kindOf(name) // broke out: an HTML element after all
		if r.needsAttrs(kind) {
			lexTag(b, t.start, t, true)
		}
	}
	if equalFold(name, "svg") || equalFold(name, "math") {
		r.pushForeign(b, t, len(name) == 4)
		return t.end
	}
	switch kind {
	case kScript:
		r.scriptStart(b, t)
	case kIFrame:
		r.loadingElement(b, t, kIFrame)
		if !r.drop {
			r.srcdocElement(b, t)
		}
		r.st, r.rawName = stRawText, "iframe"
	case kImg, kEmbed, kObject, kSource, kVideo, kAudio, kTrack, kInput, kFrame:
		r.loadingElement(b, t, kind)
	case kBackground, kPing:
		// Anchors and table cells are many; only those with a ping or a
		// background attribute (which lexTag spots) are read whole.
		if (kind == kPing && t.ping || kind == kBackground && t.background) && !r.allAccepted {
			lexTag(b, t.start, t, true)
			r.loadingElement(b, t, kind)
		} else {
			r.styleAttr(b, t)
		}
	case kLink:
		r.linkElement(b, t)
	case kMeta:
		r.metaElement(b, t)
	case kBase:
		r.baseElement(b, t)
	case kStyle:
		r.styleAttr(b, t)
		if r.allAccepted {
			r.st, r.rawName = stRawText, "style"
			break
		}
		r.emitTo(b, t.start)
		r.st = stStyleHold
		r.holdStart, r.holdBody = t.start, t.end
	case kNoscript:
		if r.allAccepted {
			r.st, r.rawName = stRawText, "noscript" // nothing in it can be blocked
			break
		}
		r.emitTo(b, t.start)
		r.st = stNoscriptHold
		r.holdStart, r.holdBody = t.start, t.end
	case kHead:
		r.document = true
		r.emitTo(b, t.end)
		r.insertHeadStart()
	case kBody:
		r.document = true
		r.loadingElement(b, t, kBody)
		if r.templates > 0 && !r.bodyDone {
			break // template content: not the page's body
		}
		r.emitTo(b, t.end)
		r.insertHeadStart()
		if !r.cfg.ReportOnly {
			r.insertHeadEnd()
			if !r.bodyDone && !r.frameset {
				r.bodyDone = true
				r.put(r.page.BodyStart)
			}
		}
	case kHTML:
		r.document = true
	case kRawText, kRCData:
		r.st, r.rawName = stRawText, rawTextName(name)
	case kPlaintext:
		r.st = stPlaintext
	default:
		r.styleAttr(b, t)
	}
	return t.end
}

// styleAttr decides a style attribute of an element that loads nothing
// else.
func (r *Rewriter) styleAttr(b []byte, t *tag) {
	if !t.style || r.allAccepted {
		return
	}
	if len(t.attrs) == 0 {
		lexTag(b, t.start, t, true)
	}
	d, marked := r.markedDecision(b, t)
	if !marked {
		d = r.attrDecision(b, t, loadAttr{aStyle, vCSS})
	}
	r.applyDecision(b, t, d, CSS, false, aStyle)
	r.drop = false
}

// endTag acts on a lexed end tag and returns where scanning goes on.
func (r *Rewriter) endTag(b []byte, t *tag) int {
	if len(r.foreign) > 0 {
		r.foreignEnd(b, t)
	}
	if r.dropEndTag {
		r.dropEndTag = false
		r.emitTo(b, t.start)
		r.skipTo(t.end)
		return t.end
	}
	if !r.bodyDone && !r.earlyBody && !r.page.XHTML && !r.frameset {
		switch name := b[t.start+2 : t.nameEnd]; {
		case r.templates > 0:
			if equalFold(name, "template") {
				r.templates--
			}
		case equalFold(name, "body") || equalFold(name, "html") || equalFold(name, "br"):
			r.bodyOpens(b, t.start) // "</br>" is a <br>; </body> and </html> open the body first
		}
	}
	if !r.headEndDone && equalFold(b[t.start+2:t.nameEnd], "head") && !r.cfg.ReportOnly {
		r.emitTo(b, t.start)
		r.insertHeadStart()
		r.insertHeadEnd()
	} else if r.document && !r.headStartDone && r.cfg.ReportOnly {
		r.emitTo(b, t.start)
		r.insertHeadStart()
	}
	return t.end
}

// awaitingBody reports whether the banner still waits for the place where
// a browser's tree builder opens the body: it goes there, not after a
// <body> tag that may come later, may be ignored or may sit in a
// template.
func (r *Rewriter) awaitingBody() bool {
	return r.document && !r.bodyDone && r.templates == 0 && !r.frameset && !r.cfg.ReportOnly && !r.page.XHTML
}

// bodyOpens is called where the body opens without a <body> tag: the
// hooks go in at b[at]. When nothing showed a document before (text or an
// element before any doctype, <html> or <head>, as a PHP warning printed
// first makes it), the banner goes after a later <body> tag, or nowhere.
func (r *Rewriter) bodyOpens(b []byte, at int) {
	if !r.document {
		r.earlyBody = true
		return
	}
	if !r.awaitingBody() {
		return
	}
	r.emitTo(b, at)
	r.insertHeadStart()
	r.insertHeadEnd()
	r.bodyDone = true
	r.put(r.page.BodyStart)
}

// beforeBody follows a start tag met before the body opened, as the tree
// builder's "in head" and "after head" modes do: the elements of the head
// keep the body closed, a <template> holds its content apart, a <frameset>
// takes the body's place, and anything else opens the body right before
// it.
func (r *Rewriter) beforeBody(b []byte, t *tag, name []byte, kind tagKind) {
	if r.templates > 0 || r.frameset {
		if equalFold(name, "template") {
			r.templates++
		}
		return
	}
	switch kind {
	case kHTML, kHead, kBody, kBase, kLink, kMeta, kScript, kStyle, kNoscript:
		return
	case kRCData, kRawText:
		if equalFold(name, "title") || equalFold(name, "noframes") {
			return
		}
	case kOther:
		switch {
		case equalFold(name, "template"):
			r.templates++
			return
		case equalFold(name, "basefont") || equalFold(name, "bgsound"):
			return
		case equalFold(name, "frameset"):
			r.frameset = true
			return
		}
	}
	r.bodyOpens(b, t.start)
}

// firstNonSpace returns the index of the first byte of text that is not
// HTML whitespace, or -1.
func firstNonSpace(text []byte) int {
	for i, c := range text {
		if c != ' ' && c != '\t' && c != '\n' && c != '\f' && c != '\r' {
			return i
		}
	}
	return -1
}

// insertHeadStart puts the guard and HeadStart in; with ReportOnly only
// the guard.
func (r *Rewriter) insertHeadStart() {
	if !r.headStartDone {
		r.headStartDone = true
		r.put(r.page.Guard)
		if !r.cfg.ReportOnly {
			r.put(r.page.HeadStart)
		}
	}
}

func (r *Rewriter) insertHeadEnd() {
	if !r.headEndDone && !r.cfg.ReportOnly {
		r.headEndDone = true
		r.put(r.page.HeadEnd)
	}
}

// attrIndex returns the index in t.attrs of the first attribute named name
// (lower case), or -1. Browsers keep the first of duplicate attributes.
func attrIndex(b []byte, t *tag, name string) int {
	for i, a := range t.attrs {
		if equalFold(b[a.nameStart:a.nameEnd], name) {
			return i
		}
	}
	return -1
}

// attrValue returns the first value of the attribute name, with character
// references decoded into *scratch when it has any (so the result is valid
// until scratch is used again), and whether the attribute exists.
func attrValue(b []byte, t *tag, name string, scratch *[]byte) ([]byte, bool) {
	i := attrIndex(b, t, name)
	if i < 0 {
		return nil, false
	}
	a := t.attrs[i]
	v := b[a.valStart:a.valEnd]
	if bytes.IndexByte(v, '&') >= 0 {
		*scratch = unescapeAttr(*scratch, v)
		v = *scratch
	}
	return v, true
}

// decision is what the rules say about one element.
type decision struct {
	cats   rules.Set     // categories required to let it load; 0: no rule
	vendor *rules.Vendor // matching vendor, if any
	marked bool          // the page itself carries data-consent-category
}

// markedDecision reads an operator's own data-consent-category attribute.
func (r *Rewriter) markedDecision(b []byte, t *tag) (decision, bool) {
	v, ok := attrValue(b, t, AttrCategory, &r.valC)
	if !ok {
		return decision{}, false
	}
	var cats rules.Set
	for _, f := range bytes.Fields(v) {
		c, err := rules.ParseCategory(string(f))
		if err != nil {
			c = rules.Unclassified
		}
		cats = cats.With(c)
	}
	if cats == 0 {
		cats = rules.SetOf(rules.Unclassified)
	}
	return decision{cats: cats, marked: true}, true
}

// classifyURL applies the URL rules, and the unknown-script policy to
// scripts.
func (r *Rewriter) classifyURL(u []byte, el Element) decision {
	if el != ScriptSrc {
		if v := r.matchURL(u); v != nil {
			return decision{cats: rules.SetOf(v.Category), vendor: v}
		}
		return decision{}
	}
	// A script's URL is read once: for the rules, and for the host of its
	// first target, which tells an unknown third party.
	if isDataURL(u) {
		return decision{}
	}
	var v *rules.Vendor
	var host []byte
	first := true
	r.resolver().ForEachTarget(u, func(h, pathq []byte) bool {
		if first {
			first = false
			host = append(r.hostBuf[:0], h...)
			r.hostBuf = host
		}
		v = r.cfg.Rules.MatchURL(h, pathq)
		return v == nil
	})
	if v != nil {
		return decision{cats: rules.SetOf(v.Category), vendor: v}
	}
	if len(host) > 0 {
		if s := r.site(host); s.third {
			r.observe(Event{Action: UnknownThirdParty, Element: el, Category: rules.Unclassified, Host: s.host})
			if r.cfg.BlockUnknown {
				return decision{cats: rules.SetOf(rules.Unclassified)}
			}
		}
	}
	return decision{}
}

// siteEntry remembers whether a script host is a third party to the page.
type siteEntry struct {
	host  string
	third bool
}

// maxSites bounds the hosts a rewriter remembers: a site's pages load
// scripts from a few dozen hosts, and forgetting them all costs only the
// lookups again.
const maxSites = 512

// sites is a cache of the script hosts seen, for the page host sitesFor:
// the registrable domain costs a public-suffix lookup and allocations, and
// the same hosts come back in every page of a site. It lives as long as
// the (pooled) rewriter.
type sites struct {
	sitesFor string // the page host the entries are for
	pageSite string // its registrable domain
	entries  map[string]siteEntry
}

// site returns whether host (lower case, as weburl gives it) belongs to
// another site than the page: a different registrable domain (eTLD+1).
// It is computed on a miss only.
func (r *Rewriter) site(host []byte) siteEntry {
	c := r.sites
	if c == nil {
		c = &sites{entries: make(map[string]siteEntry)}
		r.sites = c
	}
	if c.sitesFor != r.page.Host || len(c.entries) == 0 {
		h := r.page.Host
		if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.HasSuffix(h, "]") {
			h = h[:i]
		}
		clear(c.entries)
		c.sitesFor = r.page.Host
		c.pageSite = registrableDomain(strings.ToLower(strings.TrimSuffix(h, ".")))
	}
	if e, ok := c.entries[string(host)]; ok {
		return e
	}
	if len(c.entries) >= maxSites {
		clear(c.entries)
	}
	h := string(host)
	e := siteEntry{host: h, third: registrableDomain(h) != c.pageSite}
	c.entries[h] = e
	return e
}

// registrableDomain returns the eTLD+1 of host, or host itself for an IP
// address or a name without a public suffix (such as localhost).
func registrableDomain(host string) string {
	// Only a name with a colon (IPv6) or of digits and dots (IPv4) can
	// parse as an address; asking for others costs an error's allocation.
	if mayBeIP(host) {
		if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
			return host
		}
	}
	if site, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return site
	}
	return host
}

// mayBeIP reports whether netip.ParseAddr could accept host with its
// brackets trimmed: an IPv6 address has a colon, an IPv4 one only digits
// and dots.
func mayBeIP(host string) bool {
	if strings.IndexByte(host, ':') >= 0 {
		return true
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; (c < '0' || c > '9') && c != '.' && c != '[' && c != ']' {
			return false
		}
	}
	return true
}

// blocked reports whether d keeps the element from loading, and the first
// category the visitor has not accepted.
func (r *Rewriter) blocked(d decision) (bool, rules.Category) {
	missing := d.cats &^ r.page.Accepted
	if missing == 0 {
		return false, 0
	}
	if d.vendor != nil && len(r.page.Services) > 0 {
		if _, ok := slices.BinarySearch(r.page.Services, d.vendor.ID); ok {
			return false, 0
		}
	}
	return true, missing.First()
}

// action turns a blocking decision into what happens to the element.
func (r *Rewriter) action(d decision, el Element) Action {
	strip := d.cats&^r.page.Accepted&r.cfg.Strip != 0 && strippable(el)
	switch {
	case r.cfg.ReportOnly && strip:
		return WouldStrip
	case r.cfg.ReportOnly:
		return WouldNeutralise
	case strip:
		return Stripped
	}
	return Neutralised
}

// strippable reports whether an element of kind el can be removed whole:
// the scanner follows the end of raw-text elements (script, iframe) and
// void ones have none. Others are only neutralised.
func strippable(el Element) bool {
	switch el {
	case ScriptSrc, ScriptInline, IFrame, Img, Embed, Link:
		return true
	}
	return false
}

// executableType reports whether a script with this type attribute value
// (and present says whether it had one) runs as JavaScript.
func executableType(v []byte, present bool) bool {
	if !present {
		return true
	}
	v = bytes.TrimFunc(v, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' })
	if len(v) == 0 || equalFold(v, "module") {
		return true
	}
	// The JavaScript MIME type essences of the MIME Sniffing standard.
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		v = bytes.TrimRight(v[:i], " \t")
	}
	for _, js := range jsMIMETypes {
		if equalFold(v, js) {
			return true
		}
	}
	return false
}

var jsMIMETypes = []string{
	"text/javascript", "application/javascript", "application/ecmascript", "application/x-ecmascript",
	"application/x-javascript", "text/ecmascript", "text/javascript1.0", "text/javascript1.1",
	"text/javascript1.2", "text/javascript1.3", "text/javascript1.4", "text/javascript1.5",
	"text/jscript", "text/livescript", "text/x-ecmascript", "text/x-javascript",
}

// scriptStart handles <script>: external scripts are decided on their URL,
// inline ones are held until their content is inspected.
func (r *Rewriter) scriptStart(b []byte, t *tag) {
	typ, hasType := attrValue(b, t, "type", &r.valA)
	exec := executableType(typ, hasType)
	src, hasSrc := attrValue(b, t, "src", &r.valB)
	r.st, r.sst = stScript, ssData

	d, marked := r.markedDecision(b, t)
	if !r.allAccepted || r.cfg.ReportOnly {
		if info, ok := delayedScript(b, t, typ, hasType); ok && !(marked && equalFold(bytes.TrimSpace(typ), InertType)) {
			r.delayedStart(b, t, info, marked, d)
			return
		}
	}
	if !exec && !hasSrc && !marked && r.inspectable() && equalFold(bytes.TrimSpace(typ), "speculationrules") {
		// Speculation rules prefetch and prerender URLs: held like an
		// inline script, then read as JSON.
		r.emitTo(b, t.start)
		r.st = stScriptHold
		r.holdStart, r.holdBody, r.sigFrom = t.start, t.end, t.end
		r.holdCats, r.holdVendor, r.holdKind = 0, nil, holdSpeculation
		return
	}
	switch {
	case !exec && !hasSrc:
		return // data, templates, or already inert
	case !exec:
		// A non-JavaScript type with a src loads nothing, unless it was
		// marked: then make sure the src is out of the way too.
		if !marked {
			return
		}
	case !marked && hasSrc:
		if dd, ok := r.dataScriptDecision(src); ok {
			d = dd // a data: script is its text
		} else {
			d = r.classifyURL(src, ScriptSrc)
		}
	case !marked:
		if !r.inspect {
			return
		}
		r.emitTo(b, t.start)
		r.st = stScriptHold
		r.holdStart, r.holdBody, r.sigFrom = t.start, t.end, t.end
		r.holdCats, r.holdVendor, r.holdKind = 0, nil, holdScript
		return
	}
	el := ScriptSrc
	if !hasSrc {
		el = ScriptInline
	}
	r.applyDecision(b, t, d, el, exec, defaultRenames(el, exec))
}

// scanInline looks for signatures in the held script's content up to end.
func (r *Rewriter) scanInline(b []byte, end int) {
	if end <= r.sigFrom {
		return
	}
	from := max(r.sigFrom-r.cfg.Rules.InlineOverlap(), r.holdBody)
	r.cfg.Rules.ScanInline(b[:end], from, func(v *rules.Vendor) {
		if r.holdVendor == nil {
			r.holdVendor = v
		}
		r.holdCats = r.holdCats.With(v.Category)
	})
	r.sigFrom = end
}

// decideInline writes the held inline script out up to end, neutralised or
// stripped when its signatures say so. closed says end is the '<' of its
// end tag.
func (r *Rewriter) decideInline(b []byte, end int, closed bool) {
	if r.holdKind == holdDelayed {
		r.decideDelayedInline(b, end, closed)
		return
	}
	if !lexTag(b, r.holdStart, &r.t, true) { // cannot fail: it lexed before
		r.emitTo(b, end)
		return
	}
	d := decision{cats: r.holdCats, vendor: r.holdVendor}
	el := ScriptInline
	if r.holdKind == holdSpeculation {
		el = Speculation
		if closed {
			d = mergeDecision(d, r.speculationDecision(b[r.holdBody:end]))
		}
	}
	if d.cats == 0 {
		r.emitTo(b, end)
		return
	}
	r.applyDecision(b, &r.t, d, el, true, defaultRenames(ScriptInline, true))
	// A stripped script drops its content and end tag; applyDecision set
	// r.drop for that.
	if closed {
		r.endContent(b, end)
	} else {
		r.emitTo(b, end)
	}
}

// srcElement handles elements that load their src (or object's data).
func (r *Rewriter) srcElement(b []byte, t *tag, el Element) {
	kind := kImg
	switch el {
	case IFrame:
		kind = kIFrame
	case Embed:
		kind = kEmbed
	case Object:
		kind = kObject
	}
	r.loadingElement(b, t, kind)
}

// classifyAttr classifies the URL (or, for srcset, every candidate URL) in
// an attribute of an element that is not a script, remembering the result
// for the rest of the response by the attribute's raw bytes.
func (r *Rewriter) classifyAttr(b []byte, t *tag, name string, el Element) decision {
	i := attrIndex(b, t, name)
	if i < 0 {
		return decision{}
	}
	raw := b[t.attrs[i].valStart:t.attrs[i].valEnd]
	v, ok := r.urls.get(raw)
	if !ok {
		val, _ := attrValue(b, t, name, &r.valA)
		if name == "srcset" || name == "imagesrcset" {
			forEachSrcsetURL(val, func(u []byte) bool {
				v = r.matchURL(u)
				return v == nil
			})
		} else {
			v = r.matchURL(val)
		}
		r.urls.put(raw, v)
	}
	if v == nil {
		return decision{}
	}
	return decision{cats: rules.SetOf(v.Category), vendor: v}
}

// forEachSrcsetURL calls f with each candidate URL of a srcset value until f
// returns false.
func forEachSrcsetURL(set []byte, f func([]byte) bool) {
	for len(set) > 0 {
		set = bytes.TrimLeft(set, " \t\n\r\f,")
		end := bytes.IndexAny(set, " \t\n\r\f")
		if end < 0 {
			end = len(set)
		}
		u := bytes.TrimRight(set[:end], ",")
		if len(u) > 0 && !f(u) {
			return
		}
		set = set[end:]
		if i := bytes.IndexByte(set, ','); i >= 0 {
			set = set[i+1:]
		} else {
			return
		}
	}
}

// nextToken splits the first white-space-separated token off s.
func nextToken(s []byte) (tok, rest []byte) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	j := i
	for j < len(s) && !isSpace(s[j]) {
		j++
	}
	return s[i:j], s[j:]
}

// linkElement handles <link> elements that fetch or connect.
func (r *Rewriter) linkElement(b []byte, t *tag) {
	if r.allAccepted {
		return // nothing can be blocked
	}
	d, marked := r.markedDecision(b, t)
	if !marked {
		rel, _ := attrValue(b, t, "rel", &r.valA)
		href, ok := attrValue(b, t, "href", &r.valB)
		if !ok && attrIndex(b, t, "imagesrcset") < 0 {
			return
		}
		hint, fetch := false, false
		for rest := rel; len(rest) > 0; {
			var tok []byte
			tok, rest = nextToken(rest)
			switch {
			case equalFold(tok, "preconnect"), equalFold(tok, "dns-prefetch"):
				hint = true
			case equalFold(tok, "stylesheet"), equalFold(tok, "preload"), equalFold(tok, "prefetch"),
				equalFold(tok, "modulepreload"), equalFold(tok, "prerender"), equalFold(tok, "icon"):
				fetch = true
			}
		}
		switch {
		case fetch:
			d = r.classifyURL(href, Link)
			if d.cats == 0 {
				d = r.classifyAttr(b, t, "imagesrcset", Link)
			}
		case hint:
			if v, cats := r.matchHost(href); v != nil {
				if cats&r.page.Accepted != 0 {
					return // one of the vendors it serves is accepted
				}
				d = decision{cats: rules.SetOf(v.Category), vendor: v}
			}
		}
	}
	r.applyDecision(b, t, d, Link, false, aHref|aImagesrcset)
	r.drop = false // void element
}

// applyDecision neutralises, strips or passes the element whose start tag
// is t. script says the element is an executable script.
//
// renames are the attributes that move out of the way when it is made
// inert; script (or, for <style>, setting the type) says a type of
// text/plain goes in.
func (r *Rewriter) applyDecision(b []byte, t *tag, d decision, el Element, script bool, renames attrSet) {
	if !r.holdOrStrip(b, t, d, el) {
		return
	}
	if edited, changed := r.neutraliseTag(b, t, d, script, renames); changed {
		r.replaceTag(b, t, edited)
	}
}

// holdOrStrip decides the element whose start tag is t, reports the
// event, strips it when that is the action, and reports whether the
// caller must make it inert.
func (r *Rewriter) holdOrStrip(b []byte, t *tag, d decision, el Element) bool {
	blocked, cat := r.blocked(d)
	if !blocked {
		return false
	}
	act := r.action(d, el)
	r.observe(Event{Action: act, Element: el, Vendor: d.vendor, Category: cat})
	if act == Stripped {
		r.emitTo(b, t.start)
		r.skipTo(t.end)
		r.drop = true // the caller clears it for void elements
	}
	return act == Neutralised
}

// replaceTag writes edited in place of the start tag t.
func (r *Rewriter) replaceTag(b []byte, t *tag, edited []byte) {
	r.emitTo(b, t.start)
	r.put(edited)
	r.skipTo(t.end)
}

// appendVendor appends the vendor attributes of a held element: its ID and,
// for a catalogue vendor, its name.
func (r *Rewriter) appendVendor(e []byte, v *rules.Vendor) []byte {
	if v == nil {
		return e
	}
	e = append(e, " "+AttrVendor+`="`...)
	e = append(e, v.ID...)
	e = append(e, '"')
	if v.Catalogue && v.Name != "" {
		e = append(e, " "+AttrVendorName+`="`...)
		e = appendAttrValue(e, v.Name, r.page.XHTML)
		e = append(e, '"')
	}
	return e
}

// neutraliseTag returns the start tag t made inert: the attributes that load
// or run something renamed with AttrPrefix, a script's type set to
// InertType, and the category and vendor recorded. The new attributes go
// right after the tag name, where nothing else can change their meaning.
func (r *Rewriter) neutraliseTag(b []byte, t *tag, d decision, script bool, renames attrSet) ([]byte, bool) {
	e := append(r.edit[:0], b[t.start:t.nameEnd]...)
	added := len(e)
	if script {
		e = append(e, ` type="`+InertType+`"`...)
	}
	if !d.marked {
		e = append(e, " "+AttrCategory+`="`...)
		e = append(e, d.cats.String()...) // precomputed: no allocation
		e = append(e, '"')
		e = r.appendVendor(e, d.vendor)
	}
	changed := len(e) > added
	last := t.nameEnd
	for _, a := range t.attrs {
		if attrBit(b[a.nameStart:a.nameEnd])&renames == 0 {
			continue
		}
		e = append(e, b[last:a.nameStart]...)
		e = append(e, AttrPrefix...)
		n := len(e)
		e = lowerCopy(b[a.nameStart:a.nameEnd], e)
		if r.page.XHTML {
			// A prefix (xlink:) would need a namespace declaration.
			for i := n; i < len(e); i++ {
				if e[i] == ':' {
					e[i] = '-'
				}
			}
		}
		last = a.nameEnd
		changed = true
	}
	e = append(e, b[last:t.end]...)
	r.edit = e
	return e, changed
}

// fillDeclaration inserts the cookie declaration into an element marked
// for it, and reports whether t was one.
func (r *Rewriter) fillDeclaration(b []byte, t *tag) bool {
	if attrIndex(b, t, AttrDeclaration) < 0 || attrIndex(b, t, AttrFilled) >= 0 || r.cfg.ReportOnly {
		return false
	}
	r.emitTo(b, t.nameEnd)
	if r.page.XHTML {
		r.put([]byte(" " + AttrFilled + `=""`))
	} else {
		r.put([]byte(" " + AttrFilled))
	}
	r.emitTo(b, t.end)
	r.put(r.page.Declaration())
	return true
}

// inspectNoscript writes out a held <noscript> element up to end with the
// elements inside it that end before end decided. With scripting off a browser parses its
// content as markup, so an <img> or <iframe> in it loads.
func (r *Rewriter) inspectNoscript(b []byte, end int) {
	r.emitTo(b, r.holdBody)
	t := &r.nt // reused: its attributes would be allocated per element
	for p := r.holdBody; p < end; {
		k := bytes.IndexByte(b[p:end], '<')
		if k < 0 {
			break
		}
		p += k
		if p+3 < end && b[p+1] == '!' && b[p+2] == '-' && b[p+3] == '-' {
			e, ok := commentEnd(b[:end], p+4, p+4)
			if !ok {
				break
			}
			p = e
			continue
		}
		if p+1 >= end || !isAlpha(b[p+1]) || !lexTag(b[:end], p, t, true) {
			p++
			continue
		}
		p = t.end
		switch k := kindOf(b[t.start+1 : t.nameEnd]); k {
		case kImg, kEmbed, kObject, kSource, kVideo, kAudio, kTrack, kInput, kFrame, kBackground, kPing:
			r.loadingElement(b, t, k)
		case kMeta:
			r.metaElement(b, t)
		case kLink:
			r.linkElement(b, t)
		case kIFrame:
			r.srcElement(b, t, IFrame)
			k, closed := rawEnd(b[:end], p, "iframe")
			if !closed {
				k = end
			}
			r.emitTo(b, k)
			p = k
			if r.drop {
				// A stripped iframe loses its content and end tag.
				r.drop, r.dropEndTag = false, false
				if closed && lexTag(b[:end], p, t, false) {
					p = t.end
					r.skipTo(p)
				}
			}
		}
	}
	r.emitTo(b, end)
}
