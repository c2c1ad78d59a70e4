package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/internal/testenv"
	"github.com/consentgate/consentgate/prooflog"
)

// TestBehindATLSTerminatingLoadBalancer runs the gateway as it runs behind
// a load balancer that terminates TLS and forwards plain HTTP: once with
// Caddy's trusted_proxies naming the balancer (here: loopback), once
// without. A browser without Sec-Fetch-Site (older Safari, some embedded
// browsers) sends only Origin: the visitor's https:// origin.
func TestBehindATLSTerminatingLoadBalancer(t *testing.T) {
	const host = "shop.example.com"
	tests := []balancerCase{
		{
			name:           "trusted balancer, visitor on https",
			trustedProxies: true,
			header:         map[string]string{"X-Forwarded-Proto": "https", "Origin": "https://" + host},
			wantStatus:     200, wantSecure: true, wantOrigin: "https://" + host,
		},
		{
			name:           "trusted balancer, the nearest proxy's value counts",
			trustedProxies: true,
			header:         map[string]string{"X-Forwarded-Proto": "http, https", "Origin": "https://" + host},
			wantStatus:     200, wantSecure: true, wantOrigin: "https://" + host,
		},
		{
			name:           "trusted balancer, visitor on plain http",
			trustedProxies: true,
			header:         map[string]string{"X-Forwarded-Proto": "http", "Origin": "http://" + host},
			wantStatus:     200, wantSecure: false, wantOrigin: "http://" + host,
		},
		{
			name:           "trusted balancer, an https page cannot pass for http",
			trustedProxies: true,
			header:         map[string]string{"X-Forwarded-Proto": "http", "Origin": "https://" + host},
			wantStatus:     403,
		},
		{
			name:           "trusted balancer, Referer instead of Origin",
			trustedProxies: true,
			header:         map[string]string{"X-Forwarded-Proto": "https", "Referer": "https://" + host + "/shop/"},
			wantStatus:     200, wantSecure: true, wantOrigin: "https://" + host,
		},
		{
			name:           "no trusted_proxies: a client's X-Forwarded-Proto is ignored",
			trustedProxies: false,
			header:         map[string]string{"X-Forwarded-Proto": "https", "Origin": "https://" + host},
			wantStatus:     403,
		},
		{
			name:           "no trusted_proxies: plain http as the connection says",
			trustedProxies: false,
			header:         map[string]string{"X-Forwarded-Proto": "https", "Origin": "http://" + host},
			wantStatus:     200, wantSecure: false, wantOrigin: "http://" + host,
		},
	}
	for _, trusted := range []bool{true, false} {
		t.Run(fmt.Sprintf("trusted_proxies=%v", trusted), func(t *testing.T) {
			testBalancerSetup(t, host, trusted, tests)
		})
	}
}

func testBalancerSetup(t *testing.T, host string, trusted bool, tests []balancerCase) {
	global := ""
	if trusted {
		global = "\tservers {\n\t\ttrusted_proxies static 127.0.0.0/8 ::1\n\t}"
	}
	logDir := filepath.Join(t.TempDir(), "prooflog")
	port := testenv.FreePort(t)
	startCaddyWith(t, global, fmt.Sprintf("http://%s:%d {\n\tbind 127.0.0.1\n\tcookie_consent {\n\t\tproof_log {\n\t\t\tdir %s\n\t\t}\n\t}\n\trespond \"<html><body>the site</body></html>\"\n}\n", host, port, logDir))
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	for _, tt := range tests {
		if tt.trustedProxies != trusted {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/.well-known/consent/consent", port), strings.NewReader(`{"action":"accept_all"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Host = host // as the balancer passes it on
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus != 200 {
				return
			}
			var cookie *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Name == DefaultCookieName {
					cookie = c
				}
			}
			if cookie == nil {
				t.Fatal("no consent cookie")
			}
			if cookie.Secure != tt.wantSecure {
				t.Errorf("cookie Secure = %v, want %v", cookie.Secure, tt.wantSecure)
			}
			var state stateResponse
			if err := json.NewDecoder(resp.Body).Decode(&state); err != nil || state.ID == "" {
				t.Fatalf("state: %+v %v", state, err)
			}
			src, err := prooflog.OpenDir(logDir)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := prooflog.Show(context.Background(), src, state.ID)
			if err != nil || len(recs) != 1 {
				t.Fatalf("records of %s: %v %v", state.ID, recs, err)
			}
			if recs[0].Origin != tt.wantOrigin {
				t.Errorf("proof record origin %q, want %q", recs[0].Origin, tt.wantOrigin)
			}
		})
	}
}

type balancerCase struct {
	name           string
	trustedProxies bool
	header         map[string]string
	wantStatus     int
	wantSecure     bool
	wantOrigin     string // in the proof record
}
