package banner

import (
	"strings"
	"testing"
)

func TestFirstLayerNamesTheRecipients(t *testing.T) {
	cfg := testConfig()
	cfg.Texts = map[string]map[string]string{"nl": {KeyRecipients: "Wij delen gegevens met {recipients}."}}
	b := mustNew(t, cfg)
	r := b.Recipients([][]string{{"Google Analytics", "Hotjar"}, {}, {"Meta", "YouTube"}})
	out := string(b.BodyStart(State{Lang: "en", Recipients: r}))
	want := `<p class="cg-text cg-recipients">With your consent, these parties receive data: Google Analytics, Hotjar; Meta, YouTube.</p>`
	if !strings.Contains(out, want) {
		t.Errorf("the first layer lacks %s:\n%s", want, out)
	}
	first := textOf(find(t, parseBanner(t, []byte(out)), "first layer", byClass("cg-banner")))
	if !strings.Contains(first, "Google Analytics, Hotjar; Meta, YouTube") {
		t.Errorf("the line is not in the first layer: %s", first)
	}
	// The operator's sentence, per language.
	if nl := string(b.BodyStart(State{Lang: "nl", Recipients: r})); !strings.Contains(nl, ">Wij delen gegevens met Google Analytics, Hotjar; Meta, YouTube.</p>") {
		t.Errorf("the Dutch override is not used:\n%s", nl)
	}
	// Without recipients there is no line, and the cached markup is not
	// changed by one with them.
	if plain := string(b.BodyStart(State{Lang: "en"})); strings.Contains(plain, "cg-recipients") {
		t.Error("a line without recipients")
	}

	// Long lists are shortened, linking to the second layer; names are
	// escaped.
	long := b.Recipients([][]string{{"A", "B", "C"}, {"D", "E", "F", "G", `<b>"H"</b>`}})
	out = string(b.BodyStart(State{Lang: "en", Recipients: long, ReturnPath: "/a?b=c"}))
	want = `With your consent, these parties receive data: A, B, C; D, E, F <a class="cg-link" href="/.well-known/consent/consent?view=settings&amp;return=%2Fa%3Fb%3Dc" data-cg-open="">and 2 more</a>.</p>`
	if !strings.Contains(out, want) {
		t.Errorf("the shortened line is not %s:\n%s", want, out)
	}
	if b.Recipients(nil) != nil || b.Recipients([][]string{{}, {" "}}) != nil {
		t.Error("no names, but a line")
	}
	escaped := string(b.BodyStart(State{Lang: "en", Recipients: b.Recipients([][]string{{`<b>"H"</b>`}})}))
	if strings.Contains(escaped, "<b>") || !strings.Contains(escaped, "&lt;b&gt;&#34;H&#34;&lt;/b&gt;") {
		t.Errorf("a name is not escaped:\n%s", escaped)
	}
}
