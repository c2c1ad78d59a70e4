package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// consentPath is the consent endpoint under the reserved prefix.
const consentPath = "consent"

// serveReserved answers requests under the reserved prefix: the banner's
// assets and the consent endpoint. Nothing under it reaches the site.
func (h *Handler) serveReserved(w http.ResponseWriter, r *http.Request, rest string) error {
	if rest == consentPath {
		return h.serveConsent(w, r)
	}
	if rest == historyPath {
		return h.serveHistory(w, r)
	}
	if a, ok := h.assets[rest]; ok {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			return caddyhttp.Error(http.StatusMethodNotAllowed, errNotFound)
		}
		a.serve(w, r)
		return nil
	}
	return caddyhttp.Error(http.StatusNotFound, errNotFound)
}
