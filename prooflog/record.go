package prooflog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Method says how a visitor gave (or withdrew) consent.
type Method string

// The methods a consent decision can be given by.
const (
	MethodAcceptAll  Method = "accept_all" // the banner's "accept all" button
	MethodRejectAll  Method = "reject_all" // the banner's "reject all" button
	MethodSettings   Method = "settings"   // per-category choices in the settings dialog
	MethodForm       Method = "form"       // the no-JavaScript HTML form
	MethodWithdrawal Method = "withdrawal" // an explicit withdrawal of earlier consent
	MethodGPC        Method = "gpc"        // derived from the Global Privacy Control signal
	// MethodEmbed is a blocked embed's placeholder: "Load content" for one
	// service (Record.Vendor), for this page view or, with "Always allow",
	// lasting. Schema version 3.
	MethodEmbed Method = "embed"
)

// Valid reports whether m is one of the known methods.
func (m Method) Valid() bool {
	switch m {
	case MethodAcceptAll, MethodRejectAll, MethodSettings, MethodForm, MethodWithdrawal, MethodGPC, MethodEmbed:
		return true
	}
	return false
}

// Limits on record fields. They keep a single line small and stop a
// misbehaving caller from filling the log with one request.
const (
	maxIDLen       = 128
	maxFieldLen    = 2048
	maxCategories  = 64
	maxServices    = 64
	maxServiceLen  = 64
	maxTextsBytes  = 1 << 20
	maxLineBytes   = 4 << 20
	timeLayout     = "2006-01-02T15:04:05.000Z07:00"
	zeroHash       = "0000000000000000000000000000000000000000000000000000000000000000"
	textsHashLabel = "consentgate-texts-v1"
)

// Category is one cookie category and whether the visitor granted it.
type Category struct {
	Name    string
	Granted bool
}

// Categories is an ordered list of category decisions. It is encoded as a
// JSON object whose keys keep the list's order, e.g.
// {"necessary":true,"statistics":false}. The names are whatever the
// operator configured; nothing here knows a fixed set.
type Categories []Category

// Granted reports whether the category called name is present and granted.
func (cs Categories) Granted(name string) bool {
	for _, c := range cs {
		if c.Name == name {
			return c.Granted
		}
	}
	return false
}

// MarshalJSON encodes cs as a JSON object in list order.
func (cs Categories) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := marshalNoEscape(c.Name)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.WriteString(strconv.FormatBool(c.Granted))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON decodes a JSON object of name→bool keeping its key order.
// Duplicate names are rejected.
func (cs *Categories) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("categories: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return errors.New("categories: want a JSON object")
	}
	var out Categories
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("categories: %w", err)
		}
		name, _ := tok.(string)
		tok, err = dec.Token()
		if err != nil {
			return fmt.Errorf("categories: %w", err)
		}
		v, ok := tok.(bool)
		if !ok {
			return fmt.Errorf("categories: %q: want true or false", name)
		}
		if slices.ContainsFunc(out, func(c Category) bool { return c.Name == name }) {
			return fmt.Errorf("categories: duplicate %q", name)
		}
		out = append(out, Category{Name: name, Granted: v})
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("categories: %w", err)
	}
	*cs = out
	return nil
}

// Texts is what the banner showed: its language and every text by key
// (title, body, button labels, category descriptions, ...). The log keeps
// one copy per hash, as an entry of kind "texts", so an auditor can read
// exactly what a visitor saw.
type Texts struct {
	Language string            `json:"language"`
	Strings  map[string]string `json:"strings"`
}

// Hash returns the lowercase hex SHA-256 over the canonical encoding of t:
// netstrings ("<decimal length>:<bytes>,") of the label
// "consentgate-texts-v1", the language, then each key and its value with
// keys in ascending byte order.
func (t *Texts) Hash() string {
	h := sha256.New()
	writeNetstring := func(s string) {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
		h.Write([]byte{','})
	}
	writeNetstring(textsHashLabel)
	writeNetstring(t.Language)
	keys := make([]string, 0, len(t.Strings))
	for k := range t.Strings {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		writeNetstring(k)
		writeNetstring(t.Strings[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (t *Texts) validate() error {
	if t.Language == "" {
		return errors.New("texts: language is empty")
	}
	n := len(t.Language)
	for k, v := range t.Strings {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("texts: %q is not valid UTF-8", k)
		}
		n += len(k) + len(v)
	}
	if n > maxTextsBytes {
		return fmt.Errorf("texts: %d bytes, over the %d byte limit", n, maxTextsBytes)
	}
	return nil
}

// Record is one consent decision. The caller fills every field except Seq
// and Prev, which the sink sets when it appends the record; the caller must
// not touch the record while Append runs.
type Record struct {
	// Seq is the entry's position in the chain (1 for the first entry),
	// set by the sink.
	Seq uint64
	// Prev is the hex SHA-256 of the previous entry's line, set by the sink.
	Prev string
	// ConsentID identifies the visitor's consent (the ID in the cookie).
	ConsentID string
	// Time is when the decision was made; stored in UTC with milliseconds.
	// The sink uses the current time when it is zero.
	Time time.Time
	// Categories lists every category offered and whether it was granted.
	Categories Categories
	// Services lists the services (vendor IDs) granted one by one, beyond
	// the categories granted whole, sorted. Schema version 3.
	Services []string
	// Vendor is the service an embed decision (MethodEmbed) was about:
	// the service whose "Load content" the visitor clicked. It is in
	// Services when the grant is lasting ("Always allow"). Schema version
	// 3; set exactly with MethodEmbed.
	Vendor string
	// Method is how the decision was given.
	Method Method
	// PolicyVersion is the version of the privacy policy shown.
	PolicyVersion string
	// TextsHash is Texts.Hash() of the banner texts shown. It may be left
	// empty when Texts is set; the sink then computes it.
	TextsHash string
	// Language is the language the banner was shown in.
	Language string
	// Origin is the page's origin (scheme://host[:port]).
	Origin string
	// Path is the page's path without query string or fragment.
	Path string
	// MaskedIP is the visitor's address, already masked by the caller
	// (IPv4 /24, IPv6 /48). The log never sees a raw address.
	MaskedIP string
	// UAHash is the caller's keyed hash of the user agent.
	UAHash string
	// UAKeyID names the key UAHash was computed with.
	UAKeyID string
	// GPC is whether the request carried Sec-GPC: 1.
	GPC bool
	// Texts, when set, are the texts TextsHash names. The sink writes them
	// as their own entry the first time the hash appears (per log file for
	// the file sink, once for PostgreSQL). Not part of the record's line.
	Texts *Texts
}

// Decision is the wire form of a Record inside a "decision" entry; the
// field order is the order of the JSON keys. Seq, time and prev live in the
// enclosing Entry.
type Decision struct {
	ConsentID     string     `json:"consent_id"`
	Method        Method     `json:"method"`
	Categories    Categories `json:"categories"`
	Services      []string   `json:"services,omitempty"`
	Vendor        string     `json:"vendor,omitempty"`
	PolicyVersion string     `json:"policy_version"`
	TextsHash     string     `json:"texts_hash"`
	Language      string     `json:"language"`
	Origin        string     `json:"origin"`
	Path          string     `json:"path"`
	MaskedIP      string     `json:"ip_masked"`
	UAHash        string     `json:"ua_hash"`
	UAKeyID       string     `json:"ua_key_id"`
	GPC           bool       `json:"gpc"`
}

func (r *Record) decision() *Decision {
	return &Decision{
		ConsentID:     r.ConsentID,
		Method:        r.Method,
		Categories:    r.Categories,
		Services:      r.Services,
		Vendor:        r.Vendor,
		PolicyVersion: r.PolicyVersion,
		TextsHash:     r.TextsHash,
		Language:      r.Language,
		Origin:        r.Origin,
		Path:          r.Path,
		MaskedIP:      r.MaskedIP,
		UAHash:        r.UAHash,
		UAKeyID:       r.UAKeyID,
		GPC:           r.GPC,
	}
}

// recordFromEntry rebuilds a Record from a parsed decision entry.
func recordFromEntry(e *Entry) *Record {
	d := e.Decision
	return &Record{
		Seq:           e.Seq,
		Prev:          e.Prev,
		ConsentID:     d.ConsentID,
		Time:          e.time,
		Categories:    d.Categories,
		Services:      d.Services,
		Vendor:        d.Vendor,
		Method:        d.Method,
		PolicyVersion: d.PolicyVersion,
		TextsHash:     d.TextsHash,
		Language:      d.Language,
		Origin:        d.Origin,
		Path:          d.Path,
		MaskedIP:      d.MaskedIP,
		UAHash:        d.UAHash,
		UAKeyID:       d.UAKeyID,
		GPC:           d.GPC,
	}
}

// Validate checks that r can be appended: every required field is set,
// the method is known, category names are unique, the path carries no
// query string and the texts (if any) match TextsHash. It fills TextsHash
// from Texts when it is empty.
func (r *Record) Validate() error {
	if r.Texts != nil && r.TextsHash == "" {
		r.TextsHash = r.Texts.Hash()
	}
	return r.decision().validate(r.Texts)
}

func (d *Decision) validate(texts *Texts) error {
	if d.ConsentID == "" {
		return errors.New("record: consent ID is empty")
	}
	if len(d.ConsentID) > maxIDLen {
		return fmt.Errorf("record: consent ID is %d bytes, over %d", len(d.ConsentID), maxIDLen)
	}
	if !d.Method.Valid() {
		return fmt.Errorf("record: unknown method %q", d.Method)
	}
	if len(d.Categories) == 0 {
		return errors.New("record: no categories")
	}
	if len(d.Categories) > maxCategories {
		return fmt.Errorf("record: %d categories, over %d", len(d.Categories), maxCategories)
	}
	seen := make(map[string]bool, len(d.Categories))
	for _, c := range d.Categories {
		if c.Name == "" || len(c.Name) > 64 || !utf8.ValidString(c.Name) {
			return fmt.Errorf("record: invalid category name %q", c.Name)
		}
		if seen[c.Name] {
			return fmt.Errorf("record: duplicate category %q", c.Name)
		}
		seen[c.Name] = true
	}
	if len(d.Services) > maxServices {
		return fmt.Errorf("record: %d services, over %d", len(d.Services), maxServices)
	}
	for i, s := range d.Services {
		if !validServiceID(s) {
			return fmt.Errorf("record: invalid service %q", s)
		}
		if i > 0 && d.Services[i-1] >= s {
			return fmt.Errorf("record: services are not sorted and unique at %q", s)
		}
	}
	if (d.Method == MethodEmbed) != (d.Vendor != "") {
		return errors.New("record: a vendor is named with method embed, and only there")
	}
	if d.Vendor != "" && !validServiceID(d.Vendor) {
		return fmt.Errorf("record: invalid vendor %q", d.Vendor)
	}
	if !isHexHash(d.TextsHash) {
		return fmt.Errorf("record: texts hash %q is not 64 lowercase hex digits", d.TextsHash)
	}
	if texts != nil {
		if err := texts.validate(); err != nil {
			return fmt.Errorf("record: %w", err)
		}
		if got := texts.Hash(); got != d.TextsHash {
			return fmt.Errorf("record: texts hash %s does not match the texts given (%s)", d.TextsHash, got)
		}
	}
	if strings.ContainsAny(d.Path, "?#") {
		return errors.New("record: path must not carry a query string or fragment")
	}
	for name, v := range map[string]string{
		"policy version": d.PolicyVersion, "language": d.Language, "origin": d.Origin,
		"path": d.Path, "masked IP": d.MaskedIP, "user agent hash": d.UAHash, "user agent key ID": d.UAKeyID,
	} {
		if len(v) > maxFieldLen {
			return fmt.Errorf("record: %s is %d bytes, over %d", name, len(v), maxFieldLen)
		}
		if !utf8.ValidString(v) {
			return fmt.Errorf("record: %s is not valid UTF-8", name)
		}
	}
	if !utf8.ValidString(d.ConsentID) {
		return errors.New("record: consent ID is not valid UTF-8")
	}
	return nil
}

// validServiceID reports whether s is a service (vendor) ID: lower case
// letters, digits, '-', '.' and '_'.
func validServiceID(s string) bool {
	if s == "" || len(s) > maxServiceLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

func isHexHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// formatTime renders t as the log does: UTC, RFC 3339, milliseconds.
func formatTime(t time.Time) string {
	return t.UTC().Truncate(time.Millisecond).Format(timeLayout)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", s, err)
	}
	if formatTime(t) != s {
		return time.Time{}, fmt.Errorf("time %q is not UTC RFC 3339 with milliseconds", s)
	}
	return t, nil
}

func marshalNoEscape(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}
