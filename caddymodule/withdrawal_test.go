package caddymodule

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/prooflog"
)

// The no-JavaScript settings hold Accept all and Reject all beside Save;
// their post carries the ticked boxes, and the button decides. Reject all
// after consent is a withdrawal, and the proof log says so.
func TestFormRejectAllInTheSettingsWithdraws(t *testing.T) {
	base, logDir := consentGateway(t, "")
	form := "application/x-www-form-urlencoded"
	same := map[string]string{"Origin": base}
	first := post(t, base, form, "action=accept_all&return=/", same)
	if first.status != http.StatusSeeOther || first.cookie == nil {
		t.Fatalf("accept all: %d %s", first.status, first.body)
	}
	// The settings show the accepted boxes ticked; Reject all sends them.
	withCookie := map[string]string{"Origin": base, "Cookie": first.cookie.Name + "=" + first.cookie.Value}
	second := post(t, base, form, "action=reject_all&category=statistics&category=marketing&return=/", withCookie)
	if second.status != http.StatusSeeOther || second.cookie == nil {
		t.Fatalf("reject all from the settings: %d %s", second.status, second.body)
	}
	recs := showRecords(t, logDir, first.cookie)
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	r := recs[1]
	if r.Method != prooflog.MethodWithdrawal || r.ConsentID != recs[0].ConsentID {
		t.Errorf("the second record is %s of %s, want withdrawal of %s", r.Method, r.ConsentID, recs[0].ConsentID)
	}
	for _, c := range r.Categories {
		if c.Granted && c.Name != "necessary" {
			t.Errorf("after Reject all, %s is still granted", c.Name)
		}
	}
	if !strings.Contains(second.header.Get("Location"), "/") {
		t.Errorf("redirect to %q", second.header.Get("Location"))
	}
}

// showRecords reads the proof log's records of the consent ID in a consent
// cookie, through the cookie's own state.
func showRecords(t *testing.T, logDir string, c *http.Cookie) []*prooflog.Record {
	t.Helper()
	id := consentIDOf(t, c)
	src, err := prooflog.OpenDir(logDir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	recs, err := prooflog.Show(context.Background(), src, id)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// consentIDOf decodes the consent ID from a cookie value without its key:
// the payload's first 16 bytes (see package consent).
func consentIDOf(t *testing.T, c *http.Cookie) string {
	t.Helper()
	parts := strings.Split(c.Value, ".")
	if len(parts) != 4 {
		t.Fatalf("cookie %q is not a consent cookie", c.Value)
	}
	p, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(p) < 16 {
		t.Fatalf("cookie payload %q: %v", parts[2], err)
	}
	return base64.RawURLEncoding.EncodeToString(p[:16])
}
