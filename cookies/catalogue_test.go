package cookies

import (
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

var bothTiers = func() *rules.Ruleset {
	files, err := rules.DefaultFiles(true)
	if err != nil {
		panic(err)
	}
	rs, err := rules.Compile(rules.AllSet, files...)
	if err != nil {
		panic(err)
	}
	return rs
}()

// TestCookieFilterUsesBothTiers: cookies only the catalogue (the Open
// Cookie Database) knows are held until their own category is accepted,
// and where the catalogue and a curated vendor disagree the curated
// vendor's category decides.
func TestCookieFilterUsesBothTiers(t *testing.T) {
	tests := []struct {
		name   string
		vendor string
		want   rules.Category
	}{
		{"mp_0123abcd_mixpanel", "mixpanel", rules.Statistics}, // catalogue prefix row "mp_"
		{"mc_cid", "mailchimp", rules.Statistics},              // the cookie's own category, not its vendor's (marketing)
		{"YSC", "youtube", rules.Marketing},                    // OCD says functional; curated YouTube is marketing
		{"_hjSessionUser_1234", "hotjar", rules.Statistics},    // OCD says functional; curated Hotjar is statistics
		{"hjViewportId", "hotjar", rules.Statistics},           // OCD only, but Hotjar's: the curated category wins
		{"_ga", "google-analytics", rules.Statistics},          // curated
		{"PHPSESSID", "application-session", rules.Necessary},  // curated necessary stays necessary
		{"cgtest_nobody_knows_this", "", rules.Unclassified},   // neither tier
	}
	for _, tt := range tests {
		c := bothTiers.MatchCookie(tt.name)
		got, cat := "", rules.Unclassified
		if c != nil {
			got, cat = c.Vendor.ID, c.Category()
		}
		if got != tt.vendor || cat != tt.want || Category(bothTiers, tt.name) != tt.want {
			t.Errorf("%s: vendor %q category %s, want %q %s", tt.name, got, cat, tt.vendor, tt.want)
		}
	}
	kept, removed := FilterSetCookie([]string{"mp_0123abcd_mixpanel=x; Path=/", "PHPSESSID=y; Path=/"}, bothTiers, rules.OnlyNecessary)
	if len(kept) != 1 || !strings.HasPrefix(kept[0], "PHPSESSID=") || len(removed) != 1 || removed[0].Category != rules.Statistics {
		t.Errorf("before consent: kept %q removed %+v", kept, removed)
	}
	kept, _ = FilterSetCookie([]string{"mp_0123abcd_mixpanel=x; Path=/"}, bothTiers, rules.SetOf(rules.Statistics))
	if len(kept) != 1 {
		t.Errorf("with statistics accepted the Mixpanel cookie was removed")
	}
}

// A catalogue cookie the site uses is listed with its vendor.
func TestDeclarationListsCatalogueCookiesSeen(t *testing.T) {
	seen := NewSeen(10)
	seen.ObserveVendor("mixpanel")
	seen.ObserveRequestCookie(bothTiers, "mp_0123abcd_mixpanel")
	d := &Declaration{Rules: bothTiers, Seen: seen, Categories: []rules.Category{rules.Necessary, rules.Statistics, rules.Preferences, rules.Marketing, rules.Unclassified}}
	l := Labels{Cookie: "Cookie", Vendor: "Vendor", Purpose: "Purpose", Lifetime: "Lifetime", Unknown: "unknown", Empty: "None.",
		Category: map[rules.Category]string{rules.Necessary: "Necessary", rules.Statistics: "Statistics", rules.Preferences: "Preferences", rules.Marketing: "Marketing", rules.Unclassified: "Other"}}
	out := string(d.HTML("en", l))
	if !strings.Contains(out, "<h3>Statistics</h3>") || !strings.Contains(out, "<code>mp_*</code></td><td>Mixpanel</td>") {
		t.Errorf("the declaration lacks a catalogue cookie the site uses:\n%s", out)
	}
}
