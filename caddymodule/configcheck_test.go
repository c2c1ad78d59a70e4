package caddymodule

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/consentgate/consentgate/banner"
)

// TestConfigErrorsNameTheOptionTheFixAndTheLine: mistakes an operator
// makes in the cookie_consent block fail `caddy adapt` (and so `caddy
// validate` and `caddy run`) at the line, saying what to do.
func TestConfigErrorsNameTheOptionTheFixAndTheLine(t *testing.T) {
	dir := t.TempDir()
	badRules := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badRules, []byte(`{"format": 1, "vendors": [{"id": "x", "name": "X", "category": "ads"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		lines string
		want  []string
		at    string
	}{
		{"short secret", "secret tooshort", []string{"secret: is 8 bytes; at least 32 bytes are needed", "openssl rand -base64 32", "leave the option out"}, "Caddyfile:4"},
		{"short previous secret", "previous_secrets " + strings.Repeat("k", 40) + " short", []string{"previous_secrets: secret 2 is 5 bytes", "openssl rand"}, "Caddyfile:4"},
		{"unknown text key", "text nl titel \"Koekjes\"", []string{"text nl titel: unknown text key", "accept_all", "title", "README"}, "Caddyfile:4"},
		{"text for a language not offered", "languages nl\n\t\ttext en title \"Cookies\"", []string{`texts for language "en", which is not offered`}, "Caddyfile:5"},
		{"language without built-in texts", "languages nl de", []string{`language "de" has no built-in texts`, "text <language> <key>", "(en, nl)"}, "Caddyfile:4"},
		{"language listed twice", "languages nl en nl", []string{`language "nl" is listed twice`}, "Caddyfile:4"},
		{"not a language tag", "languages nl_NL", []string{`language "nl_NL" is not a language tag`}, "Caddyfile:4"},
		{"missing rules file", "rules_file " + filepath.Join(dir, "nope.json"), []string{"nope.json: no such file", "give the path of a rules file"}, "Caddyfile:4"},
		{"relative rules file", "rules_file rules/site.json", []string{"rules/site.json: no such file", "relative path is read from the directory Caddy runs in"}, "Caddyfile:4"},
		{"invalid rules file", "rules_file " + badRules, []string{"bad.json", `"ads"`}, "Caddyfile:4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := "http://localhost:9999 {\n\treverse_proxy 127.0.0.1:1\n\tcookie_consent {\n\t\t" + tt.lines + "\n\t}\n}\n"
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": "Caddyfile"})
			if err == nil {
				t.Fatal("adapted without an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			if !strings.HasSuffix(err.Error(), "at "+tt.at) {
				t.Errorf("error %q\nis not at %s", err, tt.at)
			}
			if strings.Contains(err.Error(), "tooshort") {
				t.Error("the error quotes the secret")
			}
		})
	}
}

// TestProvisionErrorsSayTheFix: what only the running machine can tell (a
// secret from the environment, a rules file in a JSON config) fails
// `caddy validate` naming the site, the variable or file, and what to do.
func TestProvisionErrorsSayTheFix(t *testing.T) {
	t.Setenv("CONSENTGATE_TEST_SHORT_SECRET", "short")
	tests := []struct {
		name    string
		handler string
		want    []string
	}{
		{"secret from an unset or short variable", `{"handler":"cookie_consent","secret":"{env.CONSENTGATE_TEST_SHORT_SECRET}"}`,
			[]string{"secret is 5 bytes after placeholders", "is CONSENTGATE_TEST_SHORT_SECRET set", "EnvironmentFile", "openssl rand -base64 32"}},
		{"previous secret", `{"handler":"cookie_consent","previous_secrets":["{env.CONSENTGATE_TEST_UNSET_SECRET}"]}`,
			[]string{"previous_secrets: secret 1 is 0 bytes", "CONSENTGATE_TEST_UNSET_SECRET"}},
		{"missing rules file", `{"handler":"cookie_consent","rules_files":["/nonexistent/site-rules.json"]}`,
			[]string{"rules_file /nonexistent/site-rules.json: no such file"}},
		{"proof log database from an unset variable", `{"handler":"cookie_consent","proof_log":{"postgres":"{env.CONSENTGATE_TEST_UNSET_DSN}"}}`,
			[]string{"proof_log postgres {env.CONSENTGATE_TEST_UNSET_DSN} is empty", "is CONSENTGATE_TEST_UNSET_DSN set"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfgJSON := `{"admin":{"disabled":true},"apps":{"http":{"servers":{"s":{"listen":["127.0.0.1:0"],"routes":[` +
				`{"match":[{"host":["other.example"]}],"handle":[{"handler":"cookie_consent"}]},` +
				`{"match":[{"host":["shop.example"]}],"handle":[{"handler":"subroute","routes":[{"handle":[` + tt.handler + `]}]}]}]}}}}}`
			var cfg caddy.Config
			if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
				t.Fatal(err)
			}
			err := caddy.Validate(&cfg)
			if err == nil {
				t.Fatal("validated")
			}
			for _, w := range append(tt.want, "cookie_consent in site shop.example (server s (127.0.0.1:0))") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "other.example") {
				t.Errorf("error %q\nnames a site whose cookie_consent is fine", err)
			}
		})
	}
}

// TestReadmeListsEveryBannerTextKey: the text-key errors send operators to
// README's "Banner texts"; it must list every key the banner has.
func TestReadmeListsEveryBannerTextKey(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	start := strings.Index(s, "\n### Banner texts\n")
	if start < 0 {
		t.Fatal(`README has no "### Banner texts" section`)
	}
	section := s[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	for _, k := range banner.Keys() {
		if !strings.Contains(section, "| `"+k+"` |") {
			t.Errorf("README's Banner texts table lacks the key %s", k)
		}
	}
}
