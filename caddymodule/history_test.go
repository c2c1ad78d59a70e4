package caddymodule

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func getHistory(t *testing.T, base string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	resp, b := getWith(t, base+"/.well-known/consent/consent/history", header)
	return resp.StatusCode, resp.Header, b
}

// A visitor reads the records of the consent ID in their own verified
// cookie, and nothing else.
func TestHistoryAnswersOnlyTheCookiesConsentID(t *testing.T) {
	base, _ := consentGateway(t, "")
	same := map[string]string{"Origin": base}
	a := post(t, base, "application/json", `{"action":"accept_all"}`, same)
	cookieA := map[string]string{"Origin": base, "Cookie": a.cookie.Name + "=" + a.cookie.Value}
	a2 := post(t, base, "application/json", `{"action":"embed","vendor":"youtube","always":true}`, cookieA)
	b := post(t, base, "application/json", `{"action":"reject_all"}`, same) // someone else
	if a.status != 200 || a2.status != 200 || b.status != 200 {
		t.Fatal(a.body, a2.body, b.body)
	}

	status, h, body := getHistory(t, base, map[string]string{"Cookie": a2.cookie.Name + "=" + a2.cookie.Value})
	if status != 200 {
		t.Fatalf("history: %d %s", status, body)
	}
	if h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || h.Get("Cross-Origin-Resource-Policy") != "same-origin" {
		t.Errorf("headers %v", h)
	}
	var hist historyResponse
	if err := json.Unmarshal([]byte(body), &hist); err != nil {
		t.Fatal(err)
	}
	idA, idB := consentIDOf(t, a.cookie), consentIDOf(t, b.cookie)
	if hist.ConsentID != idA || len(hist.Records) != 2 || strings.Contains(body, idB) {
		t.Fatalf("history of %s: %s", idA, body)
	}
	if hist.Records[0]["method"] != "accept_all" || hist.Records[1]["method"] != "embed" || hist.Records[1]["vendor"] != "youtube" {
		t.Errorf("records %s", body)
	}

	// Another ID cannot be named; a forged or missing cookie reads nothing.
	status, _, body = getHistory(t, base, map[string]string{"Cookie": "consentgate=" + a.cookie.Value[:len(a.cookie.Value)-2] + "xx"})
	if status != 404 || strings.Contains(body, idA) {
		t.Errorf("a forged cookie: %d %s", status, body)
	}
	status, _, _ = getHistory(t, base, nil)
	if status != 404 {
		t.Errorf("no cookie: %d", status)
	}
	req := mustRequest(t, "GET", base+"/.well-known/consent/consent/history?consent_id="+idB)
	req.Header.Set("Cookie", a2.cookie.Name+"="+a2.cookie.Value)
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(raw), idB) {
		t.Errorf("a query named another consent ID and got it: %s", raw)
	}
	// Cross-site reads are refused; POST is not a history method.
	if status, _, _ := getHistory(t, base, map[string]string{"Cookie": a2.cookie.Name + "=" + a2.cookie.Value, "Sec-Fetch-Site": "cross-site"}); status != 403 {
		t.Errorf("cross-site: %d", status)
	}
	preq := mustRequest(t, "POST", base+"/.well-known/consent/consent/history")
	presp, err := client().Do(preq)
	if err != nil {
		t.Fatal(err)
	}
	presp.Body.Close()
	if presp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST to the history: %d", presp.StatusCode)
	}
}

// History reads are rate-limited per network.
func TestHistoryIsRateLimited(t *testing.T) {
	base, _ := consentGateway(t, "")
	a := post(t, base, "application/json", `{"action":"reject_all"}`, map[string]string{"Origin": base})
	cookie := map[string]string{"Cookie": a.cookie.Name + "=" + a.cookie.Value}
	var statuses []int
	for range historyBurst + 2 {
		status, h, _ := getHistory(t, base, cookie)
		statuses = append(statuses, status)
		if status == 429 && h.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if statuses[0] != 200 || statuses[len(statuses)-1] != 429 {
		t.Errorf("statuses %v, want 200 first and 429 after the burst", statuses)
	}
}
