package wordpress

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/consentgate/consentgate/internal/browsertest"
	"github.com/consentgate/consentgate/internal/testenv"
)

// TestWordPress runs a real WordPress (Debian's package, PHP-FPM, MariaDB;
// see testdata/setup.sh) behind the gateway in Caddy, and drives it in
// headless Chromium. The page carries the GA4, Hotjar and Meta pixel
// snippets verbatim and a post embeds a YouTube video. The trackers' hosts
// resolve, in the browser only, to a second Caddy site on loopback (tls
// internal) that proxies to a recorder serving stand-in scripts: each
// pushes its name to window.__trackers when it runs, and the recorder
// notes every request, so the test tells a tracker that ran from one that
// was only requested, and both from one that never left the page. Nothing
// leaves the machine.
func TestWordPress(t *testing.T) {
	if testing.Short() {
		t.Skip("browser tests are not short")
	}
	wp := wordpressEnv(t)
	standInPort := testenv.FreePort(t)
	browser := browsertest.Start(t, browsertest.Options{HostRules: standInHostRules(standInPort)})
	rec := newRecorder(t)
	gw := startWordPressGateway(t, wp, rec, standInPort)

	front, post := gw.base+"/", gw.base+wp.post
	// Consent IDs of the decisions made below, with the method the proof
	// log must show for each.
	var decisions []struct{ id, method string }
	settle := func() { time.Sleep(1200 * time.Millisecond) }

	t.Run("the banner shows on the front page and the post, nothing runs before a decision", func(t *testing.T) {
		for _, u := range []string{front, post} {
			rec.reset()
			tb := newTab(t, browser)
			tb.Open(u)
			tb.WaitFor("the banner", bannerShown)
			for _, sel := range []string{acceptAll, rejectAll, openSettings} {
				if !evalJS[bool](tb, `(function (b) { return !!b && b.getClientRects().length > 0; })(document.querySelector('`+sel+`'))`) {
					t.Errorf("%s: %s is not visible", u, sel)
				}
			}
			if !evalJS[bool](tb, `!!document.querySelector('#wp--skip-link--target, .wp-site-blocks')`) {
				t.Errorf("%s: this is not the WordPress theme's page", u)
			}
			settle()
			if got := evalJS[[]string](tb, `window.__trackers || []`); len(got) != 0 {
				t.Errorf("%s: trackers ran before a decision: %v", u, got)
			}
			if got := tb.requestedHosts(gw.host); len(got) != 0 {
				t.Errorf("%s: requests beyond the site before a decision: %v", u, got)
			}
			if got := rec.all(); len(got) != 0 {
				t.Errorf("%s: the tracker stand-ins were requested before a decision: %v", u, got)
			}
			if u == post {
				if evalJS[bool](tb, `!!document.querySelector('iframe[src*="youtube.com"]')`) {
					t.Error("the YouTube iframe has its src before a decision")
				}
				if !evalJS[bool](tb, `!!document.querySelector('iframe[data-consent-src^="https://www.youtube.com/embed/"]')`) {
					t.Error("the YouTube iframe was not neutralised")
				}
				tb.WaitFor("the embed placeholder", `document.querySelector('.cg-placeholder')`)
			}
		}
	})

	t.Run("accept all runs the trackers without a reload", func(t *testing.T) {
		rec.reset()
		tb := newTab(t, browser)
		tb.Open(post)
		tb.Do(chromedp.Evaluate[chromedp.Void](`window.notReloaded = true;
			window.__trackers = window.__trackers || [];
			window.addEventListener('message', function (e) { if (e.data === 'youtube-embed-ran') window.__trackers.push('youtube'); });`))
		tb.Do(chromedp.Click(chromedp.CSS(acceptAll)))
		tb.WaitFor("the trackers", `['gtag', 'hotjar', 'meta-pixel', 'youtube'].every(function (x) { return window.__trackers.indexOf(x) >= 0; })`)
		if !evalJS[bool](tb, `window.notReloaded === true`) {
			t.Error("the page reloaded")
		}
		if evalJS[bool](tb, bannerShown) {
			t.Error("the banner still shows")
		}
		for _, want := range []string{
			"www.googletagmanager.com/gtag/js?id=G-E2ETEST123",
			"static.hotjar.com/c/hotjar-1000002.js?sv=6",
			"connect.facebook.net/en_US/fbevents.js",
			"www.facebook.com/tr?id=100000000000002&ev=PageView",
			"www.youtube.com/embed/cgE2Etest01",
			"www.google-analytics.com/g/collect?v=2&tid=G-E2ETEST123",
		} {
			rec.waitFor(t, want)
		}
		// The browser's own log of requests sees them too (so its
		// silence before a decision means something).
		for _, host := range []string{"www.googletagmanager.com", "static.hotjar.com", "connect.facebook.net", "www.facebook.com"} {
			if !slices.ContainsFunc(tb.requestedHosts(gw.host), func(u string) bool { return strings.HasPrefix(u, "https://"+host+"/") }) {
				t.Errorf("the browser logged no request to %s: %v", host, tb.requestedHosts(gw.host))
			}
		}
		st := tb.consentState()
		if !st.Decided || !st.Categories["statistics"] || !st.Categories["marketing"] || !st.Categories["preferences"] {
			t.Errorf("the endpoint's state after accepting all: %+v", st)
		}
		decisions = append(decisions, struct{ id, method string }{st.ID, "accept_all"})
		// The next page has them from the server.
		tb.Open(front)
		tb.WaitFor("the trackers on the next page", `window.__trackers && ['gtag', 'hotjar', 'meta-pixel'].every(function (x) { return window.__trackers.indexOf(x) >= 0; })`)
		if evalJS[bool](tb, bannerShown) {
			t.Error("the banner shows again after deciding")
		}
	})

	t.Run("reject all runs and requests nothing, also after a reload", func(t *testing.T) {
		rec.reset()
		tb := newTab(t, browser)
		tb.Open(post)
		tb.Do(chromedp.Click(chromedp.CSS(rejectAll)))
		tb.WaitFor("the banner to go", `!(`+bannerShown+`)`)
		settle()
		check := func(when string) {
			t.Helper()
			if got := evalJS[[]string](tb, `window.__trackers || []`); len(got) != 0 {
				t.Errorf("%s: trackers ran: %v", when, got)
			}
			if got := tb.requestedHosts(gw.host); len(got) != 0 {
				t.Errorf("%s: requests beyond the site: %v", when, got)
			}
			if got := rec.all(); len(got) != 0 {
				t.Errorf("%s: the tracker stand-ins were requested: %v", when, got)
			}
		}
		check("after rejecting")
		st := tb.consentState()
		if !st.Decided || st.Categories["statistics"] || st.Categories["marketing"] || st.Categories["preferences"] {
			t.Errorf("the endpoint's state after rejecting all: %+v", st)
		}
		decisions = append(decisions, struct{ id, method string }{st.ID, "reject_all"})
		for _, u := range []string{post, front} {
			tb.Open(u)
			if evalJS[bool](tb, bannerShown) {
				t.Errorf("%s: the banner shows again after rejecting", u)
			}
			if !evalJS[bool](tb, `getComputedStyle(document.querySelector('`+toggle+`')).display !== 'none'`) {
				t.Errorf("%s: the Cookie settings control does not show", u)
			}
			settle()
			check("after a reload of " + u)
		}
	})

	t.Run("wp-admin login works with everything rejected", func(t *testing.T) {
		tb := newTab(t, browser)
		tb.Open(front)
		tb.Do(chromedp.Click(chromedp.CSS(rejectAll)))
		tb.WaitFor("the banner to go", `!(`+bannerShown+`)`)
		st := tb.consentState()
		if !st.Decided {
			t.Fatalf("no decision after rejecting: %+v", st)
		}
		decisions = append(decisions, struct{ id, method string }{st.ID, "reject_all"})

		tb.Open(gw.base + "/wp-login.php")
		tb.Do(chromedp.WaitVisible(chromedp.ID("user_login")))
		if evalJS[bool](tb, bannerShown) {
			t.Error("the banner shows on the login page after rejecting")
		}
		tb.Do(
			chromedp.SendKeys(chromedp.ID("user_login"), wp.user),
			chromedp.SendKeys(chromedp.ID("user_pass"), wp.password),
			chromedp.Click(chromedp.ID("wp-submit")),
		)
		tb.WaitFor("the dashboard", `location.pathname === '/wp-admin/' && document.readyState === 'complete' && document.getElementById('wpadminbar') && document.querySelector('#wpbody-content h1')`)
		if h1 := evalJS[string](tb, `document.querySelector('#wpbody-content h1').textContent.trim()`); h1 != "Dashboard" {
			t.Errorf("the dashboard's heading is %q", h1)
		}
		if evalJS[bool](tb, `!!document.getElementById('consentgate')`) {
			t.Error("the banner is in an excluded page (/wp-admin/)")
		}
		cookies := tb.cookies(gw.base + "/wp-admin/")
		var names []string
		for n := range cookies {
			names = append(names, n)
		}
		slices.Sort(names)
		has := func(prefix string) bool {
			return slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, prefix) })
		}
		// Over HTTP WordPress sets wordpress_<hash> as its admin
		// authentication cookie; wordpress_sec_<hash> is its HTTPS twin.
		for _, want := range []string{"wordpress_test_cookie", "wordpress_logged_in_", "wordpress_"} {
			if !has(want) {
				t.Errorf("no %s* cookie after logging in; the browser has %v", want, names)
			}
		}
		if !slices.ContainsFunc(names, func(n string) bool {
			return strings.HasPrefix(n, "wordpress_") && n != "wordpress_test_cookie" && !strings.HasPrefix(n, "wordpress_logged_in_")
		}) {
			t.Errorf("no wordpress_<hash> (or wordpress_sec_<hash>) authentication cookie; the browser has %v", names)
		}
		if c := cookies["consentgate"]; c == nil {
			t.Errorf("the consent cookie is gone; the browser has %v", names)
		}
		// The rejection still holds on the site once logged in.
		tb.Open(front)
		if evalJS[bool](tb, bannerShown) {
			t.Error("the banner shows again after logging in")
		}
		if got := evalJS[[]string](tb, `window.__trackers || []`); len(got) != 0 {
			t.Errorf("trackers ran for the logged-in visitor who rejected them: %v", got)
		}
	})

	t.Run("the decisions are in the proof log and it verifies", func(t *testing.T) {
		if len(decisions) == 0 {
			t.Fatal("no decision was made above")
		}
		// A clean stop signs the chain's head.
		gw.caddy.Stop(t)
		pub, err := consentCommand(t, "pubkey", "--config", gw.caddy.Caddyfile)
		if err != nil || !strings.Contains(pub, "ed25519") {
			t.Fatalf("caddy consent pubkey: %v\n%s", err, pub)
		}
		pubFile := filepath.Join(t.TempDir(), "pubkey.json")
		if err := os.WriteFile(pubFile, []byte(pub), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := consentCommand(t, "verify", "--log", gw.proofLog, "--pubkey", pubFile)
		t.Logf("caddy consent verify --log %s --pubkey %s:\n%s", gw.proofLog, pubFile, out)
		if err != nil || !strings.HasPrefix(out, "OK: ") {
			t.Fatalf("verify: %v", err)
		}
		if want := fmt.Sprintf("(%d decisions,", len(decisions)); !strings.Contains(out, want) {
			t.Errorf("verify counted other than %d decisions", len(decisions))
		}
		if !strings.Contains(out, "last signed checkpoint") {
			t.Error("no signed checkpoint after a clean stop")
		}
		// The same with the config, as an operator runs it.
		if out, err := consentCommand(t, "verify", "--config", gw.caddy.Caddyfile); err != nil || !strings.HasPrefix(out, "OK: ") {
			t.Errorf("verify --config: %v\n%s", err, out)
		}
		for _, d := range decisions {
			// "--": a consent ID is base64url and may start with "-".
			out, err := consentCommand(t, "show", "--log", gw.proofLog, "--", d.id)
			if err != nil {
				t.Errorf("show %s: %v\n%s", d.id, err, out)
				continue
			}
			var rec struct {
				Method string `json:"method"`
				Path   string `json:"path"`
			}
			if err := json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &rec); err != nil {
				t.Errorf("show %s: %v\n%s", d.id, err, out)
				continue
			}
			if rec.Method != d.method {
				t.Errorf("consent %s is recorded as %q, want %q", d.id, rec.Method, d.method)
			}
		}
	})
}

// wpEnv is the WordPress that testdata/setup.sh prepared.
type wpEnv struct {
	root, content, fpm, user, password, post string
}

func wordpressEnv(t *testing.T) wpEnv {
	t.Helper()
	wp := wpEnv{
		root:     os.Getenv("CONSENTGATE_WP_ROOT"),
		content:  os.Getenv("CONSENTGATE_WP_CONTENT"),
		fpm:      os.Getenv("CONSENTGATE_WP_FPM"),
		user:     os.Getenv("CONSENTGATE_WP_USER"),
		password: os.Getenv("CONSENTGATE_WP_PASSWORD"),
		post:     os.Getenv("CONSENTGATE_WP_POST"),
	}
	if wp.root == "" {
		testenv.Missing(t, `the WordPress test needs a WordPress: as root, eval "$(bash e2e/wordpress/testdata/setup.sh)" first (sets CONSENTGATE_WP_ROOT and the rest)`)
	}
	if wp.fpm == "" || wp.user == "" || wp.password == "" {
		t.Fatal("CONSENTGATE_WP_ROOT is set but CONSENTGATE_WP_FPM, CONSENTGATE_WP_USER or CONSENTGATE_WP_PASSWORD is not: eval the whole output of e2e/wordpress/testdata/setup.sh")
	}
	if wp.content == "" {
		wp.content = filepath.Join(wp.root, "wp-content")
	}
	if wp.post == "" {
		wp.post = "/consentgate-video/"
	}
	if _, err := os.Stat(filepath.Join(wp.root, "wp-login.php")); err != nil {
		t.Fatalf("CONSENTGATE_WP_ROOT=%s is not a WordPress: %v", wp.root, err)
	}
	if filepath.Base(wp.content) != "wp-content" {
		t.Fatalf("CONSENTGATE_WP_CONTENT=%s: the folder must be called wp-content", wp.content)
	}
	if sock, ok := strings.CutPrefix(wp.fpm, "unix/"); ok {
		if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 {
			t.Fatalf("PHP-FPM's socket %s is not there (%v): is php-fpm running? Run e2e/wordpress/testdata/setup.sh again", sock, err)
		}
	}
	return wp
}

// standIns are the tracker hosts the browser resolves to the stand-in site.
var standIns = []string{
	"www.googletagmanager.com",
	"www.google-analytics.com",
	"region1.google-analytics.com",
	"static.hotjar.com",
	"script.hotjar.com",
	"connect.facebook.net",
	"www.facebook.com",
	"www.youtube.com",
	"s.w.org",
	"secure.gravatar.com",
}

// standInHostRules maps every stand-in host's HTTPS port to the stand-in
// site's loopback port.
func standInHostRules(port int) []string {
	var rules []string
	for _, h := range standIns {
		rules = append(rules, fmt.Sprintf("MAP %s:443 127.0.0.1:%d", h, port))
	}
	return rules
}

// wpGateway is the running gateway in front of WordPress.
type wpGateway struct {
	caddy      *caddyRun
	base, host string
	proofLog   string
}

func startWordPressGateway(t *testing.T, wp wpEnv, rec *recorder, standInPort int) *wpGateway {
	t.Helper()
	port := testenv.FreePort(t)
	gw := &wpGateway{
		host:     fmt.Sprintf("127.0.0.1:%d", port),
		proofLog: filepath.Join(t.TempDir(), "prooflog"),
	}
	gw.base = "http://" + gw.host
	contentRoot := ""
	if filepath.Clean(wp.content) != filepath.Join(filepath.Clean(wp.root), "wp-content") {
		// Debian keeps wp-content in /var/lib/wordpress.
		contentRoot = fmt.Sprintf("\troot /wp-content/* %s\n", filepath.Dir(wp.content))
	}
	var standInSites []string
	for _, h := range standIns {
		standInSites = append(standInSites, fmt.Sprintf("https://%s:%d", h, standInPort))
	}
	sites := fmt.Sprintf(`# The gateway in front of WordPress, as configs/wordpress/Caddyfile has it.
http://%[1]s {
	bind 127.0.0.1
	root * %[2]s
%[3]s	encode
	cookie_consent {
		controller "Bakkerij Consentgate"
		proof_log {
			dir %[4]s
		}
		exclude /wp-admin/*
	}
	php_fastcgi %[5]s
	file_server
}

# The trackers' stand-ins: the browser resolves their hosts here.
%[6]s {
	bind 127.0.0.1
	tls internal
	reverse_proxy %[7]s
}
`, gw.host, wp.root, contentRoot, gw.proofLog, wp.fpm, strings.Join(standInSites, ", "), rec.addr())
	// Plain HTTP for the gateway's site; the stand-ins get certificates
	// from Caddy's internal CA, which is not installed anywhere (Chromium
	// runs with --ignore-certificate-errors).
	gw.caddy = startCaddy(t, "\tauto_https disable_redirects\n\tskip_install_trust", sites)
	testenv.WaitListening(t, gw.host)
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", standInPort))
	// WordPress answers through the gateway.
	resp, err := http.Get(gw.base + "/")
	if err != nil {
		t.Fatalf("the gateway in front of WordPress: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the gateway in front of WordPress answers %s for /; is MariaDB running? (run e2e/wordpress/testdata/setup.sh again)", resp.Status)
	}
	return gw
}

// recorder serves the trackers' stand-ins behind the stand-in site and
// notes every request: host, path and query.
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	r.srv = httptest.NewServer(r)
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) addr() string { return strings.TrimPrefix(r.srv.URL, "http://") }

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = nil
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// waitFor waits until a request starting with prefix (host, path, query)
// came in.
func (r *recorder) waitFor(t *testing.T, prefix string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if slices.ContainsFunc(r.all(), func(s string) bool { return strings.HasPrefix(s, prefix) }) {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Errorf("no request for %s reached the stand-ins; they saw %v", prefix, r.all())
}

// ran is a stand-in script's first statement: it notes that it ran.
func ran(name string) string {
	return "(window.__trackers = window.__trackers || []).push('" + name + "');\n"
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	host := req.Host
	key := host + req.URL.RequestURI()
	r.mu.Lock()
	r.seen = append(r.seen, key)
	r.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	js := func(body string) {
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprint(w, body)
	}
	pixel := func() {
		w.Header().Set("Content-Type", "image/gif")
		w.Write([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"))
	}
	switch {
	case host == "www.googletagmanager.com" && req.URL.Path == "/gtag/js":
		js(ran("gtag") + "new Image().src = 'https://www.google-analytics.com/g/collect?v=2&tid=' + encodeURIComponent('" + req.URL.Query().Get("id") + "') + '&en=page_view';")
	case host == "static.hotjar.com" && strings.HasPrefix(req.URL.Path, "/c/hotjar-"):
		js(ran("hotjar"))
	case host == "connect.facebook.net" && strings.HasSuffix(req.URL.Path, "/fbevents.js"):
		js(ran("meta-pixel") + "new Image().src = 'https://www.facebook.com/tr?id=100000000000002&ev=PageView';")
	case host == "www.youtube.com" && strings.HasPrefix(req.URL.Path, "/embed/"):
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>YouTube stand-in</title><p>A video.</p><script>parent.postMessage('youtube-embed-ran', '*');</script>`)
	case host == "www.facebook.com" || strings.HasSuffix(host, "google-analytics.com"):
		pixel()
	default:
		http.NotFound(w, req)
	}
}
