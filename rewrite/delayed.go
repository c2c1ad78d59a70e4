package rewrite

import (
	"bytes"
)

// Performance plugins for WordPress delay scripts until the visitor
// interacts: they give the script a type that does not run and keep its
// URL in another attribute, and a loader of theirs restores both later.
// Such scripts are classified by that URL (or the data: text in it) and
// by their inline text, and are neutralised so that no loader of the
// plugin can start them: type="text/plain", the URL as data-consent-src
// and the type the script will run as in data-consent-type, which is how
// the banner restores any held script.
//
// Covered forms (README, "What the rewriter inspects"):
//   - WP Rocket (Delay JavaScript execution): type="rocketlazyloadscript",
//     data-rocket-src, data-rocket-type;
//   - LiteSpeed Cache (Load JS Delayed): type="litespeed/javascript",
//     data-src;
//   - Perfmatters (Delay JavaScript): type="pmdelayedscript" with src and
//     data-perfmatters-type, and the older data-pmdelayedscript holding
//     the URL or a data: URL of the inline text;
//   - Flying Scripts: data-type="lazy" with data-src (a data: URL for
//     inline text);
//   - Cloudflare Rocket Loader: type="<hash>-text/javascript" (or
//     -application/javascript, -module);
//   - Autoptimize and other delayers that leave a script of a type that
//     does not run with data-src or data-lazy-src.

// delayedSrcAttrs hold a delayed script's URL, in order of preference.
var delayedSrcAttrs = []string{"data-rocket-src", "data-pmdelayedscript", "data-litespeed-src", "data-lazy-src", "data-src"}

// delayedInfo describes a script a plugin delays.
type delayedInfo struct {
	srcAttr  int    // index in t.attrs of the attribute holding the URL, -1 for none
	realType []byte // the type it will run as ("" for classic JavaScript)
}

// delayedScript reports whether t is a script a performance plugin
// delays (see above).
func delayedScript(b []byte, t *tag, typ []byte, hasType bool) (delayedInfo, bool) {
	typ = bytes.TrimSpace(typ)
	info := delayedInfo{srcAttr: -1}
	known := false
	var scratch []byte
	switch {
	case equalFold(typ, "rocketlazyloadscript"):
		known = true
		info.realType, _ = attrValue(b, t, "data-rocket-type", &scratch)
	case equalFold(typ, "litespeed/javascript"):
		known = true
	case equalFold(typ, "pmdelayedscript"):
		known = true
		info.realType, _ = attrValue(b, t, "data-perfmatters-type", &scratch)
	default:
		if i := bytes.IndexByte(typ, '-'); i > 0 && isHexRun(typ[:i]) {
			if rest := typ[i+1:]; executableType(rest, true) {
				known = true // Cloudflare Rocket Loader
				info.realType = rest
			}
		}
	}
	if lazy, _ := attrValue(b, t, "data-type", &scratch); equalFold(bytes.TrimSpace(lazy), "lazy") {
		known = true // Flying Scripts
	}
	for _, name := range delayedSrcAttrs {
		if i := attrIndex(b, t, name); i >= 0 {
			info.srcAttr = i
			break
		}
	}
	if !known && info.srcAttr >= 0 && hasType && !executableType(typ, true) {
		known = true // a delayer we do not name: a type that does not run, a URL kept aside
	}
	if !known && attrIndex(b, t, "data-pmdelayedscript") >= 0 {
		known = true
	}
	if len(info.realType) > 0 {
		info.realType = bytes.Clone(bytes.TrimSpace(info.realType))
	}
	return info, known
}

func isHexRun(b []byte) bool {
	for _, c := range b {
		if !isHex(c) {
			return false
		}
	}
	return len(b) >= 8
}

// delayedStart handles a delayed script's start tag: its URL decides, or
// its inline text once held.
func (r *Rewriter) delayedStart(b []byte, t *tag, info delayedInfo, marked bool, d decision) {
	r.delayed = info
	if !marked {
		// The plugin's URL attribute and a src beside it both decide: a
		// loader that copies the attributes over starts the src too.
		var delayedURL []byte
		if info.srcAttr >= 0 {
			a := t.attrs[info.srcAttr]
			delayedURL, _ = attrValue(b, t, string(lowerCopy(b[a.nameStart:a.nameEnd], nil)), &r.valC)
		}
		src, _ := attrValue(b, t, "src", &r.valB)
		for _, u := range [...][]byte{delayedURL, src} {
			if len(u) == 0 {
				continue
			}
			if dd, ok := r.dataScriptDecision(u); ok {
				d = mergeDecision(d, dd)
			} else {
				d = mergeDecision(d, r.classifyURL(u, ScriptSrc))
			}
		}
		if len(delayedURL) == 0 && len(src) == 0 && r.inspect {
			// Inline text: held, then decided as an inline script.
			r.emitTo(b, t.start)
			r.st = stScriptHold
			r.holdStart, r.holdBody, r.sigFrom = t.start, t.end, t.end
			r.holdCats, r.holdVendor, r.holdKind = 0, nil, holdDelayed
			return
		}
	}
	r.applyDelayed(b, t, d, ScriptSrc)
}

// applyDelayed neutralises a delayed script the decision blocks.
func (r *Rewriter) applyDelayed(b []byte, t *tag, d decision, el Element) {
	if r.holdOrStrip(b, t, d, el) {
		r.replaceTag(b, t, r.neutraliseDelayed(b, t, d))
	}
}

// neutraliseDelayed rewrites a delayed script's start tag into the inert
// form the banner restores: type text/plain, the URL in data-consent-src,
// the type it runs as in data-consent-type; the plugin's own type moves
// to data-consent-delayed-type and its markers out of its loader's sight.
func (r *Rewriter) neutraliseDelayed(b []byte, t *tag, d decision) []byte {
	info := r.delayed
	e := append(r.edit[:0], b[t.start:t.nameEnd]...)
	e = append(e, ` type="`+InertType+`"`...)
	if !d.marked {
		e = append(e, " "+AttrCategory+`="`...)
		e = append(e, d.cats.String()...)
		e = append(e, '"')
		e = r.appendVendor(e, d.vendor)
	}
	if len(info.realType) > 0 {
		e = append(e, " "+AttrPrefix+`type="`...)
		for _, c := range info.realType {
			if c == '"' {
				e = append(e, "&quot;"...)
			} else {
				e = append(e, c)
			}
		}
		e = append(e, '"')
	}
	srcIdx := attrIndex(b, t, "src")
	last := t.nameEnd
	for i, a := range t.attrs {
		name := b[a.nameStart:a.nameEnd]
		var to string
		switch {
		case equalFold(name, "type"):
			to = AttrPrefix + "delayed-type"
		case i == info.srcAttr && srcIdx < 0:
			to = AttrPrefix + "src"
		case i == info.srcAttr:
			to = AttrPrefix + "delayed-src"
		case i == srcIdx:
			to = AttrPrefix + "src"
		case equalFold(name, "data-type"):
			to = AttrPrefix + "delayed-data-type"
		case equalFold(name, "data-pmdelayedscript"):
			to = AttrPrefix + "delayed-pm"
		default:
			continue
		}
		e = append(e, b[last:a.nameStart]...)
		e = append(e, to...)
		last = a.nameEnd
	}
	e = append(e, b[last:t.end]...)
	r.edit = e
	return e
}

// decideDelayedInline is decideInline for a held delayed script.
func (r *Rewriter) decideDelayedInline(b []byte, end int, closed bool) {
	if !lexTag(b, r.holdStart, &r.t, true) {
		r.emitTo(b, end)
		return
	}
	d := decision{cats: r.holdCats, vendor: r.holdVendor}
	if d.cats == 0 {
		r.emitTo(b, end)
		return
	}
	r.applyDelayed(b, &r.t, d, ScriptInline)
	if closed {
		r.endContent(b, end)
	} else {
		r.emitTo(b, end)
	}
}
