package caddymodule

import (
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// visitorUsesHTTPS reports whether the visitor's browser reached the site
// over HTTPS: the connection to Caddy is TLS, or Caddy's trusted_proxies
// says the peer is a trusted proxy (a load balancer that terminates TLS)
// and its X-Forwarded-Proto says https. The header of an untrusted peer is
// ignored, as Caddy's reverse_proxy ignores it, since any client can send
// it. Behind such a proxy this decides the consent cookie's Secure
// attribute, the origin the same-origin check expects and the origin the
// proof record keeps.
func visitorUsesHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool); !trusted {
		return false
	}
	// The proxy nearest to Caddy writes the last value, as reverse_proxy
	// reads it; a list in one line ("https, http") ends with its entry.
	values := r.Header.Values("X-Forwarded-Proto")
	if len(values) == 0 {
		return false
	}
	last := values[len(values)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(last), "https")
}

// requestOrigin is the origin the visitor's browser uses for this site:
// the scheme it used (see visitorUsesHTTPS) and the Host it asked for. A
// load balancer in front must pass the Host header on unchanged, as Caddy
// routes sites by it anyway.
func requestOrigin(r *http.Request) string {
	if visitorUsesHTTPS(r) {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}
