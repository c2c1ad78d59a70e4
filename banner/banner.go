package banner

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/consentgate/consentgate/rules"
)

// Config describes the banner of one site. New validates it.
type Config struct {
	// Prefix is the reserved path prefix under which the gateway serves the
	// assets and the consent endpoint, e.g. "/.well-known/consent/". It
	// must start and end with "/".
	Prefix string
	// Categories are the optional categories offered, in banner order:
	// any of statistics, preferences and marketing, and unclassified,
	// which is always offered last. Necessary is always shown, fixed on,
	// and must not be listed. At least one is required.
	Categories []rules.Category
	// Languages are the offered languages (BCP 47 tags such as "nl" or
	// "en-GB"); the first is the default. Default: nl, en. A language
	// whose primary subtag is not built in (see BuiltinLanguages) needs
	// every text it shows in Texts.
	Languages []string
	// Texts overrides texts: language -> text key (see Keys) -> text.
	// Unknown languages and keys are an error.
	Texts map[string]map[string]string
	// Controller names who processes the data, in every language; when
	// empty, the KeyController text ("Deze website", "This website") does.
	// E.g. "Bakkerij De
	// Korenschoof"; the first layer says it. Required.
	Controller string
	// PolicyURL links to the privacy statement: an http(s) URL or a path
	// starting with "/". Optional: without it there is no link.
	PolicyURL string
	// SettingsAnchor is the id of the settings layer, so a link to
	// "#"+SettingsAnchor anywhere opens it. Default "cookie-settings".
	SettingsAnchor string
	// ConsentMode emits Google Consent Mode v2 defaults (HeadStart) and
	// updates on every decision.
	ConsentMode bool
	// PolicyChange, when set, is the line shown when the visitor is asked
	// again after a policy version change, in every language whose Texts
	// do not override KeyPolicyChanged.
	PolicyChange string
	// VendorNames maps vendor IDs (the data-consent-vendor attribute) to
	// the names a blocked embed's placeholder shows, e.g. "youtube" ->
	// "YouTube"; see VendorNamesOf. Optional: the placeholder falls back
	// to the vendor ID, or the embed's host.
	VendorNames map[string]string
	// Guard, when set, adds the runtime guard (see GuardConfig and
	// Banner.Guard).
	Guard *GuardConfig
}

// DefaultSettingsAnchor is the default Config.SettingsAnchor.
const DefaultSettingsAnchor = "cookie-settings"

// VendorNamesOf returns the names of a ruleset's vendors, for
// Config.VendorNames.
func VendorNamesOf(rs *rules.Ruleset) map[string]string {
	m := make(map[string]string)
	if rs == nil {
		return m
	}
	for _, v := range rs.Vendors() {
		m[v.ID] = v.Name
	}
	return m
}

// State is what the banner knows about one visitor's request.
type State struct {
	// Lang is the language to show, from Banner.Language; one that is
	// not offered falls back to the default.
	Lang string
	// Decided says a valid decision exists: there is no first layer and
	// only the persistent "Cookie settings" control shows, which fetches
	// the settings dialog (or, without JavaScript, leads to the settings
	// page).
	Decided bool
	// Accepted holds what the visitor accepted (necessary always).
	Accepted rules.Set
	// Services holds the services (vendor IDs) the visitor accepted one
	// by one, sorted: the runtime guard lets their loads pass.
	Services []string
	// Recipients, when set, is the first layer's line naming who
	// receives the data (Banner.Recipients).
	Recipients *Recipients
	// GPC says the request carried Sec-GPC: 1.
	GPC bool
	// PolicyChanged says an old decision exists under another policy
	// version: the visitor is asked again (the first layer shows, nothing
	// ticked, whatever Decided says) and the KeyPolicyChanged line
	// shows.
	PolicyChanged bool
	// ReturnPath is the page's same-origin path and query, which the
	// no-JavaScript form sends back as "return". Anything that is not a
	// path starting with a single "/" becomes "/".
	ReturnPath string
	// Site is the page's registrable domain (eTLD+1), which the guard
	// needs to tell third-party scripts from first-party ones when
	// GuardConfig.BlockUnknown is set.
	Site string
	// Nonce is the nonce the page's Content-Security-Policy requires of
	// script elements: every script tag the banner inserts carries it.
	// Empty: none.
	Nonce string
	// StyleNonce is the nonce it requires of stylesheets: the banner's
	// stylesheet link carries it. Empty: none.
	StyleNonce string
}

// Banner renders the consent banner of one site. It is safe for concurrent
// use.
type Banner struct {
	cfg    Config
	cats   []rules.Category
	langs  []*language
	byTag  map[string]*language
	assets []Asset
	// headAssets are the stylesheet link and the deferred banner script.
	headAssets []byte
	cmName     string // the consent mode asset, or ""
	// headStart[decided][accepted] is the consent mode script tag (with
	// ConsentMode) and headAssets.
	headStart [2][rules.AllSet + 1][]byte
	guardName string
	guardTags [rules.AllSet + 1][]byte
	vendors   string // the name of the VendorNames asset (JSON), or ""
	// cache holds the rendered markup per language and state.
	cache []atomic.Pointer[rendered]
}

// language is one offered language.
type language struct {
	index       int
	tag         string
	shown       map[string]string // Texts: exactly what the banner shows
	full        map[string]string // every text, built in and overridden
	hash        string
	scriptTexts string // JSON of the texts the script needs in the page
	dialogTexts string // JSON of the texts it needs only in the dialog
	dialogName  string // the name of the dialog asset
}

// New validates cfg, builds the texts, and minifies and names the assets.
func New(cfg Config) (*Banner, error) {
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if err := checkPrefix(cfg.Prefix); err != nil {
		fail("banner: prefix %q: %w", cfg.Prefix, err)
	}
	cats, err := checkCategories(cfg.Categories)
	if err != nil {
		fail("banner: %w", err)
	}
	if cfg.SettingsAnchor == "" {
		cfg.SettingsAnchor = DefaultSettingsAnchor
	}
	if err := checkAnchor(cfg.SettingsAnchor); err != nil {
		fail("banner: settings anchor %q: %w", cfg.SettingsAnchor, err)
	}
	if cfg.Controller != "" {
		if err := checkText(cfg.Controller); err != nil {
			fail("banner: controller (who processes the data, shown in the banner) %w", err)
		}
	}
	if cfg.PolicyURL != "" {
		if err := checkPolicyURL(cfg.PolicyURL); err != nil {
			fail("banner: policy URL %q: %w", cfg.PolicyURL, err)
		}
	}
	if cfg.PolicyChange != "" {
		if err := checkText(cfg.PolicyChange); err != nil {
			fail("banner: policy change line %w", err)
		}
	}
	for id, name := range cfg.VendorNames {
		if id == "" || !isASCIIPrintable(id) {
			fail("banner: vendor id %q is not printable ASCII", id)
		}
		if err := checkText(name); err != nil {
			fail("banner: name of vendor %q %w", id, err)
		}
	}
	langs := cfg.Languages
	if len(langs) == 0 {
		langs = []string{"nl", "en"}
	}
	tags := make([]string, 0, len(langs))
	for _, l := range langs {
		t := strings.ToLower(strings.TrimSpace(l))
		if !validTag(t) {
			fail("banner: language %q is not a language tag such as nl or en-GB", l)
			continue
		}
		if slices.Contains(tags, t) {
			fail("banner: language %q is listed twice", l)
			continue
		}
		tags = append(tags, t)
	}
	overrides := make(map[string]map[string]string, len(cfg.Texts))
	for l, texts := range cfg.Texts {
		t := strings.ToLower(strings.TrimSpace(l))
		if !slices.Contains(tags, t) {
			fail("banner: texts for language %q, which is not offered (languages: %s)", l, strings.Join(tags, ", "))
			continue
		}
		m := overrides[t]
		if m == nil {
			m = make(map[string]string)
			overrides[t] = m
		}
		for k, v := range texts {
			if !validKeys[k] {
				fail("banner: texts[%q]: unknown text key %q (see banner.Keys)", l, k)
				continue
			}
			if err := checkText(v); err != nil {
				fail("banner: texts[%q][%q] %w", l, k, err)
				continue
			}
			m[k] = v
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	b := &Banner{cfg: cfg, cats: cats, byTag: make(map[string]*language)}
	used := usedKeys(cats)
	for i, tag := range tags {
		full := make(map[string]string)
		for k, v := range builtinFor(tag) {
			full[k] = v
		}
		if cfg.PolicyChange != "" {
			full[KeyPolicyChanged] = cfg.PolicyChange
		}
		for k, v := range overrides[tag] {
			full[k] = v
		}
		var missing []string
		for _, k := range used {
			if _, ok := full[k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			errs = append(errs, fmt.Errorf("banner: language %q has no built-in texts, and texts[%q] lacks %s",
				tag, tag, strings.Join(missing, ", ")))
			continue
		}
		lang := &language{index: i, tag: tag, full: full, shown: shownTexts(full, used, cats, cfg.Controller)}
		lang.hash = textsHash(tag, lang.shown)
		st, dt, err := scriptTexts(full)
		if err != nil {
			return nil, err
		}
		lang.scriptTexts, lang.dialogTexts = st, dt
		b.langs = append(b.langs, lang)
		b.byTag[tag] = lang
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := b.buildAssets(); err != nil {
		return nil, fmt.Errorf("banner: %w", err)
	}
	if len(cfg.VendorNames) > 0 {
		// The names only a blocked embed's placeholder shows: an asset the
		// script fetches when there is one, not a part of every page.
		v, err := json.Marshal(cfg.VendorNames)
		if err != nil {
			return nil, fmt.Errorf("banner: vendor names: %w", err)
		}
		v = asciiJSON(v)
		a := Asset{Name: hashedName("vendors", ".json", v), ContentType: contentTypeJSON, Body: v}
		if err := precompress(&a); err != nil {
			return nil, fmt.Errorf("banner: %w", err)
		}
		b.assets = append(b.assets, a)
		b.vendors = a.Name
	}
	if err := b.buildDialogs(); err != nil {
		return nil, fmt.Errorf("banner: %w", err)
	}
	b.cache = make([]atomic.Pointer[rendered], len(b.langs)*stateKeys)
	// Render every language once now, so template errors show at New.
	for _, l := range b.langs {
		if _, err := b.render(l, State{}); err != nil {
			return nil, fmt.Errorf("banner: rendering %s: %w", l.tag, err)
		}
	}
	return b, nil
}

// shownTexts returns the texts a banner offering cats shows, with the
// intro's placeholders filled in.
func shownTexts(full map[string]string, used []string, cats []rules.Category, controller string) map[string]string {
	shown := make(map[string]string, len(used))
	for _, k := range used {
		shown[k] = full[k]
	}
	purposes := make([]string, 0, len(cats))
	for _, c := range cats {
		purposes = append(purposes, full[purposeKey(c)])
	}
	if controller == "" {
		controller = full[KeyController]
	}
	shown[KeyIntro] = strings.NewReplacer(
		"{controller}", controller,
		"{purposes}", joinPurposes(purposes, full[KeyAnd]),
	).Replace(full[KeyIntro])
	return shown
}

// scriptTexts returns the JSON of the texts the script needs in every
// page (the placeholder's, the error, and every category's name it has)
// and of those it needs only in the settings dialog, which carries them.
func scriptTexts(full map[string]string) (string, string, error) {
	m := map[string]string{
		KeyEmbedNotice: full[KeyEmbedNotice],
		KeyEmbedLoad:   full[KeyEmbedLoad],
		KeyEmbedAlways: full[KeyEmbedAlways],
		KeyError:       full[KeyError],
	}
	for _, c := range rules.AllCategories {
		if v, ok := full[CategoryNameKey(c)]; ok {
			m[CategoryNameKey(c)] = v
		}
	}
	j, err := json.Marshal(m)
	if err != nil {
		return "", "", fmt.Errorf("banner: script texts: %w", err)
	}
	d, err := json.Marshal(map[string]string{
		KeyServicesIn:  full[KeyServicesIn],
		KeyRecord:      full[KeyRecord],
		KeyHistoryLink: full[KeyHistoryLink],
	})
	if err != nil {
		return "", "", fmt.Errorf("banner: dialog texts: %w", err)
	}
	return string(j), string(d), nil
}

// buildDialogs renders the settings dialog of every language into an
// asset the script fetches on demand, named by its content's hash:
// settings-<language>.<hash>.html.
func (b *Banner) buildDialogs() error {
	for _, l := range b.langs {
		body, err := b.renderDialog(l)
		if err != nil {
			return fmt.Errorf("rendering the %s settings dialog: %w", l.tag, err)
		}
		a := Asset{Name: hashedName("settings-"+l.tag, ".html", body), ContentType: contentTypeHTML, Body: body}
		if err := precompress(&a); err != nil {
			return err
		}
		l.dialogName = a.Name
		b.assets = append(b.assets, a)
	}
	return nil
}

// buildAssets minifies the CSS and scripts and prepares the head tags.
func (b *Banner) buildAssets() error {
	m := newMinifier()
	cssAsset, err := buildAsset(m, "banner", ".css", "text/css", contentTypeCSS, bannerCSS)
	if err != nil {
		return err
	}
	jsAsset, err := buildAsset(m, "banner", ".js", "text/javascript", contentTypeJS, bannerJS)
	if err != nil {
		return err
	}
	b.assets = []Asset{cssAsset, jsAsset}
	if b.cfg.ConsentMode {
		cmAsset, err := buildAsset(m, "consent-mode", ".js", "text/javascript", contentTypeJS, consentModeJS)
		if err != nil {
			return err
		}
		b.assets = append(b.assets, cmAsset)
		b.cmName = cmAsset.Name
	}
	if b.cfg.Guard != nil {
		g, err := buildGuard(m, b.cfg.Guard)
		if err != nil {
			return err
		}
		b.assets = append(b.assets, g)
		b.buildGuardTags(g.Name)
	}
	b.headAssets = b.appendHeadAssets(nil, cssAsset.Name, jsAsset.Name, State{})
	for d := range 2 {
		for s := range rules.AllSet + 1 {
			b.headStart[d][s] = b.appendHeadStart(nil, State{Decided: d == 1, Accepted: s})
		}
	}
	return nil
}

func (b *Banner) appendHeadAssets(dst []byte, css, js string, s State) []byte {
	dst = append(dst, `<link rel="stylesheet" href="`...)
	dst = escapeAttr(dst, b.cfg.Prefix+css)
	dst = append(dst, '"')
	dst = appendNonce(dst, s.StyleNonce)
	dst = append(dst, `><script src="`...)
	dst = escapeAttr(dst, b.cfg.Prefix+js)
	dst = append(dst, `" defer`...)
	dst = appendNonce(dst, s.Nonce)
	return append(dst, `></script>`...)
}

// appendHeadStart appends HeadStart(s), built afresh.
func (b *Banner) appendHeadStart(dst []byte, s State) []byte {
	if b.cmName != "" {
		dst = append(dst, `<script src="`...)
		dst = escapeAttr(dst, b.cfg.Prefix+b.cmName)
		dst = append(dst, `" data-cg-decided="`...)
		dst = strconv.AppendBool(dst, s.Decided)
		dst = append(dst, `" data-cg-accepted="`...)
		dst = append(dst, s.Accepted.With(rules.Necessary).String()...)
		dst = append(dst, '"')
		dst = appendNonce(dst, s.Nonce)
		dst = append(dst, `></script>`...)
	}
	if s.Nonce == "" && s.StyleNonce == "" {
		return append(dst, b.headAssets...)
	}
	return b.appendHeadAssets(dst, b.assets[0].Name, b.assets[1].Name, s)
}

// Assets returns the files to serve under Config.Prefix: the stylesheet,
// the banner script and, with ConsentMode, the consent mode script. The
// result must not be modified.
func (b *Banner) Assets() []Asset { return slices.Clone(b.assets) }

// HeadStart returns what goes right after <head> (after the guard): with
// ConsentMode, a synchronous script that sets Google Consent Mode's
// defaults (all denied) and then updates them to what s accepted; then the
// stylesheet link and the deferred banner script. They come before any
// <base> of the page, so its base URL cannot send them elsewhere. Script
// tags carry s.Nonce and the link s.StyleNonce when set. The result must
// not be modified.
func (b *Banner) HeadStart(s State) []byte {
	if s.Nonce != "" || s.StyleNonce != "" {
		return b.appendHeadStart(nil, s)
	}
	d := 0
	if s.Decided {
		d = 1
	}
	return b.headStart[d][s.Accepted&rules.AllSet]
}

// HeadEnd returns what goes before </head>: nothing any more, since the
// banner's assets moved to HeadStart, before any <base>. It stays for
// callers of the three-piece layout.
func (b *Banner) HeadEnd(State) []byte { return nil }

// BodyStart returns the banner markup for the visitor in s, to go right
// after <body>. The result is ASCII-only and belongs to the caller.
func (b *Banner) BodyStart(s State) []byte { return b.AppendBodyStart(nil, s) }

// AppendBodyStart appends BodyStart(s) to dst, so a caller can reuse a
// buffer across requests.
func (b *Banner) AppendBodyStart(dst []byte, s State) []byte {
	l := b.lang(s.Lang)
	r, err := b.render(l, s)
	if err != nil { // cannot happen: New rendered every language
		return dst
	}
	return b.appendRendered(dst, r, s)
}

// Dialog returns the name of the settings dialog asset in lang (the
// default language's when lang is not offered), relative to the prefix:
// the page's banner script fetches it when the visitor opens the
// settings.
func (b *Banner) Dialog(lang string) string { return b.lang(lang).dialogName }

// Texts returns the texts shown in lang (the default language's when lang
// is not offered), with the intro's placeholders filled in, keyed as in
// Keys: the texts of the categories not offered are left out. For the
// proof log; the map is a copy.
func (b *Banner) Texts(lang string) map[string]string {
	l := b.lang(lang)
	m := make(map[string]string, len(l.shown))
	for k, v := range l.shown {
		m[k] = v
	}
	return m
}

// TextsHash returns the SHA-256 (hex) of the texts shown in lang (as
// Texts), so the proof log can record what a visitor saw. The hashed,
// canonical form is UTF-8:
//
//	consentgate-texts-v1\n
//	lang=<language tag, lower case>\n
//	<key>=<text>\n     (one line per text, keys sorted by byte value)
//
// Texts hold no control characters, so every text is one line.
func (b *Banner) TextsHash(lang string) string { return b.lang(lang).hash }

// Languages returns the offered languages, normalised to lower case; the
// first is the default.
func (b *Banner) Languages() []string {
	out := make([]string, len(b.langs))
	for i, l := range b.langs {
		out[i] = l.tag
	}
	return out
}

// lang returns the offered language tag, or the default.
func (b *Banner) lang(tag string) *language {
	if l, ok := b.byTag[tag]; ok {
		return l
	}
	if l, ok := b.byTag[strings.ToLower(tag)]; ok {
		return l
	}
	return b.langs[0]
}

// safeReturnPath returns p if it is a same-origin path (with query), or
// "/".
func safeReturnPath(p string) string {
	if len(p) == 0 || p[0] != '/' || len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return "/"
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f || c == '#' {
			return "/"
		}
	}
	return p
}

func checkPrefix(p string) error {
	if !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") || strings.HasPrefix(p, "//") {
		return fmt.Errorf("must start and end with \"/\"")
	}
	if len(p) > 200 {
		return fmt.Errorf("is longer than 200 bytes")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("/-._~!$&()*+,;=:@%", c) >= 0) {
			return fmt.Errorf("holds %q, which a plain URL path does not", c)
		}
	}
	return nil
}

// checkCategories returns the offered categories in banner order, with
// unclassified last.
func checkCategories(cs []rules.Category) ([]rules.Category, error) {
	if len(cs) == 0 {
		return nil, fmt.Errorf("no categories to ask consent for (want some of statistics, preferences, marketing, unclassified)")
	}
	var out []rules.Category
	var seen rules.Set
	unclassified := false
	for _, c := range cs {
		switch {
		case c == rules.Necessary:
			return nil, fmt.Errorf("category necessary is always shown and must not be listed")
		case !rules.AllSet.Has(c) || c > rules.Unclassified:
			return nil, fmt.Errorf("unknown category %v", c)
		case seen.Has(c):
			return nil, fmt.Errorf("category %v is listed twice", c)
		}
		seen = seen.With(c)
		if c == rules.Unclassified {
			unclassified = true
			continue
		}
		out = append(out, c)
	}
	if unclassified {
		out = append(out, rules.Unclassified)
	}
	return out, nil
}

func checkAnchor(a string) error {
	if len(a) > 64 {
		return fmt.Errorf("is longer than 64 bytes")
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '-' || c == '_')) {
			return fmt.Errorf("must be letters, digits, '-' and '_', starting with a letter")
		}
	}
	if a == "consentgate" || strings.HasPrefix(a, "cg-") {
		return fmt.Errorf("is reserved for the banner's own elements")
	}
	return nil
}

func checkPolicyURL(s string) error {
	if err := checkText(s); err != nil {
		return err
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return fmt.Errorf("holds white space")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("is not a URL: %w", err)
	}
	switch {
	case u.Scheme == "http" || u.Scheme == "https":
		if u.Host == "" {
			return fmt.Errorf("has no host")
		}
	case u.Scheme == "" && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//"):
	default:
		return fmt.Errorf("must be an http(s) URL or a path starting with \"/\"")
	}
	return nil
}

func isASCIIPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// validTag reports whether t (lower case) looks like a BCP 47 language tag:
// a primary subtag of 2 to 8 letters, then subtags of 1 to 8 letters or
// digits.
func validTag(t string) bool {
	if len(t) == 0 || len(t) > 35 {
		return false
	}
	for i, sub := range strings.Split(t, "-") {
		if len(sub) == 0 || len(sub) > 8 || i == 0 && len(sub) < 2 {
			return false
		}
		for j := 0; j < len(sub); j++ {
			c := sub[j]
			if !(c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9') {
				return false
			}
		}
	}
	return true
}
