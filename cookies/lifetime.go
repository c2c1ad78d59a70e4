package cookies

import (
	"strconv"
	"strings"
)

// A lifetime as the rules and the seen cookies write it, in English:
// "session", "2 years", "up to 13 months", "about 3 months", "session to
// 1 year", "30 seconds to 1 year" (see rules.CookieSpec). localizeLifetime
// puts it in another language.

// unitWords are a unit's singular and plural in each language.
var unitWords = map[string]map[string][2]string{
	"en": {
		"second": {"second", "seconds"}, "minute": {"minute", "minutes"}, "hour": {"hour", "hours"},
		"day": {"day", "days"}, "week": {"week", "weeks"}, "month": {"month", "months"}, "year": {"year", "years"},
	},
	"nl": {
		"second": {"seconde", "seconden"}, "minute": {"minuut", "minuten"}, "hour": {"uur", "uur"},
		"day": {"dag", "dagen"}, "week": {"week", "weken"}, "month": {"maand", "maanden"}, "year": {"jaar", "jaar"},
	},
}

// lifetimeWords are the words around the amounts: session, "up to {x}",
// "about {x}", "{x} to {y}".
var lifetimeWords = map[string]struct{ session, upTo, about, to string }{
	"en": {"session", "up to ", "about ", " to "},
	"nl": {"sessie", "maximaal ", "ongeveer ", " tot "},
}

// span is one amount of a unit; n == 0 is the browser session.
type span struct {
	n    int
	unit string
}

// parseSpan reads "session" or "<n> <unit>".
func parseSpan(s string) (span, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "session" || s == "end of session (browser)" {
		return span{}, true
	}
	num, unit, ok := strings.Cut(s, " ")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n <= 0 || n > 1_000_000 {
		return span{}, false
	}
	unit = strings.TrimSuffix(unit, "s")
	if _, known := unitWords["en"][unit]; !known {
		return span{}, false
	}
	return span{n, unit}, true
}

func (s span) in(lang string) string {
	if s.n == 0 {
		return lifetimeWords[lang].session
	}
	w := unitWords[lang][s.unit]
	if s.n == 1 {
		return "1 " + w[0]
	}
	return strconv.Itoa(s.n) + " " + w[1]
}

// localizeLifetime writes an English lifetime in lang ("en" normalises
// it: "1 Year" becomes "1 year"). It reports false for wording it does
// not know, and for a language it has no words for.
func localizeLifetime(lifetime, lang string) (string, bool) {
	words, ok := lifetimeWords[lang]
	if !ok {
		return "", false
	}
	s := strings.ToLower(strings.TrimSpace(lifetime))
	prefix := ""
	switch {
	case strings.HasPrefix(s, "up to "):
		prefix, s = words.upTo, s[len("up to "):]
	case strings.HasPrefix(s, "about "):
		prefix, s = words.about, s[len("about "):]
	}
	if from, to, ok := strings.Cut(s, " to "); ok && prefix == "" {
		a, okA := parseSpan(from)
		b, okB := parseSpan(to)
		if !okA || !okB || b.n == 0 {
			return "", false
		}
		return a.in(lang) + words.to + b.in(lang), true
	}
	sp, ok := parseSpan(s)
	if !ok || prefix != "" && sp.n == 0 {
		return "", false
	}
	return prefix + sp.in(lang), true
}
