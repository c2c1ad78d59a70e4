package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// FileFormat is the version of the rules file format this package reads.
const FileFormat = 1

// File is a rules file: what the gateway knows about trackers and cookies.
// The embedded default is default.json (see README, "Rules file format");
// operators may load their own with the same format.
type File struct {
	// Format must be FileFormat.
	Format int `json:"format"`
	// Catalogue is set in a generated catalogue (catalogue.json): the
	// second tier of knowledge, built from bulk data by rules/internal/gen.
	// It changes how the file compiles; see Compile.
	Catalogue *Catalogue `json:"catalogue,omitempty"`
	// Vendors lists the parties whose elements and cookies the rules know.
	Vendors []VendorSpec `json:"vendors"`
}

// Catalogue says where a generated catalogue's data comes from, so a
// refresh can be checked and repeated.
type Catalogue struct {
	// Generator is the command that writes the file.
	Generator string `json:"generator"`
	// Sources are the data it was generated from.
	Sources []Source `json:"sources"`
}

// Source is one input of a generated catalogue.
type Source struct {
	// Name is the data set, e.g. "third-party-web".
	Name string `json:"name"`
	// Version is the release used, where the source has releases.
	Version string `json:"version,omitempty"`
	// URL is where the data is published.
	URL string `json:"url"`
	// Integrity pins the exact input: "sha512-<base64>" as npm records
	// it, or "sha256-<hex>" of the file read.
	Integrity string `json:"integrity"`
	// License is the SPDX identifier of the data's licence.
	License string `json:"license"`
}

// VendorSpec describes one vendor (or one product of a vendor) in a rules
// file.
type VendorSpec struct {
	// ID is a short identifier, unique in the file: lower case letters,
	// digits and dashes, e.g. "google-analytics". It is written into the
	// data-consent-vendor attribute of neutralised elements.
	ID string `json:"id"`
	// Name is the vendor or product name shown to visitors, e.g. "Google Analytics".
	Name string `json:"name"`
	// Category is the category every element and cookie of the vendor
	// belongs to.
	Category string `json:"category"`
	// Docs is where the facts below come from: the vendor's own documentation.
	Docs []string `json:"docs,omitempty"`
	// URLs are URL patterns (see pattern.go) of the vendor's scripts,
	// frames, pixels and stylesheets.
	URLs []string `json:"urls,omitempty"`
	// Inline are literal signatures of the vendor's inline script snippets.
	Inline []string `json:"inline,omitempty"`
	// Cookies are the cookies the vendor sets.
	Cookies []CookieSpec `json:"cookies,omitempty"`
}

// CookieSpec describes a cookie, or a family of cookies with a "*" in the
// name, e.g. "_ga_*".
type CookieSpec struct {
	Name string `json:"name"`
	// Purpose says, in English, what the cookie is for.
	Purpose string `json:"purpose,omitempty"`
	// Lifetime says, in English, how long the cookie is kept. The cookie
	// declaration puts it in the visitor's language itself when it reads
	// "session", "<n> <unit>" (unit: second, minute, hour, day, week,
	// month or year, singular or plural), "up to <n> <unit>", "about <n>
	// <unit>", "session to <n> <unit>" or "<n> <unit> to <n> <unit>";
	// any other wording needs a lifetime in Texts.
	Lifetime string `json:"lifetime,omitempty"`
	// Texts are the purpose and lifetime in other languages, by language
	// tag: {"nl": {"purpose": "…"}}. A lifetime left out there is
	// translated from Lifetime.
	Texts map[string]CookieText `json:"texts,omitempty"`
	// Category, when set, is the cookie's own category instead of its
	// vendor's: for vendors whose cookies serve different purposes.
	Category string `json:"category,omitempty"`
	// ThirdParty marks cookies the vendor sets on its own domain, which the
	// gateway cannot filter but lists in the cookie declaration.
	ThirdParty bool `json:"third_party,omitempty"`
}

// CookieText is a cookie's purpose and lifetime in one language.
type CookieText struct {
	Purpose  string `json:"purpose,omitempty"`
	Lifetime string `json:"lifetime,omitempty"`
}

// checkLanguageTag accepts the language tags of Texts: a primary language
// subtag in lower case, optionally with a region ("nl", "nl-be").
func checkLanguageTag(tag string) error {
	lang, region, hasRegion := strings.Cut(tag, "-")
	ok := len(lang) >= 2 && len(lang) <= 3 && strings.Trim(lang, "abcdefghijklmnopqrstuvwxyz") == ""
	if hasRegion {
		ok = ok && len(region) >= 2 && len(region) <= 3 && strings.Trim(region, "abcdefghijklmnopqrstuvwxyz0123456789") == ""
	}
	if !ok || tag == "en" {
		return fmt.Errorf("texts language %q: use a lower-case language tag such as \"nl\" or \"nl-be\" (English is the cookie's purpose and lifetime themselves)", tag)
	}
	return nil
}

// ParseFile decodes and checks a rules file. Unknown fields are an error, so
// a typo does not silently drop a rule.
func ParseFile(data []byte) (*File, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decoding rules file: %w", describeJSONError(data, err))
	}
	if dec.More() {
		return nil, fmt.Errorf("decoding rules file: data after the top-level object")
	}
	if f.Format != FileFormat {
		return nil, fmt.Errorf("rules file has format %d; this gateway reads format %d", f.Format, FileFormat)
	}
	if _, err := Compile(AllSet, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// describeJSONError adds the line and column to a syntax or type error.
func describeJSONError(data []byte, err error) error {
	var off int64 = -1
	switch e := err.(type) {
	case *json.SyntaxError:
		off = e.Offset
	case *json.UnmarshalTypeError:
		off = e.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := int(off) - bytes.LastIndexByte(data[:off], '\n')
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

func checkVendorID(id string) error {
	if id == "" {
		return fmt.Errorf("vendor without an id")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("vendor id %q: use lower case letters, digits and dashes", id)
		}
	}
	return nil
}

func checkCookieName(n string) error {
	if n == "" {
		return fmt.Errorf("empty cookie name")
	}
	if strings.ContainsAny(n, " \t\r\n;,=\"") {
		return fmt.Errorf("cookie name %q contains a space, ';', ',', '=' or '\"'", n)
	}
	if n == "*" {
		return fmt.Errorf("cookie name \"*\" would match every cookie")
	}
	return nil
}
