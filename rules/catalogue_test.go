package rules

import (
	"slices"
	"strings"
	"testing"
)

func bothTiers(t testing.TB) *Ruleset {
	t.Helper()
	files, err := DefaultFiles(true)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(AllSet, files...)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestEmbeddedCatalogueSaysWhereItComesFrom(t *testing.T) {
	f, err := CatalogueFile()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range f.Catalogue.Sources {
		names = append(names, s.Name+" "+s.License)
		if s.URL == "" || !strings.HasPrefix(s.Integrity, "sha512-") && !strings.HasPrefix(s.Integrity, "sha256-") {
			t.Errorf("source %+v lacks a URL or a pinned integrity", s)
		}
	}
	if !slices.Equal(names, []string{"third-party-web MIT", "Open Cookie Database Apache-2.0"}) {
		t.Errorf("sources %q", names)
	}
	hosts, cookies := 0, 0
	for _, v := range f.Vendors {
		if v.Name == "" || v.Category == "" || len(v.URLs)+len(v.Cookies) == 0 || len(v.Inline) > 0 {
			t.Errorf("vendor %+v: want a name, a category, hosts or cookies, and no signatures", v.ID)
		}
		hosts += len(v.URLs)
		cookies += len(v.Cookies)
	}
	if len(f.Vendors) < 1000 || hosts < 1500 || cookies < 2000 {
		t.Errorf("%d vendors, %d hosts, %d cookies: the catalogue looks truncated", len(f.Vendors), hosts, cookies)
	}
}

// TestCatalogueHostsPerCategory: a sample of catalogue hosts of each
// third-party-web category, classified by the mapping (ad, social, video,
// marketing -> marketing; analytics, tag-manager -> statistics;
// customer-success -> preferences; infrastructure -> no rule).
func TestCatalogueHostsPerCategory(t *testing.T) {
	rs := bothTiers(t)
	tests := []struct {
		url, vendor string
		cat         Category
	}{
		{"https://ib.adnxs.com/ut/v3/prebid", "appnexus", Marketing},                            // ad
		{"https://s2.adform.net/banners/scripts/adx.js", "adform", Marketing},                   // ad
		{"https://c.disquscdn.com/embed.js", "disqus", Marketing},                               // social
		{"https://assets.pinterest.com/js/pinit.js", "pinterest-tag", Marketing},                // social, folded into the curated vendor
		{"https://fast.wistia.com/assets/external/E-v1.js", "wistia", Marketing},                // video
		{"https://chimpstatic.com/mcjs-connected/js/users/abc/def.js", "mailchimp", Marketing},  // marketing
		{"https://cdn.mxpnl.com/libs/mixpanel-2-latest.min.js", "mixpanel", Statistics},         // analytics
		{"https://cdn.segment.com/analytics.js/v1/abc/analytics.min.js", "segment", Statistics}, // analytics
		{"https://tags.tiqcdn.com/utag/acme/main/prod/utag.js", "tealium", Statistics},          // tag-manager
		{"https://widget.intercom.io/widget/abc", "intercom", Preferences},                      // customer-success
		{"https://cdn.jsdelivr.net/npm/jquery@3/dist/jquery.min.js", "", 0},                     // cdn
		{"https://ajax.googleapis.com/ajax/libs/jquery/3.7.1/jquery.min.js", "", 0},             // cdn
		{"https://cdnjs.cloudflare.com/ajax/libs/lodash.js/4.17.21/lodash.min.js", "", 0},       // cdn
		{"https://js.stripe.com/v3/", "", 0},                                                    // utility
		{"https://cdn.cookielaw.org/scripttemplates/otSDKStub.js", "", 0},                       // consent-provider
	}
	for _, tt := range tests {
		v := rs.MatchURL(SplitURL([]byte(tt.url), nil))
		got := ""
		var cat Category
		if v != nil {
			got, cat = v.ID, v.Category
		}
		if got != tt.vendor || cat != tt.cat {
			t.Errorf("MatchURL(%q) = %q (%s), want %q (%s)", tt.url, got, cat, tt.vendor, tt.cat)
		}
		if v != nil {
			host, _ := SplitURL([]byte(tt.url), nil)
			if _, cats := rs.MatchHost(host); !cats.Has(tt.cat) {
				t.Errorf("MatchHost of %q: categories %s lack %s", tt.url, cats, tt.cat)
			}
		}
	}
}

// TestCuratedVendorWinsOverCatalogue: where the Open Cookie Database or
// third-party-web and a curated vendor disagree, the curated vendor's
// category decides, and the catalogue's hosts and cookies of that vendor
// join it rather than stand beside it.
func TestCuratedVendorWinsOverCatalogue(t *testing.T) {
	rs := bothTiers(t)
	for name, want := range map[string]struct {
		vendor string
		cat    Category
	}{
		"_hjSessionUser_1234": {"hotjar", Statistics}, // OCD: Functional
		"YSC":                 {"youtube", Marketing}, // OCD: Functional
		"hjViewportId":        {"hotjar", Statistics}, // OCD only (Functional): folded into Hotjar
		"VISITOR_INFO1_LIVE":  {"youtube", Marketing},
	} {
		c := rs.MatchCookie(name)
		if c == nil || c.Vendor.ID != want.vendor || c.Category() != want.cat {
			t.Errorf("MatchCookie(%q) = %v, want %s/%s", name, c, want.vendor, want.cat)
		}
	}
	for url, want := range map[string]struct {
		vendor string
		cat    Category
	}{
		"https://secure.gravatar.com/avatar/abc":          {"gravatar", Preferences}, // third-party-web: social
		"https://yt3.ggpht.com/abc=s88":                   {"youtube", Marketing},    // catalogue host of YouTube
		"https://i9.ytimg.com/vi/abc/hqdefault.jpg":       {"youtube", Marketing},
		"https://player.vimeo.com/video/1":                {"vimeo", Statistics}, // third-party-web: video
		"https://www.googletagmanager.com/gtag/js?id=G-1": {"google-analytics", Statistics},
	} {
		v := rs.MatchURL(SplitURL([]byte(url), nil))
		if v == nil || v.ID != want.vendor || v.Category != want.cat {
			t.Errorf("MatchURL(%q) = %v, want %s/%s", url, v, want.vendor, want.cat)
		}
	}
	for _, v := range rs.Vendors() {
		if v.Catalogue {
			t.Errorf("Vendors() holds the catalogue vendor %s", v.ID)
		}
	}
	if v := rs.Vendor("mixpanel"); v == nil || !v.Catalogue || !slices.Contains(rs.CatalogueVendors(), v) {
		t.Errorf("Vendor(mixpanel) = %+v: want a catalogue vendor", v)
	}
	if v := rs.Vendor("youtube"); v == nil || v.Catalogue || rs.MatchCookie("YSC").Vendor != v {
		t.Errorf("Vendor(youtube) = %+v: want the curated vendor", v)
	}
}

// TestOperatorRulesWinOverCatalogue: `necessary <pattern>` for a host the
// catalogue files as advertising (a site's own ad-tech CDN) wins.
func TestOperatorRulesWinOverCatalogue(t *testing.T) {
	files, err := DefaultFiles(true)
	if err != nil {
		t.Fatal(err)
	}
	site := &File{Format: FileFormat, Vendors: []VendorSpec{{ID: "site-1", Category: "necessary", URLs: []string{"acdn.adnxs.com"}, Cookies: []CookieSpec{{Name: "mp_*"}}}}}
	rs, err := Compile(AllSet, append([]*File{site}, files...)...)
	if err != nil {
		t.Fatal(err)
	}
	if v := rs.MatchURL(SplitURL([]byte("https://acdn.adnxs.com/ast/ast.js"), nil)); v == nil || v.Category != Necessary {
		t.Errorf("necessary rule for a catalogue ad host lost: %+v", v)
	}
	if v := rs.MatchURL(SplitURL([]byte("https://ib.adnxs.com/ut/v3"), nil)); v == nil || v.ID != "appnexus" {
		t.Errorf("the catalogue's other hosts of the vendor stopped matching: %+v", v)
	}
	if c := rs.MatchCookie("mp_abc_mixpanel"); c == nil || c.Category() != Necessary {
		t.Errorf("operator cookie rule lost to the catalogue: %+v", c)
	}
}

// TestCatalogueMostSpecificRuleWins: a catalogue's order means nothing, so
// the exact or longer host and the exact or longer cookie pattern win,
// however the file lists them.
func TestCatalogueMostSpecificRuleWins(t *testing.T) {
	cat := &File{Format: FileFormat, Catalogue: &Catalogue{Generator: "test"}, Vendors: []VendorSpec{
		{ID: "broad", Category: "statistics", URLs: []string{"*.example.com"}, Cookies: []CookieSpec{{Name: "ab*"}}},
		{ID: "deeper", Category: "marketing", URLs: []string{"*.ads.example.com"}, Cookies: []CookieSpec{{Name: "abc*"}}},
		{ID: "exact", Category: "preferences", URLs: []string{"px.ads.example.com"}, Cookies: []CookieSpec{{Name: "abcd"}, {Name: "abx", Category: "necessary"}}},
	}}
	rs, err := Compile(AllSet, cat)
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{"example.com": "broad", "www.example.com": "broad", "x.ads.example.com": "deeper", "ads.example.com": "deeper", "px.ads.example.com": "exact"} {
		if v := rs.MatchURL([]byte(host), []byte("/")); v == nil || v.ID != want {
			t.Errorf("MatchURL(%s) = %v, want %s", host, v, want)
		}
		if v, _ := rs.MatchHost([]byte(host)); v == nil || v.ID != want {
			t.Errorf("MatchHost(%s) = %v, want %s", host, v, want)
		}
	}
	for name, want := range map[string]string{"abcd": "exact", "abce": "deeper", "abc": "deeper", "abz": "broad", "abx": "exact"} {
		if c := rs.MatchCookie(name); c == nil || c.Vendor.ID != want {
			t.Errorf("MatchCookie(%s) = %v, want %s", name, c, want)
		}
	}
	if c := rs.MatchCookie("abx"); c.Category() != Necessary {
		t.Errorf("a cookie's own category: %s, want necessary", c.Category())
	}
	// Two catalogue entries for one ID are a mistake; so is an ID used
	// twice outside a catalogue.
	dup := &File{Format: FileFormat, Catalogue: &Catalogue{}, Vendors: []VendorSpec{{ID: "a", Category: "marketing"}, {ID: "a", Category: "marketing"}}}
	if _, err := Compile(AllSet, dup); err == nil || !strings.Contains(err.Error(), "used twice") {
		t.Errorf("duplicate ID within a catalogue: %v", err)
	}
	op := &File{Format: FileFormat, Vendors: []VendorSpec{{ID: "a", Category: "marketing"}}}
	if _, err := Compile(AllSet, op, op); err == nil || !strings.Contains(err.Error(), "used twice") {
		t.Errorf("duplicate ID across rules files: %v", err)
	}
}

func TestScanInlineFindsScriptURLsOnKnownHosts(t *testing.T) {
	rs := bothTiers(t)
	tests := []struct {
		name, body, want string
	}{
		{"protocol-relative loader", `var s=document.createElement('script');s.src='//contextual.media.net/nmedianet.js?cid=8CU';`, "media-net"},
		{"JSON-escaped", `var cfg = {"src":"https:\/\/cdn.mxpnl.com\/libs\/mixpanel-2-latest.min.js"};`, "mixpanel"},
		{"upper-case host", `s.src = "HTTPS://CDN.MXPNL.COM/libs/mixpanel.js";`, "mixpanel"},
		{"tracking pixel", `new Image().src = "https://ib.adnxs.com/px.gif?id=1";`, "appnexus"},
		{"curated host with a path rule", `s.src = "https://www.googletagmanager.com/gtag/js?id=AW-1"; x.js`, ""},
		{"a page, not a script", `var share = "https://www.facebook.com/sharer/sharer.php?u=";`, ""},
		{"a photo", `img.src = "https://i.ytimg.com/vi/abc/hqdefault.jpg";`, ""},
		{"an unknown host", `s.src = "https://cdn.example.org/app.js";`, ""},
		{"a comment", `// see https://developer.mozilla.org/en-US/docs/Web.js`, ""},
		{"cut off at the end", `s.src = "//cdn.mxpnl.com/libs/mixpanel.js`, ""},
		{"a host without a dot", `s.src = "//localhost/x.js";`, ""},
	}
	for _, tt := range tests {
		var got []string
		rs.scanLoaders([]byte(tt.body), 0, func(v *Vendor) { got = append(got, v.ID) })
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	// A URL split across the growth of a held script is found when the
	// rescan starts InlineOverlap bytes back.
	body := []byte(strings.Repeat("x", 3000) + `s.src="//cdn.mxpnl.com/libs/mixpanel-2-latest.min.js";`)
	for cut := 2990; cut < len(body); cut += 7 {
		var found bool
		rs.ScanInline(body[:cut], 0, func(v *Vendor) { found = found || v.ID == "mixpanel" })
		rs.ScanInline(body, max(cut-rs.InlineOverlap(), 0), func(v *Vendor) { found = found || v.ID == "mixpanel" })
		if !found {
			t.Fatalf("split at %d: the loader was not found", cut)
		}
	}
}

// TestMatchingWithTheCatalogueDoesNotAllocate: the rewriter and cookie
// filter call these per element and per cookie.
func TestMatchingWithTheCatalogueDoesNotAllocate(t *testing.T) {
	rs := bothTiers(t)
	host, path := SplitURL([]byte("https://securepubads.g.doubleclick.net/tag/js/gpt.js"), nil)
	inline := []byte(`var s=document.createElement('script');s.src='//contextual.media.net/nmedianet.js?cid=8CU'; gtag('js', new Date());`)
	for name, f := range map[string]func(){
		"MatchURL":    func() { rs.MatchURL(host, path) },
		"MatchHost":   func() { rs.MatchHost(host) },
		"MatchCookie": func() { rs.MatchCookie("mp_0123_mixpanel"); rs.MatchCookie("cgtest_unknown") },
		"ScanInline":  func() { rs.ScanInline(inline, 0, func(*Vendor) {}) },
	} {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s allocates %.1f times per call", name, n)
		}
	}
}

// FuzzMatchCookie holds the cookie index (exact names, a trie of prefixes,
// other patterns) to the plain definition: of every rule matching the
// name, the first in order.
func FuzzMatchCookie(f *testing.F) {
	rs := bothTiers(f)
	var all []*Cookie
	for _, vs := range [][]*Vendor{rs.Vendors(), rs.CatalogueVendors()} {
		for _, v := range vs {
			all = append(all, v.Cookies...)
		}
	}
	for _, s := range []string{"_ga", "_ga_X", "_hjSessionUser_1", "mp_1_mixpanel", "wordpress_logged_in_x", "_pk_id.1.a", "SSPR_1", "cto_x", "", "_", "a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		var want *Cookie
		for _, c := range all {
			if globFull(c.Pattern, name) && (want == nil || c.order < want.order) {
				want = c
			}
		}
		if got := rs.MatchCookie(name); got != want {
			t.Fatalf("MatchCookie(%q) = %+v, want %+v", name, got, want)
		}
	})
}

// FuzzScanInline: the signature and loader scan never panics or reads
// outside the body, and a vendor found in a prefix of a script is found in
// the whole script too (what the rewriter's incremental scan relies on).
func FuzzScanInline(f *testing.F) {
	rs := bothTiers(f)
	for _, s := range []string{
		`s.src='//contextual.media.net/nmedianet.js?cid=1';`,
		`{"u":"https:\/\/cdn.mxpnl.com\/libs\/m.js"}`,
		`gtag('js', new Date()); fbq('init','1');`,
		`"//a.b/`, `:\/\/`, `'//x.adnxs.com/\/\/a.gif'`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		b := []byte(body)
		whole := map[string]bool{}
		rs.ScanInline(b, 0, func(v *Vendor) { whole[v.ID] = true })
		for cut := 0; cut <= len(b); cut += max(1, len(b)/7) {
			rs.ScanInline(b[:cut], 0, func(v *Vendor) {
				if !whole[v.ID] {
					t.Fatalf("vendor %s found in the first %d bytes of %q but not in all of it", v.ID, cut, body)
				}
			})
		}
	})
}
