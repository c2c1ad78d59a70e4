package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/consentgate/consentgate/rules"
)

// Entity is one entry of third-party-web's dist/entities.json.
type Entity struct {
	Name     string   `json:"name"`
	Company  string   `json:"company"`
	Homepage string   `json:"homepage"`
	Category string   `json:"category"`
	Domains  []string `json:"domains"`
}

// CookieRow is one row of the Open Cookie Database CSV.
type CookieRow struct {
	Platform, Category, Name, Domain, Description, Retention, Controller, Portal string
	Wildcard                                                                     bool
}

// hostCategories maps third-party-web's categories to ours. "" means the
// entity is infrastructure, not a tracker, and gets no rule: blocking a
// CDN or a payment form until consent would break sites, not protect
// visitors. A category missing here stops the generator, so a refresh
// that brings a new one is reviewed.
var hostCategories = map[string]string{
	"ad":               "marketing",
	"social":           "marketing",
	"marketing":        "marketing",
	"video":            "marketing",
	"analytics":        "statistics",
	"tag-manager":      "statistics",
	"customer-success": "preferences",
	"cdn":              "",
	"hosting":          "",
	"utility":          "",
	"library":          "",
	"consent-provider": "",
	"other":            "",
	"content":          "",
}

// cookieCategories maps the Open Cookie Database's categories to ours.
var cookieCategories = map[string]string{
	"Marketing":       "marketing",
	"Analytics":       "statistics",
	"Functional":      "preferences",
	"Personalization": "preferences",
	"Security":        "necessary",
	"Necessary":       "necessary",
}

// The shortest cookie rules kept: the database's two-letter wildcard rows
// ("_s", "tp", "P_") and one-letter names ("c", "u", listed by several
// vendors) would claim the cookies of every site that names one the same
// way, and put the wrong vendor in its cookie declaration.
const (
	minPrefix = 3
	minName   = 2
)

// strictness ranks categories by how much consent they need, to pick one
// when the sources give a name two.
var strictness = map[string]int{"necessary": 0, "preferences": 1, "statistics": 2, "marketing": 3}

// aliases maps source names to the curated vendor (rules/default.json)
// that is the same product, so the catalogue's hosts and cookies join the
// curated vendor instead of standing beside it as a second service with
// another name. Names whose slug already is the curated ID need no entry.
var aliases = map[string]string{
	"Google/Doubleclick Ads":       "google-ads",
	"DoubleClick/Google Marketing": "google-ads",
	"Google AdSense":               "google-ads",
	"Facebook":                     "meta-pixel",
	"Twitter":                      "x-twitter",
	"X":                            "x-twitter",
	"LinkedIn":                     "linkedin-insight",
	"LinkedIn Ads":                 "linkedin-insight",
	"Pinterest":                    "pinterest-tag",
	"TikTok":                       "tiktok-pixel",
	"WordPress Site Stats":         "jetpack-stats",
	"Snapchat":                     "snap-pixel",
	"Reddit":                       "reddit-pixel",
	"comScore":                     "comscore",
	"Yandex Metrica":               "yandex-metrica",
	"Amazon Ads":                   "amazon-ads",
}

// Report counts what the generator kept and left out.
type Report struct {
	Entities, InfraEntities, Hosts, Cookies, CookieVendors int
	SkippedNames                                           []string // names no rule can hold
	Duplicates                                             int      // OCD rows for a name already seen
}

type vendorBuild struct {
	spec     rules.VendorSpec
	hostCat  string // category from third-party-web, "" for cookies only
	fromHost bool
}

// slug turns a vendor name into a vendor ID: lower-case ASCII letters and
// digits, other runs as one dash.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		default:
			dash = b.Len() > 0
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteByte(c)
	}
	if b.Len() == 0 {
		return "vendor"
	}
	return b.String()
}

func vendorID(name string) string {
	if id, ok := aliases[name]; ok {
		return id
	}
	return slug(name)
}

// Build turns the two sources into a catalogue: a rules file whose
// vendors are third-party-web's tracker entities, with their hosts, and
// the Open Cookie Database's platforms, with their cookies; an entity and
// a platform with the same ID are one vendor. The output depends only on
// the input: vendors, hosts and cookies are sorted.
func Build(entities []Entity, rows []CookieRow, cat *rules.Catalogue) (*rules.File, Report, error) {
	var rep Report
	// Vendors by join key: the ID without dashes, so "33 Across" in one
	// source and "33Across" in the other are one vendor.
	vendors := make(map[string]*vendorBuild)
	get := func(id, name string) *vendorBuild {
		k := strings.ReplaceAll(id, "-", "")
		v := vendors[k]
		if v == nil {
			v = &vendorBuild{spec: rules.VendorSpec{ID: id, Name: name}}
			vendors[k] = v
		}
		return v
	}
	type wild struct{ entity, category string }
	trackerWild := make(map[string]wild) // domain of a tracker's "*.domain" -> entity
	var infra []struct{ host, entity string }
	for _, e := range entities {
		mapped, ok := hostCategories[e.Category]
		if !ok {
			return nil, rep, fmt.Errorf("third-party-web entity %q has the category %q, which the generator does not map: add it to hostCategories", e.Name, e.Category)
		}
		if len(e.Domains) == 0 {
			continue // nothing to match
		}
		if mapped == "" {
			rep.InfraEntities++
			for _, d := range e.Domains {
				infra = append(infra, struct{ host, entity string }{strings.TrimPrefix(strings.ToLower(d), "*."), e.Name})
			}
			continue
		}
		rep.Entities++
		id := vendorID(e.Name)
		_, aliased := aliases[e.Name]
		if v := vendors[strings.ReplaceAll(id, "-", "")]; v != nil && v.fromHost && !aliased {
			// Two entities with one ID: keep them apart.
			base := id
			for n := 2; vendors[strings.ReplaceAll(id, "-", "")] != nil; n++ {
				id = fmt.Sprintf("%s-%d", base, n)
			}
		}
		v := get(id, e.Name)
		if !v.fromHost || !aliased {
			// The first entity names the vendor; aliased entities join
			// it (their hosts add up, the curated name wins anyway).
			v.spec.Name = e.Name
			v.hostCat = mapped
		}
		v.fromHost = true
		if e.Homepage != "" {
			v.spec.Docs = appendNew(v.spec.Docs, e.Homepage)
		}
		for _, d := range e.Domains {
			d = strings.ToLower(strings.TrimSpace(d))
			v.spec.URLs = append(v.spec.URLs, d)
			if h, ok := strings.CutPrefix(d, "*."); ok {
				trackerWild[h] = wild{e.Name, mapped}
			}
			rep.Hosts++
		}
	}
	// An infrastructure host under a tracker's wildcard would be held as
	// that tracker, since infrastructure gets no rule to say otherwise.
	var shadowed []string
	for _, h := range infra {
		for p := h.host; ; {
			if w, ok := trackerWild[p]; ok && w.entity != h.entity {
				shadowed = append(shadowed, fmt.Sprintf("%s (%s) under *.%s (%s)", h.host, h.entity, p, w.entity))
				break
			}
			i := strings.IndexByte(p, '.')
			if i < 0 {
				break
			}
			p = p[i+1:]
		}
	}
	if len(shadowed) > 0 {
		return nil, rep, fmt.Errorf("infrastructure hosts fall under a tracker's wildcard and would be held: %s", strings.Join(shadowed, "; "))
	}

	// Cookies: one rule per name; where the database gives a name twice,
	// the stricter category wins, then the earlier row.
	type pick struct {
		row     CookieRow
		pattern string
		cat     string
	}
	picked := make(map[string]int)
	var picks []pick
	for _, r := range rows {
		cat, ok := cookieCategories[r.Category]
		if !ok {
			return nil, rep, fmt.Errorf("Open Cookie Database row for %q has the category %q, which the generator does not map: add it to cookieCategories", r.Name, r.Category)
		}
		name := strings.TrimSpace(r.Name)
		pattern := name
		if r.Wildcard && !strings.HasSuffix(pattern, "*") {
			pattern += "*"
		}
		literal, glob := strings.CutSuffix(pattern, "*")
		if !validCookiePattern(pattern) || glob && len(literal) < minPrefix || !glob && len(literal) < minName {
			rep.SkippedNames = append(rep.SkippedNames, r.Name)
			continue
		}
		if i, ok := picked[pattern]; ok {
			rep.Duplicates++
			if strictness[cat] > strictness[picks[i].cat] {
				picks[i] = pick{r, pattern, cat}
			}
			continue
		}
		picked[pattern] = len(picks)
		picks = append(picks, pick{r, pattern, cat})
	}
	for _, p := range picks {
		platform := strings.TrimSpace(p.row.Platform)
		if platform == "" {
			platform = strings.TrimSpace(p.row.Controller)
		}
		if platform == "" {
			platform = "Unnamed in the Open Cookie Database"
		}
		v := get(vendorID(platform), platform)
		if v.spec.Name == "" {
			v.spec.Name = platform
		}
		if portal := strings.TrimSpace(p.row.Portal); strings.HasPrefix(portal, "https://") || strings.HasPrefix(portal, "http://") {
			v.spec.Docs = appendNew(v.spec.Docs, portal)
		}
		v.spec.Cookies = append(v.spec.Cookies, rules.CookieSpec{
			Name:       p.pattern,
			Purpose:    oneLine(p.row.Description),
			Lifetime:   oneLine(p.row.Retention),
			Category:   p.cat,
			ThirdParty: strings.Contains(p.row.Domain, "3rd party"),
		})
		rep.Cookies++
	}

	f := &rules.File{Format: rules.FileFormat, Catalogue: cat}
	byID := make(map[string]*vendorBuild, len(vendors))
	ids := make([]string, 0, len(vendors))
	for _, v := range vendors {
		byID[v.spec.ID] = v
		ids = append(ids, v.spec.ID)
	}
	sort.Strings(ids)
	for _, id := range ids {
		v := byID[id]
		spec := v.spec
		// The vendor's category: its hosts', or the strictest of its cookies'.
		spec.Category = v.hostCat
		if spec.Category == "" {
			spec.Category = "necessary"
			for _, c := range spec.Cookies {
				if strictness[c.Category] > strictness[spec.Category] {
					spec.Category = c.Category
				}
			}
		}
		for i := range spec.Cookies {
			if spec.Cookies[i].Category == spec.Category {
				spec.Cookies[i].Category = ""
			}
		}
		if len(spec.URLs) == 0 {
			rep.CookieVendors++
		}
		slices.Sort(spec.URLs)
		slices.SortFunc(spec.Cookies, func(a, b rules.CookieSpec) int { return strings.Compare(a.Name, b.Name) })
		f.Vendors = append(f.Vendors, spec)
	}
	return f, rep, nil
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// oneLine trims s and folds its runs of white space to single spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// validCookiePattern reports whether a rules file can hold the pattern;
// the database also lists local storage keys with spaces.
func validCookiePattern(p string) bool {
	_, err := rules.Compile(rules.AllSet, &rules.File{Format: rules.FileFormat, Vendors: []rules.VendorSpec{{ID: "x", Category: "necessary", Cookies: []rules.CookieSpec{{Name: p}}}}})
	return err == nil
}

// ParseEntities reads third-party-web's entities.json.
func ParseEntities(data []byte) ([]Entity, error) {
	var es []Entity
	if err := json.Unmarshal(data, &es); err != nil {
		return nil, fmt.Errorf("reading entities.json: %w", err)
	}
	return es, nil
}

// ocdColumns are the header of the Open Cookie Database CSV.
var ocdColumns = []string{"ID", "Platform", "Category", "Cookie / Data Key name", "Domain", "Description", "Retention period", "Data Controller", "User Privacy & GDPR Rights Portals", "Wildcard match"}

// ParseCookies reads the Open Cookie Database CSV.
func ParseCookies(data []byte) ([]CookieRow, error) {
	r := csv.NewReader(bytes.NewReader(data))
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the Open Cookie Database header: %w", err)
	}
	if !slices.Equal(head, ocdColumns) {
		return nil, fmt.Errorf("the Open Cookie Database CSV has the columns %q, want %q", head, ocdColumns)
	}
	var rows []CookieRow
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the Open Cookie Database: %w", err)
		}
		if rec[9] != "0" && rec[9] != "1" {
			line, _ := r.FieldPos(9)
			return nil, fmt.Errorf("Open Cookie Database line %d: wildcard match %q is neither 0 nor 1", line, rec[9])
		}
		rows = append(rows, CookieRow{
			Platform: rec[1], Category: rec[2], Name: rec[3], Domain: rec[4], Description: rec[5],
			Retention: rec[6], Controller: rec[7], Portal: rec[8], Wildcard: rec[9] == "1",
		})
	}
}

// Encode writes the catalogue with one vendor a line, so a refresh shows
// as a readable diff.
func Encode(f *rules.File) ([]byte, error) {
	var b bytes.Buffer
	enc := func(v any) error {
		var vb bytes.Buffer
		e := json.NewEncoder(&vb)
		e.SetEscapeHTML(false)
		if err := e.Encode(v); err != nil {
			return err
		}
		b.Write(bytes.TrimSuffix(vb.Bytes(), []byte("\n")))
		return nil
	}
	fmt.Fprintf(&b, "{\n\"format\": %d,\n\"catalogue\": ", f.Format)
	if err := enc(f.Catalogue); err != nil {
		return nil, err
	}
	b.WriteString(",\n\"vendors\": [\n")
	for i, v := range f.Vendors {
		if err := enc(v); err != nil {
			return nil, err
		}
		if i < len(f.Vendors)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n}\n")
	return b.Bytes(), nil
}
