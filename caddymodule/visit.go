package caddymodule

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"path"
	"strings"

	"go.uber.org/zap"

	"github.com/consentgate/consentgate/rewrite"
	"github.com/consentgate/consentgate/rules"
)

// visit is what the gateway knows about one request's visitor.
type visit struct {
	accepted rules.Set
	excluded bool
	// etagSuffix names the variant of a page rewritten for this visitor,
	// so a cached page is revalidated only for the same consent state.
	etagSuffix string
	// variantRevalidation says the request revalidates a page that was
	// rewritten for this same variant.
	variantRevalidation bool
	observer            observer
}

func (h *Handler) newVisit(r *http.Request) *visit {
	v := &visit{accepted: rules.OnlyNecessary}
	v.observer = observer{h: h}
	if h.exclude != nil && h.exclude.Match(r) {
		v.excluded = true
	}
	v.etagSuffix = variantSuffix(v.accepted)
	return v
}

// variantSuffix derives the ETag suffix of a consent state.
func variantSuffix(accepted rules.Set) string {
	sum := sha256.Sum256([]byte("consentgate variant 1|" + accepted.String()))
	return "-cg" + hex.EncodeToString(sum[:4])
}

// page describes the response's page to the rewriter.
func (v *visit) page(h *Handler, r *http.Request) rewrite.Page {
	return rewrite.Page{
		Accepted: v.accepted,
		Host:     r.Host,
		HeadEnd:  h.assets.headTags,
		Observer: &v.observer,
	}
}

// observer logs the rewriter's decisions, by element kind and vendor only:
// never a URL, which may carry visitor identifiers.
type observer struct {
	h *Handler
}

func (o *observer) Observe(e rewrite.Event) {
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
func prepareUpstreamRequest(r *http.Request, v *visit) {
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
