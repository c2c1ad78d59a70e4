package banner

import (
	"slices"
	"testing"

	"golang.org/x/net/html"
)

// Wherever the visitor reopens their choice, Reject all and Accept all
// stand as on the first layer (GDPR art. 7(3)): the same buttons, the same
// style; Save stays the form's default button, so Enter on a box saves.
func TestSettingsOfferWithdrawalAsProminentlyAsConsent(t *testing.T) {
	b := mustNew(t, testConfig())
	for _, s := range []State{{Lang: "nl"}, {Lang: "en", Decided: true, Accepted: 0b1111}} {
		doc := parseBanner(t, withDialog(t, b, s))
		dlg := find(t, doc, "settings", byClass("cg-settings"))
		first := find(t, parseBanner(t, b.BodyStart(State{Lang: s.Lang})), "first layer", byClass("cg-banner"))
		submits := func(n *html.Node) map[string]*html.Node {
			m := map[string]*html.Node{}
			for _, btn := range findAll(n, func(n *html.Node) bool { return n.Data == "button" }) {
				if typ, _ := attr(btn, "type"); typ == "submit" {
					v, _ := attr(btn, "value")
					m[v] = btn
				}
			}
			return m
		}
		inDialog, onFirst := submits(dlg), submits(first)
		for _, action := range []string{"accept_all", "reject_all"} {
			d, f := inDialog[action], onFirst[action]
			if d == nil {
				t.Fatalf("%s: the settings have no %s button", s.Lang, action)
			}
			dc, _ := attr(d, "class")
			fc, _ := attr(f, "class")
			if dc != fc || textOf(d) != textOf(f) {
				t.Errorf("%s: %s in the settings is %q %q, on the first layer %q %q", s.Lang, action, dc, textOf(d), fc, textOf(f))
			}
			if n, _ := attr(d, "name"); n != "action" {
				t.Errorf("%s: %s has name %q", s.Lang, action, n)
			}
		}
		var order []string
		for _, btn := range findAll(doc, func(n *html.Node) bool { return n.Data == "button" }) {
			if typ, _ := attr(btn, "type"); typ == "submit" {
				v, _ := attr(btn, "value")
				order = append(order, v)
			}
		}
		if len(order) == 0 || order[0] != "save" {
			t.Errorf("%s: the form's first submit button is %v, want save", s.Lang, order)
		}
		if !slices.Contains(order, "reject_all") {
			t.Errorf("%s: no reject_all", s.Lang)
		}
	}
}
