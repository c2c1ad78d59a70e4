package caddymodule

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// The cookie filter decides per service: a cookie passes when its vendor
// is a service accepted one by one, both ways, and a withdrawal of the
// service expires it.
func TestCookieFilterPerService(t *testing.T) {
	base, u := cookieGateway(t, "")
	same := map[string]string{"Origin": base}
	res := post(t, base, "application/json", `{"action":"save","categories":[],"services":["google-analytics"]}`, same)
	if res.status != 200 || res.cookie == nil {
		t.Fatalf("save with a service: %d %s", res.status, res.body)
	}
	req := mustRequest(t, "GET", base+"/style.css")
	req.Header.Set("Cookie", res.cookie.Name+"="+res.cookie.Value+"; _ga=GA1.2.3.4; _fbp=fb.1; _hjSessionUser_1=x")
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := setCookieNames(resp.Header), []string{"PHPSESSID", "_ga", "_ga_ABC123", "_gid"}; !slices.Equal(got, want) {
		t.Errorf("Set-Cookie names %v, want %v (Google Analytics' only)", got, want)
	}
	if got := u.last(); !strings.Contains(got, "_ga=GA1.2.3.4") || strings.Contains(got, "_fbp") || strings.Contains(got, "_hjSessionUser_1") {
		t.Errorf("upstream received %q", got)
	}

	// Taking the service back expires its cookies, and only those.
	back := post(t, base, "application/json", `{"action":"save","categories":[]}`, map[string]string{
		"Origin": base, "Cookie": res.cookie.Name + "=" + res.cookie.Value + "; _ga=1; _fbp=2; PHPSESSID=3"})
	if back.status != 200 {
		t.Fatalf("withdrawing: %d %s", back.status, back.body)
	}
	var expired []string
	for _, v := range back.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(v)
		if err == nil && c.MaxAge < 0 && !slices.Contains(expired, c.Name) {
			expired = append(expired, c.Name)
		}
	}
	slices.Sort(expired)
	if !slices.Equal(expired, []string{"_fbp", "_ga"}) {
		t.Errorf("expired %v, want _fbp and _ga", expired)
	}
	if !strings.Contains(back.body, `"withdrawn_services":["google-analytics"]`) {
		t.Errorf("the answer does not say what was withdrawn: %s", back.body)
	}
}
