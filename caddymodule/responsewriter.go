package caddymodule

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"golang.org/x/net/http/httpguts"

	"github.com/consentgate/consentgate/cookies"
	"github.com/consentgate/consentgate/htmlencoding"
	"github.com/consentgate/consentgate/mimesniff"
	"github.com/consentgate/consentgate/rewrite"
)

// responseWriter decides once, when the header goes out, whether a response
// is rewritten. HTML bodies of a status that carries content flow through
// the content decoder (if the upstream compressed them), a transcoder (for
// the rare charsets that are not ASCII-compatible) and the rewriter; every
// other response passes through untouched and unbuffered.
type responseWriter struct {
	*caddyhttp.ResponseWriterWrapper
	h *Handler
	r *http.Request
	v *visit

	status     int  // status given to WriteHeader, 0 before
	decided    bool // the rewrite decision is taken and the header written
	rewriting  bool
	reportOnly bool // bytes pass untouched; a copy is inspected
	swallow    bool // the body is replaced by an error page
	wroteBody  bool
	pipeline   io.Writer // where body bytes go when rewriting or inspecting
	closers    []io.Closer
	rw         *rewrite.Rewriter
	err        error
	held       []byte        // body bytes held while they decide the type
	markup     *[]byte       // the banner markup's buffer, from markupPool
	spent      time.Duration // in the rewriter
	bytesIn    int
}

// WriteHeader records the status. The header is written downstream at once,
// unless the browser would sniff the body (no usable Content-Type, no
// nosniff) and the status carries one: then the header waits until the
// first bytes decide, as the browser's own decision waits for them.
func (w *responseWriter) WriteHeader(status int) {
	if w.decided {
		return
	}
	if status >= 100 && status <= 199 {
		// Informational responses (103 Early Hints, 101 Switching
		// Protocols) go out at once; their Link headers must not reveal
		// the visitor to trackers, nor their Set-Cookie headers set a
		// tracker's cookie.
		w.filterLinks()
		w.filterCookies()
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.status = status
	if !w.sniffing() {
		w.decide()
	}
}

// sniffing reports whether the browser will sniff this response's body
// to decide its type, so the gateway must do the same before deciding.
func (w *responseWriter) sniffing() bool {
	if !bodyAllowed(w.r.Method, w.status) {
		return false
	}
	h := w.Header()
	_, nav := mimesniff.ForNavigation(h["Content-Type"], h["X-Content-Type-Options"])
	return nav == mimesniff.Sniff
}

// maxSniffHold bounds the (possibly compressed) bytes held back while the
// first SniffLen decoded bytes of a body of unknown type arrive.
const maxSniffHold = 64 << 10

// sniff reports what the held bytes say a browser will render the body
// as. Compressed bodies are sniffed on their decoded bytes, as browsers
// do. With eof the body is complete.
func (w *responseWriter) sniff(eof bool) mimesniff.Sniffed {
	first := w.held
	if enc := contentCoding(w.Header()); enc != "" {
		open, ok := decodableEncodings[enc]
		if !ok {
			return mimesniff.SniffedOther // the browser cannot decode it either
		}
		dec, err := open(bytes.NewReader(w.held))
		if err != nil {
			if eof || len(w.held) >= maxSniffHold {
				return mimesniff.SniffedOther
			}
			return mimesniff.NeedMore
		}
		buf := make([]byte, mimesniff.SniffLen)
		n, _ := io.ReadFull(dec, buf)
		if c, ok := dec.(io.Closer); ok {
			_ = c.Close()
		}
		first = buf[:n]
	}
	return mimesniff.SniffHTML(first, eof || len(w.held) >= maxSniffHold)
}

// settleSniffed takes the decision once the held bytes told the type, and
// writes them on.
func (w *responseWriter) settleSniffed(v mimesniff.Sniffed) error {
	h := w.Header()
	if v == mimesniff.SniffedHTML {
		// What the browser would have computed: say it, so the rewritten
		// body (whose first bytes may differ) is not sniffed again.
		h.Set("Content-Type", "text/html")
	} else {
		// The browser sniffs the untouched bytes itself; keep net/http
		// from sniffing them into a type of its own.
		h["Content-Type"] = nil
	}
	w.decide()
	held := w.held
	w.held = nil
	if len(held) == 0 {
		return nil
	}
	_, err := w.writeDecided(held)
	return err
}

// contentCoding returns the response's content coding, "" for none.
func contentCoding(h http.Header) string {
	enc := strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding")))
	if enc == "identity" {
		enc = ""
	}
	return enc
}

func bodyAllowed(method string, status int) bool {
	return method != http.MethodHead && status != http.StatusNoContent && status != http.StatusNotModified && status != http.StatusPartialContent
}

// Write passes p on, through the rewriter when the response is HTML.
func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.decided {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		if !w.sniffing() {
			w.decide()
		} else {
			if len(p) == 0 {
				return 0, nil
			}
			w.held = append(w.held, p...)
			v := w.sniff(false)
			if v == mimesniff.NeedMore {
				return len(p), nil
			}
			if err := w.settleSniffed(v); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return w.writeDecided(p)
}

// writeDecided writes p once the decision is taken.
func (w *responseWriter) writeDecided(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	w.wroteBody = true
	switch {
	case w.swallow:
		return len(p), nil
	case w.reportOnly:
		n, err := w.ResponseWriter.Write(p)
		if w.pipeline != nil {
			if _, ierr := w.pipeline.Write(p[:n]); ierr != nil {
				w.h.logger.Debug("report-only inspection stopped", zap.Error(ierr))
				w.pipeline = nil
			}
		}
		return n, err
	case w.rewriting:
		start := time.Now()
		_, err := w.pipeline.Write(p)
		w.spent += time.Since(start)
		w.bytesIn += len(p)
		if err != nil {
			w.err = err
			return 0, err
		}
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// ReadFrom keeps sendfile for responses that pass through.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.decided {
		if w.status == 0 {
			w.status = http.StatusOK
		}
		if !w.sniffing() {
			w.decide()
		}
	}
	if w.decided && !w.rewriting && !w.reportOnly && !w.swallow && w.err == nil {
		n, err := w.ResponseWriterWrapper.ReadFrom(r)
		if n > 0 {
			w.wroteBody = true
		}
		return n, err
	}
	return io.Copy(writerOnly{w}, r)
}

// writerOnly hides ReadFrom so io.Copy does not recurse.
type writerOnly struct{ io.Writer }

// FlushError flushes what the rewriter has written. Content still held for
// inspection (an inline script cut by the flush) follows with later writes;
// so does the header of a body whose type its first bytes will decide
// (reverse_proxy flushes the header of a streamed response at once).
func (w *responseWriter) FlushError() error {
	if !w.decided {
		if w.status == 0 || w.sniffing() {
			return nil // nothing to flush yet
		}
		w.decide()
	}
	if w.rewriting && w.rw != nil {
		if err := w.rw.Flush(); err != nil {
			return err
		}
	}
	//nolint:bodyclose
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Close finishes the body: it writes out what the rewriter still holds. It
// must be called once the next handler returned.
func (w *responseWriter) Close() error {
	var errs []error
	if !w.decided && w.status != 0 {
		if w.sniffing() {
			if err := w.settleSniffed(w.sniff(true)); err != nil {
				errs = append(errs, err)
			}
		} else {
			w.decide()
		}
	}
	if !w.decided {
		// The handler wrote nothing: net/http sends the header as it is
		// once we return, so its cookies are filtered here.
		w.filterCookies()
	}
	start := time.Now()
	for _, c := range w.closers {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	w.closers = nil
	if w.rw != nil {
		if n := w.rw.XHTMLDropped(); n > 0 {
			w.h.logger.Warn("markup left out of an XHTML page: it cannot be written as XML", zap.Int("pieces", n), zap.String("path", w.r.URL.Path))
		}
		if w.rewriting {
			w.spent += time.Since(start)
			w.h.metrics.rewriteDuration.Observe(w.spent.Seconds())
			w.h.metrics.rewriteBytes.Add(float64(w.bytesIn))
			if w.rw.BodyInserted() {
				w.h.metrics.banners.Inc()
			}
		}
		w.h.rewriters.Put(w.rw)
		w.rw = nil
	}
	if w.markup != nil {
		if cap(*w.markup) <= 64<<10 {
			markupPool.Put(w.markup)
		}
		w.markup = nil
	}
	if w.err != nil {
		errs = append(errs, w.err)
	}
	return errors.Join(errs...)
}

// decide takes the rewrite decision for the response and writes the
// header. A body the browser sniffs has been sniffed by now, and its
// Content-Type set to what the browser computes.
func (w *responseWriter) decide() {
	w.decided = true
	h := w.Header()
	w.filterLinks()
	w.filterCookies()
	if _, typed := h["Content-Type"]; !typed {
		// net/http would sniff a type of its own, ignoring nosniff and
		// turning a body the browser shows as text into HTML it renders.
		h["Content-Type"] = nil
	}

	if w.status == http.StatusNotModified {
		// A 304 (which often lacks a Content-Type) stands for the
		// representation the client holds. When that was a page we
		// rewrote, its ETag carries our suffix: give it back, with the
		// same Vary, or the client would store an ETag without it.
		if w.v.variantRevalidation {
			w.markVariant(h)
		}
		w.ResponseWriter.WriteHeader(w.status)
		return
	}
	mt, nav := mimesniff.ForNavigation(h["Content-Type"], h["X-Content-Type-Options"])
	if nav != mimesniff.Render || !(mt.IsHTML() || mt.IsXHTML()) || w.v.excluded {
		w.ResponseWriter.WriteHeader(w.status)
		return
	}
	if w.status == http.StatusPartialContent {
		if w.r.Header.Get("Range") != "" {
			w.ResponseWriter.WriteHeader(w.status)
			return
		}
		// Part of a page to a request the gateway sent without Range
		// (it drops Range for pages): a browser renders what came as the
		// page, so it is rewritten, whole, as a 200.
		w.status = http.StatusOK
		h.Del("Content-Range")
	}

	enc := contentCoding(h)
	open, decodable := decodableEncodings[enc]
	if enc != "" && !decodable {
		w.failClosed(fmt.Sprintf("upstream sent HTML with content encoding %q, which the consent gateway cannot decode", enc))
		return
	}

	if w.h.ReportOnly && w.h.NoGuard {
		// Nothing changes: the original bytes pass; a copy is inspected.
		// (With the guard, the rewrite in report-only mode changes
		// nothing but putting the guard in, where it only reports.)
		w.ResponseWriter.WriteHeader(w.status)
		if bodyAllowed(w.r.Method, w.status) {
			w.reportOnly = true
			charset, _ := mt.Param("charset")
			w.pipeline = w.buildPipeline(io.Discard, open, enc, charset, mt.IsXHTML())
		}
		return
	}

	// The body will differ from what the upstream described.
	h.Del("Content-Length")
	h.Del("Accept-Ranges")
	if enc != "" {
		h.Del("Content-Encoding")
	}
	charset, _ := mt.Param("charset")
	if htmlencoding.NeedsTranscoding(htmlencoding.Label(charset)) {
		// The page is served as UTF-8 (see buildPipeline).
		for i := range mt.Params {
			if mt.Params[i].Name == "charset" {
				mt.Params[i].Value = "utf-8"
			}
		}
		h.Set("Content-Type", mt.String())
	}
	w.markVariant(h)
	markPrivate(h)
	w.ResponseWriter.WriteHeader(w.status)
	if !bodyAllowed(w.r.Method, w.status) {
		return // HEAD: the same headers as GET, no body
	}
	w.rewriting = true
	w.pipeline = w.buildPipeline(w.ResponseWriter, open, enc, charset, mt.IsXHTML())
}

// buildPipeline chains decoder, transcoder and rewriter in front of dst.
func (w *responseWriter) buildPipeline(dst io.Writer, open func(io.Reader) (io.Reader, error), enc, charset string, xhtml bool) io.Writer {
	w.rw = w.h.rewriters.Get().(*rewrite.Rewriter)
	w.markup = markupPool.Get().(*[]byte)
	w.v.scriptNonce, w.v.styleNonce = cspNonces(w.Header())
	page := w.v.page(w.h, w.r, w.markup)
	*w.markup = page.BodyStart
	// An XHTML page is XML to the browser: edits and insertions are
	// written as XML (rewrite.Page.XHTML).
	page.XHTML = xhtml
	w.rw.Reset(dst, &w.h.rewriteConfig, page)
	var out io.Writer = w.rw
	w.closers = append(w.closers, rewriterCloser{w.rw})
	// The encoding is decided as the browser decides it (a BOM, the
	// header's charset, a <meta>), and pages in an encoding whose markup
	// is not ASCII are transcoded to UTF-8 for the rewriter and the
	// browser alike.
	ew := htmlencoding.NewWriter(out, charset)
	w.closers = append([]io.Closer{ew}, w.closers...)
	out = ew
	if enc != "" {
		dw := newDecodingWriter(open, out)
		w.closers = append([]io.Closer{dw}, w.closers...)
		out = dw
	}
	return out
}

type rewriterCloser struct{ rw *rewrite.Rewriter }

func (c rewriterCloser) Close() error { return c.rw.Close() }

// failClosed answers 502 instead of passing HTML the gateway cannot check.
func (w *responseWriter) failClosed(reason string) {
	w.h.logger.Error("refusing to pass HTML unchecked", zap.String("reason", reason), zap.String("path", w.r.URL.Path))
	h := w.Header()
	for k := range h {
		delete(h, k)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	body := "502 Bad Gateway: " + reason + "\n"
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.ResponseWriter.WriteHeader(http.StatusBadGateway)
	if w.r.Method != http.MethodHead {
		_, _ = io.WriteString(w.ResponseWriter, body)
	}
	w.swallow = true
}

// filterCookies removes the Set-Cookie headers of categories the visitor
// has not accepted, on every response (in report-only mode it only logs).
func (w *responseWriter) filterCookies() {
	h := w.Header()
	sets := h["Set-Cookie"]
	if len(sets) == 0 {
		return
	}
	for _, v := range sets {
		w.h.seen.ObserveSetCookie(v)
	}
	kept, removed := cookies.FilterSetCookie(sets, w.h.ruleset, w.v.accepted, w.v.services...)
	for _, rm := range removed {
		w.h.cookieRemoved(rm, "response")
	}
	if len(removed) == 0 || w.h.ReportOnly {
		return
	}
	if len(kept) == 0 {
		delete(h, "Set-Cookie")
	} else {
		h["Set-Cookie"] = kept
	}
}

// filterLinks drops Link headers that would have the browser contact a
// tracker the visitor has not accepted.
func (w *responseWriter) filterLinks() {
	h := w.Header()
	links := h.Values("Link")
	if len(links) == 0 {
		return
	}
	var kept []string
	changed := false
	for _, l := range links {
		out, ch := rewrite.FilterLinkHeader(l, w.r.Host, w.h.ruleset, w.v.accepted, w.v.observer.Observe)
		changed = changed || ch
		if out != "" {
			kept = append(kept, out)
		}
	}
	if changed && !w.h.ReportOnly {
		h.Del("Link")
		for _, l := range kept {
			h.Add("Link", l)
		}
	}
}

// markVariant suffixes the ETag with the visitor's variant, so a page
// rewritten for one consent state is never revalidated for another, and
// says the response varies with the cookie that holds that state.
func (w *responseWriter) markVariant(h http.Header) {
	if etag := h.Get("ETag"); etag != "" {
		h.Set("ETag", addETagSuffix(etag, w.v.etagSuffix))
	}
	if !httpguts.HeaderValuesContainsToken(h["Vary"], "Cookie") {
		h.Add("Vary", "Cookie")
	}
}

// markPrivate keeps shared caches from storing a page rewritten for one
// visitor's consent.
func markPrivate(h http.Header) {
	cc := h.Get("Cache-Control")
	var keep []string
	private := false
	for _, d := range strings.Split(cc, ",") {
		d = strings.TrimSpace(d)
		name, _, _ := strings.Cut(strings.ToLower(d), "=")
		switch name {
		case "":
		case "public", "s-maxage", "proxy-revalidate":
		case "private", "no-store":
			private = true
			keep = append(keep, d)
		default:
			keep = append(keep, d)
		}
	}
	if !private {
		keep = append([]string{"private"}, keep...)
	}
	h.Set("Cache-Control", strings.Join(keep, ", "))
}

// addETagSuffix appends suffix inside the quotes of an entity tag.
func addETagSuffix(etag, suffix string) string {
	if strings.HasSuffix(etag, `"`) && len(etag) >= 2 {
		return etag[:len(etag)-1] + suffix + `"`
	}
	return etag
}
