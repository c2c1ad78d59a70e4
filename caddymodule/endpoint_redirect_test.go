package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSafeReturnAfterPercentDecoding holds the consent form's redirect to
// the site (issue 13, class 10): no return field may send the visitor to
// another host, however it is encoded.
func TestSafeReturnAfterPercentDecoding(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"/blog/post?x=1", "/blog/post?x=1"},
		{"/%2Fevil.com", "/"},
		{"/%2F%2Fevil.com", "/"},
		{"/%2Fevil.com/\u00e9", "/"},
		{"/%5Cevil.com", "/"},
		{"/%5C%5Cevil.com/x", "/"},
		{"//evil.com", "/"},
		{"/\\evil.com", "/"},
		{"https://evil.com/", "/"},
		{"javascript:alert(1)", "/"},
		{"/\t/evil.com", "/"},
		{"/caf\u00e9", "/caf%C3%A9"},
	} {
		got := safeReturn(c.in)
		if got != c.want {
			t.Errorf("safeReturn(%q) = %q, want %q", c.in, got, c.want)
		}
		// What the browser does with the Location header.
		rec := httptest.NewRecorder()
		http.Redirect(rec, httptest.NewRequest("POST", "https://site.example/.well-known/consent/consent", nil), got, http.StatusSeeOther)
		loc := rec.Header().Get("Location")
		if strings.HasPrefix(loc, "//") || strings.Contains(loc, "evil.com") && !strings.HasPrefix(loc, "/") {
			t.Errorf("safeReturn(%q) leads to Location %q", c.in, loc)
		}
	}
}

func TestLongPagePathIsTruncatedForTheRecord(t *testing.T) {
	r := httptest.NewRequest("POST", "https://site.example/.well-known/consent/consent", nil)
	long := "/" + strings.Repeat("\u00e9", 5000)
	got := pagePath(long, r)
	if len(got) > maxRecordedPath+len("…") || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "/\u00e9") {
		t.Fatalf("pagePath kept %d bytes: %.40q…", len(got), got)
	}
	if short := pagePath("/a/b?q=1", r); short != "/a/b" {
		t.Fatalf("pagePath(/a/b?q=1) = %q", short)
	}
}
