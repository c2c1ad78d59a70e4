package caddymodule

import (
	"net/http"
	"strings"
)

// cspNonces returns the nonces that the page's Content-Security-Policy
// headers require of the script and the stylesheet elements the gateway
// inserts (the guard, the banner's script and stylesheet, Consent Mode's
// script), or "" where a policy asks for none. Each header may carry
// several policies separated by commas; every one is enforced, so the
// first nonce found in the directive that governs the element wins (a
// page whose policies want different nonces cannot be served by any
// single tag). The directive that governs a script element is
// script-src-elem, else script-src, else default-src; for a stylesheet
// link, style-src-elem, style-src, default-src. Report-only policies are
// read when no enforced one asks for a nonce, so their reports stay
// quiet too.
//
// A <meta http-equiv> policy needs nothing here: it governs what comes
// after it, and the gateway inserts its tags right after <head>; the
// banner script gives restored scripts the page's own nonce.
func cspNonces(h http.Header) (script, style string) {
	for _, name := range []string{"Content-Security-Policy", "Content-Security-Policy-Report-Only"} {
		for _, v := range h.Values(name) {
			for _, policy := range strings.Split(v, ",") {
				if script == "" {
					script = policyNonce(policy, "script-src-elem", "script-src")
				}
				if style == "" {
					style = policyNonce(policy, "style-src-elem", "style-src")
				}
			}
		}
		if script != "" || style != "" {
			return script, style
		}
	}
	return script, style
}

// policyNonce returns the first nonce source of the directive of one
// policy that governs an element: the first of names present, else
// default-src.
func policyNonce(policy string, names ...string) string {
	directives := make(map[string]string)
	for _, d := range strings.Split(policy, ";") {
		d = strings.TrimSpace(d)
		name, value, _ := strings.Cut(d, " ")
		name = strings.ToLower(strings.TrimSpace(name))
		if _, dup := directives[name]; name != "" && !dup {
			directives[name] = value // a repeated directive is ignored, as browsers do
		}
	}
	value, ok := "", false
	for _, n := range append(names, "default-src") {
		if value, ok = directives[n]; ok {
			break
		}
	}
	if !ok {
		return ""
	}
	for _, src := range strings.Fields(value) {
		if len(src) > len("'nonce-'") && strings.HasPrefix(strings.ToLower(src), "'nonce-") && strings.HasSuffix(src, "'") {
			if n := src[len("'nonce-") : len(src)-1]; isBase64Value(n) {
				return n
			}
		}
	}
	return ""
}

// isBase64Value reports whether s is a CSP base64-value: base64 or
// base64url characters, then at most two "=".
func isBase64Value(s string) bool {
	t := strings.TrimRight(s, "=")
	if t == "" || len(s)-len(t) > 2 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
