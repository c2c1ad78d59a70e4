package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	// The standard modules, as the real binary has them.
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

// This file runs a real Caddy, configured through the Caddyfile adapter,
// for the end-to-end tests. Caddy runs one config per process at a time,
// so these tests do not run in parallel.

// startCaddy adapts caddyfile (with %[1]s standing for the storage folder)
// and runs it until the test ends. The global options turn off the admin
// endpoint, automatic HTTPS and logging unless the config sets them.
func startCaddy(t testing.TB, caddyfile string) {
	t.Helper()
	startCaddyWith(t, "", caddyfile)
}

// startCaddyWith is startCaddy with more global options.
func startCaddyWith(t testing.TB, globalOptions, caddyfile string) {
	t.Helper()
	storage := t.TempDir()
	autoHTTPS := "\tauto_https off\n"
	if strings.Contains(globalOptions, "auto_https") {
		autoHTTPS = ""
	}
	global := fmt.Sprintf("{\n\tadmin off\n%s\tstorage file_system %s\n\tlog {\n\t\toutput discard\n\t}\n%s\n}\n", autoHTTPS, storage, globalOptions)
	cfgJSON := adaptCaddyfile(t, global+caddyfile)
	if err := caddy.Load(cfgJSON, true); err != nil {
		t.Fatalf("loading config: %v\n%s", err, cfgJSON)
	}
	t.Cleanup(func() {
		if err := caddy.Stop(); err != nil {
			t.Errorf("stopping caddy: %v", err)
		}
	})
}

func adaptCaddyfile(t testing.TB, caddyfile string) []byte {
	t.Helper()
	adapter := caddyconfig.GetAdapter("caddyfile")
	cfgJSON, warnings, err := adapter.Adapt([]byte(caddyfile), nil)
	if err != nil {
		t.Fatalf("adapting Caddyfile: %v\n%s", err, caddyfile)
	}
	for _, w := range warnings {
		t.Logf("adapt warning: %s:%d: %s", w.File, w.Line, w.Message)
	}
	return cfgJSON
}

// client returns an HTTP client that does not follow redirects or add
// Accept-Encoding on its own.
func client() *http.Client {
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{DisableCompression: true, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

func TestModuleIsRegistered(t *testing.T) {
	mi, err := caddy.GetModule("http.handlers.cookie_consent")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mi.New().(*Handler); !ok {
		t.Fatalf("module constructs %T", mi.New())
	}
}

func TestBareDirectiveAdaptsToSafeDefaults(t *testing.T) {
	cfg := adaptCaddyfile(t, "http://localhost:9999 {\n\tcookie_consent\n\treverse_proxy 127.0.0.1:1\n}\n")
	var parsed struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []json.RawMessage `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(cfg, &parsed); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cfg), `"handler":"cookie_consent"`) {
		t.Fatalf("no cookie_consent handler in %s", cfg)
	}
	// The handler must come before reverse_proxy in the route.
	if i, j := strings.Index(string(cfg), "cookie_consent"), strings.Index(string(cfg), "reverse_proxy"); i < 0 || j < i {
		t.Fatalf("cookie_consent does not wrap reverse_proxy: %s", cfg)
	}
	var c caddy.Config
	if err := json.Unmarshal(cfg, &c); err != nil {
		t.Fatal(err)
	}
	if err := caddy.Validate(&c); err != nil {
		t.Fatalf("a bare cookie_consent does not validate: %v", err)
	}
	// What the bare directive does is checked end to end by
	// TestConformance: every known tracker is neutralised, nothing is
	// accepted, unknown third-party scripts run and are reported.
}

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		runCrashChild()
	}
	// Keep Caddy from writing an autosave file into the user's config dir.
	if dir, err := os.MkdirTemp("", "consentgate-test-home"); err == nil {
		os.Setenv("XDG_CONFIG_HOME", dir)
		os.Setenv("XDG_DATA_HOME", dir)
		code := m.Run()
		os.RemoveAll(dir)
		os.Exit(code)
	}
	os.Exit(m.Run())
}
