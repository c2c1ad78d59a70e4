package caddymodule

import (
	"net/http"
	"strconv"

	"github.com/consentgate/consentgate/banner"
	"github.com/consentgate/consentgate/rules"
)

// settingsView is the query value of the consent endpoint that asks for
// the settings page: GET <prefix>consent?view=settings&return=<path>.
const settingsView = "settings"

// settingsPageCSP is the settings page's policy: the banner's stylesheet
// and a form posted to the site itself; nothing else loads or runs.
const settingsPageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'self'; base-uri 'none'"

// serveSettingsPage answers the settings page: the settings dialog as a
// document of its own, for browsers without JavaScript and pages whose
// policy refuses the dialog the script fetches. Its form posts to the
// consent endpoint, which answers 303 back to the return path (made
// same-origin here and again there).
func (h *Handler) serveSettingsPage(w http.ResponseWriter, r *http.Request) error {
	v := h.newVisit(r)
	var services []banner.ServiceChoice
	for _, s := range h.siteServices.list(h.ruleset, h.offered, v.accepted, v.decision) {
		c, err := rules.ParseCategory(s.Category)
		if err != nil {
			continue
		}
		services = append(services, banner.ServiceChoice{ID: s.ID, Name: s.Name, Category: c, Granted: s.Granted})
	}
	page, err := h.banner.SettingsPage(banner.State{
		Lang:          v.lang,
		Decided:       v.decision != nil,
		Accepted:      v.accepted,
		GPC:           v.gpc,
		PolicyChanged: v.previous != nil,
		ReturnPath:    safeReturn(r.URL.Query().Get("return")),
	}, services)
	if err != nil {
		return h.refuse(w, r, http.StatusInternalServerError, "the settings page could not be rendered")
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	// It shows the visitor's own choices: never from a shared cache.
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", settingsPageCSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Content-Language", v.lang)
	hd.Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(page)
	return err
}
