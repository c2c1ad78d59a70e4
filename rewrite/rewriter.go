// Package rewrite neutralises tracking elements in an HTML stream.
//
// A Rewriter sits between an HTML body and its destination: bytes written to
// it come out on the other side, unchanged except for the elements the rules
// say belong to a category the visitor has not accepted. Those become inert
// but restorable (see README, "Attribute contract"), or are removed when the
// operator chose to strip their category. The rewriter also inserts the
// banner's hooks into whole documents.
//
// The scanner is purpose-built rather than a DOM or a general tokenizer: it
// jumps between '<' bytes, fully lexes only tags, and follows the raw-text
// states of script, style, textarea, title and friends, so the bytes it
// does not edit pass through as they came and memory stays bounded whatever
// the page size. It follows the WHATWG tokenizer; the differential fuzz
// test holds it to golang.org/x/net/html.
package rewrite

import (
	"bytes"
	"io"

	"github.com/consentgate/consentgate/rules"
	"github.com/consentgate/consentgate/weburl"
)

// Config is what every response rewritten by one handler shares. It must not
// change once rewriters use it.
type Config struct {
	// Rules classify elements.
	Rules *rules.Ruleset
	// Strip holds the categories whose elements are removed from the page
	// instead of being made inert (restorable).
	Strip rules.Set
	// BlockUnknown puts third-party scripts that no rule knows into the
	// unclassified category; otherwise they run and are only reported.
	BlockUnknown bool
	// ReportOnly changes nothing: every decision is reported with a Would*
	// action, and no hook is inserted.
	ReportOnly bool
	// MaxHold bounds the bytes of an inline script or noscript element held
	// back while its content is inspected (default DefaultMaxHold).
	MaxHold int
}

// DefaultMaxHold is the default hold limit: larger inline scripts are
// decided on their first DefaultMaxHold bytes.
const DefaultMaxHold = 1 << 20

// Page is what differs per response.
type Page struct {
	// Accepted holds the categories the visitor accepted. Necessary is
	// always accepted.
	Accepted rules.Set
	// Services holds the services (vendor IDs) the visitor accepted one
	// by one, sorted: an element of such a vendor is allowed whatever its
	// categories.
	Services []string
	// Host is the page's host (a port is ignored), to tell third-party
	// scripts from the site's own.
	Host string
	// Guard is the runtime guard's tag: the very first element of a whole
	// document, right after <head>, or else before the first start tag
	// other than <html> (or at <body> or the end). Unlike the other
	// pieces it goes in with ReportOnly too, where it only reports.
	Guard []byte
	// HeadStart is inserted right after Guard.
	HeadStart []byte
	// HeadEnd is inserted before </head>, or else right after <body>, or at
	// the end of a whole document.
	HeadEnd []byte
	// BodyStart is inserted where a browser's tree builder opens the body:
	// right after <body>, or, without one, before the text or element that
	// opens it, or at the end of a document that ends in its head. Never in
	// a <template>, a frameset document or an unterminated comment, raw
	// text or tag.
	BodyStart []byte
	// Declaration returns the markup that fills every element carrying a
	// data-consent-declaration attribute (written in lower or upper case);
	// it is called only when the page has one. Nil: leave them alone.
	Declaration func() []byte
	// Observer, if set, receives every decision.
	Observer Observer
	// XHTML says the page is application/xhtml+xml: every edit and
	// insertion is then well-formed XML (see xhtml.go).
	XHTML bool
}

type state uint8

const (
	stData         state = iota
	stBogus              // bogus comment or doctype: up to '>'
	stComment            // <!-- ... -->
	stRawText            // RAWTEXT or RCDATA element content, up to </rawName
	stScript             // script content passed on (or dropped)
	stScriptHold         // inline script content held for inspection
	stNoscriptHold       // noscript content held for inspection
	stStyleHold          // style sheet held for inspection
	stPlaintext          // everything up to the end
)

// holdKind says what a held script element is.
type holdKind uint8

const (
	holdScript      holdKind = iota // an inline script: signatures decide
	holdSpeculation                 // speculation rules: their URLs decide
	holdDelayed                     // a script a performance plugin delays
)

// Rewriter rewrites one HTML response. Write the body to it, then call Close.
// It is not safe for concurrent use.
type Rewriter struct {
	w    io.Writer
	cfg  *Config
	page Page

	carry []byte // unprocessed bytes kept from the last Write
	out   []byte // output batched for w
	err   error  // first write error; sticks

	st      state
	pos     int // where scanning resumes, as an offset into the buffer
	emitted int // buffer bytes before this are written or dropped

	drop       bool // dropping the current element's content (strip)
	dropEndTag bool // drop the next end tag: the stripped element's

	rawName     string      // stRawText: the element whose end tag ends it
	sst         scriptState // stScript, stScriptHold
	commentBody int         // stComment: offset of the comment body

	holdStart  int           // '<' of the held element's start tag
	holdBody   int           // first byte of its content
	sigFrom    int           // inline signatures are scanned up to here
	holdCats   rules.Set     // categories of the signatures found
	holdVendor *rules.Vendor // vendor of the first signature found
	inspect    bool          // inline scripts must be held and inspected
	// allAccepted says no element can be blocked: only scripts are still
	// classified (to report unknown third parties), and only insertions
	// remain to be made.
	allAccepted bool

	document      bool // saw a doctype, <html>, <head> or <body>
	headStartDone bool
	headEndDone   bool
	bodyDone      bool
	// Before the body opens: the <template> elements open (their content
	// opens nothing), and whether a <frameset> took the body's place.
	templates int
	frameset  bool
	earlyBody bool // the body opened before anything showed a document
	tornAtEOF bool // the input ended inside a tag

	t                tag         // scratch for lexing
	nt               tag         // scratch for lexing inside a held <noscript>
	urls             *urlCache   // classified attribute values
	valA, valB, valC []byte      // scratch for decoded attribute values
	edit             []byte      // scratch for an edited tag
	hostBuf          []byte      // scratch for lower-casing hosts
	baseSeen         bool        // the first <base href> was seen
	depth            int         // nesting of srcdoc, data: and javascript: documents
	nestedOut        []byte      // a nested document as rewritten
	holdKind         holdKind    // what the held element is
	delayed          delayedInfo // the delayed script being decided
	// A tag that did not end in the input so far: where it starts, how
	// far it was searched, and the byte that must come before lexing it
	// again is worth it. Re-lexing only then keeps time linear.
	pendValid    bool
	pendTag      int
	pendFrom     int
	pendNeed     byte
	foreign      []foreignFrame // the open <svg> and <math> elements and what is inside
	xhtmlDropped int            // insertions left out of an XHTML page
	eof          bool           // process was called with eof
	wantMore     bool           // startTag needs more input before it can decide
	web          *weburl.Page
	webHost      string
	sites        *sites // script hosts and whether they are third parties
}

// New returns a Rewriter writing to w.
func New(w io.Writer, cfg *Config, page Page) *Rewriter {
	r := &Rewriter{}
	r.Reset(w, cfg, page)
	return r
}

// outBufferSize is the size of the output buffer. Output goes downstream
// when the buffer is full, on Flush and on Close: each downstream write may
// be an HTTP chunk and a syscall or two, so fewer, larger writes cost less.
const outBufferSize = 64 << 10

// maxKeptBuffer is the largest scratch buffer a reset Rewriter keeps, so a
// pooled rewriter does not pin the memory of one huge inline script.
const maxKeptBuffer = 64 << 10

// maxKeptHold is the largest carry (what a held element keeps back) and
// edit buffer a reset Rewriter keeps. Real pages hold inline scripts and
// sheets of 50 to 200 KB (WordPress's global styles, page builders'
// configuration): dropped after every response, the carry regrew to them
// by doubling, about 120 KB of garbage per page of the corpus. A pool
// forgets its rewriters across garbage collections, so this pins at most
// this much per rewriter in use.
const maxKeptHold = 256 << 10

// Reset prepares r for a new response, reusing its buffers.
func (r *Rewriter) Reset(w io.Writer, cfg *Config, page Page) {
	carry, out, edit, attrs, ntAttrs, urls, web, webHost, sites := r.carry[:0], r.out[:0], r.edit[:0], r.t.attrs[:0], r.nt.attrs[:0], r.urls, r.web, r.webHost, r.sites
	if cap(carry) > maxKeptHold {
		carry = nil
	}
	if cap(edit) > maxKeptHold {
		edit = nil
	}
	if out == nil {
		out = make([]byte, 0, outBufferSize)
	}
	// Scratch space for decoded values and hosts is kept too: regrown on
	// every response it would cost a few allocations each time.
	valA, valB, valC, hostBuf := keepScratch(r.valA), keepScratch(r.valB), keepScratch(r.valC), keepScratch(r.hostBuf)
	*r = Rewriter{w: w, cfg: cfg, page: page, carry: carry, out: out, edit: edit, urls: urls, web: web, webHost: webHost, sites: sites,
		valA: valA, valB: valB, valC: valC, hostBuf: hostBuf}
	r.t.attrs, r.nt.attrs = attrs, ntAttrs
	if r.urls == nil {
		r.urls = new(urlCache)
	}
	r.urls.reset()
	r.page.Accepted = r.page.Accepted.With(rules.Necessary)
	if r.page.XHTML {
		r.xhtmlHooks()
	}
	// With every category accepted an inline script can only be reported,
	// which only report-only mode does.
	r.allAccepted = !cfg.ReportOnly && r.page.Accepted.Contains(rules.AllSet)
	r.inspect = cfg.Rules.HasInline() && !r.allAccepted
}

// keepScratch returns b emptied for reuse, or nil when it grew past
// maxKeptBuffer.
func keepScratch(b []byte) []byte {
	if cap(b) > maxKeptBuffer {
		return nil
	}
	return b[:0]
}

// Write rewrites p. The output is buffered (up to 64 KiB) until Flush or
// Close; an incomplete tag at the end of p and the content of an element
// still under inspection wait for more input.
func (r *Rewriter) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n := len(p)
	if len(r.carry) > 0 && len(p) > 0 {
		// Most often what the last write left over is a tag cut in two,
		// which the first bytes of p complete. Those go behind it first;
		// once everything carried over is decided, what is still kept
		// lies in p itself, and the rest of p is scanned there instead of
		// being copied behind the carry. This is what two writes, of
		// p[:k] and p[k:], would do: the output does not depend on how
		// the body was cut into writes.
		old := len(r.carry)
		k := min(len(p), max(old, minCarryPiece))
		if old+k > r.maxHold() {
			// A tag still open when the buffer passes the hold limit is
			// oversize: a smaller buffer than before could decide so
			// where the whole write completes the tag.
			k = len(p)
		}
		r.carry = append(r.carry, p[:k]...)
		done := r.process(r.carry, false)
		r.keep(r.carry, done)
		if done >= old && k < len(p) {
			p = p[k-len(r.carry):] // the bytes kept are p[done-old:k]
			r.carry = r.carry[:0]
		} else {
			p = p[k:]
		}
	}
	if (len(p) > 0 || n == 0) && r.err == nil {
		b := p
		if len(r.carry) > 0 {
			r.carry = append(r.carry, p...)
			b = r.carry
		}
		r.keep(b, r.process(b, false))
	}
	if r.err != nil {
		return 0, r.err
	}
	return n, nil
}

// minCarryPiece is the least of a write that goes behind the bytes kept
// from the last one: enough to complete most tags cut in two.
var minCarryPiece = 4 << 10 // a variable only so that tests can make it small

// Flush writes the buffered output to the destination. What is held back
// (an incomplete tag, an element under inspection) stays until more input
// decides it.
func (r *Rewriter) Flush() error {
	r.flushOut()
	return r.err
}

// Close rewrites what is still held back and writes it out. It does not
// close the destination.
func (r *Rewriter) Close() error {
	if r.err != nil {
		return r.err
	}
	b := r.carry
	r.process(b, true)
	r.carry = r.carry[:0]
	// What was not inserted yet goes at the end, where the tree builder
	// opens the body of a document that ends before it did, unless the
	// end falls inside a comment, raw text, a tag or a template, where it
	// would be text, an attribute or inert, or the document is a frameset.
	atEnd := r.page.XHTML || r.st == stData && !r.tornAtEOF && !r.frameset
	if r.document && atEnd {
		r.insertHeadStart()
	}
	if r.document && !r.cfg.ReportOnly && atEnd {
		r.insertHeadEnd()
		if !r.bodyDone && (r.page.XHTML || !r.earlyBody && r.awaitingBody()) {
			r.bodyDone = true
			r.put(r.page.BodyStart)
		}
	}
	r.flushOut()
	return r.err
}

// BodyInserted reports whether BodyStart (the banner) went into the page.
func (r *Rewriter) BodyInserted() bool { return r.bodyDone && len(r.page.BodyStart) > 0 }

// keep carries b[n:] over to the next Write and moves every offset.
func (r *Rewriter) keep(b []byte, n int) {
	rest := b[n:]
	if len(r.carry) > 0 {
		if n > 0 { // nothing moves when nothing was done
			r.carry = r.carry[:copy(r.carry, rest)]
		}
	} else {
		r.carry = append(r.carry[:0], rest...)
	}
	r.pos -= n
	r.emitted -= n
	r.commentBody -= n
	r.holdStart -= n
	r.holdBody -= n
	r.sigFrom -= n
	r.pendTag -= n
	r.pendFrom -= n
}

// put queues x for the destination.
func (r *Rewriter) put(x []byte) {
	if len(x) == 0 || r.err != nil {
		return
	}
	// Output is gathered into full buffers: each write downstream may be
	// an HTTP chunk and a syscall, whatever its size.
	for len(x) > 0 && r.err == nil {
		n := copy(r.out[len(r.out):cap(r.out)], x)
		r.out = r.out[:len(r.out)+n]
		x = x[n:]
		if len(r.out) == cap(r.out) {
			r.flushOut()
		}
	}
}

func (r *Rewriter) flushOut() {
	if len(r.out) > 0 && r.err == nil {
		_, r.err = r.w.Write(r.out)
	}
	r.out = r.out[:0]
}

// emitTo passes b[r.emitted:j] on, or drops it while stripping.
func (r *Rewriter) emitTo(b []byte, j int) {
	if j <= r.emitted {
		return
	}
	if !r.drop {
		r.put(b[r.emitted:j])
	}
	r.emitted = j
}

// skipTo drops b[r.emitted:j] after emitting nothing of it.
func (r *Rewriter) skipTo(j int) { r.emitted = j }

// process scans b from r.pos and returns how many bytes of b are done: the
// rest must be kept for the next call. With eof, everything is done.
func (r *Rewriter) process(b []byte, eof bool) int {
	r.eof = eof
	p := r.pos
	defer func() { r.pos = p }()
	incomplete := func(at int) int {
		if eof {
			r.tornAtEOF = at < len(b) // a tag or markup the end cut off
			r.emitTo(b, len(b))
			p = len(b)
			return len(b)
		}
		r.emitTo(b, at)
		p = at
		return at
	}
	for {
		switch r.st {
		case stData:
			k := bytes.IndexByte(b[p:], '<')
			if !r.bodyDone && !r.earlyBody && r.templates == 0 && !r.frameset && !r.page.XHTML {
				text := b[p:]
				if k >= 0 {
					text = text[:k]
				}
				if q := firstNonSpace(text); q >= 0 {
					r.bodyOpens(b, p+q) // text opens the body
				}
			}
			if k < 0 {
				p = len(b)
				r.emitTo(b, p)
				return p
			}
			p += k
			if p+1 >= len(b) {
				return incomplete(p)
			}
			switch c := b[p+1]; {
			case isAlpha(c):
				// Attributes are recorded only for tags that may need them.
				n := p + 2
				for n < len(b) && class[b[n]]&(clSpace|clEnd) == 0 {
					n++
				}
				kind := kindOf(b[p+1 : n])
				if r.tagStillOpen(b, p) && len(b)-p <= r.maxHold() {
					return incomplete(p)
				}
				if !lexTag(b, p, &r.t, r.needsAttrs(kind)) {
					if r.t.tooMany || len(b)-p > r.maxHold() && !eof {
						p = r.oversizeTag(b, p, r.needsAttrs(kind) && !r.allAccepted)
						continue
					}
					r.tagOpen(b, p)
					return incomplete(p)
				}
				r.pendValid = false
				if kind == kOther && r.page.Declaration != nil && r.t.declaration {
					lexTag(b, p, &r.t, true)
				}
				p = r.startTag(b, &r.t)
				if r.wantMore {
					r.wantMore = false
					return incomplete(p)
				}
			case c == '/':
				if p+2 >= len(b) {
					return incomplete(p)
				}
				switch c2 := b[p+2]; {
				case c2 == '>':
					p += 3 // "</>" is ignored by browsers and passes as is
				case isAlpha(c2):
					if r.tagStillOpen(b, p) && len(b)-p <= r.maxHold() {
						return incomplete(p)
					}
					if !lexTag(b, p, &r.t, false) {
						if len(b)-p > r.maxHold() && !eof {
							p = r.oversizeTag(b, p, false)
							continue
						}
						r.tagOpen(b, p)
						return incomplete(p)
					}
					r.pendValid = false
					p = r.endTag(b, &r.t)
				default:
					r.st = stBogus
					p += 2
				}
			case c == '!':
				if p+3 >= len(b) && !eof {
					return incomplete(p)
				}
				if r.inForeign() && (len(b)-p >= 9 || eof) && bytes.HasPrefix(b[p:], []byte("<![CDATA[")) {
					// In foreign content a CDATA section is text up to "]]>".
					e := bytes.Index(b[p+9:], []byte("]]>"))
					switch {
					case e >= 0:
						p += 9 + e + 3
					case eof || len(b)-p > r.maxHold():
						r.st = stBogus
						p += 2
					default:
						return incomplete(p)
					}
					continue
				}
				if r.inForeign() && len(b)-p < 9 && !eof && bytes.HasPrefix([]byte("<![CDATA["), b[p:]) {
					return incomplete(p)
				}
				if p+3 < len(b) && b[p+2] == '-' && b[p+3] == '-' {
					r.st = stComment
					r.commentBody = p + 4
					p += 4
					continue
				}
				if len(b)-p < 9 && !eof && bytes.HasPrefix([]byte("<!doctype"), lowerCopy(b[p:], r.hostBuf[:0])) {
					return incomplete(p)
				}
				if len(b)-p >= 9 && equalFold(b[p+2:p+9], "doctype") {
					r.document = true
				}
				r.st = stBogus
				p += 2
			case c == '?':
				r.st = stBogus
				p += 2
			default:
				p++
			}

		case stBogus:
			k := bytes.IndexByte(b[p:], '>')
			if k < 0 {
				p = len(b)
				r.emitTo(b, p)
				return p
			}
			p += k + 1
			r.st = stData

		case stComment:
			end, ok := commentEnd(b, r.commentBody, p)
			if !ok {
				p = len(b)
				if eof {
					r.emitTo(b, p)
					return p
				}
				keep := max(r.commentBody, len(b)-3, r.emitted)
				r.emitTo(b, keep)
				return keep
			}
			p = end
			r.st = stData

		case stRawText:
			k, ok := rawEnd(b, p, r.rawName)
			if !ok {
				return r.contentIncomplete(b, &p, k, eof)
			}
			p = k
			r.endContent(b, k)

		case stScript:
			k, ok, sst := scriptEnd(b, p, r.sst)
			r.sst = sst
			if !ok {
				return r.contentIncomplete(b, &p, k, eof)
			}
			p = k
			r.endContent(b, k)

		case stScriptHold:
			// Only the first maxHold bytes of the content are inspected, so
			// the decision does not depend on how the body was cut into
			// writes.
			limit := r.holdBody + r.maxHold()
			k, ok, sst := scriptEnd(b, p, r.sst)
			r.sst = sst
			r.scanInline(b, min(k, limit))
			switch {
			case ok:
				if k > limit {
					r.observe(Event{Action: Uninspected, Element: ScriptInline})
				}
				r.decideInline(b, k, true)
				p = k
				r.st = stData
			case eof:
				r.decideInline(b, len(b), false)
				r.emitTo(b, len(b))
				p = len(b)
				return p
			case k > limit:
				r.observe(Event{Action: Uninspected, Element: ScriptInline})
				r.decideInline(b, k, false)
				r.st = stScript
				p = k
			default:
				p = k
				return r.holdStart
			}

		case stNoscriptHold:
			limit := r.holdBody + r.maxHold()
			k, ok := rawEnd(b, p, "noscript")
			switch {
			case ok:
				if k > limit {
					r.observe(Event{Action: Uninspected, Element: Noscript})
				}
				r.inspectNoscript(b, min(k, limit))
				r.emitTo(b, k)
				p = k
				r.st = stData
			case eof:
				r.inspectNoscript(b, min(len(b), limit))
				r.emitTo(b, len(b))
				p = len(b)
				return p
			case k > limit:
				r.observe(Event{Action: Uninspected, Element: Noscript})
				r.inspectNoscript(b, limit)
				r.emitTo(b, k)
				r.st, r.rawName = stRawText, "noscript"
				p = k
			default:
				p = k
				return r.holdStart
			}

		case stStyleHold:
			limit := r.holdBody + r.maxHold()
			k, ok := rawEnd(b, p, "style")
			switch {
			case ok:
				if k > limit {
					r.observe(Event{Action: Uninspected, Element: CSS})
				}
				r.decideStyle(b, min(k, limit), k <= limit)
				p = k
				r.endContent(b, k)
			case eof:
				r.decideStyle(b, min(len(b), limit), len(b) <= limit)
				r.emitTo(b, len(b))
				p = len(b)
				return p
			case k > limit:
				r.observe(Event{Action: Uninspected, Element: CSS})
				r.decideStyle(b, limit, false)
				r.emitTo(b, k)
				r.st, r.rawName = stRawText, "style"
				p = k
			default:
				p = k
				return r.holdStart
			}

		case stPlaintext:
			p = len(b)
			r.emitTo(b, p)
			return p
		}
	}
}

// contentIncomplete handles a raw-text or script element whose end is not in
// b yet: pass on (or drop) everything up to resume and keep the rest.
func (r *Rewriter) contentIncomplete(b []byte, p *int, resume int, eof bool) int {
	if eof {
		resume = len(b)
	}
	r.emitTo(b, resume)
	*p = resume
	return resume
}

// endContent is called at the '<' of the end tag that closes a raw-text or
// script element.
func (r *Rewriter) endContent(b []byte, k int) {
	r.emitTo(b, k)
	if r.drop {
		r.drop = false
		r.dropEndTag = true
	}
	r.st = stData
}

func (r *Rewriter) maxHold() int {
	if r.cfg.MaxHold > 0 {
		return r.cfg.MaxHold
	}
	return DefaultMaxHold
}

func (r *Rewriter) observe(e Event) {
	if r.page.Observer != nil {
		r.page.Observer.Observe(e)
	}
}

func lowerCopy(b, dst []byte) []byte {
	for _, c := range b {
		dst = append(dst, lower(c))
	}
	return dst
}

// inspectable reports whether anything in the page can still be held.
func (r *Rewriter) inspectable() bool { return !r.allAccepted }

// decideStyle writes a held <style> element out up to end. When its sheet
// loads a tracker the visitor has not accepted, the element gets
// type="text/plain" (the sheet does not apply) and, when the whole sheet
// was held (closed), the sheet moves into a data-consent-sheet attribute:
// Chromium's preload scanner fetches a sheet's @import URLs whatever the
// element's type, so the text must not stay inside <style>.
func (r *Rewriter) decideStyle(b []byte, end int, closed bool) {
	if !lexTag(b, r.holdStart, &r.t, true) {
		r.emitTo(b, end)
		return
	}
	d, done := r.sheetDecision(b, &r.t, b[r.holdBody:end])
	if done {
		r.emitTo(b, end)
		return
	}
	r.applyStyle(b, end, closed, d)
}

// sheetDecision decides the <style> element t whose sheet is sheet: its
// own mark, or the first tracker its URLs load. done reports one
// neutralised before (its sheet already in the attribute, or made inert
// when its end was not seen), which stays as it is.
func (r *Rewriter) sheetDecision(b []byte, t *tag, sheet []byte) (d decision, done bool) {
	if attrIndex(b, t, AttrSheet) >= 0 {
		return d, true
	}
	d, marked := r.markedDecision(b, t)
	if typ, _ := attrValue(b, t, "type", &r.valA); marked && equalFold(bytes.TrimSpace(typ), InertType) {
		return d, true
	}
	if !marked {
		var v *rules.Vendor
		if cssMayLoad(sheet) {
			forEachCSSURL(sheet, func(u []byte) bool {
				v = r.matchURL(u)
				return v == nil
			})
		}
		if v != nil {
			d = decision{cats: rules.SetOf(v.Category), vendor: v}
		}
	}
	return d, false
}

// applyStyle writes the <style> element lexed in r.t out up to end as d
// decides (its content runs from r.holdBody): blocked, it gets
// type="text/plain" and, when closed, its content moves into the
// data-consent-sheet attribute.
func (r *Rewriter) applyStyle(b []byte, end int, closed bool, d decision) {
	blocked, cat := r.blocked(d)
	if !blocked {
		r.emitTo(b, end)
		return
	}
	act := r.action(d, CSS)
	r.observe(Event{Action: act, Element: CSS, Vendor: d.vendor, Category: cat})
	if act != Neutralised {
		r.emitTo(b, end)
		return
	}
	edited, _ := r.neutraliseTag(b, &r.t, d, true, aType)
	if !closed || len(edited) == 0 || edited[len(edited)-1] != '>' {
		r.emitTo(b, r.t.start)
		r.put(edited)
		r.skipTo(r.t.end)
		r.emitTo(b, end)
		return
	}
	e := append(edited[:len(edited)-1:len(edited)-1], " "+AttrSheet+`="`...)
	e = appendAttrValue(e, b[r.holdBody:end], r.page.XHTML)
	e = append(e, `">`...)
	r.edit = e
	r.emitTo(b, r.t.start)
	r.put(e)
	r.skipTo(end)
}

// tagOpen notes that the tag at p did not end in b.
func (r *Rewriter) tagOpen(b []byte, p int) {
	r.pendValid, r.pendTag, r.pendFrom, r.pendNeed = true, p, len(b), r.t.need
}

// tagStillOpen reports whether the tag at p, which did not end before,
// still cannot end in b: the byte it needs has not arrived.
func (r *Rewriter) tagStillOpen(b []byte, p int) bool {
	if !r.pendValid || r.pendTag != p || r.pendFrom > len(b) {
		return false
	}
	if bytes.IndexByte(b[r.pendFrom:], r.pendNeed) >= 0 {
		return false
	}
	r.pendFrom = len(b)
	return true
}

// oversizeTag handles a tag larger than the hold limit, which cannot be
// held whole (memory stays within max_hold). A tag whose attributes could
// load something (failClosed) loses its '<': written as "&lt;" it is text
// to the browser and loads nothing. Any other tag passes as it comes, its
// end found as a bogus comment's is (at the next '>', which can only be
// early: a '>' inside a quoted value ends it for the scanner, never for
// the browser, so no markup the browser sees goes unread).
func (r *Rewriter) oversizeTag(b []byte, p int, failClosed bool) int {
	r.pendValid = false
	r.observe(Event{Action: Uninspected, Element: Oversize})
	if failClosed && !r.cfg.ReportOnly {
		r.emitTo(b, p)
		r.put([]byte("&lt;"))
		r.skipTo(p + 1)
		return p + 1
	}
	r.st = stBogus
	return p + 1
}
