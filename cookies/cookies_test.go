package cookies

import (
	"slices"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

var testRules = func() *rules.Ruleset {
	f, err := rules.DefaultFile()
	if err != nil {
		panic(err)
	}
	site := &rules.File{Format: rules.FileFormat, Vendors: []rules.VendorSpec{
		{ID: "consentgate", Name: "This website", Category: "necessary", Cookies: []rules.CookieSpec{{Name: "consentgate", Purpose: "Remembers your cookie choices.", Lifetime: "6 months"}}},
	}}
	rs, err := rules.Compile(rules.AllSet, site, f)
	if err != nil {
		panic(err)
	}
	return rs
}()

func TestFilterSetCookiePerCategory(t *testing.T) {
	headers := []string{
		"_ga=GA1.2.123.456; Domain=.example.com; Path=/; Max-Age=63072000; SameSite=Lax",
		"_ga_ABC123=GS1.1.1700000000; Domain=example.com; Path=/; Expires=Wed, 24 Nov 2027 10:00:00 GMT",
		"_gid=GA1.2.7.8; Path=/",
		"_fbp=fb.1.1700000000.1; Path=/; Max-Age=7776000",
		"_hjSessionUser_123=eyJpZCI6IjEifQ; Path=/; Secure",
		"wordpress_logged_in_abc=admin%7C1700000000%7Cxyz; Path=/; HttpOnly; Secure",
		"wp-settings-1=libraryContent%3Dbrowse; Path=/; Max-Age=31536000",
		"PHPSESSID=abc123; Path=/; HttpOnly",
		"mystery=1; Path=/",
		"consentgate=1.x.y.z; Path=/; HttpOnly",
	}
	tests := []struct {
		name     string
		accepted rules.Set
		kept     []string
		removed  []string
	}{
		{"nothing accepted: only the necessary pass", rules.OnlyNecessary,
			[]string{"wordpress_logged_in_abc", "wp-settings-1", "PHPSESSID", "consentgate"},
			[]string{"_ga", "_ga_ABC123", "_gid", "_fbp", "_hjSessionUser_123", "mystery"}},
		{"statistics accepted", rules.SetOf(rules.Statistics),
			[]string{"_ga", "_ga_ABC123", "_gid", "_hjSessionUser_123", "wordpress_logged_in_abc", "wp-settings-1", "PHPSESSID", "consentgate"},
			[]string{"_fbp", "mystery"}},
		{"an unknown cookie waits for unclassified", rules.SetOf(rules.Statistics, rules.Marketing, rules.Preferences),
			[]string{"_ga", "_ga_ABC123", "_gid", "_fbp", "_hjSessionUser_123", "wordpress_logged_in_abc", "wp-settings-1", "PHPSESSID", "consentgate"},
			[]string{"mystery"}},
		{"everything accepted", rules.AllSet,
			[]string{"_ga", "_ga_ABC123", "_gid", "_fbp", "_hjSessionUser_123", "wordpress_logged_in_abc", "wp-settings-1", "PHPSESSID", "mystery", "consentgate"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kept, removed := FilterSetCookie(headers, testRules, tt.accepted)
			var keptNames, removedNames []string
			for _, k := range kept {
				keptNames = append(keptNames, SetCookieName(k))
				if !slices.Contains(headers, k) {
					t.Errorf("a kept header changed: %q", k)
				}
			}
			for _, r := range removed {
				removedNames = append(removedNames, r.Name)
			}
			if !slices.Equal(keptNames, tt.kept) || !slices.Equal(removedNames, tt.removed) {
				t.Errorf("kept %v removed %v\nwant kept %v removed %v", keptNames, removedNames, tt.kept, tt.removed)
			}
		})
	}
}

func TestSetCookieNameAsBrowsersReadIt(t *testing.T) {
	for v, want := range map[string]string{
		"_ga=1; Path=/":   "_ga",
		" _ga =1":         "_ga",
		"novalue":         "",
		"=value":          "",
		"a=b=c; Domain=x": "a",
		"x; _ga=1":        "",
		"name=;Max-Age=0": "name",
		"weird name=1":    "weird name",
		"":                "",
		"_ga=1\r\n_fbp=2": "_ga",
	} {
		if got := SetCookieName(v); got != want {
			t.Errorf("SetCookieName(%q) = %q, want %q", v, got, want)
		}
	}
}

func TestFilterCookieHeader(t *testing.T) {
	in := "_ga=GA1.2.3.4; wordpress_logged_in_abc=admin%7Cx; _fbp=fb.1.2; PHPSESSID=abc; weird"
	got, removed := FilterCookieHeader(in, testRules, rules.OnlyNecessary)
	if got != "wordpress_logged_in_abc=admin%7Cx; PHPSESSID=abc" || len(removed) != 3 {
		t.Fatalf("got %q, removed %v", got, removed)
	}
	same, removed := FilterCookieHeader("PHPSESSID=abc;wp-settings-1=x", testRules, rules.OnlyNecessary)
	if same != "PHPSESSID=abc;wp-settings-1=x" || removed != nil {
		t.Fatalf("a header with nothing to remove changed: %q %v", same, removed)
	}
	all, _ := FilterCookieHeader(in, testRules, rules.AllSet)
	if all != in {
		t.Fatalf("everything accepted, yet %q", all)
	}
}

func TestExpiryHeadersCoverEveryDomain(t *testing.T) {
	got := ExpiryHeaders("www.shop.example.co.uk:8443", []string{"_ga", "_ga_ABC", "bad;name"}, true)
	want := []string{}
	for _, n := range []string{"_ga", "_ga_ABC"} {
		base := n + "=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure"
		want = append(want, base, base+"; Domain=www.shop.example.co.uk", base+"; Domain=shop.example.co.uk", base+"; Domain=example.co.uk")
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ip := ExpiryHeaders("127.0.0.1:8080", []string{"_fbp"}, false); len(ip) != 1 || strings.Contains(ip[0], "Domain") {
		t.Fatalf("an IP host: %v", ip)
	}
	if got := RequestCookieNames([]string{"_ga=1; _gid=2", "_ga=3; x"}); !slices.Equal(got, []string{"_ga", "_gid"}) {
		t.Fatalf("RequestCookieNames = %v", got)
	}
}

func TestDeclarationListsWhatTheSiteUses(t *testing.T) {
	seen := NewSeen(10)
	seen.ObserveVendor("google-analytics")
	seen.ObserveSetCookie("PHPSESSID=x; Path=/; HttpOnly")
	seen.ObserveSetCookie("shop&pref=1; Max-Age=86400")
	seen.ObserveSetCookie("<b>bold</b>=1")
	seen.ObserveRequestCookie(testRules, "_fbp")
	seen.ObserveRequestCookie(testRules, "made_up_by_a_visitor")
	d := &Declaration{Rules: testRules, Seen: seen, Always: []string{"consentgate"},
		Categories: []rules.Category{rules.Necessary, rules.Statistics, rules.Preferences, rules.Marketing, rules.Unclassified}}
	l := Labels{Cookie: "Cookie", Vendor: "Aanbieder", Purpose: "Doel", Lifetime: "Bewaartermijn", Unknown: "onbekend", Empty: "Geen cookies.",
		Category: map[rules.Category]string{rules.Necessary: "Noodzakelijk", rules.Statistics: "Statistieken", rules.Preferences: "Voorkeuren", rules.Marketing: "Marketing", rules.Unclassified: "Overige"}}
	out := string(d.HTML("nl", l))
	for _, want := range []string{
		"<h3>Noodzakelijk</h3>", "<code>consentgate</code>", "<code>PHPSESSID</code>",
		"<h3>Statistieken</h3>", "<code>_ga</code><", "<code>_ga_*</code>", "Google Analytics",
		"<h3>Marketing</h3>", "<code>_fbp</code>",
		"<h3>Overige</h3>", "<code>shop&amp;pref</code>", "<td>onbekend</td>", "<td>1 dag</td>",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("declaration lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "made_up_by_a_visitor") || strings.Contains(out, "<b>") {
		t.Errorf("declaration shows a visitor's made-up name or raw markup:\n%s", out)
	}
	for _, r := range out {
		if r >= 0x80 {
			t.Fatalf("declaration is not ASCII-only: %q", r)
		}
	}
	if again := d.HTML("nl", l); string(again) != out {
		t.Fatal("a cached rendering differs")
	}
	seen.ObserveSetCookie("another=1")
	if strings.Contains(out, "another") || !strings.Contains(string(d.HTML("nl", l)), "<code>another</code>") {
		t.Fatal("the cache did not notice a new cookie")
	}
}

func TestSeenIsBounded(t *testing.T) {
	seen := NewSeen(3)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		seen.ObserveSetCookie(n + "=1")
	}
	if len(seen.cookies) != 3 {
		t.Fatalf("%d cookies kept, want 3", len(seen.cookies))
	}
}

// FuzzFilterSetCookie checks that no cookie of a refused category ever
// passes, whatever the header looks like.
func FuzzFilterSetCookie(f *testing.F) {
	f.Add("_ga=1; Path=/", "_fbp=2", "PHPSESSID=3")
	f.Add(" _ga =x", "=", "a")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		kept, _ := FilterSetCookie([]string{a, b, c}, testRules, rules.OnlyNecessary)
		for _, k := range kept {
			if cat := Category(testRules, SetCookieName(k)); cat != rules.Necessary {
				t.Fatalf("%q (category %s) passed with only necessary accepted", k, cat)
			}
		}
	})
}

// FuzzFilterCookieHeader checks that no refused cookie reaches the
// upstream, parsing the result as a server would.
func FuzzFilterCookieHeader(f *testing.F) {
	f.Add("_ga=1; PHPSESSID=2; _fbp=3")
	f.Add(";;=;a")
	f.Fuzz(func(t *testing.T, h string) {
		out, _ := FilterCookieHeader(h, testRules, rules.OnlyNecessary)
		for _, pair := range strings.Split(out, ";") {
			name, _, _ := strings.Cut(strings.TrimSpace(pair), "=")
			if strings.TrimSpace(pair) == "" {
				continue
			}
			if cat := Category(testRules, strings.TrimSpace(name)); cat != rules.Necessary {
				t.Fatalf("%q (category %s) reached the upstream from %q", pair, cat, h)
			}
		}
	})
}
