package banner

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/consentgate/consentgate/rules"
)

// The text keys. Every text the banner shows has one; Config.Texts
// overrides them per language. Texts are plain text: the banner escapes
// them, so markup in a text shows as written.
const (
	// KeyTitle is the first layer's heading.
	KeyTitle = "title"
	// KeyController names who processes the data when Config.Controller
	// is not set: "Deze website", "This website".
	KeyController = "controller"
	// KeyIntro is the first layer's text. {controller} is replaced by
	// Config.Controller (or KeyController) and {purposes} by the purposes of the offered
	// categories (the KeyPurpose* texts joined with KeyAnd).
	KeyIntro = "intro"
	// KeyPurposeStatistics, KeyPurposePreferences, KeyPurposeMarketing and
	// KeyPurposeUnclassified name a category's purpose inside KeyIntro.
	KeyPurposeStatistics   = "purpose_statistics"
	KeyPurposePreferences  = "purpose_preferences"
	KeyPurposeMarketing    = "purpose_marketing"
	KeyPurposeUnclassified = "purpose_unclassified"
	// KeyAnd joins the last two purposes: "a, b and c".
	KeyAnd = "and"
	// KeyPolicyLink is the text of the link to Config.PolicyURL.
	KeyPolicyLink = "policy_link"
	// KeyAcceptAll, KeyRejectAll and KeySettings are the first layer's
	// three equal buttons.
	KeyAcceptAll = "accept_all"
	KeyRejectAll = "reject_all"
	KeySettings  = "settings"
	// KeySave saves the choices of the second layer.
	KeySave = "save"
	// KeyClose closes the second layer without deciding.
	KeyClose = "close"
	// KeyCookieSettings labels the persistent control that reopens the
	// settings.
	KeyCookieSettings = "cookie_settings"
	// KeySettingsTitle and KeySettingsIntro head the second layer.
	KeySettingsTitle = "settings_title"
	KeySettingsIntro = "settings_intro"
	// KeyRecipients names, on the first layer, who receives the data:
	// {recipients} becomes the services the site uses, grouped by
	// category. KeyRecipientsMore ends a shortened list ({n}: how many
	// more), linking to the second layer.
	KeyRecipients     = "recipients"
	KeyRecipientsMore = "recipients_more"
	// KeyRecord tells a decided visitor what the proof log holds: {id} is
	// their consent ID, {time} the date and time of their decision.
	KeyRecord = "record"
	// KeyHistoryLink is the link that downloads the visitor's own records.
	KeyHistoryLink = "history_link"
	// KeyServicesIn names the list of services under a category in the
	// second layer, for screen readers; {category} is the category's name.
	KeyServicesIn = "services_in"
	// KeyAlwaysOn marks the necessary category, which cannot be switched
	// off.
	KeyAlwaysOn = "always_on"
	// KeyGPCNotice is shown when the browser sends Sec-GPC: 1.
	KeyGPCNotice = "gpc_notice"
	// KeyEmbedNotice is the text of a blocked embed's placeholder. The
	// script replaces {vendor} by the vendor's name and {category} by the
	// category's name.
	KeyEmbedNotice = "embed_notice"
	// KeyEmbedAlways is the placeholder's second button, which allows the
	// embed's service ({vendor}) for good: on every page, until the
	// visitor takes it back in the settings.
	KeyEmbedAlways = "embed_always"
	// KeyEmbedLoad is the placeholder's button, which loads the embed in
	// this page view, granting its service and nothing else.
	KeyEmbedLoad = "embed_load"
	// KeyPolicyChanged is shown when the visitor is asked again because
	// the policy version changed. Config.PolicyChange replaces the
	// built-in text in every language that does not override it.
	KeyPolicyChanged = "policy_changed"
	// KeyError is shown when a decision could not be saved.
	KeyError = "error"
)

// CategoryNameKey returns the key of a category's name, e.g.
// "category_statistics".
func CategoryNameKey(c rules.Category) string { return "category_" + c.String() }

// CategoryDescriptionKey returns the key of a category's description, e.g.
// "category_statistics_description".
func CategoryDescriptionKey(c rules.Category) string {
	return "category_" + c.String() + "_description"
}

// purposeKey returns the KeyPurpose* key of an optional category.
func purposeKey(c rules.Category) string { return "purpose_" + c.String() }

// commonKeys are the keys every banner uses, whatever its categories.
var commonKeys = []string{
	KeyController, KeyTitle, KeyIntro, KeyAnd, KeyPolicyLink, KeyAcceptAll, KeyRejectAll,
	KeySettings, KeySave, KeyClose, KeyCookieSettings, KeySettingsTitle,
	KeySettingsIntro, KeyAlwaysOn, KeyGPCNotice, KeyEmbedNotice, KeyEmbedLoad, KeyEmbedAlways, KeyServicesIn, KeyRecord, KeyHistoryLink, KeyRecipients, KeyRecipientsMore,
	KeyPolicyChanged, KeyError,
}

// Keys returns every text key, sorted.
func Keys() []string {
	keys := slices.Clone(commonKeys)
	for _, c := range rules.AllCategories {
		keys = append(keys, CategoryNameKey(c), CategoryDescriptionKey(c))
		if c != rules.Necessary {
			keys = append(keys, purposeKey(c))
		}
	}
	slices.Sort(keys)
	return keys
}

// usedKeys returns the keys a banner offering cats shows, sorted.
func usedKeys(cats []rules.Category) []string {
	keys := slices.Clone(commonKeys)
	keys = append(keys, CategoryNameKey(rules.Necessary), CategoryDescriptionKey(rules.Necessary))
	for _, c := range cats {
		keys = append(keys, CategoryNameKey(c), CategoryDescriptionKey(c), purposeKey(c))
	}
	slices.Sort(keys)
	return keys
}

var validKeys = func() map[string]bool {
	m := make(map[string]bool)
	for _, k := range Keys() {
		m[k] = true
	}
	return m
}()

// builtinTexts holds the built-in languages. Dutch follows the Autoriteit
// Persoonsgegevens' rules of thumb: short, plain, saying who processes data
// and why, with refusing as easy as accepting.
var builtinTexts = map[string]map[string]string{
	"nl": {
		KeyController:          "Deze website",
		KeyTitle:               "Cookies op deze website",
		KeyIntro:               "{controller} gebruikt cookies en vergelijkbare technieken. Noodzakelijke cookies zorgen dat de website werkt. Met uw toestemming gebruiken we ze ook voor {purposes}. U kunt uw keuze altijd wijzigen.",
		KeyPurposeStatistics:   "statistieken over het gebruik van de website",
		KeyPurposePreferences:  "het onthouden van uw voorkeuren",
		KeyPurposeMarketing:    "marketing door ons en andere bedrijven",
		KeyPurposeUnclassified: "overige doelen",
		KeyAnd:                 "en",
		KeyPolicyLink:          "Privacyverklaring",
		KeyAcceptAll:           "Alles accepteren",
		KeyRejectAll:           "Alles weigeren",
		KeySettings:            "Instellingen",
		KeySave:                "Instellingen opslaan",
		KeyClose:               "Sluiten",
		KeyCookieSettings:      "Cookie-instellingen",
		KeySettingsTitle:       "Cookie-instellingen",
		KeySettingsIntro:       "Kies wat u toestaat. Noodzakelijke cookies staan altijd aan. U kunt uw keuze altijd wijzigen.",
		KeyAlwaysOn:            "Altijd aan",
		KeyGPCNotice:           "Uw browser stuurt een Global Privacy Control-signaal: marketing blijft uit, tenzij u het zelf aanzet.",
		KeyEmbedNotice:         "Deze inhoud wordt aangeboden door {vendor}. Als u deze laadt, worden gegevens met hen gedeeld ({category}).",
		KeyEmbedLoad:           "Inhoud laden",
		KeyEmbedAlways:         "{vendor} altijd toestaan",
		KeyServicesIn:          "Diensten in {category}",
		KeyRecord:              "Uw toestemmings-ID is {id}; uw keuze is vastgelegd op {time}.",
		KeyHistoryLink:         "Download wat er is vastgelegd",
		KeyRecipients:          "Met uw toestemming ontvangen deze partijen gegevens: {recipients}.",
		KeyRecipientsMore:      "en {n} meer",
		KeyPolicyChanged:       "Ons cookiebeleid is gewijzigd sinds uw vorige keuze. Wilt u opnieuw kiezen?",
		KeyError:               "Uw keuze kon niet worden opgeslagen. Probeer het opnieuw.",

		"category_necessary":                "Noodzakelijk",
		"category_necessary_description":    "Nodig om de website te laten werken, bijvoorbeeld om uw cookiekeuze te onthouden, u ingelogd te houden of uw winkelmandje te bewaren.",
		"category_statistics":               "Statistieken",
		"category_statistics_description":   "Laten ons zien hoe bezoekers de website gebruiken, bijvoorbeeld welke pagina\u2019s het meest worden bezocht, zodat we de website kunnen verbeteren.",
		"category_preferences":              "Voorkeuren",
		"category_preferences_description":  "Onthouden uw keuzes, zoals de taal, en laden inhoud van andere diensten, zoals lettertypen.",
		"category_marketing":                "Marketing",
		"category_marketing_description":    "Gebruikt door ons en andere bedrijven om advertenties te tonen en te meten, en om ingesloten inhoud zoals video\u2019s en kaarten te laden. Deze bedrijven kunnen u op andere websites volgen.",
		"category_unclassified":             "Overige",
		"category_unclassified_description": "Inhoud van andere bedrijven die we nog niet hebben ingedeeld. Die wordt alleen met uw toestemming geladen.",
	},
	"en": {
		KeyTitle:               "Cookies on this website",
		KeyController:          "This website",
		KeyIntro:               "{controller} uses cookies and similar techniques. Necessary cookies make the website work. With your permission, we also use them for {purposes}. You can change your choice at any time.",
		KeyPurposeStatistics:   "statistics on how the website is used",
		KeyPurposePreferences:  "remembering your preferences",
		KeyPurposeMarketing:    "marketing by us and other companies",
		KeyPurposeUnclassified: "other purposes",
		KeyAnd:                 "and",
		KeyPolicyLink:          "Privacy statement",
		KeyAcceptAll:           "Accept all",
		KeyRejectAll:           "Reject all",
		KeySettings:            "Settings",
		KeySave:                "Save settings",
		KeyClose:               "Close",
		KeyCookieSettings:      "Cookie settings",
		KeySettingsTitle:       "Cookie settings",
		KeySettingsIntro:       "Choose what you allow. Necessary cookies are always on. You can change your choice at any time.",
		KeyAlwaysOn:            "Always on",
		KeyGPCNotice:           "Your browser sends a Global Privacy Control signal: marketing stays off unless you switch it on.",
		KeyEmbedNotice:         "This content is hosted by {vendor}. Loading it shares data with them ({category}).",
		KeyEmbedLoad:           "Load content",
		KeyEmbedAlways:         "Always allow {vendor}",
		KeyServicesIn:          "Services in {category}",
		KeyRecord:              "Your consent ID is {id}; your choice was recorded on {time}.",
		KeyHistoryLink:         "Download what was recorded",
		KeyRecipients:          "With your consent, these parties receive data: {recipients}.",
		KeyRecipientsMore:      "and {n} more",
		KeyPolicyChanged:       "Our cookie policy has changed since your last choice. Please choose again.",
		KeyError:               "Your choice could not be saved. Please try again.",

		"category_necessary":                "Necessary",
		"category_necessary_description":    "Needed for the website to work, for example to remember your cookie choice, keep you logged in or keep your shopping cart.",
		"category_statistics":               "Statistics",
		"category_statistics_description":   "Show us how visitors use the website, for example which pages are visited most, so we can improve it.",
		"category_preferences":              "Preferences",
		"category_preferences_description":  "Remember your choices, such as the language, and load content from other services, such as fonts.",
		"category_marketing":                "Marketing",
		"category_marketing_description":    "Used by us and other companies to show and measure advertising, and to load embedded content such as videos and maps. These companies can follow you across websites.",
		"category_unclassified":             "Unclassified",
		"category_unclassified_description": "Content from other companies that we have not classified yet. It only loads with your permission.",
	},
}

// BuiltinLanguages returns the languages with built-in texts.
func BuiltinLanguages() []string { return []string{"en", "nl"} }

// builtinFor returns the built-in texts for a language tag, matching its
// primary subtag (nl-BE gets nl), or nil.
func builtinFor(tag string) map[string]string {
	primary, _, _ := strings.Cut(tag, "-")
	return builtinTexts[primary]
}

// checkText reports why a text cannot be used: it must be valid UTF-8,
// not blank, and hold no control characters (so the canonical form of
// TextsHash stays one line per text).
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("is not valid UTF-8")
	}
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("is empty")
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return fmt.Errorf("holds the control character %U", r)
		}
	}
	if len(s) > maxTextLen {
		return fmt.Errorf("is longer than %d bytes", maxTextLen)
	}
	return nil
}

// maxTextLen bounds one text, which every page carries.
const maxTextLen = 2000

// joinPurposes joins purposes as "a, b and c".
func joinPurposes(ps []string, and string) string {
	switch len(ps) {
	case 0:
		return ""
	case 1:
		return ps[0]
	}
	return strings.Join(ps[:len(ps)-1], ", ") + " " + and + " " + ps[len(ps)-1]
}

// textsHash returns the SHA-256 of the canonical form of a language's
// texts (see Banner.TextsHash).
func textsHash(lang string, texts map[string]string) string {
	keys := make([]string, 0, len(texts))
	for k := range texts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("consentgate-texts-v1\nlang=")
	b.WriteString(lang)
	b.WriteByte('\n')
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(texts[k])
		b.WriteByte('\n')
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}
