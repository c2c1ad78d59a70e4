package caddymodule

import (
	"strings"

	"github.com/consentgate/consentgate/banner"
	"github.com/consentgate/consentgate/cookies"
	"github.com/consentgate/consentgate/rules"
)

// declarationWords are the cookie declaration's column headers; category
// names come from the banner's texts, so they match what visitors chose.
var declarationWords = map[string]cookies.Labels{
	"nl": {Cookie: "Cookie", Vendor: "Aanbieder", Purpose: "Doel", Lifetime: "Bewaartermijn", Unknown: "onbekend", Empty: "Deze website plaatst geen cookies die we kennen."},
	"en": {Cookie: "Cookie", Vendor: "Provider", Purpose: "Purpose", Lifetime: "Retention", Unknown: "unknown", Empty: "This website sets no cookies we know of."},
}

// declarationLabels returns the declaration's words in lang; Provision
// keeps them per offered language.
func (h *Handler) declarationLabels(lang string) cookies.Labels {
	l, ok := declarationWords[strings.SplitN(lang, "-", 2)[0]]
	if !ok {
		l = declarationWords["en"]
	}
	texts := h.banner.Texts(lang)
	l.Category = make(map[rules.Category]string)
	for _, c := range rules.AllCategories {
		if name := texts[banner.CategoryNameKey(c)]; name != "" {
			l.Category[c] = name
		} else {
			l.Category[c] = c.String()
		}
	}
	return l
}
