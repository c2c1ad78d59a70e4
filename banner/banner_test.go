package banner

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/html"

	"github.com/consentgate/consentgate/rules"
)

var allOptional = []rules.Category{rules.Statistics, rules.Preferences, rules.Marketing}

func testConfig() Config {
	return Config{
		Prefix:     "/.well-known/consent/",
		Categories: allOptional,
		Controller: "Bakkerij De Korenschoof",
		PolicyURL:  "/privacy",
	}
}

func mustNew(t testing.TB, cfg Config) *Banner {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// parseBanner parses BodyStart's markup.
func parseBanner(t testing.TB, markup []byte) *html.Node {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(append([]byte("<!doctype html><body>"), markup...)))
	if err != nil {
		t.Fatalf("parsing the markup: %v", err)
	}
	return doc
}

// dialogAsset returns the settings dialog the script fetches in lang.
func dialogAsset(t testing.TB, b *Banner, lang string) []byte {
	t.Helper()
	for _, a := range b.Assets() {
		if a.Name == b.Dialog(lang) {
			return a.Body
		}
	}
	t.Fatalf("no dialog asset %q", b.Dialog(lang))
	return nil
}

// withDialog returns the page's banner markup in s with the fetched
// dialog where the script puts it: right after the form's return field.
func withDialog(t testing.TB, b *Banner, s State) []byte {
	t.Helper()
	out := b.BodyStart(s)
	i := bytes.Index(out, []byte(`<input type="hidden" name="return"`))
	if i < 0 {
		t.Fatalf("no return field in %s", out)
	}
	j := i + bytes.IndexByte(out[i:], '>') + 1
	return slices.Concat(out[:j], dialogAsset(t, b, s.Lang), out[j:])
}

// settingsDoc parses the settings page (no JavaScript) for s.
func settingsDoc(t testing.TB, b *Banner, s State, services ...ServiceChoice) *html.Node {
	t.Helper()
	page, err := b.SettingsPage(s, services)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("parsing the settings page: %v", err)
	}
	return doc
}

// vendorsAsset returns the asset of the vendors' names.
func vendorsAsset(t testing.TB, b *Banner) Asset {
	t.Helper()
	for _, a := range b.Assets() {
		if strings.HasPrefix(a.Name, "vendors.") {
			return a
		}
	}
	t.Fatal("no vendors asset")
	return Asset{}
}

func attr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

func hasClass(n *html.Node, class string) bool {
	v, _ := attr(n, "class")
	return slices.Contains(strings.Fields(v), class)
}

// findAll returns the elements under n for which match is true, in
// document order.
func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func find(t testing.TB, n *html.Node, what string, match func(*html.Node) bool) *html.Node {
	t.Helper()
	all := findAll(n, match)
	if len(all) != 1 {
		t.Fatalf("want one %s, found %d", what, len(all))
	}
	return all[0]
}

func byClass(class string) func(*html.Node) bool {
	return func(n *html.Node) bool { return hasClass(n, class) }
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

func checkboxes(doc *html.Node) []*html.Node {
	return findAll(doc, func(n *html.Node) bool {
		typ, _ := attr(n, "type")
		return n.Data == "input" && typ == "checkbox"
	})
}

func TestBuiltinTextsHaveEveryKey(t *testing.T) {
	for _, lang := range BuiltinLanguages() {
		t.Run(lang, func(t *testing.T) {
			texts := builtinTexts[lang]
			for _, k := range Keys() {
				v, ok := texts[k]
				if !ok {
					t.Errorf("key %q is missing", k)
					continue
				}
				if err := checkText(v); err != nil {
					t.Errorf("key %q: text %v", k, err)
				}
			}
			for k := range texts {
				if !validKeys[k] {
					t.Errorf("built-in text %q has no key in Keys", k)
				}
			}
		})
	}
}

func TestBuiltinTextsSayWhatTheContractSays(t *testing.T) {
	tests := []struct{ lang, key, want string }{
		{"en", KeyAcceptAll, "Accept all"},
		{"en", KeyRejectAll, "Reject all"},
		{"en", KeySettings, "Settings"},
		{"en", KeySave, "Save settings"},
		{"en", KeyClose, "Close"},
		{"en", KeyCookieSettings, "Cookie settings"},
		{"en", KeyGPCNotice, "Your browser sends a Global Privacy Control signal: marketing stays off unless you switch it on."},
		{"en", KeyEmbedNotice, "This content is hosted by {vendor}. Loading it shares data with them ({category})."},
		{"en", KeyEmbedLoad, "Load content"},
		{"nl", KeyCookieSettings, "Cookie-instellingen"},
		{"en", "category_necessary", "Necessary"},
		{"en", "category_statistics", "Statistics"},
		{"en", "category_preferences", "Preferences"},
		{"en", "category_marketing", "Marketing"},
		{"en", "category_unclassified", "Unclassified"},
		{"nl", "category_necessary", "Noodzakelijk"},
		{"nl", "category_statistics", "Statistieken"},
		{"nl", "category_preferences", "Voorkeuren"},
		{"nl", "category_marketing", "Marketing"},
		{"nl", "category_unclassified", "Overige"},
	}
	for _, tt := range tests {
		if got := builtinTexts[tt.lang][tt.key]; got != tt.want {
			t.Errorf("%s %s = %q, want %q", tt.lang, tt.key, got, tt.want)
		}
	}
}

func TestIntroNamesTheControllerAndTheOfferedPurposes(t *testing.T) {
	cfg := testConfig()
	cfg.Categories = []rules.Category{rules.Marketing, rules.Statistics}
	b := mustNew(t, cfg)
	intro := b.Texts("en")[KeyIntro]
	want := "Bakkerij De Korenschoof uses cookies and similar techniques. Necessary cookies make the website work. " +
		"With your permission, we also use them for " + builtinTexts["en"][KeyPurposeMarketing] + " and " +
		builtinTexts["en"][KeyPurposeStatistics] + "."
	if !strings.HasPrefix(intro, want) {
		t.Errorf("intro = %q,\nwant it to start with %q", intro, want)
	}
	if _, ok := b.Texts("en")[KeyPurposePreferences]; ok {
		t.Error("Texts holds the purpose of a category not offered")
	}
	nl := b.Texts("nl")[KeyIntro]
	if !strings.Contains(nl, "Bakkerij De Korenschoof gebruikt cookies") ||
		!strings.Contains(nl, " voor marketing door ons en andere bedrijven en statistieken over het gebruik van de website.") {
		t.Errorf("Dutch intro = %q", nl)
	}
}

func TestOverridesAreAppliedAndEscaped(t *testing.T) {
	cfg := testConfig()
	cfg.Texts = map[string]map[string]string{
		"en": {KeyAcceptAll: `<script>alert("x")</script> & go`, KeyTitle: "Cookies at O'Brien's"},
	}
	b := mustNew(t, cfg)
	if got := b.Texts("en")[KeyAcceptAll]; got != `<script>alert("x")</script> & go` {
		t.Errorf("Texts has %q", got)
	}
	out := string(b.BodyStart(State{Lang: "en"}))
	if strings.Contains(out, "<script") {
		t.Fatalf("a text came out as markup: %s", out)
	}
	if !strings.Contains(out, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; go") {
		t.Errorf("the override is not in the markup, escaped: %s", out)
	}
	doc := parseBanner(t, []byte(out))
	accept := find(t, find(t, doc, "first layer", byClass("cg-banner")), "accept button", func(n *html.Node) bool { v, _ := attr(n, "value"); return v == "accept_all" })
	if got := textOf(accept); got != `<script>alert("x")</script> & go` {
		t.Errorf("accept button reads %q", got)
	}
	// Dutch keeps its built-in texts.
	if !strings.Contains(string(b.BodyStart(State{Lang: "nl"})), ">Alles accepteren<") {
		t.Error("the Dutch banner lost its built-in text")
	}
}

func TestPolicyChangeLineReplacesTheBuiltInOne(t *testing.T) {
	cfg := testConfig()
	cfg.PolicyChange = "We now use Matomo."
	cfg.Texts = map[string]map[string]string{"nl": {KeyPolicyChanged: "We gebruiken nu Matomo."}}
	b := mustNew(t, cfg)
	tests := []struct{ lang, want string }{{"en", "We now use Matomo."}, {"nl", "We gebruiken nu Matomo."}}
	for _, tt := range tests {
		out := string(b.BodyStart(State{Lang: tt.lang, PolicyChanged: true}))
		if !strings.Contains(out, tt.want) {
			t.Errorf("%s: the policy change line %q is missing", tt.lang, tt.want)
		}
		if strings.Contains(string(b.BodyStart(State{Lang: tt.lang})), tt.want) {
			t.Errorf("%s: the policy change line shows without a policy change", tt.lang)
		}
	}
}

func TestNewRejectsBadConfigs(t *testing.T) {
	full := make(map[string]string)
	for k, v := range builtinTexts["en"] {
		full[k] = v
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"unknown text key", func(c *Config) { c.Texts = map[string]map[string]string{"en": {"acept_all": "x"}} }, `unknown text key "acept_all"`},
		{"texts for a language not offered", func(c *Config) { c.Texts = map[string]map[string]string{"de": {KeyTitle: "x"}} }, `language "de", which is not offered`},
		{"unknown language without texts", func(c *Config) { c.Languages = []string{"nl", "de"} }, `language "de" has no built-in texts`},
		{"unknown language with some texts", func(c *Config) {
			c.Languages = []string{"de"}
			c.Texts = map[string]map[string]string{"de": {KeyTitle: "Cookies"}}
		}, "lacks accept_all"},
		{"malformed language", func(c *Config) { c.Languages = []string{"nl_NL"} }, "not a language tag"},
		{"language twice", func(c *Config) { c.Languages = []string{"nl", "NL"} }, "listed twice"},
		{"empty text", func(c *Config) { c.Texts = map[string]map[string]string{"en": {KeyTitle: " "}} }, "is empty"},
		{"control character", func(c *Config) { c.Texts = map[string]map[string]string{"en": {KeyTitle: "a\nb"}} }, "control character"},
		{"invalid UTF-8", func(c *Config) { c.Texts = map[string]map[string]string{"en": {KeyTitle: "a\xffb"}} }, "UTF-8"},
		{"a controller with a line break", func(c *Config) { c.Controller = "a\nb" }, "controller"},
		{"no categories", func(c *Config) { c.Categories = nil }, "no categories"},
		{"necessary listed", func(c *Config) { c.Categories = []rules.Category{rules.Necessary, rules.Statistics} }, "necessary is always shown"},
		{"category twice", func(c *Config) { c.Categories = []rules.Category{rules.Statistics, rules.Statistics} }, "listed twice"},
		{"unknown category", func(c *Config) { c.Categories = []rules.Category{rules.Category(9)} }, "unknown category"},
		{"prefix without slash", func(c *Config) { c.Prefix = "consent/" }, "must start and end"},
		{"prefix without end slash", func(c *Config) { c.Prefix = "/consent" }, "must start and end"},
		{"prefix with a quote", func(c *Config) { c.Prefix = `/con"sent/` }, "plain URL path"},
		{"javascript policy URL", func(c *Config) { c.PolicyURL = "javascript:alert(1)" }, "http(s) URL"},
		{"protocol-relative policy URL", func(c *Config) { c.PolicyURL = "//evil.example/" }, "http(s) URL"},
		{"anchor with a space", func(c *Config) { c.SettingsAnchor = "cookie settings" }, "letters, digits"},
		{"reserved anchor", func(c *Config) { c.SettingsAnchor = "cg-settings" }, "reserved"},
		{"vendor without a name", func(c *Config) { c.VendorNames = map[string]string{"youtube": ""} }, "vendor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.change(&cfg)
			_, err := New(cfg)
			if err == nil {
				t.Fatal("New accepted the config")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestUnknownLanguageWorksWithEveryTextItShows(t *testing.T) {
	cfg := testConfig()
	cfg.Languages = []string{"nl", "de"}
	de := make(map[string]string)
	for _, k := range usedKeys(cfg.Categories) {
		de[k] = "DE " + builtinTexts["en"][k]
	}
	cfg.Texts = map[string]map[string]string{"de": de}
	b := mustNew(t, cfg)
	out := string(b.BodyStart(State{Lang: "de"}))
	if !strings.Contains(out, `lang="de"`) || !strings.Contains(out, ">DE Accept all<") {
		t.Errorf("the German banner is not German: %s", out)
	}
}

func TestDefaults(t *testing.T) {
	b := mustNew(t, testConfig())
	if got := b.Languages(); !slices.Equal(got, []string{"nl", "en"}) {
		t.Errorf("languages = %v, want nl, en", got)
	}
	out := string(b.BodyStart(State{}))
	if !strings.Contains(out, `data-cg-anchor="cookie-settings"`) || !strings.Contains(string(dialogAsset(t, b, "nl")), `id="cookie-settings"`) {
		t.Error("the default settings anchor is not cookie-settings")
	}
	if !strings.Contains(out, `lang="nl"`) {
		t.Error("an empty State.Lang does not give the default language")
	}
}

func TestOutputIsASCIIOnly(t *testing.T) {
	cfg := testConfig()
	cfg.Controller = "Caf\u00e9 \u00c9lise \u2013 \U0001F950"
	cfg.ConsentMode = true
	cfg.PolicyURL = "https://example.nl/privacyverklaring-caf\u00e9"
	cfg.VendorNames = map[string]string{"youtube": "Y\u00f6uTube"}
	cfg.Texts = map[string]map[string]string{"en": {KeyTitle: "Cookies \u00e0 la carte"}}
	b := mustNew(t, cfg)
	for _, lang := range []string{"nl", "en"} {
		for _, s := range []State{
			{Lang: lang},
			{Lang: lang, Decided: true, Accepted: rules.AllSet, GPC: true, ReturnPath: "/caf\u00e9?q=\u00fc\xff"},
			{Lang: lang, PolicyChanged: true, GPC: true},
		} {
			for name, out := range map[string][]byte{"HeadStart": b.HeadStart(s), "HeadEnd": b.HeadEnd(s), "BodyStart": b.BodyStart(s)} {
				if i := bytes.IndexFunc(out, func(r rune) bool { return r >= 0x80 }); i >= 0 {
					t.Errorf("%s %s has a non-ASCII byte at %d: %q", lang, name, i, out[max(i-20, 0):min(i+20, len(out))])
				}
			}
		}
	}
	out := string(b.BodyStart(State{Lang: "en", ReturnPath: "/caf\u00e9"}))
	for _, want := range []string{"Caf&#233; &#201;lise &#8211; &#129360;", "Cookies &#224; la carte", `value="/caf&#233;"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the markup lacks %q", want)
		}
	}
	// The browser reads the references back as the original text.
	doc := parseBanner(t, []byte(out))
	title := find(t, doc, "title", func(n *html.Node) bool { v, _ := attr(n, "id"); return v == "cg-title" })
	if got := textOf(title); got != "Cookies \u00e0 la carte" {
		t.Errorf("title reads %q", got)
	}
	for _, a := range b.Assets() {
		if !isASCII(a.Body) {
			t.Errorf("asset %s is not ASCII-only", a.Name)
		}
	}
}

func TestAppendASCII(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain <b>", "plain <b>"},
		{"\u00e9", "&#233;"},
		{"na\u00efve caf\u00e9", "na&#239;ve caf&#233;"},
		{"\u20ac", "&#8364;"},
		{"\U0001F600", "&#128512;"},
		{"a\xffb", "a&#65533;b"},
		{"\xe2\x82", "&#65533;&#65533;"},
	}
	for _, tt := range tests {
		if got := string(appendASCII(nil, tt.in)); got != tt.want {
			t.Errorf("appendASCII(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLanguageNegotiation(t *testing.T) {
	cfg := testConfig()
	cfg.Languages = []string{"nl", "en", "en-GB", "fr-BE"}
	fr := make(map[string]string)
	for _, k := range usedKeys(cfg.Categories) {
		fr[k] = "fr " + k
	}
	cfg.Texts = map[string]map[string]string{"fr-be": fr}
	b := mustNew(t, cfg)
	tests := []struct {
		name, accept, override, want string
	}{
		{"nothing gives the default", "", "", "nl"},
		{"override wins", "en", "nl", "nl"},
		{"override is case-insensitive", "", "EN-gb", "en-gb"},
		{"override not offered is ignored", "en", "de", "en"},
		{"override region falls back to language", "", "nl-BE", "nl"},
		{"exact match", "en-GB", "", "en-gb"},
		{"first by order", "en, nl", "", "en"},
		{"quality ranks", "nl;q=0.5, en;q=0.9", "", "en"},
		{"equal quality keeps order", "en;q=0.8, nl;q=0.8", "", "en"},
		{"region falls back", "en-US", "", "en"},
		{"language finds a region", "fr", "", "fr-be"},
		{"unknown then known", "de-DE, de;q=0.9, en;q=0.5", "", "en"},
		{"q=0 excludes", "en;q=0, nl;q=0.1", "", "nl"},
		{"another region of the language", "de, fr-CA;q=0.5, ja", "", "fr-be"},
		{"no match gives the default", "de, ja", "", "nl"},
		{"wildcard gives the default", "*", "", "nl"},
		{"malformed quality ignores the range", "en;q=abc, nl;q=0.2", "", "nl"},
		{"spaces and case", "  EN-gb ; Q=0.7 ,nl;q=0.1", "", "en-gb"},
		{"empty parts", ",,, ;q=1, en", "", "en"},
		{"garbage", "\x00\xff;;;===", "", "nl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := b.Language(tt.accept, tt.override); got != tt.want {
				t.Errorf("Language(%q, %q) = %q, want %q", tt.accept, tt.override, got, tt.want)
			}
		})
	}
	// Long headers are bounded.
	long := strings.Repeat("xx-yy;q=0.9, ", 10000) + "en"
	if got := b.Language(long, ""); got != "nl" {
		t.Errorf("a huge header gave %q", got)
	}
}

func TestTextsHash(t *testing.T) {
	b1 := mustNew(t, testConfig())
	b2 := mustNew(t, testConfig())
	if b1.TextsHash("nl") != b2.TextsHash("nl") {
		t.Error("the hash of the same texts differs between banners")
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(b1.TextsHash("nl")) {
		t.Errorf("hash %q is not SHA-256 hex", b1.TextsHash("nl"))
	}
	if b1.TextsHash("nl") == b1.TextsHash("en") {
		t.Error("nl and en have the same hash")
	}
	if b1.TextsHash("xx") != b1.TextsHash("nl") {
		t.Error("an unknown language does not fall back to the default's hash")
	}

	// The documented canonical form.
	texts := b1.Texts("en")
	keys := make([]string, 0, len(texts))
	for k := range texts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	canon := "consentgate-texts-v1\nlang=en\n"
	for _, k := range keys {
		canon += k + "=" + texts[k] + "\n"
	}
	sum := sha256.Sum256([]byte(canon))
	if got, want := b1.TextsHash("en"), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("TextsHash = %s, the documented form gives %s", got, want)
	}

	changes := map[string]func(*Config){
		"override":   func(c *Config) { c.Texts = map[string]map[string]string{"en": {KeyAcceptAll: "OK"}} },
		"controller": func(c *Config) { c.Controller = "Someone else" },
		"categories": func(c *Config) { c.Categories = []rules.Category{rules.Statistics} },
	}
	for name, change := range changes {
		cfg := testConfig()
		change(&cfg)
		if mustNew(t, cfg).TextsHash("en") == b1.TextsHash("en") {
			t.Errorf("changing the %s does not change the hash", name)
		}
	}
	// Texts returns a copy.
	b1.Texts("en")[KeyTitle] = "changed"
	if b1.Texts("en")[KeyTitle] == "changed" {
		t.Error("Texts returned the banner's own map")
	}
}

func TestFirstLayerButtonsAreEqual(t *testing.T) {
	b := mustNew(t, testConfig())
	for _, lang := range []string{"nl", "en"} {
		doc := parseBanner(t, b.BodyStart(State{Lang: lang}))
		layer := find(t, doc, "first layer", byClass("cg-banner"))
		// Accept all and Reject all submit the form; Settings is a link
		// to the settings page, which the script turns into the dialog.
		buttons := findAll(layer, func(n *html.Node) bool { return n.Data == "button" || hasClass(n, "cg-btn") })
		if len(buttons) != 3 {
			t.Fatalf("%s: the first layer has %d buttons, want 3", lang, len(buttons))
		}
		class0, _ := attr(buttons[0], "class")
		var values []string
		for _, btn := range buttons {
			class, _ := attr(btn, "class")
			if class != class0 || class != "cg-btn" {
				t.Errorf("%s: button classes differ: %q vs %q", lang, class, class0)
			}
			if _, ok := attr(btn, "style"); ok {
				t.Errorf("%s: a button has its own style", lang)
			}
			v, _ := attr(btn, "value")
			values = append(values, v)
		}
		if !slices.Equal(values, []string{"accept_all", "reject_all", ""}) {
			t.Errorf("%s: button values = %q", lang, values)
		}
		for _, btn := range buttons[:2] {
			if n, _ := attr(btn, "name"); n != "action" {
				t.Errorf("%s: button name = %q, want action", lang, n)
			}
			if typ, _ := attr(btn, "type"); typ != "submit" {
				t.Errorf("%s: type = %q, want submit", lang, typ)
			}
		}
		settings := buttons[2]
		if href, _ := attr(settings, "href"); settings.Data != "a" || href != "/.well-known/consent/consent?view=settings&return=%2F" {
			t.Errorf("%s: the settings control is <%s href=%q>", lang, settings.Data, href)
		}
		if _, ok := attr(settings, "data-cg-open"); !ok {
			t.Errorf("%s: the settings link does not open the dialog", lang)
		}
		want := map[string]string{"nl": "Instellingen", "en": "Settings"}[lang]
		if textOf(settings) != want {
			t.Errorf("%s: settings button reads %q", lang, textOf(settings))
		}
		if role, _ := attr(layer, "role"); role != "dialog" {
			t.Errorf("%s: first layer role = %q", lang, role)
		}
		for _, a := range []string{"aria-labelledby", "aria-describedby"} {
			id, _ := attr(layer, a)
			if len(findAll(doc, func(n *html.Node) bool { v, _ := attr(n, "id"); return v == id })) != 1 {
				t.Errorf("%s: %s=%q names no single element", lang, a, id)
			}
		}
	}
}

func TestFormPostsToTheConsentEndpoint(t *testing.T) {
	cfg := testConfig()
	cfg.Prefix = "/_consent/"
	b := mustNew(t, cfg)
	doc := parseBanner(t, withDialog(t, b, State{ReturnPath: "/blog/?p=1&x=<y>"}))
	form := find(t, doc, "form", func(n *html.Node) bool { return n.Data == "form" })
	if m, _ := attr(form, "method"); m != "post" {
		t.Errorf("method = %q", m)
	}
	if a, _ := attr(form, "action"); a != "/_consent/consent" {
		t.Errorf("action = %q", a)
	}
	ret := find(t, form, "return field", func(n *html.Node) bool { v, _ := attr(n, "name"); return v == "return" })
	if v, _ := attr(ret, "value"); v != "/blog/?p=1&x=<y>" {
		t.Errorf("return = %q", v)
	}
	if typ, _ := attr(ret, "type"); typ != "hidden" {
		t.Errorf("return type = %q", typ)
	}
	// Every control is inside the one form.
	if got := len(findAll(doc, func(n *html.Node) bool { return n.Data == "form" })); got != 1 {
		t.Errorf("%d forms", got)
	}
	save := find(t, form, "save button", func(n *html.Node) bool { v, _ := attr(n, "value"); return v == "save" })
	if n, _ := attr(save, "name"); n != "action" {
		t.Errorf("save button name = %q", n)
	}
	if len(checkboxes(form)) != 4 {
		t.Errorf("%d checkboxes in the form, want 4", len(checkboxes(form)))
	}
	// Enter on a checkbox clicks the form's default button, the first
	// submit button: that must be Save, not Accept all.
	first := findAll(form, func(n *html.Node) bool { typ, _ := attr(n, "type"); return n.Data == "button" && typ == "submit" })[0]
	if v, _ := attr(first, "value"); v != "save" {
		t.Errorf("the form's default button is %q, want save", v)
	}
	// The settings page posts the same form, to come back to the page.
	page := settingsDoc(t, b, State{ReturnPath: "/blog/?p=1&x=<y>"})
	pf := find(t, page, "form", func(n *html.Node) bool { return n.Data == "form" })
	if a, _ := attr(pf, "action"); a != "/_consent/consent" {
		t.Errorf("the settings page posts to %q", a)
	}
	ret = find(t, pf, "return field", func(n *html.Node) bool { v, _ := attr(n, "name"); return v == "return" })
	if v, _ := attr(ret, "value"); v != "/blog/?p=1&x=<y>" {
		t.Errorf("the settings page returns to %q", v)
	}
	first = findAll(pf, func(n *html.Node) bool { typ, _ := attr(n, "type"); return n.Data == "button" && typ == "submit" })[0]
	if v, _ := attr(first, "value"); v != "save" {
		t.Errorf("the settings page's default button is %q, want save", v)
	}
}

func TestReturnPathStaysOnTheSite(t *testing.T) {
	b := mustNew(t, testConfig())
	tests := []struct{ in, want string }{
		{"/", "/"},
		{"/a/b?c=d", "/a/b?c=d"},
		{"", "/"},
		{"//evil.example/", "/"},
		{"/\\evil.example/", "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"/a\nb", "/"},
		{"/a#frag", "/"},
	}
	for _, tt := range tests {
		doc := parseBanner(t, b.BodyStart(State{ReturnPath: tt.in}))
		ret := find(t, doc, "return field", func(n *html.Node) bool { v, _ := attr(n, "name"); return v == "return" })
		if v, _ := attr(ret, "value"); v != tt.want {
			t.Errorf("ReturnPath %q gives %q, want %q", tt.in, v, tt.want)
		}
		toggle := find(t, doc, "toggle", byClass("cg-toggle"))
		href, _ := attr(toggle, "href")
		u, err := url.Parse(href)
		if err != nil || u.Host != "" || u.Path != "/.well-known/consent/consent" || u.Query().Get("return") != tt.want {
			t.Errorf("ReturnPath %q gives the settings link %q, want return=%q", tt.in, href, tt.want)
		}
	}
}

func TestNecessaryIsCheckedAndDisabled(t *testing.T) {
	b := mustNew(t, testConfig())
	for _, s := range []State{{}, {Decided: true, Accepted: rules.OnlyNecessary}, {Decided: true, Accepted: rules.AllSet}} {
		doc := settingsDoc(t, b, s)
		boxes := checkboxes(doc)
		if len(boxes) == 0 {
			t.Fatal("no checkboxes")
		}
		n := boxes[0]
		if v, _ := attr(n, "value"); v != "necessary" {
			t.Fatalf("the first checkbox is %q, want necessary", v)
		}
		_, checked := attr(n, "checked")
		_, disabled := attr(n, "disabled")
		if !checked || !disabled {
			t.Errorf("state %+v: necessary checked=%v disabled=%v", s, checked, disabled)
		}
		label := find(t, doc, "necessary label", func(n *html.Node) bool { v, _ := attr(n, "for"); return v == "cg-cat-necessary" })
		if !strings.Contains(textOf(label), "Altijd aan") {
			t.Errorf("the necessary label %q does not say it is always on", textOf(label))
		}
	}
}

func TestCategoriesFollowTheConfig(t *testing.T) {
	cfg := testConfig()
	cfg.Categories = []rules.Category{rules.Unclassified, rules.Marketing, rules.Statistics}
	b := mustNew(t, cfg)
	doc := parseBanner(t, dialogAsset(t, b, "en"))
	var got []string
	for _, n := range checkboxes(doc) {
		v, _ := attr(n, "value")
		got = append(got, v)
		if name, _ := attr(n, "name"); name != "category" {
			t.Errorf("checkbox %s has name %q", v, name)
		}
		id, _ := attr(n, "id")
		label := find(t, doc, "label of "+v, func(l *html.Node) bool { f, _ := attr(l, "for"); return f == id })
		if textOf(label) == "" {
			t.Errorf("checkbox %s has an empty label", v)
		}
	}
	if want := []string{"necessary", "marketing", "statistics", "unclassified"}; !slices.Equal(got, want) {
		t.Errorf("checkboxes %v, want %v (unclassified last)", got, want)
	}
}

func TestNothingIsPreTicked(t *testing.T) {
	b := mustNew(t, testConfig())
	tests := []struct {
		name string
		s    State
	}{
		{"undecided", State{}},
		{"undecided with GPC", State{GPC: true}},
		{"undecided, accepted set by mistake", State{Accepted: rules.AllSet}},
		{"policy changed", State{Decided: true, PolicyChanged: true, Accepted: rules.AllSet}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := parseBanner(t, b.BodyStart(tt.s))
			page := settingsDoc(t, b, tt.s, ServiceChoice{ID: "hotjar", Name: "Hotjar", Category: rules.Statistics, Granted: true})
			for _, n := range checkboxes(page)[1:] {
				if _, checked := attr(n, "checked"); checked {
					v, _ := attr(n, "value")
					t.Errorf("%s is ticked", v)
				}
			}
			for _, n := range checkboxes(parseBanner(t, dialogAsset(t, b, tt.s.Lang)))[1:] {
				if _, checked := attr(n, "checked"); checked {
					t.Error("the fetched dialog ticks a box")
				}
			}
			layer := find(t, doc, "first layer", byClass("cg-banner"))
			if _, hidden := attr(layer, "hidden"); hidden {
				t.Error("the first layer is hidden before a decision")
			}
			gpc := findAll(doc, byClass("cg-gpc"))
			if tt.s.GPC && len(gpc) == 0 {
				t.Error("no GPC notice with GPC")
			}
			if !tt.s.GPC && len(gpc) > 0 {
				t.Error("a GPC notice without GPC")
			}
			if got := len(findAll(page, byClass("cg-gpc"))); got != len(gpc) {
				t.Errorf("the settings page has %d GPC notices, the page %d", got, len(gpc))
			}
		})
	}
}

func TestDecidedStateHidesTheFirstLayer(t *testing.T) {
	b := mustNew(t, testConfig())
	accepted := rules.SetOf(rules.Statistics, rules.Marketing)
	s := State{Lang: "en", Decided: true, Accepted: accepted}
	doc := parseBanner(t, b.BodyStart(s))
	if len(findAll(doc, byClass("cg-banner"))) != 0 {
		t.Error("the first layer is in the page although decided")
	}
	if len(findAll(doc, func(n *html.Node) bool { return n.Data == "dialog" }))+len(checkboxes(doc)) != 0 {
		t.Error("the settings dialog is in the page: it comes on demand")
	}
	root := find(t, doc, "root", func(n *html.Node) bool { v, _ := attr(n, "id"); return v == "consentgate" })
	if !hasClass(root, "cg-decided") {
		t.Error("the root lacks cg-decided")
	}
	page := settingsDoc(t, b, s)
	for _, n := range checkboxes(page) {
		v, _ := attr(n, "value")
		c, _ := rules.ParseCategory(v)
		_, checked := attr(n, "checked")
		if checked != accepted.With(rules.Necessary).Has(c) {
			t.Errorf("%s checked=%v", v, checked)
		}
	}
	dialog := find(t, page, "settings dialog", func(n *html.Node) bool { return n.Data == "dialog" })
	if id, _ := attr(dialog, "id"); id != "cookie-settings" {
		t.Errorf("the dialog id is %q", id)
	}
	if _, open := attr(dialog, "open"); !open {
		t.Error("the settings page's dialog is not open")
	}
	toggle := find(t, doc, "persistent control", byClass("cg-toggle"))
	if href, _ := attr(toggle, "href"); href != "/.well-known/consent/consent?view=settings&return=%2F" || textOf(toggle) != "Cookie settings" {
		t.Errorf("the persistent control is %q -> %q", textOf(toggle), href)
	}
}

func TestRootCarriesTheScriptsData(t *testing.T) {
	cfg := testConfig()
	cfg.ConsentMode = true
	cfg.SettingsAnchor = "privacy-keuzes"
	cfg.VendorNames = map[string]string{"youtube": "YouTube"}
	b := mustNew(t, cfg)
	doc := parseBanner(t, b.BodyStart(State{Lang: "en", Decided: true, GPC: true, Accepted: rules.SetOf(rules.Statistics)}))
	root := find(t, doc, "root", func(n *html.Node) bool { v, _ := attr(n, "id"); return v == "consentgate" })
	want := map[string]string{
		"lang":                 "en",
		"data-cg-prefix":       "/.well-known/consent/",
		"data-cg-decided":      "true",
		"data-cg-accepted":     "necessary statistics",
		"data-cg-offered":      "statistics preferences marketing",
		"data-cg-gpc":          "true",
		"data-cg-consent-mode": "true",
		"data-cg-anchor":       "privacy-keuzes",
		"data-cg-vendors":      vendorsAsset(t, b).Name,
		"data-cg-dialog":       b.Dialog("en"),
	}
	for k, v := range want {
		if got, _ := attr(root, k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// The vendors' names are an asset the script fetches for a
	// placeholder, not a part of every page.
	if v := vendorsAsset(t, b); string(v.Body) != `{"youtube":"YouTube"}` || v.ContentType != "application/json; charset=utf-8" ||
		v.Name != hashedName("vendors", ".json", v.Body) {
		t.Errorf("the vendors asset is %s %q: %s", v.Name, v.ContentType, v.Body)
	}
	texts, _ := attr(root, "data-cg-texts")
	for _, s := range []string{`"embed_notice":"This content is hosted by {vendor}.`, `"embed_load":"Load content"`, `"category_marketing":"Marketing"`, `"error":`} {
		if !strings.Contains(texts, s) {
			t.Errorf("data-cg-texts lacks %s: %s", s, texts)
		}
	}
}

func TestNoInlineScriptsOrHandlers(t *testing.T) {
	cfg := testConfig()
	cfg.ConsentMode = true
	b := mustNew(t, cfg)
	s := State{Decided: true, Accepted: rules.AllSet, GPC: true}
	page, err := b.SettingsPage(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	all := string(b.HeadStart(s)) + string(b.HeadEnd(s)) + string(withDialog(t, b, s)) + string(page)
	doc := parseBanner(t, []byte(all))
	for _, n := range findAll(doc, func(*html.Node) bool { return true }) {
		if n.Data == "script" {
			if src, _ := attr(n, "src"); src == "" || n.FirstChild != nil {
				t.Error("an inline script")
			}
		}
		if n.Data == "style" {
			t.Error("an inline style element")
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") || a.Key == "style" {
				t.Errorf("<%s %s=...>", n.Data, a.Key)
			}
		}
	}
}

func TestHeadPieces(t *testing.T) {
	b := mustNew(t, testConfig())
	names := map[string]string{}
	for _, a := range b.Assets() {
		names[strings.SplitN(a.Name, ".", 2)[0]+"."+a.Name[strings.LastIndexByte(a.Name, '.')+1:]] = a.Name
	}
	// The assets go right after <head>, before any <base> of the page.
	wantHead := fmt.Sprintf(`<link rel="stylesheet" href="/.well-known/consent/%s"><script src="/.well-known/consent/%s" defer></script>`,
		names["banner.css"], names["banner.js"])
	if got := string(b.HeadStart(State{Decided: true})); got != wantHead {
		t.Errorf("HeadStart = %s\nwant %s", got, wantHead)
	}
	if got := b.HeadEnd(State{}); got != nil {
		t.Errorf("HeadEnd = %s, want nothing", got)
	}
	wantNonce := fmt.Sprintf(`<link rel="stylesheet" href="/.well-known/consent/%s" nonce="r4nd0m"><script src="/.well-known/consent/%s" defer nonce="r4nd0m"></script>`,
		names["banner.css"], names["banner.js"])
	if got := string(b.HeadStart(State{Nonce: "r4nd0m", StyleNonce: "r4nd0m"})); got != wantNonce {
		t.Errorf("HeadStart with a nonce = %s\nwant %s", got, wantNonce)
	}
	if _, ok := names["consent-mode.js"]; ok {
		t.Error("the consent mode script is an asset without ConsentMode")
	}

	cfg := testConfig()
	cfg.ConsentMode = true
	cm := mustNew(t, cfg)
	var cmName string
	for _, a := range cm.Assets() {
		if strings.HasPrefix(a.Name, "consent-mode.") {
			cmName = a.Name
		}
	}
	if cmName == "" {
		t.Fatal("no consent mode asset")
	}
	tests := []struct {
		s    State
		want string
	}{
		{State{}, `<script src="/.well-known/consent/` + cmName + `" data-cg-decided="false" data-cg-accepted="necessary"></script>` + wantHead},
		{State{Decided: true, Accepted: rules.SetOf(rules.Statistics, rules.Marketing)},
			`<script src="/.well-known/consent/` + cmName + `" data-cg-decided="true" data-cg-accepted="necessary statistics marketing"></script>` + wantHead},
		{State{Nonce: "r4nd0m", StyleNonce: "r4nd0m"}, `<script src="/.well-known/consent/` + cmName + `" data-cg-decided="false" data-cg-accepted="necessary" nonce="r4nd0m"></script>` + wantNonce},
		{State{StyleNonce: "st"}, `<script src="/.well-known/consent/` + cmName + `" data-cg-decided="false" data-cg-accepted="necessary"></script>` +
			strings.Replace(strings.Replace(wantNonce, `defer nonce="r4nd0m"`, `defer`, 1), "r4nd0m", "st", 1)},
	}
	for _, tt := range tests {
		if got := string(cm.HeadStart(tt.s)); got != tt.want {
			t.Errorf("HeadStart(%+v) = %s\nwant %s", tt.s, got, tt.want)
		}
	}
}

func TestAssetsAreMinifiedAndHashed(t *testing.T) {
	cfg := testConfig()
	cfg.ConsentMode = true
	b := mustNew(t, cfg)
	sources := map[string][]byte{"banner.css": bannerCSS, "banner.js": bannerJS, "consent-mode.js": consentModeJS}
	name := regexp.MustCompile(`^(banner|consent-mode)\.[0-9a-f]{10}\.(css|js)$`)
	seen := map[string]bool{}
	for _, a := range b.Assets() {
		if strings.HasPrefix(a.Name, "settings-") || strings.HasPrefix(a.Name, "vendors.") {
			continue // the dialogs: TestDialogIsAnAssetPerLanguage
		}
		m := name.FindStringSubmatch(a.Name)
		if m == nil {
			t.Errorf("asset name %q is not base.<10 hex>.ext", a.Name)
			continue
		}
		src := sources[m[1]+"."+m[2]]
		seen[m[1]+"."+m[2]] = true
		if len(a.Body) >= len(src)*3/4 {
			t.Errorf("%s is %d bytes from %d: not minified", a.Name, len(a.Body), len(src))
		}
		if bytes.Contains(a.Body, []byte("/*")) || bytes.Contains(a.Body, []byte("\n\t")) {
			t.Errorf("%s keeps comments or indentation", a.Name)
		}
		if a.Name != hashedName(m[1], "."+m[2], a.Body) {
			t.Errorf("%s is not named after its content", a.Name)
		}
		want := map[string]string{"css": contentTypeCSS, "js": contentTypeJS}[m[2]]
		if a.ContentType != want {
			t.Errorf("%s has content type %q", a.Name, a.ContentType)
		}
	}
	if len(seen) != 3 {
		t.Errorf("assets %v, want the stylesheet and both scripts", seen)
	}
	// The script keeps the consent mode keys as property names.
	for _, a := range b.Assets() {
		if strings.HasSuffix(a.Name, ".js") && !bytes.Contains(a.Body, []byte("{ad_storage:")) {
			t.Errorf("%s lost the consent mode object", a.Name)
		}
	}

	m := newMinifier()
	one, err := buildAsset(m, "banner", ".js", "text/javascript", contentTypeJS, []byte("window.a = 1;"))
	if err != nil {
		t.Fatal(err)
	}
	two, err := buildAsset(m, "banner", ".js", "text/javascript", contentTypeJS, []byte("window.a = 2;"))
	if err != nil {
		t.Fatal(err)
	}
	same, err := buildAsset(m, "banner", ".js", "text/javascript", contentTypeJS, []byte("window.a   =   1 ; // same"))
	if err != nil {
		t.Fatal(err)
	}
	if one.Name == two.Name {
		t.Error("different content, same name")
	}
	if one.Name != same.Name {
		t.Error("content that minifies the same gets another name")
	}
	if _, err := buildAsset(m, "bad", ".js", "text/javascript", contentTypeJS, []byte("window.a = ;")); err == nil {
		t.Error("a script that does not parse was accepted")
	}
}

func TestBodyStartIsSafeForConcurrentUse(t *testing.T) {
	b := mustNew(t, testConfig())
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 200 {
				s := State{Lang: []string{"nl", "en"}[j%2], Decided: j%3 == 0, GPC: i%2 == 0, Accepted: rules.Set(j % 32), ReturnPath: fmt.Sprintf("/p/%d", j)}
				out := b.BodyStart(s)
				if !bytes.Contains(out, fmt.Appendf(nil, `value="/p/%d"`, j)) {
					t.Errorf("the markup lacks its return path")
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzBodyStart(f *testing.F) {
	f.Add("nl", "/", true, false, uint8(3))
	f.Add("en", "//x", false, true, uint8(255))
	f.Add("\xff", "/\xff\"<>&", true, true, uint8(0))
	b := mustNew(f, testConfig())
	f.Fuzz(func(t *testing.T, lang, ret string, decided, gpc bool, accepted uint8) {
		out := b.BodyStart(State{Lang: lang, ReturnPath: ret, Decided: decided, GPC: gpc, Accepted: rules.Set(accepted)})
		if !isASCII(out) {
			t.Fatal("non-ASCII output")
		}
		if bytes.Count(out, []byte("<form")) != 1 || bytes.Count(out, []byte(`name="return"`)) != 1 {
			t.Fatal("the return path broke the markup")
		}
		page, err := b.SettingsPage(State{Lang: lang, ReturnPath: ret, Decided: decided, GPC: gpc, Accepted: rules.Set(accepted)},
			[]ServiceChoice{{ID: ret, Name: ret, Category: rules.Marketing, Granted: true}})
		if err != nil || !isASCII(page) {
			t.Fatalf("the settings page: %v", err)
		}
		if bytes.Count(page, []byte("<form")) != 1 || bytes.Count(page, []byte(`name="return"`)) != 1 || bytes.Contains(page, []byte("<script")) {
			t.Fatal("the return path broke the settings page")
		}
		b.Language(lang, ret)
	})
}

func TestWithoutAControllerTheSiteNamesItself(t *testing.T) {
	cfg := testConfig()
	cfg.Controller = ""
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string]string{"nl": "Deze website gebruikt cookies", "en": "This website uses cookies"} {
		if got := b.Texts(lang)[KeyIntro]; !strings.HasPrefix(got, want) {
			t.Errorf("%s intro %q, want it to start with %q", lang, got, want)
		}
	}
}

// The settings dialog is not in any page: it is an asset per language,
// named by its content, that the script fetches when the visitor opens
// the settings.
func TestDialogIsAnAssetPerLanguage(t *testing.T) {
	b := mustNew(t, testConfig())
	name := regexp.MustCompile(`^settings-(nl|en)\.[0-9a-f]{10}\.html$`)
	for _, lang := range []string{"nl", "en"} {
		n := b.Dialog(lang)
		if m := name.FindStringSubmatch(n); m == nil || m[1] != lang {
			t.Errorf("%s: dialog asset %q", lang, n)
		}
		body := dialogAsset(t, b, lang)
		if n != hashedName("settings-"+lang, ".html", body) {
			t.Errorf("%s: %s is not named after its content", lang, n)
		}
		if !isASCII(body) {
			t.Errorf("%s: the dialog is not ASCII", lang)
		}
		want := map[string]string{"nl": "Instellingen opslaan", "en": "Save settings"}[lang]
		if !bytes.Contains(body, []byte(">"+want+"<")) {
			t.Errorf("%s: the dialog does not say %q: %s", lang, want, body)
		}
		if !bytes.HasPrefix(body, []byte(`<dialog class="cg-settings" id="cookie-settings"`)) || bytes.Contains(body, []byte("<script")) {
			t.Errorf("%s: the dialog is not one dialog element: %s", lang, body)
		}
		if bytes.Contains(body, []byte(" open")) {
			t.Errorf("%s: the fetched dialog is open", lang)
		}
		page := b.BodyStart(State{Lang: lang})
		if !bytes.Contains(page, []byte(`data-cg-dialog="`+n+`"`)) {
			t.Errorf("%s: the page does not name its dialog", lang)
		}
		// Nothing of the dialog is in any page.
		for _, s := range []State{{Lang: lang}, {Lang: lang, Decided: true, Accepted: rules.AllSet}, {Lang: lang, GPC: true, PolicyChanged: true}} {
			out := b.BodyStart(s)
			for _, bit := range []string{"<dialog", "cg-settings", `name="category"`, "settings_intro", `value="save"`, "services_in"} {
				if bytes.Contains(out, []byte(bit)) {
					t.Errorf("%+v: the page carries %q of the dialog", s, bit)
				}
			}
		}
	}
	if b.Dialog("fr") != b.Dialog("nl") {
		t.Error("a language not offered does not get the default's dialog")
	}
}

// The settings page lists the site's services under their categories, each
// with its own switch, ticked as the decision grants them; with no
// decision nothing is ticked.
func TestSettingsPageListsServices(t *testing.T) {
	b := mustNew(t, testConfig())
	services := []ServiceChoice{
		{ID: "google-analytics", Name: "Google Analytics", Category: rules.Statistics, Granted: true},
		{ID: "youtube", Name: "YouTube", Category: rules.Marketing},
		{ID: "bad id\x00", Name: "X", Category: rules.Marketing},
	}
	page := settingsDoc(t, b, State{Lang: "en", Decided: true, Accepted: rules.SetOf(rules.Statistics), ReturnPath: "/shop/"}, services...)
	var got []string
	for _, n := range findAll(page, func(n *html.Node) bool { v, _ := attr(n, "name"); return n.Data == "input" && v == "service" }) {
		v, _ := attr(n, "value")
		_, checked := attr(n, "checked")
		cat, _ := attr(n, "data-cg-category")
		got = append(got, fmt.Sprintf("%s/%s/%v", v, cat, checked))
	}
	if want := []string{"google-analytics/statistics/true", "youtube/marketing/false"}; !slices.Equal(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}
	lists := findAll(page, byClass("cg-services"))
	if len(lists) != 2 {
		t.Fatalf("%d service lists, want 2", len(lists))
	}
	if l, _ := attr(lists[0], "aria-label"); l != "Services in Statistics" {
		t.Errorf("the list is labelled %q", l)
	}
	closeLink := find(t, page, "close link", func(n *html.Node) bool { return n.Data == "a" && textOf(n) == "Close" })
	if href, _ := attr(closeLink, "href"); href != "/shop/" {
		t.Errorf("Close leads to %q", href)
	}
	css := find(t, page, "stylesheet", func(n *html.Node) bool { return n.Data == "link" })
	if href, _ := attr(css, "href"); href != "/.well-known/consent/"+b.Assets()[0].Name {
		t.Errorf("the stylesheet is %q", href)
	}
	undecided := settingsDoc(t, b, State{Lang: "en"}, services...)
	for _, n := range findAll(undecided, func(n *html.Node) bool { return n.Data == "input" }) {
		if v, _ := attr(n, "value"); v != "necessary" && hasAttrKey(n, "checked") {
			t.Errorf("%s is ticked before any decision", v)
		}
	}
}

func hasAttrKey(n *html.Node, k string) bool { _, ok := attr(n, k); return ok }
