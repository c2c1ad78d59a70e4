package caddymodule

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/consentgate/consentgate/internal/testenv"
)

// gateway starts Caddy with a cookie_consent block in front of up and
// returns its base URL.
func gateway(t *testing.T, block string, up *httptest.Server) string {
	t.Helper()
	port := testenv.FreePort(t)
	startCaddy(t, fmt.Sprintf("http://:%d {\n\tbind 127.0.0.1\n\tcookie_consent %s\n\treverse_proxy %s\n}\n", port, block, strings.TrimPrefix(up.URL, "http://")))
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	return getWith(t, url, nil)
}

// getWith GETs url with the headers given (an empty value sets none) and
// reads the whole body.
func getWith(t *testing.T, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req := mustRequest(t, "GET", url)
	for k, v := range header {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestOutputStreamsBeforeTheUpstreamFinishes(t *testing.T) {
	release := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, `<html><head><script src="https://connect.facebook.net/en_US/fbevents.js"></script></head><body><p>first part</p>`+strings.Repeat("<p>filler</p>", 3000))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
		_, _ = io.WriteString(w, `<p>second part</p></body></html>`)
	}))
	defer up.Close()
	defer close(release)
	base := gateway(t, "", up)

	resp, err := client().Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	var seen bytes.Buffer
	deadline := time.Now().Add(5 * time.Second)
	for !bytes.Contains(seen.Bytes(), []byte("first part")) {
		if time.Now().After(deadline) {
			t.Fatalf("nothing of the page arrived while the upstream was still sending; got %d bytes", seen.Len())
		}
		buf := make([]byte, 4096)
		n, err := br.Read(buf)
		seen.Write(buf[:n])
		if err != nil {
			t.Fatalf("reading: %v", err)
		}
	}
	if !bytes.Contains(seen.Bytes(), []byte(`data-consent-src="https://connect.facebook.net/en_US/fbevents.js"`)) {
		t.Fatalf("the first part arrived unneutralised: %.300s", seen.Bytes())
	}
	if bytes.Contains(seen.Bytes(), []byte("second part")) {
		t.Fatal("the second part arrived before the upstream sent it")
	}
	release <- struct{}{}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(rest, []byte("second part")) {
		t.Fatal("the second part never arrived")
	}
}

func TestCaddyfileOptionsChangeBehaviour(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, `<html><head>`+
			`<script src="https://plausible.io/js/script.js"></script>`+
			`<script src="https://cdn.widgets.example.net/w.js"></script>`+
			`<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=X">`+
			`<script>myTracker('init')</script>`+
			`</head><body><iframe src="https://www.youtube.com/embed/x"></iframe><img src="https://www.facebook.com/tr"></body></html>`)
	}))
	defer up.Close()

	tests := []struct {
		name       string
		block      string
		path       string
		has, hasNo []string
	}{
		{"a site rule classifies a host", `{
		rule statistics *.plausible.io plausible.io
	}`, "/", []string{`data-consent-category="statistics" data-consent-vendor="site-1" data-consent-src="https://plausible.io/js/script.js"`}, nil},
		{"a site signature classifies an inline script", `{
		signature marketing "myTracker("
	}`, "/", []string{`<script type="text/plain" data-consent-category="marketing" data-consent-vendor="site-1">myTracker('init')</script>`}, nil},
		{"necessary lets Google Fonts load", `{
		necessary fonts.googleapis.com
	}`, "/", []string{`<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=X">`}, nil},
		{"unknown third-party scripts run by default", ``, "/", []string{`<script src="https://cdn.widgets.example.net/w.js"></script>`}, nil},
		{"unknown third-party scripts are held with the block policy", `{
		unknown_scripts block
	}`, "/", []string{`data-consent-category="unclassified" data-consent-src="https://cdn.widgets.example.net/w.js"`}, nil},
		{"strip removes a category's elements", `{
		strip marketing
	}`, "/", []string{`<body><div id="consentgate"`}, []string{"<iframe", "www.facebook.com/tr"}},
		{"report-only passes the page unchanged but for the guard, which only reports", `{
		report_only
	}`, "/", []string{`<html><head><script src="/.well-known/consent/guard.`, `<iframe src="https://www.youtube.com/embed/x">`, `<img src="https://www.facebook.com/tr">`}, []string{"data-consent", "/.well-known/consent/banner.", `id="consentgate"`}},
		{"report-only without the guard passes the page byte for byte", `{
		report_only
		no_guard
	}`, "/", []string{`<iframe src="https://www.youtube.com/embed/x">`, `<img src="https://www.facebook.com/tr">`}, []string{"data-consent", "/.well-known/consent/"}},
		{"excluded paths pass untouched", `{
		exclude /wp-admin/*
	}`, "/wp-admin/index.php", []string{`<img src="https://www.facebook.com/tr">`}, []string{"data-consent"}},
		{"without the marketing category, its rules fall to unclassified", `{
		categories statistics preferences
	}`, "/", []string{`data-consent-category="unclassified" data-consent-vendor="youtube"`}, nil},
		{"another prefix", `{
		prefix /_consent/
	}`, "/", []string{`href="/_consent/banner.`}, []string{"/.well-known/consent/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := gateway(t, tt.block, up)
			_, body := get(t, base+tt.path)
			for _, s := range tt.has {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %s\n%s", s, body)
				}
			}
			for _, s := range tt.hasNo {
				if strings.Contains(body, s) {
					t.Errorf("body has %s\n%s", s, body)
				}
			}
		})
	}
}

func TestBadCaddyfileFailsWithLineAndReason(t *testing.T) {
	tests := []struct {
		name, block, want, at string
	}{
		{"unknown option", "{\n\t\tblock_everything\n\t}", `unknown cookie_consent option "block_everything"`, "Caddyfile:4"},
		{"unknown category", "{\n\t\trule analytics *.example.com\n\t}", `rule: unknown category "analytics"`, "Caddyfile:4"},
		{"scheme in a pattern", "{\n\t\tcategories statistics\n\t\trule marketing https://ads.example.com\n\t}", `rule: URL pattern "https://ads.example.com" has a scheme`, "Caddyfile:5"},
		{"short signature", "{\n\t\tsignature statistics ga\n\t}", `signature: inline signature "ga" is shorter than 3 bytes`, "Caddyfile:4"},
		{"bad unknown_scripts", "{\n\t\tunknown_scripts maybe\n\t}", `unknown_scripts "maybe": want allow`, "Caddyfile:4"},
		{"necessary cannot be stripped", "{\n\t\tstrip necessary\n\t}", `strip: necessary elements are never removed`, "Caddyfile:4"},
		{"rule without patterns", "{\n\t\trule marketing\n\t}", `rule needs at least one URL pattern`, "Caddyfile:4"},
		{"bad max_hold", "{\n\t\tmax_hold lots\n\t}", `max_hold "lots"`, "Caddyfile:4"},
		{"argument on the directive", "everything", `wrong argument count`, "Caddyfile:3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cf := "http://localhost:9999 {\n\treverse_proxy 127.0.0.1:1\n\tcookie_consent " + tt.block + "\n}\n"
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": "Caddyfile"})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasSuffix(err.Error(), "at "+tt.at) {
				t.Fatalf("error %v\nwant it to say %q at %s", err, tt.want, tt.at)
			}
		})
	}
}

// TestEveryExampleConfigValidates adapts every Caddyfile under configs/ and
// the root Caddyfile, and validates them as `caddy validate` does (which
// provisions every module).
func TestEveryExampleConfigValidates(t *testing.T) {
	t.Chdir("..") // configs name paths relative to the repository root
	files := []string{"Caddyfile"}
	_ = filepath.WalkDir("configs", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (d.Name() == "Caddyfile" || strings.HasSuffix(d.Name(), ".caddyfile")) {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 4 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfgJSON, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(data, map[string]any{"filename": f})
			if err != nil {
				t.Fatalf("adapt: %v", err)
			}
			var cfg caddy.Config
			if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
				t.Fatal(err)
			}
			if err := caddy.Validate(&cfg); err != nil {
				t.Fatalf("validate: %v", err)
			}
		})
	}
}
