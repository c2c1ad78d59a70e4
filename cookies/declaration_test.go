package cookies

import (
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

func TestLocalizeLifetime(t *testing.T) {
	tests := []struct {
		in, lang, want string
		ok             bool
	}{
		{"session", "nl", "sessie", true},
		{"Session", "en", "session", true},
		{"End of session (browser)", "nl", "sessie", true},
		{"2 years", "nl", "2 jaar", true},
		{"1 year", "nl", "1 jaar", true},
		{"1 Year", "en", "1 year", true},
		{"1 day", "nl", "1 dag", true},
		{"2 days", "nl", "2 dagen", true},
		{"1 hours", "en", "1 hour", true},
		{"24 hours", "nl", "24 uur", true},
		{"13 months", "nl", "13 maanden", true},
		{"1 month", "nl", "1 maand", true},
		{"2 weeks", "nl", "2 weken", true},
		{"30 minutes", "nl", "30 minuten", true},
		{"1 minute", "nl", "1 minuut", true},
		{"up to 13 months", "nl", "maximaal 13 maanden", true},
		{"up to 1 year", "en", "up to 1 year", true},
		{"about 7 months", "nl", "ongeveer 7 maanden", true},
		{"session to 6 months", "nl", "sessie tot 6 maanden", true},
		{"30 seconds to 1 year", "nl", "30 seconden tot 1 jaar", true},
		{"session to 365 days", "en", "session to 365 days", true},
		// Wording it does not know is left to the rules' texts.
		{`session, or 14 days with "remember me"`, "nl", "", false},
		{"forever", "nl", "", false},
		{"Unknown", "en", "", false},
		{"0 days", "nl", "", false},
		{"-1 days", "nl", "", false},
		{"2 fortnights", "en", "", false},
		{"up to session", "nl", "", false},
		{"1 year to session", "nl", "", false},
		{"2 years", "fr", "", false},
	}
	for _, tt := range tests {
		got, ok := localizeLifetime(tt.in, tt.lang)
		if got != tt.want || ok != tt.ok {
			t.Errorf("localizeLifetime(%q, %q) = %q, %v; want %q, %v", tt.in, tt.lang, got, ok, tt.want, tt.ok)
		}
	}
}

var (
	labelsNL = Labels{Cookie: "Cookie", Vendor: "Aanbieder", Purpose: "Doel", Lifetime: "Bewaartermijn", Unknown: "onbekend", Empty: "Geen cookies.",
		Category: map[rules.Category]string{rules.Necessary: "Noodzakelijk", rules.Statistics: "Statistieken", rules.Preferences: "Voorkeuren", rules.Marketing: "Marketing", rules.Unclassified: "Overige"}}
	labelsEN = Labels{Cookie: "Cookie", Vendor: "Provider", Purpose: "Purpose", Lifetime: "Retention", Unknown: "unknown", Empty: "No cookies.",
		Category: map[rules.Category]string{rules.Necessary: "Necessary", rules.Statistics: "Statistics", rules.Preferences: "Preferences", rules.Marketing: "Marketing", rules.Unclassified: "Other"}}
)

// The declaration speaks the page's language: purposes, lifetimes and
// headings in Dutch on a Dutch page, in English on an English one; a
// catalogue cookie shows its category's wording where the Open Cookie
// Database has no text in the language.
func TestDeclarationInTheVisitorsLanguage(t *testing.T) {
	seen := NewSeen(20)
	seen.ObserveVendor("google-analytics")
	seen.ObserveVendor("youtube")
	seen.ObserveVendor("wordpress")
	seen.ObserveSetCookie("shop=1; Path=/; Max-Age=172800")
	seen.ObserveSetCookie("cart=1; Path=/")
	seen.ObserveRequestCookie(bothTiers, "mp_0123abcd_mixpanel")
	d := &Declaration{Rules: bothTiers, Seen: seen,
		Categories: []rules.Category{rules.Necessary, rules.Statistics, rules.Preferences, rules.Marketing, rules.Unclassified}}
	tests := []struct {
		lang      string
		labels    Labels
		want, not []string
	}{
		{"nl", labelsNL, []string{
			"<h3>Statistieken</h3>", "<th scope=\"col\">Bewaartermijn</th>",
			"<code>_ga</code></td><td>Google Analytics</td><td>Onderscheidt bezoekers (een willekeurige client-ID).</td><td>2 jaar</td>",
			"<code>YSC</code></td><td>YouTube</td><td>Houdt afspeelstatistieken van YouTube bij voor de sessie.</td><td>sessie</td>",
			"<code>_gid</code></td><td>Google Analytics</td><td>Onderscheidt bezoekers (Universal Analytics).</td><td>24 uur</td>",
			"<code>wordpress_logged_in_*</code></td><td>WordPress</td><td>Houdt een ingelogde gebruiker ingelogd.</td><td>sessie, of 14 dagen met &#8220;Onthoud mij&#8221;</td>",
			"<code>mp_*</code></td><td>Mixpanel</td><td>Meet hoe bezoekers de website gebruiken.</td><td>1 jaar</td>",
			"<code>shop</code></td><td>onbekend</td><td>onbekend</td><td>2 dagen</td>",
			"<code>cart</code></td><td>onbekend</td><td>onbekend</td><td>sessie</td>",
		}, []string{"Distinguishes visitors", "years", "session<", "unique identifier", "remember me"}},
		{"en", labelsEN, []string{
			"<h3>Statistics</h3>", "<th scope=\"col\">Retention</th>",
			"<code>_ga</code></td><td>Google Analytics</td><td>Distinguishes visitors (a random client ID).</td><td>2 years</td>",
			"<code>YSC</code></td><td>YouTube</td><td>Keeps YouTube playback statistics for the session.</td><td>session</td>",
			"<code>wordpress_logged_in_*</code></td><td>WordPress</td><td>Keeps a logged-in user logged in.</td><td>session, or 14 days with &#34;remember me&#34;</td>",
			"<code>mp_*</code></td><td>Mixpanel</td><td>This cookie is used to store a user&#39;s unique identifier.</td><td>1 year</td>",
			"<code>shop</code></td><td>unknown</td><td>unknown</td><td>2 days</td>",
		}, []string{"Onderscheidt", "jaar", "sessie", "Statistieken"}},
		// A region's tag reads the language's texts.
		{"nl-BE", labelsNL, []string{"<td>Onderscheidt bezoekers (een willekeurige client-ID).</td><td>2 jaar</td>"}, []string{"Distinguishes visitors"}},
		// A language the rules have no texts for gets English.
		{"de", labelsEN, []string{"<td>Distinguishes visitors (a random client ID).</td><td>2 years</td>", "<td>2 days</td>",
			"<td>Keeps a logged-in user logged in.</td><td>session, or 14 days with &#34;remember me&#34;</td>",
			"<td>Mixpanel</td><td>This cookie is used to store a user&#39;s unique identifier.</td><td>1 year</td>"}, []string{"Onderscheidt", "jaar"}},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			out := string(d.HTML(tt.lang, tt.labels))
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %s\n%s", w, out)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(out, w) {
					t.Errorf("has %s\n%s", w, out)
				}
			}
		})
	}
}

// Only what the site uses: the cookies it was seen to set or send, and
// those the curated rules name for the vendors seen on its pages, not the
// catalogue's list of a vendor's whole product family.
func TestDeclarationLeavesOutTheProductFamily(t *testing.T) {
	seen := NewSeen(20)
	seen.ObserveVendor("google-analytics")
	seen.ObserveVendor("linkedin-insight")
	seen.ObserveVendor("mixpanel") // a catalogue vendor on the pages, no cookie seen yet
	seen.ObserveRequestCookie(bothTiers, "FPID")
	d := &Declaration{Rules: bothTiers, Seen: seen,
		Categories: []rules.Category{rules.Necessary, rules.Statistics, rules.Preferences, rules.Marketing, rules.Unclassified}}
	out := string(d.HTML("en", labelsEN))
	curated := map[string]bool{}
	var family []string
	for _, id := range []string{"google-analytics", "linkedin-insight"} {
		for _, c := range bothTiers.Vendor(id).Cookies {
			if c.Catalogue {
				family = append(family, c.Pattern)
			} else {
				curated[c.Pattern] = true
			}
		}
	}
	if len(family) < 20 {
		t.Fatalf("the catalogue folds only %d cookies into the curated vendors; the test needs a family", len(family))
	}
	for p := range curated {
		if !strings.Contains(out, "<code>"+esc(p)+"</code>") {
			t.Errorf("a curated cookie of a vendor seen is missing: %s", p)
		}
	}
	for _, p := range family {
		listed := strings.Contains(out, "<code>"+esc(p)+"</code>")
		switch {
		case p == "FPID" && !listed:
			t.Errorf("the catalogue cookie a browser sent is missing: %s", p)
		case p != "FPID" && !curated[p] && listed:
			t.Errorf("a catalogue cookie nobody saw is listed: %s", p)
		}
	}
	if strings.Contains(out, "mp_*") {
		t.Error("a catalogue vendor's cookies are listed before any was seen")
	}
}

// Every curated cookie has its purpose and lifetime in English and Dutch,
// each written for it: the Dutch purpose is not the English, and a
// lifetime the declaration cannot put in Dutch itself has a Dutch text.
func TestEveryCuratedCookieSpeaksDutchAndEnglish(t *testing.T) {
	f, err := rules.DefaultFile()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range f.Vendors {
		for _, c := range v.Cookies {
			n++
			nl := c.Texts["nl"]
			where := v.ID + " " + c.Name
			if c.Purpose == "" || nl.Purpose == "" || nl.Purpose == c.Purpose {
				t.Errorf("%s: purpose %q, Dutch %q", where, c.Purpose, nl.Purpose)
			}
			if c.Lifetime == "" {
				t.Errorf("%s: no lifetime", where)
			}
			if _, ok := localizeLifetime(c.Lifetime, "en"); !ok && nl.Lifetime == "" {
				t.Errorf("%s: lifetime %q is not in words the declaration translates, and has no Dutch text", where, c.Lifetime)
			}
			for lang := range c.Texts {
				if lang != "nl" {
					t.Errorf("%s: texts in %q, which the banner does not offer", where, lang)
				}
			}
		}
	}
	if n < 100 {
		t.Fatalf("only %d curated cookies", n)
	}
}
