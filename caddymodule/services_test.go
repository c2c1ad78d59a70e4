package caddymodule

import (
	"encoding/json"
	"fmt"
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

// The consent endpoint lists the site's services under offered
// categories: those the config names and those seen on its pages.
func TestSiteServicesAreListed(t *testing.T) {
	base, _ := consentGateway(t, "{\n\t\tservices google-maps vimeo\n\t}")
	state := func(cookie *http.Cookie) stateResponse {
		t.Helper()
		req := mustRequest(t, "GET", base+"/.well-known/consent/consent")
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s stateResponse
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	names := func(s stateResponse) string {
		var out []string
		for _, v := range s.SiteServices {
			out = append(out, fmt.Sprintf("%s/%s/%t", v.Category, v.ID, v.Granted))
		}
		return strings.Join(out, " ")
	}
	if got := names(state(nil)); got != "statistics/vimeo/false marketing/google-maps/false" {
		t.Errorf("configured services: %s", got)
	}
	// A page the rules match adds its vendors (the test page: Google
	// Analytics, the Meta pixel, YouTube).
	resp, err := client().Do(mustRequest(t, "GET", base+"/"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	res := post(t, base, "application/json", `{"action":"save","categories":["statistics"],"services":["youtube"]}`, map[string]string{"Origin": base})
	got := names(state(res.cookie))
	for _, want := range []string{"statistics/google-analytics/true", "statistics/vimeo/true", "marketing/google-maps/false", "marketing/youtube/true", "marketing/meta-pixel/false"} {
		if !strings.Contains(got, want) {
			t.Errorf("site services %s lack %s", got, want)
		}
	}
}

func TestUnknownConfiguredServiceIsAnError(t *testing.T) {
	err := validateCaddyfile(t, "Caddyfile", []byte("{\n\tskip_install_trust\n\tstorage file_system "+t.TempDir()+"\n}\n:8089 {\n\tcookie_consent {\n\t\tservices youtube no-such-vendor\n\t\tproof_log {\n\t\t\tdir "+t.TempDir()+"\n\t\t}\n\t}\n}\n"))
	if err == nil || !strings.Contains(err.Error(), `services: "no-such-vendor" is no vendor of the rules`) {
		t.Errorf("got %v", err)
	}
}
