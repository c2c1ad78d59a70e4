package caddymodule

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
)

// A cookie_consent that cannot work is a configuration error that names
// the site and the fix, not a silent no-op.
func TestMisplacedCookieConsentIsAnError(t *testing.T) {
	dir := t.TempDir()
	cc := func(n int) string {
		return fmt.Sprintf("cookie_consent {\n\t\tproof_log {\n\t\t\tdir %s\n\t\t}\n\t}", filepath.Join(dir, fmt.Sprint("log", n)))
	}
	tests := []struct {
		name, caddyfile string
		want            []string // in the error; none: valid
	}{
		{"in a site block the Caddyfile orders it", "shop.example {\n\tfile_server\n\t" + cc(1) + "\n}", nil},
		{"in a route before the answering handler", "shop.example {\n\troute {\n\t" + cc(1) + "\n\tfile_server\n\t}\n}", nil},
		{"one per site", "a.example {\n\t" + cc(1) + "\n\trespond hi\n}\nb.example {\n\t" + cc(2) + "\n\trespond hi\n}", nil},
		{"one per exclusive handle", "a.example {\n\thandle /shop/* {\n\t" + cc(1) + "\n\trespond hi\n\t}\n\thandle {\n\t" + cc(2) + "\n\trespond hi\n\t}\n}", nil},
		{"after file_server with pass_thru", "a.example {\n\troute {\n\tfile_server {\n\t\tpass_thru\n\t}\n\t" + cc(1) + "\n\trespond hi\n\t}\n}", nil},
		{"in a route after file_server", "shop.example {\n\troute {\n\t\tfile_server\n\t\t" + cc(1) + "\n\t}\n}",
			[]string{"site shop.example", "cookie_consent comes after file_server", "never runs", "put cookie_consent before file_server"}},
		{"in a route after reverse_proxy", ":8080 {\n\troute {\n\t\treverse_proxy 127.0.0.1:9\n\t\t" + cc(1) + "\n\t}\n}",
			[]string{"server srv0 (:8080)", "after reverse_proxy"}},
		{"after a respond in a route, nested in a handle", "shop.example {\n\thandle /blog/* {\n\t\troute {\n\t\t\trespond hi\n\t\t\t" + cc(1) + "\n\t\t}\n\t}\n}",
			[]string{"site shop.example", "after static_response"}},
		{"twice in one site", "shop.example {\n\t" + cc(1) + "\n\thandle /x/* {\n\t\t" + cc(2) + "\n\t\treverse_proxy 127.0.0.1:9\n\t}\n\trespond hi\n}",
			[]string{"site shop.example", "two cookie_consent handlers run on the same requests", "keep one cookie_consent per site"}},
		{"twice in one route", "shop.example {\n\troute {\n\t\t" + cc(1) + "\n\t\t" + cc(2) + "\n\t\trespond hi\n\t}\n}",
			[]string{"site shop.example", "two cookie_consent handlers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateCaddyfile(t, "Caddyfile", []byte("{\n\tskip_install_trust\n\tstorage file_system "+dir+"\n}\n"+tt.caddyfile+"\n"))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error, the config validated")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// A JSON config is checked as a Caddyfile is.
func TestMisplacedCookieConsentInJSON(t *testing.T) {
	dir := t.TempDir()
	cfgJSON := fmt.Sprintf(`{"storage": {"module": "file_system", "root": %q}, "apps": {"http": {"servers": {"web": {"listen": [":8081"], "routes": [
		{"handle": [{"handler": "static_response", "body": "hi"}]},
		{"handle": [{"handler": "cookie_consent", "proof_log": {"dir": %q}}]}
	]}}}}}`, dir, filepath.Join(dir, "log"))
	var cfg caddy.Config
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		t.Fatal(err)
	}
	err := caddy.Validate(&cfg)
	if err == nil || !strings.Contains(err.Error(), "server web (:8081): cookie_consent comes after static_response") {
		t.Fatalf("got %v", err)
	}
}
