package caddymodule

import (
	"net/http"
	"testing"
)

func TestCSPNonces(t *testing.T) {
	tests := []struct {
		name          string
		headers       map[string][]string
		script, style string
	}{
		{"none", nil, "", ""},
		{"self only", map[string][]string{"Content-Security-Policy": {"script-src 'self'; style-src 'self'"}}, "", ""},
		{"script nonce and strict-dynamic", map[string][]string{"Content-Security-Policy": {"script-src 'nonce-R4nd0m+/=' 'strict-dynamic'; object-src 'none'"}}, "R4nd0m+/=", ""},
		{"default-src governs both", map[string][]string{"Content-Security-Policy": {"default-src 'self' 'nonce-abc'"}}, "abc", "abc"},
		{"script-src-elem before script-src", map[string][]string{"Content-Security-Policy": {"script-src 'nonce-a'; script-src-elem 'nonce-b'; style-src 'nonce-c'"}}, "b", "c"},
		{"a directive without a nonce does not fall back", map[string][]string{"Content-Security-Policy": {"default-src 'nonce-a'; script-src 'self'"}}, "", "a"},
		{"case-insensitive names and keywords", map[string][]string{"Content-Security-Policy": {"SCRIPT-SRC 'NONCE-xyz'"}}, "xyz", ""},
		{"repeated directive: the first counts", map[string][]string{"Content-Security-Policy": {"script-src 'self'; script-src 'nonce-late'"}}, "", ""},
		{"several policies in one header", map[string][]string{"Content-Security-Policy": {"img-src *, script-src 'nonce-p2'"}}, "p2", ""},
		{"several headers", map[string][]string{"Content-Security-Policy": {"img-src *", "style-src 'nonce-s'"}}, "", "s"},
		{"malformed nonces are ignored", map[string][]string{"Content-Security-Policy": {`script-src 'nonce-a"b' 'nonce-' 'nonce-x===' 'nonce-ok'`}}, "ok", ""},
		{"report-only when nothing is enforced", map[string][]string{"Content-Security-Policy-Report-Only": {"script-src 'nonce-ro'"}}, "ro", ""},
		{"enforced before report-only", map[string][]string{"Content-Security-Policy": {"script-src 'nonce-e'"}, "Content-Security-Policy-Report-Only": {"script-src 'nonce-ro'; style-src 'nonce-rs'"}}, "e", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for k, vs := range tt.headers {
				for _, v := range vs {
					h.Add(k, v)
				}
			}
			script, style := cspNonces(h)
			if script != tt.script || style != tt.style {
				t.Errorf("cspNonces = %q, %q; want %q, %q", script, style, tt.script, tt.style)
			}
		})
	}
}

func FuzzCSPNonces(f *testing.F) {
	for _, s := range []string{"script-src 'nonce-abc' 'strict-dynamic'", "default-src 'self', style-src 'nonce-x'", ";;,,", "script-src 'nonce-'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, policy string) {
		script, style := cspNonces(http.Header{"Content-Security-Policy": {policy}})
		for _, n := range []string{script, style} {
			if n != "" && !isBase64Value(n) {
				t.Fatalf("nonce %q is not a base64-value", n)
			}
		}
	})
}
