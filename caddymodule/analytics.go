package caddymodule

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/consentgate/consentgate/ipmask"
	"github.com/consentgate/consentgate/rules"
)

// AnalyticsRoute names requests that are analytics traffic: a first-party
// path proxied to Google Analytics' collect endpoint, a self-hosted
// Matomo, Plausible, Umami. The gateway answers them itself (204, nothing
// forwarded) when the visitor has not accepted their category, and
// forwards the others with the client address masked in every place the
// next handler and the vendor read it.
type AnalyticsRoute struct {
	// MatchRaw selects the requests of this route (any Caddy request
	// matchers, e.g. path /g/collect /matomo.php).
	MatchRaw caddyhttp.RawMatcherSets `json:"match,omitempty" caddy:"namespace=http.matchers"`

	// Category is what the visitor must accept; default statistics.
	Category string `json:"category,omitempty"`

	// ConsentFree forwards the route's requests without consent (for
	// cookieless, anonymised measurement); they are still masked.
	ConsentFree bool `json:"consent_free,omitempty"`

	// Params are the query and body parameters that carry an IP address
	// the vendor reads. Default: uip (Universal Analytics), _uip (GA4),
	// cip (Matomo).
	Params []string `json:"params,omitempty"`

	// Ensure adds the first of Params with the masked client address when
	// a hit has none of them: for a vendor that would otherwise see only
	// the gateway's own address (e.g. GA4 behind a first-party path).
	Ensure bool `json:"ensure,omitempty"`

	// IPv4Prefix and IPv6Prefix are the bits kept of an address; default
	// 24 (the last octet zeroed) and 48.
	IPv4Prefix int `json:"ipv4_prefix,omitempty"`
	IPv6Prefix int `json:"ipv6_prefix,omitempty"`

	// MaxBody bounds the request bodies the route rewrites (default
	// 64 KiB); larger ones are refused with 413.
	MaxBody int64 `json:"max_body,omitempty"`

	matchers caddyhttp.MatcherSets
	category rules.Category
	params   ipmask.ParamMasker
}

const defaultAnalyticsMaxBody = 64 << 10

func (a *AnalyticsRoute) provision(ctx caddy.Context) error {
	if len(a.MatchRaw) == 0 {
		return errors.New("an analytics route needs a matcher (e.g. path /g/collect)")
	}
	mods, err := ctx.LoadModule(a, "MatchRaw")
	if err != nil {
		return fmt.Errorf("loading matchers: %w", err)
	}
	if err := a.matchers.FromInterface(mods); err != nil {
		return err
	}
	a.category = rules.Statistics
	if a.Category != "" {
		if a.category, err = rules.ParseCategory(a.Category); err != nil {
			return err
		}
	}
	return a.provisionMasking()
}

// provisionMasking sets up the address and parameter masking.
func (a *AnalyticsRoute) provisionMasking() error {
	v4, v6 := a.IPv4Prefix, a.IPv6Prefix
	if v4 == 0 {
		v4 = ipmask.DefaultIPv4Bits
	}
	if v6 == 0 {
		v6 = ipmask.DefaultIPv6Bits
	}
	m, err := ipmask.NewMasker(v4, v6)
	if err != nil {
		return err
	}
	names := a.Params
	if len(names) == 0 {
		names = []string{ipmask.GA4Param, ipmask.UniversalAnalyticsParam, ipmask.MatomoParam}
	}
	a.params = ipmask.ParamMasker{Masker: m, Names: names, Ensure: a.Ensure}
	if a.MaxBody == 0 {
		a.MaxBody = defaultAnalyticsMaxBody
	}
	return nil
}

// analyticsRoute returns the route r belongs to, or nil.
func (h *Handler) analyticsRoute(r *http.Request) (*AnalyticsRoute, error) {
	for i := range h.Analytics {
		a := &h.Analytics[i]
		ok, err := a.matchers.AnyMatchWithError(r)
		if err != nil {
			return nil, err
		}
		if ok {
			return a, nil
		}
	}
	return nil, nil
}

// serveAnalytics answers a request of an analytics route without consent
// itself, and masks the client address of the others before the next
// handler sees them. It reports whether it answered.
func (h *Handler) serveAnalytics(w http.ResponseWriter, r *http.Request, a *AnalyticsRoute, v *visit) (bool, error) {
	if !a.ConsentFree && !v.accepted.Has(a.category) {
		h.analyticsAnswered(a)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
		return true, nil
	}
	if err := a.maskRequest(r); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return true, caddyhttp.Error(http.StatusRequestEntityTooLarge, fmt.Errorf("analytics request body over %d bytes", a.MaxBody))
		}
		return true, caddyhttp.Error(http.StatusBadRequest, err)
	}
	h.analyticsForwarded(a)
	return false, nil
}

// maskRequest replaces the client address everywhere the next handler and
// the vendor read it: r.RemoteAddr (reverse_proxy builds X-Forwarded-For
// from it, {remote_host} reads it), the client_ip variable ({client_ip}),
// the forwarding headers the client sent (dropped), and the IP parameters
// in the query and the body.
func (a *AnalyticsRoute) maskRequest(r *http.Request) error {
	client := clientAddr(r)
	masked := a.params.Masker.MaskAddr(client).String()
	port := "0"
	if _, p, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		port = p
	}
	r.RemoteAddr = net.JoinHostPort(masked, port)
	caddyhttp.SetVar(r.Context(), caddyhttp.ClientIPVarKey, masked)
	for _, hdr := range forwardingHeaders {
		delete(r.Header, hdr) // canonical already: no need for Header.Del's work
	}
	if q, changed := a.params.MaskQueryParams(r.URL.RawQuery, client); changed {
		r.URL.RawQuery = q
		r.RequestURI = r.URL.RequestURI()
	}
	if r.Body == nil || r.Body == http.NoBody || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, a.MaxBody))
	_ = r.Body.Close()
	if err != nil {
		return err
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	out, changed := body, false
	switch {
	case mt == "application/json" || bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")):
		out, changed, err = a.params.MaskMatomoBulkBody(body, client)
		if err != nil {
			return fmt.Errorf("analytics JSON body: %w", err)
		}
	case mt == "application/x-www-form-urlencoded":
		out, changed = a.params.MaskFormBody(body, client)
	default:
		// GA4 and Universal Analytics batches: one hit per line, sent as
		// text/plain by navigator.sendBeacon.
		out, changed = a.params.MaskBatchBody(body, client)
	}
	if !changed {
		out = body
	}
	r.Body = io.NopCloser(bytes.NewReader(out))
	r.ContentLength = int64(len(out))
	r.TransferEncoding = nil
	return nil
}

// forwardingHeaders are the headers in which a client may claim an address.
var forwardingHeaders = []string{"X-Forwarded-For", "X-Real-Ip", "Forwarded", "True-Client-Ip", "Cf-Connecting-Ip", "X-Client-Ip"}

// clientAddr is the client's address as Caddy determined it (trusted
// proxies included), or the unspecified address when it cannot be read.
func clientAddr(r *http.Request) netip.Addr {
	ip, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	if ip == "" {
		ip = r.RemoteAddr
	}
	addr, err := ipmask.ParseAddr(ip)
	if err != nil {
		return netip.IPv4Unspecified()
	}
	return addr
}

func (h *Handler) analyticsAnswered(a *AnalyticsRoute) {
	h.metrics.analytics.WithLabelValues("answered").Inc()
	if c := h.logger.Check(zap.DebugLevel, "analytics request answered by the gateway: no consent"); c != nil {
		c.Write(zap.String("category", a.category.String()))
	}
}

func (h *Handler) analyticsForwarded(a *AnalyticsRoute) {
	h.metrics.analytics.WithLabelValues("forwarded").Inc()
	if c := h.logger.Check(zap.DebugLevel, "analytics request forwarded with the client address masked"); c != nil {
		c.Write(zap.String("category", a.category.String()), zap.Bool("consent_free", a.ConsentFree))
	}
}
