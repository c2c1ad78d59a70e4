package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/consentgate/consentgate/consent"
	"github.com/consentgate/consentgate/cookies"
	"github.com/consentgate/consentgate/ipmask"
	"github.com/consentgate/consentgate/prooflog"
	"github.com/consentgate/consentgate/rules"
)

// maxDecisionBody bounds a consent request's body.
const maxDecisionBody = 8 << 10

// The actions a visitor takes in the banner.
const (
	actionAcceptAll = "accept_all"
	actionRejectAll = "reject_all"
	actionSave      = "save"
	// actionEmbed is a blocked embed's placeholder: "Load content" grants
	// one service for the page view, "Always allow" (always) lastingly.
	actionEmbed = "embed"
)

// stateResponse is the JSON the consent endpoint answers with.
type stateResponse struct {
	Decided    bool            `json:"decided"`
	ID         string          `json:"id,omitempty"`
	Categories map[string]bool `json:"categories"`
	// Services are the services (vendor IDs) accepted one by one, beyond
	// whole categories.
	Services      []string `json:"services"`
	PolicyVersion string   `json:"policy_version"`
	Time          string   `json:"time,omitempty"`
	Withdrawn     []string `json:"withdrawn,omitempty"`
	// WithdrawnServices are the services a decision took back.
	WithdrawnServices []string `json:"withdrawn_services,omitempty"`
	// Embed is the service an embed decision loads in this page view.
	Embed string `json:"embed,omitempty"`
	// SiteServices are the services the site uses, in offered
	// categories, and whether each is granted: the second layer lists
	// them under their categories.
	SiteServices []serviceState `json:"site_services"`
	GPC          bool           `json:"gpc,omitempty"`
}

type decisionRequest struct {
	Action     string   `json:"action"`
	Categories []string `json:"categories"`
	// Services, with save, are the services accepted one by one.
	Services []string `json:"services"`
	// Vendor, with embed, is the placeholder's service; Always makes the
	// grant lasting.
	Vendor string `json:"vendor"`
	Always bool   `json:"always"`
	// Page is the page the banner was shown on (path; a query is dropped).
	Page string `json:"page"`
}

// serveConsent is the consent endpoint: GET answers the visitor's state
// (or, with ?view=settings, the settings page), POST records a decision.
func (h *Handler) serveConsent(w http.ResponseWriter, r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if r.URL.Query().Get("view") == settingsView {
			return h.serveSettingsPage(w, r)
		}
		v := h.newVisit(r)
		return h.writeState(w, r, http.StatusOK, v.decision, v.accepted, stateExtra{}, v.gpc)
	case http.MethodPost:
		return h.recordDecision(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		return h.refuse(w, r, http.StatusMethodNotAllowed, "use GET to read your consent, POST to change it")
	}
}

// stateExtra is what a decision's answer says beyond the state.
type stateExtra struct {
	withdrawn         rules.Set
	withdrawnServices []string
	embed             string
}

func (h *Handler) writeState(w http.ResponseWriter, r *http.Request, status int, d *consent.Decision, accepted rules.Set, extra stateExtra, gpc bool) error {
	resp := stateResponse{
		Categories:        make(map[string]bool),
		Services:          []string{},
		PolicyVersion:     h.PolicyVersion,
		GPC:               gpc,
		WithdrawnServices: extra.withdrawnServices,
		Embed:             extra.embed,
	}
	for _, c := range h.offered.Categories() {
		resp.Categories[c.String()] = accepted.Has(c)
	}
	if d != nil {
		resp.Decided, resp.ID, resp.Time = true, d.ID, d.Time.UTC().Format("2006-01-02T15:04:05.000Z")
		resp.Services = append(resp.Services, d.Services...)
	}
	for _, c := range extra.withdrawn.Categories() {
		resp.Withdrawn = append(resp.Withdrawn, c.String())
	}
	resp.SiteServices = h.siteServices.list(h.ruleset, h.offered, accepted, d)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return nil
	}
	return json.NewEncoder(w).Encode(resp)
}

// refuse answers an error with a reason the visitor's script (JSON) or a
// person (text) can read.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, reason string) error {
	h.metrics.refusals.WithLabelValues(strconv.Itoa(status)).Inc()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if strings.Contains(r.Header.Get("Accept"), "application/json") || isJSON(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		return json.NewEncoder(w).Encode(map[string]string{"error": reason})
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, err := fmt.Fprintf(w, "%d %s: %s\n", status, http.StatusText(status), reason)
	return err
}

func isJSON(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json"
}

// recordDecision checks a decision, records it durably and only then sets
// the cookie.
func (h *Handler) recordDecision(w http.ResponseWriter, r *http.Request) error {
	if reason := crossSite(r); reason != "" {
		return h.refuse(w, r, http.StatusForbidden, reason)
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" && mt != "application/x-www-form-urlencoded" {
		return h.refuse(w, r, http.StatusUnsupportedMediaType, "send the decision as application/json or a form")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxDecisionBody)
	var req decisionRequest
	form := mt == "application/x-www-form-urlencoded"
	if form {
		if err := r.ParseForm(); err != nil {
			return h.refuseBody(w, r, err)
		}
		req.Action = r.PostForm.Get("action")
		req.Categories = r.PostForm["category"]
		req.Services = r.PostForm["service"]
		req.Vendor = r.PostForm.Get("vendor")
		req.Always = r.PostForm.Get("always") != ""
		req.Page = r.PostForm.Get("return")
	} else {
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			return h.refuseBody(w, r, err)
		}
	}

	v := h.newVisit(r)
	accepted, services, method, err := h.chosen(req, v, form)
	if err != nil {
		return h.refuse(w, r, http.StatusBadRequest, err.Error())
	}
	masked := h.maskedClient(r)
	if h.limiter != nil {
		if ok, wait := h.limiter.allow(masked, time.Now()); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			return h.refuse(w, r, http.StatusTooManyRequests, "too many consent decisions from your network; try again shortly")
		}
	}

	codec, err := h.secrets.get(r.Context())
	if err != nil {
		h.logger.Error("consent keys unavailable", zap.Error(err))
		return h.refuse(w, r, http.StatusServiceUnavailable, "consent cannot be saved right now; please try again")
	}
	d := consent.Decision{Accepted: accepted, Services: services, Time: time.Now().UTC().Truncate(time.Millisecond), PolicyVersion: h.PolicyVersion}
	switch {
	case v.decision != nil:
		d.ID = v.decision.ID
	case v.previous != nil:
		d.ID = v.previous.ID
	default:
		if d.ID, err = consent.NewID(); err != nil {
			return h.refuse(w, r, http.StatusServiceUnavailable, "consent cannot be saved right now; please try again")
		}
	}
	var before rules.Set
	var servicesBefore []string
	if v.decision != nil {
		before, servicesBefore = v.decision.Accepted, v.decision.Services
	}
	withdrawn := before &^ accepted
	var withdrawnServices []string
	for _, s := range servicesBefore {
		// A service taken back, unless its whole category now is granted.
		if !d.HasService(s) && !accepted.Has(h.serviceCategory(s)) {
			withdrawnServices = append(withdrawnServices, s)
		}
	}
	if withdrawn != 0 || len(withdrawnServices) > 0 {
		method = prooflog.MethodWithdrawal
	}
	// "Load content" without "Always allow" loads the embed in this page
	// view: it is recorded, and the lasting consent (the cookie) stays.
	once := req.Action == actionEmbed && !req.Always
	value, err := codec.Encode(d)
	if err != nil {
		return h.refuse(w, r, http.StatusInternalServerError, "consent cannot be encoded")
	}

	rec := h.proofRecord(r, d, method, v, masked, req.Page, codec)
	if method == prooflog.MethodEmbed {
		rec.Vendor = req.Vendor
	}
	start := time.Now()
	err = h.sink.Append(r.Context(), rec)
	h.metrics.proofLatency.Observe(time.Since(start).Seconds())
	if err != nil {
		h.metrics.proofAppends.WithLabelValues("error").Inc()
		h.logger.Error("recording a consent decision failed; no cookie set", zap.Error(err))
		return h.refuse(w, r, http.StatusServiceUnavailable, "your choice could not be recorded; please try again")
	}
	h.metrics.proofAppends.WithLabelValues("ok").Inc()
	h.metrics.decisionMethods.WithLabelValues(string(method)).Inc()
	for _, c := range h.offered.Categories() {
		outcome := "denied"
		if accepted.Has(c) {
			outcome = "granted"
		}
		h.metrics.decisions.WithLabelValues(c.String(), outcome).Inc()
	}

	extra := stateExtra{withdrawn: withdrawn, withdrawnServices: withdrawnServices}
	if req.Action == actionEmbed {
		extra.embed = req.Vendor
	}
	if once {
		if form {
			http.Redirect(w, r, safeReturn(req.Page), http.StatusSeeOther)
			return nil
		}
		return h.writeState(w, r, http.StatusOK, v.decision, v.accepted, extra, v.gpc)
	}
	http.SetCookie(w, h.consentCookie(r, value, codec.LifetimeOf(d)))
	h.expireRefused(w, r, accepted, d.Services)
	if form {
		http.Redirect(w, r, safeReturn(req.Page), http.StatusSeeOther)
		return nil
	}
	return h.writeState(w, r, http.StatusOK, &d, accepted, extra, v.gpc)
}

// expireRefused deletes from the browser every cookie it sent of a category
// the decision does not accept (and whose vendor is not a service accepted
// one by one), HttpOnly ones included: after a withdrawal _ga and friends
// really disappear. In report-only mode nothing is deleted.
func (h *Handler) expireRefused(w http.ResponseWriter, r *http.Request, accepted rules.Set, services []string) {
	if h.ReportOnly {
		return
	}
	var names []string
	for _, name := range cookies.RequestCookieNames(r.Header["Cookie"]) {
		if ok, _ := cookies.Allowed(h.ruleset, name, accepted, services); name != h.CookieName && !ok {
			names = append(names, name)
		}
	}
	for _, v := range cookies.ExpiryHeaders(r.Host, names, visitorUsesHTTPS(r)) {
		w.Header().Add("Set-Cookie", v)
	}
}

func (h *Handler) refuseBody(w http.ResponseWriter, r *http.Request, err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return h.refuse(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("a consent decision is at most %d bytes", maxDecisionBody))
	}
	return h.refuse(w, r, http.StatusBadRequest, "the decision could not be read: "+err.Error())
}

// serviceCategory is the category of a service (vendor ID), or
// unclassified for one the rules do not know.
func (h *Handler) serviceCategory(id string) rules.Category {
	if vendor := h.ruleset.Vendor(id); vendor != nil {
		return vendor.Category
	}
	return rules.Unclassified
}

// checkService says why id cannot be granted one by one, or nil: it must
// be a vendor of the rules in an offered category.
func (h *Handler) checkService(id string) error {
	vendor := h.ruleset.Vendor(id)
	if vendor == nil {
		return fmt.Errorf("unknown service %q", id)
	}
	if !h.offered.Has(vendor.Category) {
		return fmt.Errorf("service %q is in category %s, which is not offered", id, vendor.Category)
	}
	return nil
}

// chosen turns a request into the accepted categories, the services
// accepted one by one, and the method.
func (h *Handler) chosen(req decisionRequest, v *visit, form bool) (rules.Set, []string, prooflog.Method, error) {
	accepted, method, err := h.chosenCategories(req, v, form)
	if err != nil {
		return 0, nil, "", err
	}
	if req.Action != actionSave && len(req.Services) > 0 && !form {
		return 0, nil, "", fmt.Errorf("services are only sent with save")
	}
	if req.Action != actionEmbed && (req.Vendor != "" || req.Always) {
		return 0, nil, "", fmt.Errorf("vendor and always are only sent with embed")
	}
	var services []string
	switch req.Action {
	case actionSave:
		services = req.Services
	case actionEmbed:
		if err := h.checkService(req.Vendor); err != nil {
			return 0, nil, "", fmt.Errorf("embed: %w", err)
		}
		if v.decision != nil {
			services = v.decision.Services
		}
		if req.Always {
			services = append(slices.Clone(services), req.Vendor)
		}
	}
	var kept []string
	for _, s := range services {
		if err := h.checkService(s); err != nil {
			return 0, nil, "", err
		}
		// A service of a category accepted whole needs no grant of its own.
		if !accepted.Has(h.serviceCategory(s)) {
			kept = append(kept, s)
		}
	}
	kept, err = consent.NormalizeServices(kept)
	if err != nil {
		return 0, nil, "", err
	}
	return accepted, kept, method, nil
}

// chosenCategories turns a request into the accepted categories and the
// method.
func (h *Handler) chosenCategories(req decisionRequest, v *visit, form bool) (rules.Set, prooflog.Method, error) {
	method := prooflog.MethodSettings
	var accepted rules.Set
	switch req.Action {
	case actionAcceptAll:
		accepted, method = h.offered, prooflog.MethodAcceptAll
		if v.gpc {
			// Global Privacy Control: marketing stays off unless chosen in
			// the settings.
			accepted, method = accepted.Without(rules.Marketing), prooflog.MethodGPC
		}
	case actionRejectAll:
		accepted, method = rules.OnlyNecessary, prooflog.MethodRejectAll
	case actionEmbed:
		// An embed changes no category: the visitor's standing ones stay.
		accepted, method = v.accepted, prooflog.MethodEmbed
		if len(req.Categories) > 0 && !form {
			return 0, "", fmt.Errorf("categories are only sent with save")
		}
		return accepted.With(rules.Necessary), method, nil
	case actionSave:
		for _, name := range req.Categories {
			c, err := rules.ParseCategory(name)
			if err != nil || !h.offered.Has(c) {
				return 0, "", fmt.Errorf("unknown category %q (offered: %s)", name, h.offered)
			}
			accepted = accepted.With(c)
		}
	default:
		return 0, "", fmt.Errorf("unknown action %q (want accept_all, reject_all, save or embed)", req.Action)
	}
	// The no-JavaScript form sends the ticked boxes with every button, and
	// the settings hold Accept all and Reject all beside Save: there the
	// button decides. A script sends categories only with save.
	if req.Action != actionSave && len(req.Categories) > 0 && !form {
		return 0, "", fmt.Errorf("categories are only sent with save")
	}
	if form {
		method = prooflog.MethodForm
	}
	return accepted.With(rules.Necessary), method, nil
}

// crossSite returns why a POST is not from the site's own pages, or "".
// Browsers send Sec-Fetch-Site and Origin with every POST; Referer is the
// fallback. A request that carries none of them is refused too: it cannot
// be told from a forged one.
func crossSite(r *http.Request) string {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin":
		return ""
	case "":
	default:
		return "consent can only be given on this site's own pages (cross-site request refused)"
	}
	self := requestOrigin(r)
	if o := r.Header.Get("Origin"); o != "" {
		if o != self {
			return "consent can only be given on this site's own pages (Origin " + o + " refused)"
		}
		return ""
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		if err != nil || u.Scheme+"://"+u.Host != self {
			return "consent can only be given on this site's own pages (Referer refused)"
		}
		return ""
	}
	return "the request does not say which page it comes from (no Origin, Referer or Sec-Fetch-Site)"
}

// safeReturn turns a form's return field into a same-origin path. It is
// checked after percent-decoding too ("/%2Fevil.com" must not come back
// as "//evil.com", which is another host), and the result once more as
// the Location header will carry it.
func safeReturn(p string) string {
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") ||
		strings.HasPrefix(u.Path, "//") || strings.HasPrefix(u.Path, "/\\") {
		return "/"
	}
	out := u.EscapedPath()
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	if back, err := url.Parse(out); err != nil || back.Host != "" || back.Scheme != "" ||
		strings.HasPrefix(out, "//") || strings.HasPrefix(out, "/\\") {
		return "/"
	}
	return out
}

// maxRecordedPath bounds the page path a proof record keeps; a longer one
// is cut (at a character boundary) and marked with "…", so a decision on
// a page with a very long path is recorded, not refused.
const maxRecordedPath = 2048

func truncatePath(p string) string {
	if len(p) <= maxRecordedPath {
		return p
	}
	cut := maxRecordedPath
	for cut > 0 && !utf8.RuneStart(p[cut]) {
		cut--
	}
	return p[:cut] + "…"
}

// maskedClient is the client's address masked for the proof log and the
// rate limit: the address Caddy determined (trusted proxies included).
func (h *Handler) maskedClient(r *http.Request) string {
	ip, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	if ip == "" {
		ip = r.RemoteAddr
	}
	addr, err := ipmask.ParseAddr(ip)
	if err != nil {
		addr = netip.IPv4Unspecified()
	}
	return h.masker.MaskAddr(addr).String()
}

// proofRecord builds the record of a decision.
func (h *Handler) proofRecord(r *http.Request, d consent.Decision, method prooflog.Method, v *visit, masked, page string, codec *consent.Codec) *prooflog.Record {
	rec := &prooflog.Record{
		ConsentID:     d.ID,
		Time:          d.Time,
		Method:        method,
		PolicyVersion: d.PolicyVersion,
		Language:      v.lang,
		Origin:        requestOrigin(r),
		Path:          pagePath(page, r),
		MaskedIP:      masked,
		GPC:           v.gpc,
		Services:      d.Services,
		Texts:         &prooflog.Texts{Language: v.lang, Strings: h.banner.Texts(v.lang)},
	}
	for _, c := range h.offered.Categories() {
		rec.Categories = append(rec.Categories, prooflog.Category{Name: c.String(), Granted: d.Accepted.Has(c)})
	}
	rec.UAHash, rec.UAKeyID = codec.Keys.HashUserAgent(r.UserAgent())
	return rec
}

// pagePath is the path of the page the decision was made on, without a
// query: the form's return field, the script's page field, or the Referer.
func pagePath(page string, r *http.Request) string {
	if page == "" {
		page = r.Header.Get("Referer")
	}
	u, err := url.Parse(page)
	if err != nil || u.Path == "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return truncatePath(u.Path)
}

// consentCookie is the Set-Cookie of a decision.
func (h *Handler) consentCookie(r *http.Request, value string, lifetime time.Duration) *http.Cookie {
	return &http.Cookie{
		Name:     h.CookieName,
		Value:    value,
		Path:     "/",
		Domain:   h.CookieDomain,
		MaxAge:   int(lifetime.Seconds()),
		Secure:   visitorUsesHTTPS(r),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}
