package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/consentgate/consentgate/internal/testenv"
	"github.com/consentgate/consentgate/prooflog"
)

// consentGateway runs the gateway with a proof log in a temporary folder
// and returns its base URL and that folder.
func consentGateway(t *testing.T, block string) (string, string) {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, trackerPage)
	}))
	t.Cleanup(up.Close)
	logDir := filepath.Join(t.TempDir(), "prooflog")
	if !strings.Contains(block, "proof_log") {
		block = strings.Replace(block, "{", "{\n\t\tproof_log {\n\t\t\tdir "+logDir+"\n\t\t}", 1)
	}
	if block == "" {
		block = "{\n\t\tproof_log {\n\t\t\tdir " + logDir + "\n\t\t}\n\t}"
	}
	return gateway(t, block, up), logDir
}

type decisionResult struct {
	status int
	header http.Header
	body   string
	cookie *http.Cookie
}

func post(t *testing.T, base, contentType, body string, header map[string]string) decisionResult {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/.well-known/consent/consent", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	res := decisionResult{status: resp.StatusCode, header: resp.Header, body: string(b)}
	for _, c := range resp.Cookies() {
		if c.Name == "consentgate" {
			res.cookie = c
		}
	}
	return res
}

func TestConsentEndpointRefusals(t *testing.T) {
	base, _ := consentGateway(t, "")
	same := map[string]string{"Origin": base}
	tests := []struct {
		name, contentType, body string
		header                  map[string]string
		status                  int
		reason                  string
	}{
		{"a cross-site Origin", "application/json", `{"action":"accept_all"}`, map[string]string{"Origin": "https://evil.example"}, 403, "Origin https://evil.example refused"},
		{"a cross-site fetch", "application/json", `{"action":"accept_all"}`, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": base}, 403, "cross-site request refused"},
		{"a foreign Referer", "application/x-www-form-urlencoded", "action=accept_all", map[string]string{"Referer": "https://evil.example/page"}, 403, "Referer refused"},
		{"no origin information at all", "application/json", `{"action":"accept_all"}`, nil, 403, "does not say which page"},
		{"an oversized body", "application/json", `{"action":"save","categories":["` + strings.Repeat("x", 9000) + `"]}`, same, 413, "at most 8192 bytes"},
		{"an unknown category", "application/json", `{"action":"save","categories":["statistics","tracking"]}`, same, 400, `unknown category "tracking"`},
		{"an unknown action", "application/json", `{"action":"accept_some"}`, same, 400, `unknown action "accept_some"`},
		{"categories with accept_all", "application/json", `{"action":"accept_all","categories":["marketing"]}`, same, 400, "only sent with save"},
		{"malformed JSON", "application/json", `{"action":`, same, 400, "could not be read"},
		{"an unknown JSON field", "application/json", `{"action":"accept_all","extra":1}`, same, 400, "could not be read"},
		{"another content type", "text/plain", `accept_all`, same, 415, "application/json or a form"},
		{"an unknown form category", "application/x-www-form-urlencoded", "action=save&category=everything", same, 400, `unknown category "everything"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := post(t, base, tt.contentType, tt.body, tt.header)
			var e struct{ Error string }
			if json.Unmarshal([]byte(res.body), &e) == nil {
				res.body = e.Error
			}
			if res.status != tt.status || !strings.Contains(res.body, tt.reason) {
				t.Fatalf("got %d %q, want %d with %q", res.status, res.body, tt.status, tt.reason)
			}
			if res.cookie != nil {
				t.Fatal("a refused decision set a cookie")
			}
		})
	}
	resp, err := client().Do(mustRequest(t, "DELETE", base+"/.well-known/consent/consent"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET, HEAD, POST" {
		t.Fatalf("DELETE got %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func mustRequest(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestConsentDecisionFlow(t *testing.T) {
	base, logDir := consentGateway(t, "")

	// Undecided: the state says so and the page carries the banner.
	resp, body := get(t, base+"/.well-known/consent/consent")
	if resp.Header.Get("Cache-Control") != "no-store" || !strings.Contains(body, `"decided":false`) {
		t.Fatalf("state before a decision: %s %q", resp.Header.Get("Cache-Control"), body)
	}

	res := post(t, base, "application/json", `{"action":"save","categories":["statistics"],"page":"/blog/?utm_source=x"}`, map[string]string{"Origin": base, "User-Agent": "TestBrowser/1.0", "Accept-Language": "en"})
	if res.status != 200 || res.cookie == nil {
		t.Fatalf("decision: %d %s", res.status, res.body)
	}
	c := res.cookie
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure || c.MaxAge != 183*24*3600 {
		t.Errorf("cookie attributes: %+v", c)
	}
	var state stateResponse
	if err := json.Unmarshal([]byte(res.body), &state); err != nil {
		t.Fatal(err)
	}
	if !state.Decided || !state.Categories["statistics"] || state.Categories["marketing"] || !state.Categories["necessary"] || state.ID == "" {
		t.Errorf("state after saving statistics: %+v", state)
	}

	// The server now lets statistics through and keeps the rest inert.
	req := mustRequest(t, "GET", base+"/")
	req.AddCookie(c)
	page, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(page.Body)
	page.Body.Close()
	for _, want := range []string{`<script async src="https://www.googletagmanager.com/gtag/js?id=G-TEST"></script>`, `data-consent-src="https://www.youtube.com/embed/x"`, `data-cg-decided="true"`} {
		if !strings.Contains(string(html), want) {
			t.Errorf("page with statistics accepted lacks %s", want)
		}
	}

	// Reading the state back with the cookie.
	req = mustRequest(t, "GET", base+"/.well-known/consent/consent")
	req.AddCookie(c)
	sr, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sb, _ := io.ReadAll(sr.Body)
	sr.Body.Close()
	if !strings.Contains(string(sb), `"id":"`+state.ID+`"`) {
		t.Errorf("state with the cookie: %s", sb)
	}

	// Withdrawing keeps the consent ID and says what was withdrawn.
	res2 := post(t, base, "application/json", `{"action":"reject_all"}`, map[string]string{"Origin": base, "Cookie": c.Name + "=" + c.Value})
	var state2 stateResponse
	_ = json.Unmarshal([]byte(res2.body), &state2)
	if res2.status != 200 || state2.ID != state.ID || strings.Join(state2.Withdrawn, ",") != "statistics" {
		t.Fatalf("withdrawal: %d %s", res2.status, res2.body)
	}

	// The proof log holds both decisions, verifiable.
	src, err := prooflog.OpenDir(logDir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	recs, err := prooflog.Show(context.Background(), src, state.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("proof log holds %d records of %s, want 2", len(recs), state.ID)
	}
	r0, r1 := recs[0], recs[1]
	if r0.Method != prooflog.MethodSettings || !r0.Categories.Granted("statistics") || r0.Categories.Granted("marketing") ||
		r0.Path != "/blog/" || r0.MaskedIP != "127.0.0.0" || r0.Language != "en" || r0.UAHash == "" || strings.Contains(r0.UAHash, "TestBrowser") || r0.PolicyVersion != "1" {
		t.Errorf("first record: %+v", r0)
	}
	if r1.Method != prooflog.MethodWithdrawal || r1.Categories.Granted("statistics") {
		t.Errorf("second record: %+v", r1)
	}
}

func TestConsentFormWorksWithoutJavaScript(t *testing.T) {
	base, _ := consentGateway(t, "")
	for ret, want := range map[string]string{
		"/blog/post?x=1":          "/blog/post?x=1",
		"https://evil.example/":   "/",
		"//evil.example/":         "/",
		"/\\evil.example":         "/",
		"javascript:alert(1)":     "/",
		"/ok#fragment":            "/ok",
		"/a path/with%20encoding": "/a%20path/with%20encoding",
	} {
		form := url.Values{"action": {"save"}, "category": {"statistics", "marketing"}, "return": {ret}}
		res := post(t, base, "application/x-www-form-urlencoded", form.Encode(), map[string]string{"Origin": base})
		if res.status != http.StatusSeeOther || res.header.Get("Location") != want || res.cookie == nil {
			t.Errorf("return %q: %d to %q (cookie %v), want 303 to %q", ret, res.status, res.header.Get("Location"), res.cookie != nil, want)
		}
	}
}

func TestConsentGPCKeepsMarketingOff(t *testing.T) {
	base, _ := consentGateway(t, "")
	res := post(t, base, "application/json", `{"action":"accept_all"}`, map[string]string{"Origin": base, "Sec-GPC": "1"})
	if res.status != 200 || !strings.Contains(res.body, `"marketing":false`) || !strings.Contains(res.body, `"statistics":true`) {
		t.Fatalf("accept all with GPC: %d %s", res.status, res.body)
	}
}

func TestConsentRateLimit(t *testing.T) {
	base, _ := consentGateway(t, "{\n\t\trate_limit 60 2\n\t}")
	var last decisionResult
	for i := 0; i < 3; i++ {
		last = post(t, base, "application/json", `{"action":"reject_all"}`, map[string]string{"Origin": base})
	}
	if last.status != 429 || last.header.Get("Retry-After") == "" || last.cookie != nil {
		t.Fatalf("third decision in a burst of 2: %d %s", last.status, last.body)
	}
}

func TestConsentIsNotGivenWhenTheProofLogFails(t *testing.T) {
	blocked := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(blocked, []byte("a file where the log folder should be"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, _ := consentGateway(t, "{\n\t\tproof_log {\n\t\t\tdir "+blocked+"\n\t\t}\n\t}")
	res := post(t, base, "application/json", `{"action":"accept_all"}`, map[string]string{"Origin": base})
	if res.status != 503 || res.cookie != nil || !strings.Contains(res.body, "could not be recorded") {
		t.Fatalf("decision with a broken proof log: %d %q cookie %v", res.status, res.body, res.cookie)
	}
}

func TestPolicyVersionChangeAsksAgain(t *testing.T) {
	secret := "0123456789abcdef0123456789abcdef"
	logDir := filepath.Join(t.TempDir(), "prooflog")
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, trackerPage)
	}))
	defer up.Close()
	block := func(version string) string {
		return fmt.Sprintf("{\n\t\tsecret %s\n\t\tpolicy_version %s\n\t\tpolicy_change \"We now use Hotjar.\"\n\t\tproof_log {\n\t\t\tdir %s\n\t\t}\n\t}", secret, version, logDir)
	}
	base := gateway(t, block("2026-01"), up)
	res := post(t, base, "application/json", `{"action":"accept_all"}`, map[string]string{"Origin": base})
	if res.status != 200 {
		t.Fatal(res.body)
	}
	// A reload with the new policy version (caddy.Load replaces the config).
	base = gateway(t, block("2026-11"), up)
	req := mustRequest(t, "GET", base+"/")
	req.AddCookie(res.cookie)
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	html, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(html), "We now use Hotjar.") || !strings.Contains(string(html), `data-consent-src="https://www.googletagmanager.com`) {
		t.Fatalf("after a policy change the page neither asks again nor holds the trackers:\n%.2000s", html)
	}
	res2 := post(t, base, "application/json", `{"action":"reject_all"}`, map[string]string{"Origin": base, "Cookie": res.cookie.Name + "=" + res.cookie.Value})
	var s1, s2 stateResponse
	_ = json.Unmarshal([]byte(res.body), &s1)
	_ = json.Unmarshal([]byte(res2.body), &s2)
	if s2.ID != s1.ID || s2.PolicyVersion != "2026-11" {
		t.Fatalf("the new decision should keep the consent ID under the new policy: %+v vs %+v", s2, s1)
	}
}

// TestGeneratedSecretIsSharedThroughStorage: without a configured secret
// the gateway generates one into Caddy's storage on first use, so a restart
// (or another instance on the same storage) accepts the cookies it issued;
// an instance with other storage does not.
func TestGeneratedSecretIsSharedThroughStorage(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, trackerPage)
	}))
	defer up.Close()
	shared, other := t.TempDir(), t.TempDir()
	run := func(storage string) string {
		port := testenv.FreePort(t)
		site := fmt.Sprintf("http://:%d {\n\tbind 127.0.0.1\n\tcookie_consent {\n\t\tproof_log {\n\t\t\tdir %s\n\t\t}\n\t}\n\treverse_proxy %s\n}\n", port, filepath.Join(t.TempDir(), "log"), strings.TrimPrefix(up.URL, "http://"))
		cfg := adaptCaddyfile(t, fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tstorage file_system %s\n\tlog {\n\t\toutput discard\n\t}\n}\n", storage)+site)
		if err := caddy.Load(cfg, true); err != nil {
			t.Fatal(err)
		}
		testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
		return fmt.Sprintf("http://127.0.0.1:%d", port)
	}
	t.Cleanup(func() { _ = caddy.Stop() })
	accepted := func(base, cookie string) bool {
		req := mustRequest(t, "GET", base+"/.well-known/consent/consent")
		req.Header.Set("Cookie", cookie)
		resp, err := client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), `"decided":true`)
	}

	base := run(shared)
	res := post(t, base, "application/json", `{"action":"accept_all"}`, map[string]string{"Origin": base})
	if res.cookie == nil {
		t.Fatalf("no cookie: %d %s", res.status, res.body)
	}
	cookie := res.cookie.Name + "=" + res.cookie.Value
	if _, err := os.Stat(filepath.Join(shared, "consentgate", "secret")); err != nil {
		t.Fatalf("no secret in the storage: %v", err)
	}
	if !accepted(run(shared), cookie) {
		t.Error("after a restart on the same storage the cookie is no longer accepted")
	}
	if accepted(run(other), cookie) {
		t.Error("an instance with its own storage accepted the cookie")
	}
}

// TestSecretFromAnEnvironmentPlaceholder: two instances with the same
// {env.*} secret and separate storage accept each other's cookies.
func TestSecretFromAnEnvironmentPlaceholder(t *testing.T) {
	t.Setenv("CONSENTGATE_TEST_SECRET", "a secret of at least thirty-two bytes, from the environment")
	base, _ := consentGateway(t, "{\n\t\tsecret {env.CONSENTGATE_TEST_SECRET}\n\t}")
	res := post(t, base, "application/json", `{"action":"reject_all"}`, map[string]string{"Origin": base})
	if res.cookie == nil {
		t.Fatal(res.body)
	}
	base2, _ := consentGateway(t, "{\n\t\tsecret {env.CONSENTGATE_TEST_SECRET}\n\t}")
	req := mustRequest(t, "GET", base2+"/.well-known/consent/consent")
	req.AddCookie(res.cookie)
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"decided":true`) {
		t.Fatalf("the second instance does not accept the first's cookie: %s", b)
	}
	t.Setenv("CONSENTGATE_TEST_SECRET", "short")
	cfg := adaptCaddyfile(t, "http://:1 {\n\tcookie_consent {\n\t\tsecret {env.CONSENTGATE_TEST_SECRET}\n\t}\n\trespond ok\n}\n")
	var c caddy.Config
	_ = json.Unmarshal(cfg, &c)
	if err := caddy.Validate(&c); err == nil || !strings.Contains(err.Error(), "at least 32 bytes") {
		t.Fatalf("a short secret validated: %v", err)
	}
}

// TestReservedPrefixSurvivesRewrites: rewrite and try_files run before
// the gateway and change the path; the reserved prefix is matched on the
// original URI, so the endpoint still answers.
func TestReservedPrefixSurvivesRewrites(t *testing.T) {
	port := testenv.FreePort(t)
	startCaddy(t, fmt.Sprintf("http://:%d {\n\tbind 127.0.0.1\n\trewrite * /index.php\n\tcookie_consent {\n\t\tproof_log {\n\t\t\tdir %s\n\t\t}\n\t}\n\trespond \"the site\"\n}\n", port, filepath.Join(t.TempDir(), "log")))
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	resp, body := get(t, fmt.Sprintf("http://127.0.0.1:%d/.well-known/consent/consent", port))
	if resp.StatusCode != 200 || !strings.Contains(body, `"decided":false`) {
		t.Fatalf("the endpoint behind a rewrite: %d %s", resp.StatusCode, body)
	}
}
