package caddymodule

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
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
	"github.com/consentgate/consentgate/prooflog"
)

// productionEnv is the environment the configs of README's Production
// section read through {env.…} placeholders.
func productionEnv(t *testing.T) {
	t.Setenv("CONSENTGATE_SECRET", "a shared secret of at least thirty-two bytes")
	t.Setenv("CONSENTGATE_PG_DSN", "postgres://consentgate_gw:pw@db.internal:5432/consentgate?sslmode=verify-full")
}

// validateCaddyfile adapts and validates a config as `caddy validate`
// does, which provisions every module.
func validateCaddyfile(t *testing.T, name string, data []byte) error {
	t.Helper()
	cfgJSON, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(data, map[string]any{"filename": name})
	if err != nil {
		return err
	}
	var cfg caddy.Config
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		t.Fatal(err)
	}
	return caddy.Validate(&cfg)
}

// TestProductionConfigsValidate: every config README's Production section
// shows is in configs/production and validates.
func TestProductionConfigsValidate(t *testing.T) {
	files, err := filepath.Glob("../configs/production/*.Caddyfile")
	if err != nil || len(files) < 3 {
		t.Fatalf("production configs: %v %v", files, err)
	}
	productionEnv(t)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateCaddyfile(t, filepath.Base(f), data); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestClusterConfigWithoutItsSecretFails: an instance started without the
// shared secret in its environment refuses to start, naming the variable,
// instead of signing cookies the other instances reject.
func TestClusterConfigWithoutItsSecretFails(t *testing.T) {
	data, err := os.ReadFile("../configs/production/cluster.Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	productionEnv(t)
	t.Setenv("CONSENTGATE_SECRET", "")
	err = validateCaddyfile(t, "cluster.Caddyfile", data)
	if err == nil || !strings.Contains(err.Error(), "is CONSENTGATE_SECRET set") {
		t.Fatalf("validated without CONSENTGATE_SECRET: %v", err)
	}
}

// TestLoadBalancerConfigRuns runs configs/production/load-balancer.Caddyfile
// (on a free port, in front of a test upstream) as the balancer would
// reach it: the visitor's https origin is accepted, the cookie is Secure.
func TestLoadBalancerConfigRuns(t *testing.T) {
	data, err := os.ReadFile("../configs/production/load-balancer.Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><head></head><body>the shop</body></html>")
	}))
	t.Cleanup(up.Close)
	port := testenv.FreePort(t)
	cf := string(data)
	for old, repl := range map[string]string{
		"http://example.com {":         fmt.Sprintf("http://example.com:%d {\n\tbind 127.0.0.1", port),
		"reverse_proxy 10.0.1.20:8080": "reverse_proxy " + strings.TrimPrefix(up.URL, "http://"),
		"\tauto_https off\n":           fmt.Sprintf("\tauto_https off\n\tadmin off\n\tstorage file_system %s\n", t.TempDir()),
		"\t\tpolicy_url /privacy/\n":   fmt.Sprintf("\t\tpolicy_url /privacy/\n\t\tproof_log {\n\t\t\tdir %s\n\t\t}\n", t.TempDir()),
	} {
		if !strings.Contains(cf, old) {
			t.Fatalf("the config no longer has %q", old)
		}
		cf = strings.Replace(cf, old, repl, 1)
	}
	cfgJSON, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := caddy.Load(cfgJSON, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port))

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.Host = "example.com"
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "the shop") || !strings.Contains(string(page), "/.well-known/consent/") {
		t.Fatalf("page through the balancer config lacks the banner: %d %s", resp.StatusCode, page)
	}

	req, _ = http.NewRequest("POST", base+"/.well-known/consent/consent", strings.NewReader(`{"action":"reject_all"}`))
	req.Host = "example.com"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "https://example.com")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	resp, err = client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("decision from https://example.com through the balancer: %d %s", resp.StatusCode, body)
	}
	var secure bool
	for _, c := range resp.Cookies() {
		if c.Name == DefaultCookieName {
			secure = c.Secure
		}
	}
	if !secure {
		t.Errorf("the consent cookie is not Secure behind the balancer: %v", resp.Header["Set-Cookie"])
	}
}

// TestDemoListensOnLoopbackOnly: the demo in the root Caddyfile is not
// reachable from the network.
func TestDemoListensOnLoopbackOnly(t *testing.T) {
	data, err := os.ReadFile("../Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	cfgJSON, _, err := caddyconfig.GetAdapter("caddyfile").Adapt(data, map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Admin struct {
			Listen string `json:"listen"`
		} `json:"admin"`
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Listen []string `json:"listen"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		t.Fatal(err)
	}
	var addrs []string
	for _, s := range cfg.Apps.HTTP.Servers {
		addrs = append(addrs, s.Listen...)
	}
	if len(addrs) == 0 {
		t.Fatal("no listeners")
	}
	for _, a := range append(addrs, cfg.Admin.Listen) {
		host, _, err := net.SplitHostPort(strings.TrimPrefix(a, "tcp/"))
		if err != nil {
			t.Fatalf("listener %q: %v", a, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			t.Errorf("the demo listens on %q, beyond loopback", a)
		}
	}
}

// TestFullConfigShowsEveryOption: configs/full/Caddyfile shows every
// option the Caddyfile syntax in UnmarshalCaddyfile's comment lists, in
// use or commented out with its explanation.
func TestFullConfigShowsEveryOption(t *testing.T) {
	src, err := os.ReadFile("caddyfile.go")
	if err != nil {
		t.Fatal(err)
	}
	full, err := os.ReadFile("../configs/full/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	shown := make(map[string]bool)
	for _, line := range strings.Split(string(full), "\n") {
		f := strings.Fields(strings.TrimLeft(strings.TrimSpace(line), "# "))
		if len(f) > 0 {
			shown[f[0]] = true
		}
	}
	var options []string
	inSyntax := false
	for _, line := range strings.Split(string(src), "\n") {
		switch {
		case strings.HasPrefix(line, "//\tcookie_consent {"):
			inSyntax = true
		case inSyntax && strings.HasPrefix(line, "//\t}"):
			inSyntax = false
		case inSyntax:
			if f := strings.Fields(strings.TrimPrefix(line, "//")); len(f) > 0 && f[0] != "}" {
				options = append(options, f[0])
			}
		}
	}
	if len(options) < 40 {
		t.Fatalf("found only %d options in UnmarshalCaddyfile's comment: %v", len(options), options)
	}
	for _, o := range options {
		if !shown[o] {
			t.Errorf("configs/full/Caddyfile does not show %s", o)
		}
	}
}

// TestHTTPSConfigRuns runs configs/production/https.Caddyfile with Caddy's
// own HTTPS: a certificate from Caddy's internal CA instead of ACME (no
// network here), on a free port, in front of a test upstream instead of
// PHP-FPM. The decision from the https origin is accepted, its cookie is
// Secure and the proof record's origin is https://example.com:<port>.
func TestHTTPSConfigRuns(t *testing.T) {
	data, err := os.ReadFile("../configs/production/https.Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><head></head><body>the bakery</body></html>")
	}))
	t.Cleanup(up.Close)
	port := testenv.FreePort(t)
	// Caddy's certificate maintenance may still write to its storage as
	// it stops: remove the folder without failing the test.
	dir, err := os.MkdirTemp("", "consentgate-https")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	logDir := filepath.Join(dir, "prooflog")
	cf := string(data)
	for _, r := range []struct{ old, repl string }{
		{"\temail webmaster@example.com\n", fmt.Sprintf("\temail webmaster@example.com\n\tadmin off\n\tstorage file_system %s\n\tskip_install_trust\n\tauto_https disable_redirects\n", filepath.Join(dir, "storage"))},
		{"\nexample.com {", fmt.Sprintf("\nexample.com:%d {\n\tbind 127.0.0.1\n\ttls internal", port)},
		{"output file /var/log/caddy/access.log", "output file " + filepath.Join(dir, "access.log")},
		{"\t\tpolicy_url /privacy/\n", fmt.Sprintf("\t\tpolicy_url /privacy/\n\t\tproof_log {\n\t\t\tdir %s\n\t\t}\n", logDir)},
		{"\troot * /usr/share/wordpress\n\tphp_fastcgi unix//run/php/php8.2-fpm.sock\n\tfile_server\n", "\treverse_proxy " + strings.TrimPrefix(up.URL, "http://") + "\n"},
		{"\nwww.example.com {", fmt.Sprintf("\nwww.example.com:%d {\n\tbind 127.0.0.1\n\ttls internal", testenv.FreePort(t))},
	} {
		if !strings.Contains(cf, r.old) {
			t.Fatalf("the config no longer has %q", r.old)
		}
		cf = strings.Replace(cf, r.old, r.repl, 1)
	}
	cfgJSON, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := caddy.Load(cfgJSON, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port))

	origin := fmt.Sprintf("https://example.com:%d", port)
	httpsClient := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			// The internal CA is not in the system's trust store.
			TLSClientConfig: &tls.Config{ServerName: "example.com", InsecureSkipVerify: true},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
			},
		},
	}
	// Caddy issues the certificate in the background as it starts.
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := httpsClient.Get(origin + "/")
		if err == nil {
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(page), "the bakery") || !strings.Contains(string(page), "/.well-known/consent/") {
				t.Fatalf("page over HTTPS lacks the banner: %d %s", resp.StatusCode, page)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HTTPS within 15s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	req, _ := http.NewRequest("POST", origin+"/.well-known/consent/consent", strings.NewReader(`{"action":"accept_all"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", origin) // a browser without Sec-Fetch-Site
	resp, err := httpsClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var state stateResponse
	if err := json.NewDecoder(resp.Body).Decode(&state); err != nil || resp.StatusCode != 200 {
		t.Fatalf("decision over HTTPS: %d %+v %v", resp.StatusCode, state, err)
	}
	var secure bool
	for _, c := range resp.Cookies() {
		if c.Name == DefaultCookieName {
			secure = c.Secure
		}
	}
	if !secure {
		t.Errorf("the consent cookie is not Secure over HTTPS: %v", resp.Header["Set-Cookie"])
	}
	src, err := prooflog.OpenDir(logDir)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := prooflog.Show(context.Background(), src, state.ID)
	if err != nil || len(recs) != 1 || recs[0].Origin != origin {
		t.Fatalf("proof records %+v (%v), want one with origin %s", recs, err, origin)
	}
}
