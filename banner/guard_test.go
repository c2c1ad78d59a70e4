package banner

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/internal/testenv"
	"github.com/consentgate/consentgate/internal/testpages"
	"github.com/consentgate/consentgate/rules"
)

// defaultGuardRules compiles the embedded rules (curated and catalogue) as
// the gateway does with every category enabled.
func defaultGuardRules(t testing.TB) *rules.Ruleset {
	t.Helper()
	files, err := rules.DefaultFiles(true)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rules.Compile(rules.AllSet, files...)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func guardBanner(t testing.TB, rs *rules.Ruleset, g GuardConfig) (*Banner, Asset) {
	t.Helper()
	table, err := rules.GuardTable(rs)
	if err != nil {
		t.Fatal(err)
	}
	g.Table = table
	cfg := testConfig()
	cfg.Guard = &g
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range b.Assets() {
		if strings.HasPrefix(a.Name, "guard.") {
			return b, a
		}
	}
	t.Fatal("no guard asset")
	return nil, Asset{}
}

func TestGuardAsset(t *testing.T) {
	rs := defaultGuardRules(t)
	b, a := guardBanner(t, rs, GuardConfig{BlockUnknown: true})
	if !regexp.MustCompile(`^guard\.[0-9a-f]{10}\.js$`).MatchString(a.Name) {
		t.Errorf("asset name %q is not guard.<10 hex>.js", a.Name)
	}
	if a.ContentType != contentTypeJS {
		t.Errorf("content type %q", a.ContentType)
	}
	for _, p := range [][]byte{guardTablePlaceholder, guardOptionsPlaceholder} {
		if bytes.Contains(a.Body, p) {
			t.Errorf("the asset still holds %s", p)
		}
	}
	if !bytes.Contains(a.Body, []byte(`"blockUnknown":true`)) || !bytes.Contains(a.Body, []byte(`"google-analytics"`)) {
		t.Error("the asset lacks its options or table")
	}
	// Another table is another asset, under another name.
	_, other := guardBanner(t, rs, GuardConfig{ReportOnly: true})
	if other.Name == a.Name {
		t.Error("different options, same asset name")
	}

	tests := []struct {
		s    State
		want string
	}{
		{State{}, `<script src="/.well-known/consent/` + a.Name + `" data-cg-accepted="necessary"></script>`},
		{State{Accepted: rules.SetOf(rules.Statistics)}, `<script src="/.well-known/consent/` + a.Name + `" data-cg-accepted="necessary statistics"></script>`},
		{State{Accepted: rules.AllSet, Site: "example.nl", Nonce: `n"1`},
			`<script src="/.well-known/consent/` + a.Name + `" data-cg-accepted="necessary statistics preferences marketing unclassified" data-cg-site="example.nl" nonce="n&#34;1"></script>`},
	}
	for _, tt := range tests {
		if got := string(b.Guard(tt.s)); got != tt.want {
			t.Errorf("Guard(%+v) =\n%s\nwant\n%s", tt.s, got, tt.want)
		}
	}
	if got := mustNew(t, testConfig()).Guard(State{}); got != nil {
		t.Errorf("Guard without GuardConfig = %s", got)
	}
	if _, err := New(Config{Prefix: "/p/", Categories: []rules.Category{rules.Marketing}, Guard: &GuardConfig{Table: []byte("[1]")}}); err == nil {
		t.Error("a table that is not an object was taken")
	}
}

// TestGuardBudget keeps the guard, with the table of every rule the
// gateway ships (curated and catalogue), within GuardBudget as the gateway
// serves it, precompressed (Brotli, else gzip), and at Caddy's default
// gzip level, for a site that compresses it in an encode directive: it
// blocks rendering on a first visit.
func TestGuardBudget(t *testing.T) {
	_, a := guardBanner(t, defaultGuardRules(t), GuardConfig{})
	var z bytes.Buffer
	w, _ := gzip.NewWriterLevel(&z, 5)
	_, _ = w.Write(a.Body)
	_ = w.Close()
	t.Logf("guard asset: %d bytes; served %d with Brotli, %d with gzip; %d at gzip level 5 (budget %d)",
		len(a.Body), len(a.Encoded["br"]), len(a.Encoded["gzip"]), z.Len(), GuardBudget)
	for name, n := range map[string]int{"Brotli": len(a.Encoded["br"]), "gzip": len(a.Encoded["gzip"]), "gzip level 5": z.Len()} {
		if n == 0 || n > GuardBudget {
			t.Errorf("the guard weighs %d bytes with %s, over the budget of %d", n, name, GuardBudget)
		}
	}
}

// matcherHarness runs the guard asset in node, outside any page, where it
// offers its matcher, and answers the queries on stdin.
const matcherHarness = `
const vm = require('vm');
const fs = require('fs');
const ctx = {URL: URL};
vm.createContext(ctx);
vm.runInContext(fs.readFileSync(process.argv[1], 'utf8'), ctx);
const M = ctx.consentgateMatcher;
const q = JSON.parse(fs.readFileSync(0, 'utf8'));
const id = (v) => v < 0 ? '' : M.id(v) + ' ' + M.category(v);
process.stdout.write(JSON.stringify({
	urls: q.urls.map((u) => {
		const s = M.split(u, q.base);
		return s ? [s[0], s[1], id(M.url(s[0], s[1]))] : null;
	}),
	pairs: q.pairs.map((p) => id(M.url(p[0], p[1]))),
	hosts: q.hosts.map((h) => { const r = M.host(h); return [id(r[0]), r[1]]; }),
	cookies: q.cookies.map((c) => { const r = M.cookie(c); return r ? M.id(r.v) + ' ' + r.c : ''; }),
}));
`

type matcherQuery struct {
	Base    string      `json:"base"`
	URLs    []string    `json:"urls"`
	Pairs   [][2]string `json:"pairs"`
	Hosts   []string    `json:"hosts"`
	Cookies []string    `json:"cookies"`
}

type matcherAnswer struct {
	URLs    []*[3]string      `json:"urls"`
	Pairs   []string          `json:"pairs"`
	Hosts   []json.RawMessage `json:"hosts"`
	Cookies []string          `json:"cookies"`
}

func runMatcher(t *testing.T, asset Asset, q matcherQuery) matcherAnswer {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "node is not installed (apt-get install nodejs): the guard's matcher runs in it")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, asset.Name)
	if err := os.WriteFile(path, asset.Body, 0o644); err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(q)
	cmd := exec.Command(node, "-e", matcherHarness, path)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.Bytes())
	}
	var a matcherAnswer
	if err := json.Unmarshal(out, &a); err != nil {
		t.Fatalf("node's answer: %v", err)
	}
	return a
}

// vendorID is what the guard knows of v: its ID and category, or only
// its category for a catalogue vendor (see rules.GuardTable).
func vendorID(v *rules.Vendor) string {
	if v == nil {
		return ""
	}
	if v.Catalogue {
		return fmt.Sprintf(" %d", v.Category)
	}
	return fmt.Sprintf("%s %d", v.ID, v.Category)
}

// TestGuardMatcherDifferential holds the guard's matcher, running in node
// from the asset the gateway serves, to rules.MatchURL, MatchHost and
// MatchCookie: thousands of URLs (real tag URLs from the demo site and the
// corpus, URLs built from every rule, odd forms), the hosts of every rule
// and its neighbours, and cookie names, with zero disagreements.
func TestGuardMatcherDifferential(t *testing.T) {
	rs := defaultGuardRules(t)
	// Operator rules in front, with overlaps, any-host patterns, globs
	// so precedence across tiers is exercised.
	site := &rules.File{Format: rules.FileFormat, Vendors: []rules.VendorSpec{
		{ID: "site-1", Name: "Site", Category: "necessary", URLs: []string{"www.googletagmanager.com/gtm.js?id=GTM-SITE", "*/*/own-pixel*.gif", "shop.example/tr"}, Cookies: []rules.CookieSpec{{Name: "_ga_SITE"}, {Name: "_fb*x"}}},
		{ID: "site-2", Name: "Site 2", Category: "preferences", URLs: []string{"*.facebook.com/plugins/*like", "*.example.org"}, Cookies: []rules.CookieSpec{{Name: "pref_*_*"}, {Name: `it's\here`}, {Name: "caf\u00e9_*"}}},
	}}
	defaults, err := rules.DefaultFiles(true)
	if err != nil {
		t.Fatal(err)
	}
	withSite, err := rules.Compile(rules.SetOf(rules.Statistics, rules.Marketing), append([]*rules.File{site}, defaults...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		rs   *rules.Ruleset
	}{{"default rules", rs}, {"site rules over default, preferences disabled", withSite}} {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := rules.GuardTable(tc.rs)
			if err != nil {
				t.Fatal(err)
			}
			_, asset := guardBanner(t, tc.rs, GuardConfig{})
			q := buildMatcherQuery(t, tab)
			a := runMatcher(t, asset, q)
			compareMatchers(t, tc.rs, q, a)
		})
	}
}

func compareMatchers(t *testing.T, rs *rules.Ruleset, q matcherQuery, a matcherAnswer) {
	t.Helper()
	if len(a.URLs) != len(q.URLs) || len(a.Pairs) != len(q.Pairs) || len(a.Hosts) != len(q.Hosts) || len(a.Cookies) != len(q.Cookies) {
		t.Fatal("node answered a different number of queries")
	}
	bad := 0
	report := func(format string, args ...any) {
		bad++
		if bad <= 30 {
			t.Errorf(format, args...)
		}
	}
	parsed, urlLevel := 0, 0
	for i, u := range q.URLs {
		got := a.URLs[i]
		if got == nil {
			continue // no network host for the browser
		}
		parsed++
		host, pathq := got[0], got[1]
		// The guard's matcher on what the browser's parser made of u
		// must answer as Go's matcher on the same host and path.
		if want := vendorID(rs.MatchURL([]byte(host), []byte(pathq))); want != got[2] {
			report("URL %q (host %q, path %q): guard says %q, MatchURL %q", u, host, pathq, got[2], want)
		}
		// And where Go's own URL splitting reads u as the browser does,
		// the whole classification agrees.
		gh, gp := rules.SplitURL([]byte(u), nil)
		if string(gh) == host && string(gp) == pathq {
			urlLevel++
		}
	}
	for i, p := range q.Pairs {
		if want := vendorID(rs.MatchURL([]byte(p[0]), []byte(p[1]))); want != a.Pairs[i] {
			report("host %q path %q: guard says %q, MatchURL %q", p[0], p[1], a.Pairs[i], want)
		}
	}
	for i, h := range q.Hosts {
		var got []json.RawMessage
		if err := json.Unmarshal(a.Hosts[i], &got); err != nil || len(got) != 2 {
			t.Fatalf("host answer %s", a.Hosts[i])
		}
		var gotID string
		var gotCats []int
		_ = json.Unmarshal(got[0], &gotID)
		_ = json.Unmarshal(got[1], &gotCats)
		v, cats := rs.MatchHost([]byte(h))
		var wantCats []int
		for _, c := range cats.Categories() {
			wantCats = append(wantCats, int(c))
		}
		if vendorID(v) != gotID || !slices.Equal(gotCats, wantCats) {
			report("MatchHost(%q): guard says %q %v, Go %q %v", h, gotID, gotCats, vendorID(v), wantCats)
		}
	}
	for i, c := range q.Cookies {
		want := ""
		if r := rs.MatchCookie(c); r != nil {
			want = fmt.Sprintf("%s %d", r.Vendor.ID, r.Category())
			if r.Vendor.Catalogue {
				want = fmt.Sprintf(" %d", r.Category())
			}
		}
		if want != a.Cookies[i] {
			report("MatchCookie(%q): guard says %q, Go %q", c, a.Cookies[i], want)
		}
	}
	t.Logf("%d URLs (%d with a network host; SplitURL reads %d of those exactly as the browser), %d host/path pairs, %d hosts, %d cookie names: %d disagreements",
		len(q.URLs), parsed, urlLevel, len(q.Pairs), len(q.Hosts), len(q.Cookies), bad)
	if parsed < 2000 || len(q.Pairs) < 2000 {
		t.Errorf("too few cases: %d URLs, %d pairs", parsed, len(q.Pairs))
	}
}

// buildMatcherQuery makes the cases from the table itself (so every rule,
// curated or catalogue, is covered), real pages and odd forms.
func buildMatcherQuery(t *testing.T, table []byte) matcherQuery {
	t.Helper()
	var tab struct {
		U [][]json.RawMessage `json:"u"`
		K [][]json.RawMessage `json:"k"`
	}
	if err := json.Unmarshal(table, &tab); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	q := matcherQuery{Base: "https://www.bakkerij.example/blog/post/"}
	seenURL := map[string]bool{}
	addURL := func(u string) {
		if !seenURL[u] {
			seenURL[u] = true
			q.URLs = append(q.URLs, u)
		}
	}
	seenHost := map[string]bool{}
	addHost := func(h string) {
		if h != "" && !seenHost[h] {
			seenHost[h] = true
			q.Hosts = append(q.Hosts, h)
		}
	}
	fills := []string{"", "x", "abc/def", "*", "?id=1"}
	for _, run := range tab.U {
		var ps string
		_ = json.Unmarshal(run[1], &ps)
		for _, p := range unfront(ps) {
			host, path, _ := strings.Cut(p, "/")
			if strings.Contains(p, "/") {
				path = "/" + path
			}
			var hosts []string
			switch {
			case host == "*":
				hosts = []string{"www.bakkerij.example", "cdn.example.net"}
			case strings.HasPrefix(host, "*."):
				h := host[2:]
				hosts = []string{h, "www." + h, "a.b." + h, "x" + h, h + ".evil.example"}
			default:
				hosts = []string{host, "www." + host, "x" + host, strings.TrimPrefix(host, "www.")}
				if i := strings.IndexByte(host, '.'); i >= 0 {
					hosts = append(hosts, host[i+1:])
				}
			}
			var paths []string
			if path == "" {
				paths = []string{"", "/", "/any/thing.js?x=1"}
			} else {
				segs := strings.Split(path, "*")
				for _, f := range fills {
					paths = append(paths, strings.Join(segs, f), strings.Join(segs, f)+"/more?q=1")
				}
				full := strings.Join(segs, "")
				paths = append(paths, full[:len(full)-1], strings.ToUpper(full), "/prefix"+full, full+"&b=2")
			}
			for _, h := range hosts {
				addHost(h)
				addHost(strings.ToUpper(h))
				for _, p := range paths {
					addURL("https://" + h + p)
					q.Pairs = append(q.Pairs, [2]string{h, p})
				}
				p := paths[rng.IntN(len(paths))]
				for _, form := range []string{"http://%s%s", "//%s%s", "https://%s:8443%s", "https://user:pw@%s%s", "HTTPS://%s%s#frag", "https://%s.%s", " https://%s%s\n", "https:\\\\%s%s"} {
					addURL(fmt.Sprintf(form, h, p))
				}
				addURL("https://" + strings.ToUpper(h) + p)
			}
		}
	}
	// Real tag URLs: the demo site and the corpus.
	attrURL := regexp.MustCompile(`(?i)(?:src|href|data|action|poster)\s*=\s*["']((?:https?:)?//[^"'\s<>]{3,300})["']`)
	var pages []string
	for _, dir := range []string{testpages.Dir(), "../../shared/corpus/pages"} {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".html") || strings.HasSuffix(path, ".htm") || strings.HasSuffix(path, ".php")) {
				pages = append(pages, path)
			}
			return nil
		})
	}
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, m := range attrURL.FindAllSubmatch(b, -1) {
			addURL(strings.ReplaceAll(string(m[1]), "&amp;", "&"))
		}
	}
	// Odd forms, as pages and attackers write them.
	for _, u := range []string{
		"https://WWW.GoogleTagManager.COM/gtm.js?id=GTM-1", "https://www.googletagmanager.com./gtm.js", "https://www.googletagmanager.com../gtm.js",
		"https://www.googletagmanager.com/a/../gtm.js", "https://www.googletagmanager.com/%67tm.js", "https://www.facebook.com/tr/?id=1",
		"https://www.facebook.com/tr?id=1&ev=PageView&noscript=1", "https://www.facebook.com?tr", "https://\uff57\uff57\uff57.facebook.com/tr",
		"https://www.face\u00adbook.com/tr", "https://www\u3002facebook\u3002com/tr", "https://connect.facebook.net:443/en_US/fbevents.js",
		"https://[::1]/matomo.js", "https://127.0.0.1/piwik.js", "http://0x7f.1/matomo.php", "https://b\u00fccher.example/tr",
		"https://xn--bcher-kva.example/tr", "//static.hotjar.com/c/hotjar-1.js?sv=6", "/wp-content/plugins/x/matomo.js",
		"matomo.js", "../own-pixel.gif", "/a/b/own-pixel-1.gif", "wss://ws.hotjar.com/api/v2/client/ws", "ws://www.google-analytics.com/x",
		"https://www.youtube.com/embed/x?autoplay=1", "https://www.youtube.com/embed", "https://youtube.com/embed/../watch",
		"https://evil.example/?u=https://connect.facebook.net/", "https://connect.facebook.net.evil.example/", "https://www.facebook.com/plugins/page_like",
		"https://a.www.facebook.com/plugins/x/like", "https://sub.example.org/whatever", "https://example.org./x",
		"data:text/javascript,fbq()", "javascript:void(0)", "blob:https://x/1", "about:blank", "https://", "https:///x", "https:www.facebook.com/tr",
	} {
		addURL(u)
	}
	// Random pairs and hosts around the rules' hosts.
	for len(q.Pairs) < 6000 {
		h := q.Hosts[rng.IntN(len(q.Hosts))]
		p := q.Pairs[rng.IntN(len(q.Pairs))][1]
		q.Pairs = append(q.Pairs, [2]string{strings.ToLower(h), p})
	}
	for _, run := range tab.K {
		var cs string
		_ = json.Unmarshal(run[2], &cs)
		for _, c := range unfront(cs) {
			for _, f := range []string{"", "x", "_abc_", "*"} {
				n := strings.ReplaceAll(c, "*", f)
				q.Cookies = append(q.Cookies, n, n+"x", "x"+n, strings.ToUpper(n))
			}
			q.Cookies = append(q.Cookies, c[:len(c)-1])
		}
	}
	q.Cookies = append(q.Cookies, `it's\here`, "caf\u00e9_1", "", " ", "consentgate", "_ga", "_ga_", "_fbp", "a=b", "__Host-csrf", "wordpress_logged_in_abc")
	return q
}

// unfront reads a front-coded run of the table (see rules.GuardTable).
func unfront(s string) []string {
	var out []string
	prev := ""
	for _, e := range strings.Split(s, " ") {
		prev = prev[:int(e[0]-'0')] + e[1:]
		out = append(out, prev)
	}
	return out
}
