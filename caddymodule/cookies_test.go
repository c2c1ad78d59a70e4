package caddymodule

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// cookieUpstream sets tracker, necessary and unknown cookies on every
// response, HTML or not, and records the Cookie headers it receives.
type cookieUpstream struct {
	mu       sync.Mutex
	received []string
}

var upstreamCookies = []string{
	"_ga=GA1.2.123.456; Domain=.shop.example; Path=/; Max-Age=63072000; SameSite=Lax",
	"_ga_ABC123=GS1.1.1700000000; Path=/; Max-Age=63072000",
	"_gid=GA1.2.7.8; Path=/; Max-Age=86400",
	"_fbp=fb.1.1700000000.1; Path=/; Max-Age=7776000",
	"_hjSessionUser_1=eyJpZCI6IjEifQ; Path=/; Secure",
	"PHPSESSID=abc123; Path=/; HttpOnly",
	"mystery=1; Path=/shop; HttpOnly",
}

func (u *cookieUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.received = append(u.received, r.Header.Get("Cookie"))
	u.mu.Unlock()
	for _, c := range upstreamCookies {
		w.Header().Add("Set-Cookie", c)
	}
	switch r.URL.Path {
	case "/style.css":
		w.Header().Set("Content-Type", "text/css")
		_, _ = io.WriteString(w, "body{}")
	case "/privacy":
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, `<html><head></head><body><h1>Privacy</h1><div data-consent-declaration></div></body></html>`)
	case "/204":
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, trackerPage)
	}
}

func (u *cookieUpstream) last() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.received[len(u.received)-1]
}

func setCookieNames(h http.Header) []string {
	var names []string
	for _, v := range h.Values("Set-Cookie") {
		name, _, _ := strings.Cut(v, "=")
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func cookieGateway(t *testing.T, options string) (string, *cookieUpstream) {
	t.Helper()
	u := &cookieUpstream{}
	up := httptest.NewServer(u)
	t.Cleanup(up.Close)
	logDir := filepath.Join(t.TempDir(), "prooflog")
	return gateway(t, "{\n\t\tproof_log {\n\t\t\tdir "+logDir+"\n\t\t}\n"+options+"\t}", up), u
}

func TestSetCookieFilteringPerCategory(t *testing.T) {
	base, _ := cookieGateway(t, "")
	tests := []struct {
		name, path string
		accept     string // JSON categories for a save decision, "" for none
		want       []string
	}{
		{"an HTML page without consent keeps only the necessary", "/", "", []string{"PHPSESSID"}},
		{"a stylesheet too", "/style.css", "", []string{"PHPSESSID"}},
		{"a 204 too", "/204", "", []string{"PHPSESSID"}},
		{"statistics lets analytics cookies through", "/", `["statistics"]`, []string{"PHPSESSID", "_ga", "_ga_ABC123", "_gid", "_hjSessionUser_1"}},
		{"an unknown cookie waits for unclassified", "/style.css", `["statistics","preferences","marketing"]`, []string{"PHPSESSID", "_fbp", "_ga", "_ga_ABC123", "_gid", "_hjSessionUser_1"}},
		{"accepting unclassified lets it through", "/style.css", `["unclassified"]`, []string{"PHPSESSID", "mystery"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := mustRequest(t, "GET", base+tt.path)
			if tt.accept != "" {
				res := post(t, base, "application/json", `{"action":"save","categories":`+tt.accept+`}`, map[string]string{"Origin": base})
				if res.status != 200 {
					t.Fatal(res.body)
				}
				req.AddCookie(res.cookie)
			}
			resp, err := client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := setCookieNames(resp.Header)
			want := append([]string(nil), tt.want...)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Fatalf("Set-Cookie names %v, want %v", got, want)
			}
			for _, v := range resp.Header.Values("Set-Cookie") {
				if !slices.Contains(upstreamCookies, v) {
					t.Errorf("a passing cookie lost its attributes: %q", v)
				}
			}
		})
	}
}

func TestRequestCookiesAreStrippedUnlessKept(t *testing.T) {
	sent := "_ga=GA1.2.3.4; PHPSESSID=abc; _fbp=fb.1; wordpress_logged_in_x=admin"
	for _, tt := range []struct {
		option, want string
	}{
		{"", "PHPSESSID=abc; wordpress_logged_in_x=admin"},
		{"\t\trequest_cookies keep\n", sent},
	} {
		base, u := cookieGateway(t, tt.option)
		req := mustRequest(t, "GET", base+"/style.css")
		req.Header.Set("Cookie", sent)
		resp, err := client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := u.last(); got != tt.want {
			t.Errorf("option %q: upstream received %q, want %q", tt.option, got, tt.want)
		}
	}
}

func TestWithdrawalExpiresTrackerCookies(t *testing.T) {
	base, _ := cookieGateway(t, "")
	accept := post(t, base, "application/json", `{"action":"accept_all"}`, map[string]string{"Origin": base})
	browser := accept.cookie.Name + "=" + accept.cookie.Value + "; _ga=GA1.2.1; _ga_XXXX=GS1; _gid=GA1.3; _hjSession_1=x; _hjSessionUser_1=y; _fbp=fb.1; PHPSESSID=abc"
	req, _ := http.NewRequest("POST", base+"/.well-known/consent/consent", strings.NewReader(`{"action":"save","categories":["preferences"]}`))
	req.Host = "www.shop.example"
	req.Header.Set("Origin", "http://www.shop.example")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", browser)
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("withdrawal: %d", resp.StatusCode)
	}
	expired := map[string][]string{}
	for _, v := range resp.Header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(v)
		if err != nil {
			t.Fatal(err)
		}
		if c.MaxAge < 0 || strings.Contains(v, "Max-Age=0") {
			expired[c.Name] = append(expired[c.Name], c.Domain)
		}
	}
	for _, name := range []string{"_ga", "_ga_XXXX", "_gid", "_hjSession_1", "_hjSessionUser_1", "_fbp"} {
		domains := expired[name]
		sort.Strings(domains)
		if !slices.Equal(domains, []string{"", "shop.example", "www.shop.example"}) {
			t.Errorf("%s expired for domains %q, want host-only, www.shop.example and shop.example", name, domains)
		}
	}
	for _, name := range []string{"PHPSESSID", "consentgate"} {
		if _, ok := expired[name]; ok {
			t.Errorf("%s was expired", name)
		}
	}
}

func TestWordPressLoginWorksWithEverythingRejected(t *testing.T) {
	var mu sync.Mutex
	loggedIn := map[string]bool{}
	mux := http.NewServeMux()
	mux.HandleFunc("/wp-login.php", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			http.SetCookie(w, &http.Cookie{Name: "wordpress_test_cookie", Value: "WP Cookie check", Path: "/"})
			w.Header().Set("Content-Type", "text/html")
			_, _ = io.WriteString(w, `<html><body><form method="post"><input name="log"><input name="pwd"></form></body></html>`)
			return
		}
		if _, err := r.Cookie("wordpress_test_cookie"); err != nil {
			http.Error(w, "ERROR: Cookies are blocked or not supported by your browser.", http.StatusForbidden)
			return
		}
		_ = r.ParseForm()
		if r.PostForm.Get("log") != "admin" || r.PostForm.Get("pwd") != "secret" {
			http.Error(w, "bad login", http.StatusForbidden)
			return
		}
		mu.Lock()
		loggedIn["tok123"] = true
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "wordpress_sec_5f4dcc3b", Value: "admin|tok123", Path: "/wp-admin", HttpOnly: true})
		http.SetCookie(w, &http.Cookie{Name: "wordpress_logged_in_5f4dcc3b", Value: "admin|tok123", Path: "/", HttpOnly: true})
		http.SetCookie(w, &http.Cookie{Name: "wp-settings-1", Value: "mfold=o", Path: "/", MaxAge: 31536000})
		http.SetCookie(w, &http.Cookie{Name: "wp-settings-time-1", Value: "1700000000", Path: "/", MaxAge: 31536000})
		http.SetCookie(w, &http.Cookie{Name: "_ga", Value: "GA1.2.3.4", Path: "/"})
		http.Redirect(w, r, "/wp-admin/", http.StatusFound)
	})
	mux.HandleFunc("/wp-admin/", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("wordpress_logged_in_5f4dcc3b")
		mu.Lock()
		ok := err == nil && loggedIn[strings.TrimPrefix(c.Value, "admin|")]
		mu.Unlock()
		if !ok {
			http.Redirect(w, r, "/wp-login.php", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html><body><h1>Dashboard</h1></body></html>")
	})
	up := httptest.NewServer(mux)
	defer up.Close()
	logDir := filepath.Join(t.TempDir(), "prooflog")
	base := gateway(t, "{\n\t\tproof_log {\n\t\t\tdir "+logDir+"\n\t\t}\n\t}", up)

	jar := newJar(t)
	c := &http.Client{Jar: jar}
	reject := post(t, base, "application/json", `{"action":"reject_all"}`, map[string]string{"Origin": base})
	u, _ := url.Parse(base)
	jar.SetCookies(u, []*http.Cookie{reject.cookie})
	if _, err := c.Get(base + "/wp-login.php"); err != nil {
		t.Fatal(err)
	}
	resp, err := c.PostForm(base+"/wp-login.php", url.Values{"log": {"admin"}, "pwd": {"secret"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Dashboard") {
		t.Fatalf("login with everything rejected: %d %s", resp.StatusCode, body)
	}
	var names []string
	for _, ck := range jar.Cookies(u) {
		names = append(names, ck.Name)
	}
	sort.Strings(names)
	if slices.Contains(names, "_ga") || !slices.Contains(names, "wordpress_logged_in_5f4dcc3b") || !slices.Contains(names, "wp-settings-1") {
		t.Fatalf("browser holds %v", names)
	}
}

func TestCookieDeclarationIsRenderedEscaped(t *testing.T) {
	base, _ := cookieGateway(t, "\t\tcookie marketing mystery\n")
	// A page that carries Google Analytics teaches the gateway its vendor.
	_, _ = get(t, base+"/")
	_, body := get(t, base+"/privacy")
	i := strings.Index(body, `<div data-consent-filled data-consent-declaration>`)
	if i < 0 {
		t.Fatalf("the placeholder was not filled:\n%s", body)
	}
	decl := body[i:]
	for _, want := range []string{
		"<h3>Noodzakelijk</h3>", "<code>consentgate</code>", "<code>PHPSESSID</code>",
		"<h3>Statistieken</h3>", "<code>_ga</code>", "Google Analytics",
		"<h3>Marketing</h3>", "<code>_fbp</code>", "<code>mystery</code>", "Ingedeeld door de beheerder van de website.",
		// A Dutch page has Dutch purposes and retention.
		"<td>Onderscheidt bezoekers (een willekeurige client-ID).</td><td>2 jaar</td>",
	} {
		if !strings.Contains(decl, want) {
			t.Errorf("declaration lacks %s", want)
		}
	}
	if strings.Count(body, `class="cg-declaration"`) != 1 {
		t.Error("declaration inserted more or less than once")
	}
	for _, r := range decl {
		if r >= 0x80 {
			t.Fatalf("declaration is not ASCII-only: %q", r)
		}
	}
}

func newJar(t *testing.T) http.CookieJar {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return jar
}
