package rules

import (
	"strings"
	"testing"
)

func defaultRules(t testing.TB) *Ruleset {
	t.Helper()
	f, err := DefaultFile()
	if err != nil {
		t.Fatalf("embedded default rules: %v", err)
	}
	rs, err := Compile(AllSet, f)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestDefaultRulesMatchVendorURLs(t *testing.T) {
	rs := defaultRules(t)
	tests := []struct {
		url    string
		vendor string // "" = no rule
	}{
		{"https://www.googletagmanager.com/gtag/js?id=G-ABC123", "google-analytics"},
		{"https://www.googletagmanager.com/gtag/js?id=AW-123456", "google-ads"},
		{"https://www.googletagmanager.com/gtm.js?id=GTM-XYZ", "google-tag-manager"},
		{"https://www.googletagmanager.com/ns.html?id=GTM-XYZ", "google-tag-manager"},
		{"https://www.google-analytics.com/analytics.js", "google-analytics"},
		{"//www.google-analytics.com/ga.js", "google-analytics"},
		{"https://ssl.google-analytics.com/ga.js", "google-analytics"},
		{"https://region1.analytics.google.com/g/collect", "google-analytics"},
		{"https://static.hotjar.com/c/hotjar-123.js?sv=6", "hotjar"},
		{"https://script.hotjar.com/modules.abc.js", "hotjar"},
		{"https://www.clarity.ms/tag/abcdef", "microsoft-clarity"},
		{"https://cdn.matomo.cloud/example.matomo.cloud/matomo.js", "matomo"},
		{"https://stats.example.org/matomo.js", "matomo"},
		{"/analytics/piwik.js", "matomo"},
		{"https://stats.example.org/matomo.php?idsite=1&rec=1", "matomo"},
		{"https://connect.facebook.net/en_US/fbevents.js", "meta-pixel"},
		{"https://www.facebook.com/tr?id=123&ev=PageView&noscript=1", "meta-pixel"},
		{"https://snap.licdn.com/li.lms-analytics/insight.min.js", "linkedin-insight"},
		{"https://px.ads.linkedin.com/collect/?pid=1&fmt=gif", "linkedin-insight"},
		{"https://analytics.tiktok.com/i18n/pixel/events.js", "tiktok-pixel"},
		{"https://googleads.g.doubleclick.net/pagead/viewthroughconversion/1/", "google-ads"},
		{"https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js", "google-ads"},
		{"https://bat.bing.com/bat.js", "microsoft-advertising"},
		{"https://s.pinimg.com/ct/core.js", "pinterest-tag"},
		{"https://ct.pinterest.com/v3/?tid=1", "pinterest-tag"},
		{"https://static.ads-twitter.com/uwt.js", "x-twitter"},
		{"https://js.hs-scripts.com/123.js", "hubspot"},
		{"https://www.youtube.com/embed/dQw4w9WgXcQ", "youtube"},
		{"https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ", "youtube"},
		{"https://player.vimeo.com/video/76979871", "vimeo"},
		{"https://www.google.com/maps/embed?pb=!1m18", "google-maps"},
		{"https://fonts.googleapis.com/css?family=Open+Sans", "google-fonts"},
		{"https://fonts.gstatic.com/s/opensans/v1/x.woff2", "google-fonts"},
		{"https://secure.gravatar.com/avatar/abc?s=96&d=mm", "gravatar"},
		{"https://0.gravatar.com/avatar/abc", "gravatar"},
		{"https://s.w.org/images/core/emoji/15.0.3/72x72/", "wordpress-emoji"},
		{"https://stats.wp.com/e-202647.js", "jetpack-stats"},
		{"HTTPS://WWW.GOOGLETAGMANAGER.COM/gtag/js?id=G-1", "google-analytics"},
		{"  https://www.googletagmanager.com/gtag/js?id=G-1  ", "google-analytics"},
		{"https://user@www.googletagmanager.com:443/gtag/js", "google-analytics"},
		{`https:\\www.googletagmanager.com\gtag/js`, "google-tag-manager"},
		{"https://www.google.com/recaptcha/api.js", ""},
		{"https://www.google.com/search?q=maps", ""},
		{"/wp-content/themes/x/script.js", ""},
		{"https://example.com/notgoogletagmanager.com/gtm.js", ""},
		{"https://evilgoogletagmanager.com/gtm.js", ""},
		{"data:text/javascript,gtag()", ""},
		{"javascript:void(0)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			host, pathq := SplitURL([]byte(tt.url), nil)
			v := rs.MatchURL(host, pathq)
			got := ""
			if v != nil {
				got = v.ID
			}
			if got != tt.vendor {
				t.Errorf("MatchURL(%q) (host %q, path %q) = %q, want %q", tt.url, host, pathq, got, tt.vendor)
			}
		})
	}
}

func TestMatchHostForPreconnect(t *testing.T) {
	rs := defaultRules(t)
	for host, want := range map[string]Set{
		"www.googletagmanager.com": SetOf(Statistics, Marketing),
		"www.google-analytics.com": SetOf(Statistics),
		"fonts.gstatic.com":        SetOf(Preferences),
		"s.w.org":                  SetOf(Preferences),
		"connect.facebook.net":     SetOf(Marketing),
		"example.com":              0,
		"cdn.jsdelivr.net":         0,
	} {
		v, got := rs.MatchHost([]byte(host))
		if got != want || (v == nil) != (want == 0) {
			t.Errorf("MatchHost(%q) = %v, %q; want %q", host, v, got, want)
		}
	}
}

func TestInlineSignaturesOfVendorSnippets(t *testing.T) {
	rs := defaultRules(t)
	tests := []struct {
		name, body string
		want       string // space-separated vendor IDs, in first-seen order
	}{
		{"gtag config", "window.dataLayer = window.dataLayer || [];\nfunction gtag(){dataLayer.push(arguments);}\ngtag('js', new Date());\ngtag('config', 'G-X');", "google-analytics"},
		{"gtm loader", "(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':\nnew Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],\nj=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src=\n'https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);\n})(window,document,'script','dataLayer','GTM-XXXX');", "google-tag-manager"},
		{"universal analytics", "(function(i,s,o,g,r,a,m){i['GoogleAnalyticsObject']=r;})(window,document,'script','https://www.google-analytics.com/analytics.js','ga');\nga('create', 'UA-1-1', 'auto');", "google-analytics"},
		{"hotjar", "(function(h,o,t,j,a,r){h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};h._hjSettings={hjid:1,hjsv:6};})(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');", "hotjar"},
		{"meta pixel", "!function(f,b,e,v,n,t,s){if(f.fbq)return;}(window, document,'script','https://connect.facebook.net/en_US/fbevents.js');\nfbq('init', '1');", "meta-pixel"},
		{"clarity", `(function(c,l,a,r,i,t,y){c[a]=c[a]||function(){(c[a].q=c[a].q||[]).push(arguments)};t=l.createElement(r);t.async=1;t.src="https://www.clarity.ms/tag/"+i;})(window, document, "clarity", "script", "abc");`, "microsoft-clarity"},
		{"matomo self-hosted", "var _paq = window._paq = window._paq || [];\n_paq.push(['trackPageView']);\n(function() { var u=\"//stats.example.org/\"; g.src=u+'matomo.js'; })();", "matomo"},
		{"linkedin", `_linkedin_partner_id = "1"; window._linkedin_data_partner_ids = window._linkedin_data_partner_ids || [];`, "linkedin-insight"},
		{"tiktok", `!function (w, d, t) { w.TiktokAnalyticsObject=t;var ttq=w[t]=w[t]||[]; ttq.load('X'); ttq.page(); }(window, document, 'ttq');`, "tiktok-pixel"},
		{"wordpress emoji", `window._wpemojiSettings = {"baseUrl":"https:\/\/s.w.org\/images\/core\/emoji\/15.0.3\/72x72\/"};`, "wordpress-emoji"},
		{"two vendors in one script", "gtag('config','G-1'); fbq('track','PageView');", "google-analytics meta-pixel"},
		{"omega( is not ga(", "function omega(){} omega(1); var saga = 1;", ""},
		{"mygtag( is not gtag(", "function mygtag(){}", ""},
		{"member call window.ga(", "window.ga('send','pageview')", "google-analytics"},
		{"jquery ready", "jQuery(function($){ $('.menu').toggle(); });", ""},
		{"json config", `var wpcf7 = {"api":{"root":"https:\/\/example.com\/wp-json\/"}};`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			seen := map[string]bool{}
			rs.ScanInline([]byte(tt.body), 0, func(v *Vendor) {
				if !seen[v.ID] {
					seen[v.ID] = true
					got = append(got, v.ID)
				}
			})
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("vendors = %q, want %q", g, tt.want)
			}
		})
	}
}

func TestScanInlineFindsSignatureSplitAcrossGrowth(t *testing.T) {
	rs := defaultRules(t)
	body := []byte("var a = 1;                         fbq('init','1');")
	split := strings.Index(string(body), "fbq") + 2 // "fb" | "q("
	found := false
	rs.ScanInline(body[:split], 0, func(*Vendor) { found = true })
	if found {
		t.Fatal("found a signature in a prefix that holds only part of it")
	}
	rs.ScanInline(body, max(split-rs.InlineOverlap(), 0), func(v *Vendor) { found = v.ID == "meta-pixel" })
	if !found {
		t.Fatal("signature split across the growth was not found")
	}
}

func TestCookieRules(t *testing.T) {
	rs := defaultRules(t)
	tests := []struct {
		name   string
		vendor string
		cat    Category
	}{
		{"_ga", "google-analytics", Statistics},
		{"_ga_ABC123XYZ", "google-analytics", Statistics},
		{"_gid", "google-analytics", Statistics},
		{"_gat_UA-1-1", "google-analytics", Statistics},
		{"_gat", "google-analytics", Statistics},
		{"_hjSessionUser_123", "hotjar", Statistics},
		{"_hjSession_123", "hotjar", Statistics},
		{"_hjid", "hotjar", Statistics},
		{"_hjTLDTest", "hotjar", Statistics},
		{"_fbp", "meta-pixel", Marketing},
		{"_fbc", "meta-pixel", Marketing},
		{"fr", "meta-pixel", Marketing},
		{"_gcl_au", "google-ads", Marketing},
		{"_gcl_aw", "google-ads", Marketing},
		{"_uetsid", "microsoft-advertising", Marketing},
		{"_clck", "microsoft-clarity", Statistics},
		{"_pk_id.1.abcd", "matomo", Statistics},
		{"li_fat_id", "linkedin-insight", Marketing},
		{"li_sugr", "linkedin-insight", Marketing},
		{"_ttp", "tiktok-pixel", Marketing},
		{"wordpress_logged_in_0123abcd", "wordpress", Necessary},
		{"wordpress_sec_0123abcd", "wordpress", Necessary},
		{"wordpress_0123abcd", "wordpress", Necessary},
		{"wordpress_test_cookie", "wordpress", Necessary},
		{"wp-settings-1", "wordpress", Necessary},
		{"wp-settings-time-1", "wordpress", Necessary},
		{"woocommerce_cart_hash", "woocommerce", Necessary},
		{"wp_woocommerce_session_abc", "woocommerce", Necessary},
		{"PHPSESSID", "application-session", Necessary},
		{"XSRF-TOKEN", "application-session", Necessary},
		{"comment_author_abc", "wordpress-comments", Preferences},
		{"comment_author_email_abc", "wordpress-comments", Preferences},
		{"some_unknown_cookie", "", 0},
		{"ga", "", 0},
	}
	for _, tt := range tests {
		c := rs.MatchCookie(tt.name)
		if tt.vendor == "" {
			if c != nil {
				t.Errorf("MatchCookie(%q) = %s (%s), want no rule", tt.name, c.Pattern, c.Vendor.ID)
			}
			continue
		}
		if c == nil {
			t.Errorf("MatchCookie(%q) = nil, want %s", tt.name, tt.vendor)
			continue
		}
		if c.Vendor.ID != tt.vendor || c.Category() != tt.cat {
			t.Errorf("MatchCookie(%q) = %s/%s, want %s/%s", tt.name, c.Vendor.ID, c.Category(), tt.vendor, tt.cat)
		}
	}
}

func TestEarlierFileWins(t *testing.T) {
	def, err := DefaultFile()
	if err != nil {
		t.Fatal(err)
	}
	site := &File{Format: FileFormat, Vendors: []VendorSpec{
		{ID: "site-necessary", Category: "necessary", URLs: []string{"fonts.googleapis.com"}, Cookies: []CookieSpec{{Name: "_ga"}}},
		{ID: "site-stats", Category: "statistics", URLs: []string{"*.plausible.io"}, Inline: []string{"plausible("}},
	}}
	rs, err := Compile(AllSet, site, def)
	if err != nil {
		t.Fatal(err)
	}
	host, path := SplitURL([]byte("https://fonts.googleapis.com/css?family=x"), nil)
	if v := rs.MatchURL(host, path); v == nil || v.Category != Necessary {
		t.Errorf("operator rule marking Google Fonts necessary lost to the default: %+v", v)
	}
	host, path = SplitURL([]byte("https://fonts.gstatic.com/s/x.woff2"), nil)
	if v := rs.MatchURL(host, path); v == nil || v.ID != "google-fonts" {
		t.Errorf("default rule for another host stopped matching: %+v", v)
	}
	host, path = SplitURL([]byte("https://plausible.io/js/script.js"), nil)
	if v := rs.MatchURL(host, path); v == nil || v.ID != "site-stats" {
		t.Errorf("operator-added rule does not match: %+v", v)
	}
	if c := rs.MatchCookie("_ga"); c == nil || c.Category() != Necessary {
		t.Errorf("operator cookie override lost: %+v", c)
	}
	if c := rs.MatchCookie("_ga_X"); c == nil || c.Category() != Statistics {
		t.Errorf("default glob stopped matching: %+v", c)
	}
}

func TestDisabledCategoryBecomesUnclassified(t *testing.T) {
	def, err := DefaultFile()
	if err != nil {
		t.Fatal(err)
	}
	rs, err := Compile(SetOf(Statistics, Marketing), def)
	if err != nil {
		t.Fatal(err)
	}
	host, path := SplitURL([]byte("https://fonts.googleapis.com/css"), nil)
	if v := rs.MatchURL(host, path); v == nil || v.Category != Unclassified {
		t.Errorf("preferences rule with preferences disabled: %+v, want unclassified", v)
	}
	if c := rs.MatchCookie("wordpress_logged_in_x"); c.Category() != Necessary {
		t.Errorf("necessary cannot be disabled, got %v", c.Category())
	}
}

func TestCompileErrorsSayWhatAndWhere(t *testing.T) {
	tests := []struct {
		name   string
		vendor VendorSpec
		want   string
	}{
		{"bad category", VendorSpec{ID: "x", Category: "analytics"}, `unknown category "analytics"`},
		{"bad id", VendorSpec{ID: "X Y", Category: "marketing"}, `vendor id "X Y"`},
		{"scheme in pattern", VendorSpec{ID: "x", Category: "marketing", URLs: []string{"https://a.com/x"}}, "has a scheme"},
		{"star inside host", VendorSpec{ID: "x", Category: "marketing", URLs: []string{"a*.com"}}, "'*' is allowed only"},
		{"port in host", VendorSpec{ID: "x", Category: "marketing", URLs: []string{"a.com:8080/x"}}, "has a port"},
		{"query without path", VendorSpec{ID: "x", Category: "marketing", URLs: []string{"a.com?x=1"}}, "a query needs a path"},
		{"short signature", VendorSpec{ID: "x", Category: "marketing", Inline: []string{"ga"}}, "shorter than 3"},
		{"cookie star", VendorSpec{ID: "x", Category: "marketing", Cookies: []CookieSpec{{Name: "*"}}}, "every cookie"},
		{"cookie with space", VendorSpec{ID: "x", Category: "marketing", Cookies: []CookieSpec{{Name: "a b"}}}, "contains a space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(AllSet, &File{Format: FileFormat, Vendors: []VendorSpec{tt.vendor}})
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "vendor 1") {
				t.Fatalf("err = %v, want it to name vendor 1 and say %q", err, tt.want)
			}
		})
	}
}

func TestParseFileReportsLineOfSyntaxError(t *testing.T) {
	_, err := ParseFile([]byte("{\n  \"format\": 1,\n  \"vendors\": [\n    {\"id\": \"x\",, }\n  ]\n}"))
	if err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("err = %v, want line 4", err)
	}
	_, err = ParseFile([]byte(`{"format": 1, "vendors": [{"id": "x", "category": "marketing", "url": ["a.com"]}]}`))
	if err == nil || !strings.Contains(err.Error(), `unknown field "url"`) {
		t.Fatalf("err = %v, want the unknown field named", err)
	}
	_, err = ParseFile([]byte(`{"format": 2, "vendors": []}`))
	if err == nil || !strings.Contains(err.Error(), "format 2") {
		t.Fatalf("err = %v, want the format named", err)
	}
}

func TestDefaultRulesDocumentEveryVendor(t *testing.T) {
	f, err := DefaultFile()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range f.Vendors {
		if v.Name == "" || len(v.Docs) == 0 {
			t.Errorf("vendor %s lacks a name or a documentation link", v.ID)
		}
		for _, c := range v.Cookies {
			if c.Purpose == "" || c.Lifetime == "" {
				t.Errorf("cookie %s of %s lacks a purpose or a lifetime", c.Name, v.ID)
			}
		}
	}
}
