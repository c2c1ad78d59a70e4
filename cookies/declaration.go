package cookies

import (
	"fmt"
	"html"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/consentgate/consentgate/rules"
)

// Seen remembers what the site was seen to use: the cookies its responses
// set, the known cookies visitors' browsers send, and the vendors whose
// elements its pages carry. Memory is bounded: at most max cookie names.
type Seen struct {
	mu      sync.RWMutex
	max     int
	cookies map[string]string // name -> lifetime from its Set-Cookie ("" when unknown)
	vendors map[string]bool
	version atomic.Uint64
}

// NewSeen returns an empty Seen that keeps at most max cookie names.
func NewSeen(max int) *Seen {
	return &Seen{max: max, cookies: make(map[string]string), vendors: make(map[string]bool)}
}

// ObserveSetCookie records a cookie the site set.
func (s *Seen) ObserveSetCookie(v string) {
	name := SetCookieName(v)
	if !validName(name) {
		return
	}
	s.addCookie(name, lifetimeOf(v))
}

// ObserveRequestCookie records a cookie a browser sent; only names a rule
// knows are kept, so a visitor cannot fill the declaration with names of
// their own.
func (s *Seen) ObserveRequestCookie(rs *rules.Ruleset, name string) {
	if rs.MatchCookie(name) != nil {
		s.addCookie(name, "")
	}
}

func (s *Seen) addCookie(name, lifetime string) {
	s.mu.RLock()
	old, ok := s.cookies[name]
	s.mu.RUnlock()
	if ok && (old != "" || lifetime == "") {
		return // already known: the common case, without the write lock
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok = s.cookies[name]
	if ok && (old != "" || lifetime == "") {
		return
	}
	if !ok && len(s.cookies) >= s.max {
		return
	}
	s.cookies[name] = lifetime
	s.version.Add(1)
}

// ObserveVendor records that a page carried an element of vendor id.
func (s *Seen) ObserveVendor(id string) {
	s.mu.RLock()
	known := s.vendors[id]
	s.mu.RUnlock()
	if known {
		return // the common case, without the write lock
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.vendors[id] {
		s.vendors[id] = true
		s.version.Add(1)
	}
}

// lifetimeOf describes a Set-Cookie value's lifetime.
func lifetimeOf(v string) string {
	c, err := http.ParseSetCookie(v)
	if err != nil {
		return ""
	}
	switch {
	case c.MaxAge < 0:
		return ""
	case c.MaxAge > 0:
		return describeDuration(time.Duration(c.MaxAge) * time.Second)
	case !c.Expires.IsZero():
		return describeDuration(time.Until(c.Expires).Round(time.Hour))
	}
	return "session"
}

// describeDuration writes d as a lifetime in English, in the words
// localizeLifetime reads.
func describeDuration(d time.Duration) string {
	switch day := 24 * time.Hour; {
	case d <= 0:
		return "session"
	case d < time.Minute:
		return fmt.Sprintf("%d seconds", max(1, int(d.Seconds()+0.5)))
	case d < time.Hour:
		return fmt.Sprintf("%d minutes", int(d.Minutes()+0.5))
	case d < day:
		return fmt.Sprintf("%d hours", int(d.Hours()+0.5))
	case d < 60*day:
		return fmt.Sprintf("%d days", int(d.Hours()/24+0.5))
	case d < 700*day:
		return fmt.Sprintf("%d months", int(d.Hours()/24/30.44+0.5))
	default:
		return fmt.Sprintf("%d years", int(d.Hours()/24/365.25+0.5))
	}
}

// categoryPurposes say, per language, what the cookies of a category are
// for: the purpose shown for a catalogue cookie, whose own description
// (from the Open Cookie Database) is in English only.
var categoryPurposes = map[string]map[rules.Category]string{
	"nl": {
		rules.Necessary:   "Nodig om de website te laten werken.",
		rules.Statistics:  "Meet hoe bezoekers de website gebruiken.",
		rules.Preferences: "Onthoudt keuzes en instellingen van de bezoeker.",
		rules.Marketing:   "Voor advertenties en om bezoekers over websites heen te volgen.",
	},
	"en": {
		rules.Necessary:   "Needed for the website to work.",
		rules.Statistics:  "Measures how visitors use the website.",
		rules.Preferences: "Remembers the visitor's choices and settings.",
		rules.Marketing:   "For advertising and following visitors across websites.",
	},
}

// baseLanguage returns the primary subtag of a language tag, in lower case.
func baseLanguage(tag string) string {
	base, _, _ := strings.Cut(strings.ToLower(tag), "-")
	return base
}

// cookieText returns a cookie rule's purpose and lifetime in lang: the
// rule's own words in that language (written by people for curated and
// operator rules); for a catalogue cookie, the category's wording outside
// English; the lifetime put in lang's words where it reads as one.
func cookieText(c *rules.Cookie, lang string) (purpose, lifetime string) {
	base := baseLanguage(lang)
	purpose, lifetime = c.Purpose, c.Lifetime
	if base != "en" {
		t, ok := c.Texts[strings.ToLower(lang)]
		if !ok {
			t = c.Texts[base]
		}
		if t.Purpose != "" {
			purpose = t.Purpose
		} else if _, worded := categoryPurposes[base]; worded && c.Catalogue {
			purpose = categoryPurpose(c.Category(), base)
		}
		if t.Lifetime != "" {
			return purpose, t.Lifetime
		}
	}
	if purpose == "" && c.Catalogue {
		purpose = categoryPurpose(c.Category(), base)
	}
	return purpose, localLifetime(lifetime, base)
}

func categoryPurpose(c rules.Category, base string) string {
	if p, ok := categoryPurposes[base]; ok {
		return p[c]
	}
	return categoryPurposes["en"][c]
}

// localLifetime puts a lifetime in base's words (English for a language
// without words here), or leaves it as written when it is in words
// localizeLifetime does not know.
func localLifetime(lifetime, base string) string {
	if _, ok := lifetimeWords[base]; !ok {
		base = "en"
	}
	if l, ok := localizeLifetime(lifetime, base); ok {
		return l
	}
	if strings.EqualFold(lifetime, "unknown") {
		return ""
	}
	return lifetime
}

// Labels are the declaration's words in one language.
type Labels struct {
	Cookie, Vendor, Purpose, Lifetime, Unknown, Empty string
	// Category names each category.
	Category map[rules.Category]string
}

// Declaration renders the cookie declaration: per category, the cookies
// the site uses with their vendor, purpose and lifetime, from the rules
// and from what was seen. It caches each language's rendering until
// something new is seen.
type Declaration struct {
	Rules      *rules.Ruleset
	Seen       *Seen
	Categories []rules.Category // in the order to show them
	// Always lists cookies to show whether seen or not (the consent cookie).
	Always []string

	mu    sync.Mutex
	cache map[string]cachedDeclaration
}

type cachedDeclaration struct {
	version uint64
	html    []byte
}

type row struct {
	name, vendor, purpose, lifetime string
	category                        rules.Category
}

// HTML returns the declaration in lang, the language the labels are in:
// purposes and lifetimes in lang where the rules have them (English
// otherwise); lang keys the cache. The output is ASCII-only (other characters as numeric
// references), so it fits a page in any charset.
func (d *Declaration) HTML(lang string, l Labels) []byte {
	version := d.Seen.version.Load()
	d.mu.Lock()
	if c, ok := d.cache[lang]; ok && c.version == version {
		d.mu.Unlock()
		return c.html
	}
	d.mu.Unlock()
	out := d.render(lang, l)
	d.mu.Lock()
	if d.cache == nil {
		d.cache = make(map[string]cachedDeclaration)
	}
	d.cache[lang] = cachedDeclaration{version: version, html: out}
	d.mu.Unlock()
	return out
}

// rows lists what the site uses: the cookies seen (set by its responses or
// sent by browsers), and the cookies that the rules written by people
// (curated or the operator's) name for the vendors seen on its pages.
// The catalogue's cookies are listed only when seen: it lists a vendor's
// whole product family.
func (d *Declaration) rows(lang string) []row {
	d.Seen.mu.Lock()
	cookies := make(map[string]string, len(d.Seen.cookies))
	for k, v := range d.Seen.cookies {
		cookies[k] = v
	}
	vendors := make(map[string]bool, len(d.Seen.vendors))
	for k := range d.Seen.vendors {
		vendors[k] = true
	}
	d.Seen.mu.Unlock()

	var rows []row
	listed := make(map[string]bool)
	add := func(r row) {
		if !listed[r.name] {
			listed[r.name] = true
			rows = append(rows, r)
		}
	}
	for _, name := range d.Always {
		cookies[name] = cookies[name]
	}
	// Cookies of vendors on the pages, as their rules describe them.
	for _, v := range d.Rules.Vendors() {
		if !vendors[v.ID] {
			continue
		}
		for _, c := range v.Cookies {
			if !c.Catalogue {
				purpose, lifetime := cookieText(c, lang)
				add(row{name: c.Pattern, vendor: v.Name, purpose: purpose, lifetime: lifetime, category: c.Category()})
			}
		}
	}
	// Cookies seen, by their rule or as unclassified.
	names := make([]string, 0, len(cookies))
	for n := range cookies {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if c := d.Rules.MatchCookie(n); c != nil {
			if listed[c.Pattern] {
				continue
			}
			purpose, lifetime := cookieText(c, lang)
			if lifetime == "" {
				lifetime = localLifetime(cookies[n], baseLanguage(lang))
			}
			add(row{name: c.Pattern, vendor: c.Vendor.Name, purpose: purpose, lifetime: lifetime, category: c.Category()})
			continue
		}
		add(row{name: n, lifetime: localLifetime(cookies[n], baseLanguage(lang)), category: rules.Unclassified})
	}
	return rows
}

func (d *Declaration) render(lang string, l Labels) []byte {
	rows := d.rows(lang)
	var b strings.Builder
	b.WriteString(`<div class="cg-declaration">`)
	for _, cat := range d.Categories {
		var these []row
		for _, r := range rows {
			if r.category == cat {
				these = append(these, r)
			}
		}
		if len(these) == 0 {
			continue
		}
		fmt.Fprintf(&b, `<h3>%s</h3><table><thead><tr><th scope="col">%s</th><th scope="col">%s</th><th scope="col">%s</th><th scope="col">%s</th></tr></thead><tbody>`,
			esc(l.Category[cat]), esc(l.Cookie), esc(l.Vendor), esc(l.Purpose), esc(l.Lifetime))
		for _, r := range these {
			fmt.Fprintf(&b, `<tr><td><code>%s</code></td><td>%s</td><td>%s</td><td>%s</td></tr>`,
				esc(r.name), esc(orUnknown(r.vendor, l)), esc(orUnknown(r.purpose, l)), esc(orUnknown(r.lifetime, l)))
		}
		b.WriteString(`</tbody></table>`)
	}
	if len(rows) == 0 {
		fmt.Fprintf(&b, `<p>%s</p>`, esc(l.Empty))
	}
	b.WriteString(`</div>`)
	return []byte(b.String())
}

func orUnknown(s string, l Labels) string {
	if s == "" {
		return l.Unknown
	}
	return s
}

// esc escapes text for HTML and writes every non-ASCII character as a
// numeric character reference.
func esc(s string) string {
	s = html.EscapeString(s)
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "&#%d;", r)
		}
	}
	return b.String()
}
