package caddymodule

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/consentgate/consentgate/banner"
	"github.com/consentgate/consentgate/consent"
	"github.com/consentgate/consentgate/cookies"
	"github.com/consentgate/consentgate/rewrite"
	"github.com/consentgate/consentgate/rules"
)

// visit is what the gateway knows about one request's visitor.
type visit struct {
	// decision is the visitor's valid decision, or nil.
	decision *consent.Decision
	// previous is a decision given under another policy version: the
	// visitor is asked again, under the same consent ID.
	previous *consent.Decision
	accepted rules.Set
	// services are the services (vendor IDs) accepted one by one, sorted.
	services []string
	gpc      bool
	lang     string
	excluded bool
	// etagSuffix names the variant of a page rewritten for this visitor,
	// so a cached page is revalidated only for the same consent state.
	etagSuffix string
	// variantRevalidation says the request revalidates a page that was
	// rewritten for this same variant.
	variantRevalidation bool
	observer            observer
	// scriptNonce and styleNonce are what the page's CSP requires of the
	// tags the gateway inserts (see cspNonces); set with the response.
	scriptNonce, styleNonce string
}

func (h *Handler) newVisit(r *http.Request) *visit {
	v := &visit{accepted: rules.OnlyNecessary}
	v.observer = observer{h: h}
	if h.exclude != nil && h.exclude.Match(r) {
		v.excluded = true
	}
	if c, err := r.Cookie(h.CookieName); err == nil {
		h.readDecision(r, c.Value, v)
	}
	v.gpc = r.Header.Get("Sec-GPC") == "1"
	v.lang = h.banner.Language(r.Header.Get("Accept-Language"), "")
	v.etagSuffix = h.variants.suffix(v.accepted, v.decision != nil, v.previous != nil, v.gpc, v.lang)
	if len(v.services) > 0 {
		v.etagSuffix = extendVariant(v.etagSuffix, "services", strings.Join(v.services, ","))
	}
	if n := h.siteServices.version.Load(); n > 0 {
		// The first layer names the site's services: a page rewritten
		// before one more was seen is another variant.
		v.etagSuffix = extendVariant(v.etagSuffix, "recipients", h.siteServices.epoch+"."+strconv.FormatUint(n, 10))
	}
	return v
}

// readDecision verifies the consent cookie. Anything but a valid decision
// under the current policy is no consent: the visitor is asked (again).
func (h *Handler) readDecision(r *http.Request, value string, v *visit) {
	codec, err := h.secrets.get(r.Context())
	if err != nil {
		h.logger.Error("consent keys unavailable; treating the visitor as undecided", zap.Error(err))
		return
	}
	d, err := codec.Decode(value)
	switch {
	case err == nil:
		v.decision, v.accepted = &d, d.Accepted&(h.offered|rules.OnlyNecessary)
		v.services = d.Services
	case errors.Is(err, consent.ErrPolicyChanged):
		v.previous = &d
	default:
		if c := h.logger.Check(zap.DebugLevel, "consent cookie is not consent"); c != nil {
			c.Write(zap.String("reason", err.Error()))
		}
	}
}

// variantSuffix derives the ETag suffix of everything a rewritten page
// depends on: the accepted categories and what the banner shows.
func variantSuffix(accepted rules.Set, decided, policyChanged, gpc bool, lang, policy string) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "consentgate variant 1|%d|%t|%t|%t|%s|%s", accepted, decided, policyChanged, gpc, lang, policy))
	return "-cg" + hex.EncodeToString(sum[:4])
}

// extendVariant derives the ETag suffix of a variant that also depends on
// something else the rewritten page shows (the services accepted one by
// one, the recipients line); same shape as variantSuffix.
func extendVariant(suffix, what, value string) string {
	sum := sha256.Sum256([]byte("consentgate variant 1|" + suffix + "|" + what + "|" + value))
	return "-cg" + hex.EncodeToString(sum[:4])
}

// variantTable holds the ETag suffix of every variant, computed once at
// provision: per request it is a lookup, not a hash.
type variantTable struct {
	langs    map[string]int
	suffixes [][rules.AllSet + 1][8]string // [language][accepted][decided|policyChanged|gpc]
}

func newVariantTable(langs []string, policy string) *variantTable {
	t := &variantTable{langs: make(map[string]int, len(langs))}
	t.suffixes = make([][rules.AllSet + 1][8]string, len(langs))
	for li, lang := range langs {
		t.langs[lang] = li
		for s := rules.Set(0); s <= rules.AllSet; s++ {
			for flags := 0; flags < 8; flags++ {
				t.suffixes[li][s][flags] = variantSuffix(s, flags&1 != 0, flags&2 != 0, flags&4 != 0, lang, policy)
			}
		}
	}
	return t
}

func (t *variantTable) suffix(accepted rules.Set, decided, policyChanged, gpc bool, lang string) string {
	li := t.langs[lang]
	flags := 0
	if decided {
		flags |= 1
	}
	if policyChanged {
		flags |= 2
	}
	if gpc {
		flags |= 4
	}
	return t.suffixes[li][accepted&rules.AllSet][flags]
}

// markupPool holds the buffers the banner's markup is rendered into, one
// per rewritten response.
var markupPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// page describes the response's page to the rewriter. The banner markup
// goes into *buf, which the caller returns to markupPool when done.
func (v *visit) page(h *Handler, r *http.Request, buf *[]byte) rewrite.Page {
	s := banner.State{
		Lang:          v.lang,
		Decided:       v.decision != nil,
		Accepted:      v.accepted,
		Services:      v.services,
		Recipients:    h.recipientsLine(),
		GPC:           v.gpc,
		PolicyChanged: v.previous != nil,
		ReturnPath:    r.URL.RequestURI(),
		Site:          h.guardSite(r.Host),
		Nonce:         v.scriptNonce,
		StyleNonce:    v.styleNonce,
	}
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		s.ReturnPath = orig.URL.RequestURI()
	}
	return rewrite.Page{
		Accepted:    v.accepted,
		Services:    v.services,
		Host:        r.Host,
		Guard:       h.banner.Guard(s),
		HeadStart:   h.banner.HeadStart(s),
		HeadEnd:     h.banner.HeadEnd(s),
		BodyStart:   h.banner.AppendBodyStart((*buf)[:0], s),
		Declaration: func() []byte { return h.declaration.HTML(v.lang, h.declLabels[v.lang]) },
		Observer:    &v.observer,
	}
}

// observer logs the rewriter's decisions, by element kind and vendor only:
// never a URL, which may carry visitor identifiers.
type observer struct {
	h *Handler
}

func (o *observer) Observe(e rewrite.Event) {
	if e.Vendor != nil {
		o.h.seen.ObserveVendor(e.Vendor.ID)
		o.h.siteServices.observe(e.Vendor.ID)
	}
	o.h.metrics.element(e)
	if e.Action == rewrite.UnknownThirdParty {
		o.h.warnUnknown("third-party script host", e.Host)
	}
	if c := o.h.logger.Check(zap.DebugLevel, "consent decision on element"); c != nil {
		fields := []zap.Field{
			zap.String("action", e.Action.String()),
			zap.String("element", e.Element.String()),
			zap.String("category", e.Category.String()),
		}
		if e.Vendor != nil {
			fields = append(fields, zap.String("vendor", e.Vendor.ID))
		}
		if e.Host != "" {
			fields = append(fields, zap.String("host", e.Host))
		}
		c.Write(fields...)
	}
}

// prepareUpstreamRequest adjusts the request the next handler (normally a
// reverse proxy) sends upstream, so that every HTML response can be
// rewritten correctly:
//   - Accept-Encoding names only codings the gateway can decode;
//   - Range is dropped where the response may be HTML (a partial page
//     cannot be rewritten; it is served whole, as HTTP allows);
//   - conditional headers survive only when they revalidate a page
//     rewritten for the same consent state.
func (h *Handler) prepareUpstreamRequest(r *http.Request, v *visit) {
	if hdrs := r.Header["Cookie"]; len(hdrs) > 0 {
		cookies.ForEachRequestCookie(hdrs, func(name string) { h.seen.ObserveRequestCookie(h.ruleset, name) })
		if h.RequestCookies != "keep" {
			h.stripRequestCookies(r, v)
		}
	}
	if ae := r.Header.Get("Accept-Encoding"); ae != "" {
		if kept := acceptableEncoding(ae); kept != ae {
			if kept == "" {
				r.Header.Del("Accept-Encoding")
			} else {
				r.Header.Set("Accept-Encoding", kept)
			}
		}
	}
	html := mayBeHTML(r)
	if html && !v.excluded && r.Header.Get("Range") != "" {
		r.Header.Del("Range")
		r.Header.Del("If-Range")
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		kept, ours := filterIfNoneMatch(inm, v.etagSuffix, html)
		v.variantRevalidation = ours
		if kept == "" {
			r.Header.Del("If-None-Match")
		} else {
			r.Header.Set("If-None-Match", kept)
		}
	}
	if html && !v.variantRevalidation {
		// A date says nothing about the consent state the cached copy
		// was rewritten for.
		r.Header.Del("If-Modified-Since")
	}
}

// stripRequestCookies removes from the Cookie header the cookies of
// categories the visitor has not accepted, so the upstream cannot read
// tracker IDs the visitor refused.
func (h *Handler) stripRequestCookies(r *http.Request, v *visit) {
	if v.accepted.Contains(rules.AllSet) {
		return // nothing is refused
	}
	hdrs := r.Header["Cookie"]
	var kept []string
	changed := false
	for _, c := range hdrs {
		out, removed := cookies.FilterCookieHeader(c, h.ruleset, v.accepted, v.services...)
		for _, rm := range removed {
			h.cookieRemoved(rm, "request")
		}
		if len(removed) > 0 {
			changed = true
		}
		if out != "" {
			kept = append(kept, out)
		}
	}
	if !changed || h.ReportOnly {
		return
	}
	if len(kept) == 0 {
		r.Header.Del("Cookie")
	} else {
		r.Header["Cookie"] = kept
	}
}

// cookieRemoved counts and logs a removed cookie by name only, never its
// value.
func (h *Handler) cookieRemoved(rm cookies.Removed, where string) {
	h.metrics.cookiesRemoved.WithLabelValues(rm.Category.String(), where).Inc()
	if rm.Category == rules.Unclassified && h.ruleset.MatchCookie(rm.Name) == nil {
		h.warnUnknown("cookie", rm.Name)
	}
	if c := h.logger.Check(zap.DebugLevel, "cookie of a category not accepted"); c != nil {
		action := "removed"
		if h.ReportOnly {
			action = "would_remove"
		}
		c.Write(zap.String("cookie", rm.Name), zap.String("category", rm.Category.String()), zap.String("where", where), zap.String("action", action))
	}
}

// filterIfNoneMatch keeps the entity tags that may be revalidated: ours for
// the current variant (with the suffix taken off, as the upstream knows
// them) and, unless the response may be HTML, tags that are not ours.
func filterIfNoneMatch(inm, suffix string, html bool) (string, bool) {
	var kept []string
	ours := false
	for _, tag := range strings.Split(inm, ",") {
		tag = strings.TrimSpace(tag)
		switch {
		case tag == "":
		case tag == "*":
			kept = append(kept, tag)
		case strings.HasSuffix(tag, suffix+`"`):
			kept = append(kept, strings.TrimSuffix(tag, suffix+`"`)+`"`)
			ours = true
		case hasVariantSuffix(tag):
			// rewritten for another consent state: never revalidate
		case !html:
			kept = append(kept, tag)
		}
	}
	return strings.Join(kept, ", "), ours
}

// hasVariantSuffix reports whether an entity tag ends in "-cg" and eight
// hex digits, the shape of variantSuffix.
func hasVariantSuffix(tag string) bool {
	tag = strings.TrimSuffix(tag, `"`)
	i := strings.LastIndex(tag, "-cg")
	if i < 0 || len(tag)-i != 3+8 {
		return false
	}
	_, err := hex.DecodeString(tag[i+3:])
	return err == nil
}

// mayBeHTML guesses, before the upstream answers, whether the response may
// be an HTML page: browsers say so for navigations, and page-like paths
// hint at it for other clients.
func mayBeHTML(r *http.Request) bool {
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		return true
	}
	switch r.Header.Get("Sec-Fetch-Dest") {
	case "document", "iframe", "frame":
		return true
	case "":
		switch strings.ToLower(path.Ext(r.URL.Path)) {
		case "", ".html", ".htm", ".xhtml", ".php", ".shtml", ".asp", ".aspx", ".jsp":
			return true
		}
	}
	return false
}
