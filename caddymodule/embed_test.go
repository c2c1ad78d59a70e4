package caddymodule

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// "Load content" on a placeholder grants exactly its service: for the
// page view (recorded, the cookie unchanged) or, with Always allow,
// lastingly (in the cookie); recorded with method embed and the vendor.
func TestEmbedGrantsExactlyItsService(t *testing.T) {
	base, logDir := consentGateway(t, "")
	same := map[string]string{"Origin": base}
	first := post(t, base, "application/json", `{"action":"save","categories":["statistics"]}`, same)
	if first.status != 200 || first.cookie == nil {
		t.Fatalf("save: %d %s", first.status, first.body)
	}
	withCookie := func(c *http.Cookie) map[string]string {
		return map[string]string{"Origin": base, "Cookie": c.Name + "=" + c.Value}
	}

	once := post(t, base, "application/json", `{"action":"embed","vendor":"youtube"}`, withCookie(first.cookie))
	var st stateResponse
	if err := json.Unmarshal([]byte(once.body), &st); err != nil || once.status != 200 {
		t.Fatalf("embed once: %d %s", once.status, once.body)
	}
	if once.cookie != nil {
		t.Errorf("Load content (once) set the cookie: %v", once.cookie)
	}
	if st.Embed != "youtube" || len(st.Services) != 0 || st.Categories["marketing"] || !st.Categories["statistics"] {
		t.Errorf("embed once answered %s", once.body)
	}

	always := post(t, base, "application/json", `{"action":"embed","vendor":"youtube","always":true}`, withCookie(first.cookie))
	if always.status != 200 || always.cookie == nil {
		t.Fatalf("embed always: %d %s", always.status, always.body)
	}
	_ = json.Unmarshal([]byte(always.body), &st)
	if !slices.Equal(st.Services, []string{"youtube"}) || st.Categories["marketing"] {
		t.Errorf("embed always answered %s", always.body)
	}
	// The state read back with the new cookie keeps the service.
	req := mustRequest(t, "GET", base+"/.well-known/consent/consent")
	req.AddCookie(always.cookie)
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var back stateResponse
	_ = json.NewDecoder(resp.Body).Decode(&back)
	resp.Body.Close()
	if !slices.Equal(back.Services, []string{"youtube"}) || !back.Categories["statistics"] {
		t.Errorf("state with the cookie: %+v", back)
	}

	// The next page comes with YouTube live from the server, the rest of
	// marketing still held.
	page := mustRequest(t, "GET", base+"/")
	page.AddCookie(always.cookie)
	pr, err := client().Do(page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(pr.Body)
	pr.Body.Close()
	if !strings.Contains(string(body), `<iframe src="https://www.youtube.com/embed/x"`) {
		t.Errorf("YouTube is not live after Always allow:\n%s", body)
	}
	if strings.Contains(string(body), `<img src="https://www.facebook.com/tr`) {
		t.Errorf("the Meta pixel is live after Always allow YouTube:\n%s", body)
	}

	// Taking the service back in the settings is a withdrawal.
	off := post(t, base, "application/json", `{"action":"save","categories":["statistics"]}`, withCookie(always.cookie))
	_ = json.Unmarshal([]byte(off.body), &st)
	if off.status != 200 || !slices.Equal(st.WithdrawnServices, []string{"youtube"}) {
		t.Errorf("withdrawing the service: %d %s", off.status, off.body)
	}

	recs := showRecords(t, logDir, first.cookie)
	var got []string
	for _, r := range recs {
		got = append(got, string(r.Method)+":"+r.Vendor+":"+strings.Join(r.Services, ","))
	}
	if want := []string{"settings::", "embed:youtube:", "embed:youtube:youtube", "withdrawal::"}; !slices.Equal(got, want) {
		t.Errorf("records %v, want %v", got, want)
	}
	for _, r := range recs {
		if r.Categories.Granted("marketing") {
			t.Errorf("a %s record grants marketing", r.Method)
		}
	}

	for _, bad := range []struct{ body, reason string }{
		{`{"action":"embed"}`, "unknown service"},
		{`{"action":"embed","vendor":"no-such-vendor"}`, "unknown service"},
		{`{"action":"embed","vendor":"youtube","categories":["marketing"]}`, "only sent with save"},
		{`{"action":"accept_all","vendor":"youtube"}`, "only sent with embed"},
		{`{"action":"save","services":["YouTube"]}`, "unknown service"},
		{`{"action":"accept_all","services":["youtube"]}`, "only sent with save"},
	} {
		res := post(t, base, "application/json", bad.body, same)
		if res.status != 400 || !strings.Contains(res.body, bad.reason) {
			t.Errorf("%s: %d %s, want 400 with %q", bad.body, res.status, res.body, bad.reason)
		}
	}
}
