package caddymodule

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentgate/consentgate/internal/testenv"
)

// analyticsRecorder is a loopback "analytics vendor": it records every
// request it receives, headers, query and body.
type analyticsRecorder struct {
	mu   sync.Mutex
	hits []string
}

func (a *analyticsRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL.RequestURI())
	for k, vs := range r.Header {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(vs, ", "))
	}
	b.Write(body)
	a.mu.Lock()
	a.hits = append(a.hits, b.String())
	a.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (a *analyticsRecorder) take() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	h := a.hits
	a.hits = nil
	return h
}

// clientFrom returns an HTTP client whose connections come from local.
func clientFrom(local string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

func analyticsGateway(t *testing.T, global, routes string) (v4, v6 string, rec *analyticsRecorder) {
	t.Helper()
	rec = &analyticsRecorder{}
	up := httptest.NewServer(rec)
	t.Cleanup(up.Close)
	port := testenv.FreePort(t)
	logDir := filepath.Join(t.TempDir(), "prooflog")
	startCaddyWith(t, global, fmt.Sprintf(`
http://:%d {
	bind 127.0.0.1 [::1]
	cookie_consent {
		rate_limit off
		proof_log {
			dir %s
		}
%s
	}
	reverse_proxy %s {
		header_up X-Real-IP {remote_host}
		header_up X-Client-Seen {client_ip}
	}
}
`, port, logDir, routes, strings.TrimPrefix(up.URL, "http://")))
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	return fmt.Sprintf("http://127.0.0.1:%d", port), fmt.Sprintf("http://[::1]:%d", port), rec
}

const analyticsRoutes = `		analytics /g/collect /j/collect {
			ensure
		}
		analytics /matomo.php /piwik.php
		analytics /api/event {
			consent_free
		}`

// consentFrom gives consent to category from a client and returns the
// cookie header.
func consentFrom(t *testing.T, c *http.Client, base, action string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/.well-known/consent/consent", strings.NewReader(`{"action":"`+action+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", base)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "consentgate" {
			return ck.Name + "=" + ck.Value
		}
	}
	t.Fatalf("no consent cookie (%d)", resp.StatusCode)
	return ""
}

func TestAnalyticsTrafficIsMaskedOrAnsweredLocally(t *testing.T) {
	v4, v6, rec := analyticsGateway(t, "", analyticsRoutes)
	tests := []struct {
		name        string
		local, base string
		raw         []string // the client's address as it must never appear upstream
		masked      string
	}{
		{"IPv4 client", "127.0.0.77", v4, []string{"127.0.0.77"}, "127.0.0.0"},
		{"IPv6 client", "::1", v6, []string{"::1"}, "::"},
	}
	requests := []struct {
		method, path, contentType, body string
	}{
		{"GET", "/g/collect?v=2&tid=G-1&cid=1.2&_uip=127.0.0.77&en=page_view", "", ""},
		{"POST", "/g/collect?v=2&tid=G-1", "text/plain", "en=page_view&_uip=%3A%3A1\nen=scroll&_uip=127.0.0.77\nen=click"},
		{"GET", "/matomo.php?idsite=1&rec=1&cip=127.0.0.77&token_auth=x", "", ""},
		{"POST", "/matomo.php", "application/x-www-form-urlencoded", "idsite=1&rec=1&cip=%3A%3A1"},
		{"POST", "/matomo.php", "application/json", `{"requests":["?idsite=1&rec=1&cip=127.0.0.77","?idsite=1&rec=1&cip=::1"],"token_auth":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := clientFrom(tt.local)
			send := func(cookie string, method, path, ct, body string, spoof bool) int {
				req, _ := http.NewRequest(method, tt.base+path, strings.NewReader(body))
				if ct != "" {
					req.Header.Set("Content-Type", ct)
				}
				if cookie != "" {
					req.Header.Set("Cookie", cookie)
				}
				if spoof {
					req.Header.Set("X-Forwarded-For", tt.local+", 198.51.100.7")
					req.Header.Set("X-Real-IP", tt.local)
					req.Header.Set("Forwarded", "for="+tt.local)
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp.StatusCode
			}

			// Without consent nothing is forwarded.
			for _, r := range requests {
				if code := send("", r.method, r.path, r.contentType, r.body, false); code != http.StatusNoContent {
					t.Errorf("%s %s without consent: %d, want 204", r.method, r.path, code)
				}
			}
			if hits := rec.take(); len(hits) != 0 {
				t.Fatalf("the vendor received %d hits without consent:\n%s", len(hits), strings.Join(hits, "\n---\n"))
			}

			// The consent-free route is forwarded anyway, masked.
			send("", "POST", "/api/event", "application/json", `{"n":"pageview","u":"https://example.com/"}`, true)
			// With consent every hit goes through, masked.
			cookie := consentFrom(t, c, tt.base, "accept_all")
			for _, r := range requests {
				send(cookie, r.method, r.path, r.contentType, r.body, true)
			}
			hits := rec.take()
			if len(hits) != len(requests)+1 {
				t.Fatalf("the vendor received %d hits, want %d", len(hits), len(requests)+1)
			}
			for _, h := range hits {
				// The site's own host (which on loopback IPv6 is ::1 too)
				// is not the client's address.
				h := regexp.MustCompile(`(?m)^X-Forwarded-Host: .*$`).ReplaceAllString(h, "")
				for _, raw := range tt.raw {
					if strings.Contains(h, raw) || strings.Contains(h, "%3A%3A1") {
						t.Errorf("the vendor saw the raw address %s:\n%s", raw, h)
					}
				}
				if strings.Contains(h, "198.51.100.7") {
					t.Errorf("a client-supplied forwarding header reached the vendor:\n%s", h)
				}
				for _, hdr := range []string{"X-Forwarded-For: " + tt.masked + "\n", "X-Real-Ip: " + tt.masked + "\n", "X-Client-Seen: " + tt.masked + "\n"} {
					if !strings.Contains(h, hdr) {
						t.Errorf("the vendor's hit lacks %q:\n%s", strings.TrimSpace(hdr), h)
					}
				}
			}
			if !strings.Contains(hits[1], "_uip=127.0.0.0") || !strings.Contains(hits[2], "_uip=%3A%3A") && !strings.Contains(hits[2], "_uip=::") {
				t.Errorf("GA parameters not masked:\n%s\n%s", hits[1], hits[2])
			}
		})
	}
}

func TestAnalyticsMasksTheAddressTrustedProxiesReport(t *testing.T) {
	global := "\tservers {\n\t\ttrusted_proxies static 127.0.0.0/8 ::1/128\n\t\tclient_ip_headers X-Forwarded-For\n\t}"
	v4, _, rec := analyticsGateway(t, global, analyticsRoutes)
	c := clientFrom("127.0.0.9")
	cookie := consentFrom(t, c, v4, "accept_all")
	req, _ := http.NewRequest("GET", v4+"/g/collect?v=2&tid=G-1", nil)
	req.Header.Set("Cookie", cookie)
	req.Header.Set("X-Forwarded-For", "203.0.113.77") // set by the load balancer, trusted
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	hits := rec.take()
	if len(hits) != 1 {
		t.Fatalf("%d hits", len(hits))
	}
	h := hits[0]
	if strings.Contains(h, "203.0.113.77") || strings.Contains(h, "127.0.0.9") {
		t.Fatalf("the vendor saw a raw address:\n%s", h)
	}
	for _, want := range []string{"X-Forwarded-For: 203.0.113.0\n", "X-Client-Seen: 203.0.113.0\n", "_uip=203.0.113.0"} {
		if !strings.Contains(h, want) {
			t.Errorf("hit lacks %q:\n%s", strings.TrimSpace(want), h)
		}
	}
}

func TestAnalyticsRefusesOversizedBodies(t *testing.T) {
	v4, _, rec := analyticsGateway(t, "", "\t\tanalytics /g/collect {\n\t\t\tconsent_free\n\t\t\tmax_body 1KiB\n\t\t}")
	resp, err := client().Post(v4+"/g/collect", "text/plain", strings.NewReader(strings.Repeat("en=x&_uip=1.2.3.4\n", 200)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || len(rec.take()) != 0 {
		t.Fatalf("oversized analytics body: %d", resp.StatusCode)
	}
}
