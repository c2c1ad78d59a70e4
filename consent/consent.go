// Package consent holds a visitor's consent decision and the signed cookie
// that carries it between requests.
//
// A Decision records a random consent ID, the accepted categories, the
// services (vendors) accepted one by one, when the decision was taken and
// under which policy version. The cookie carries it compactly and signed
// with HMAC-SHA256:
//
//	2.<key id>.<payload>.<mac>
//
// where payload is base64url (no padding) of
//
//	16 bytes consent ID | 1 byte category set | 8 bytes Unix seconds (big endian) |
//	1 byte policy version length | policy version (UTF-8) | service IDs joined by ","
//
// and mac is the first 16 bytes of HMAC-SHA256 over "2.<key id>.<payload>",
// base64url. Version 1 cookies ("1.", the same payload up to the policy
// version, which runs to the end, and no services) are still read. The key ID names the subkey that signed, so a new secret can
// be introduced while cookies signed with the previous one stay valid until
// they expire. Subkeys are derived from the root secret with HKDF-SHA256,
// one per use, so the cookie key is never the key of anything else.
//
// A cookie that is malformed, tampered with, signed by an unknown key,
// expired, or given under another policy version is no consent: the
// visitor is asked again.
package consent

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/consentgate/consentgate/rules"
)

// Decision is one visitor's consent decision.
type Decision struct {
	// ID identifies the visitor's consent across decisions (kept when the
	// visitor changes their mind), so an auditor can show its history.
	ID string
	// Accepted holds the accepted categories; necessary is always in it.
	Accepted rules.Set
	// Services holds the services (vendor IDs) accepted one by one, sorted
	// and without duplicates: an element is allowed when its vendor is
	// here or its whole category is in Accepted.
	Services []string
	// Time is when the decision was taken.
	Time time.Time
	// PolicyVersion is the policy version the decision was given under.
	PolicyVersion string
}

// NewID returns a random consent ID: 16 bytes, base64url.
func NewID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generating a consent ID: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// The reasons a cookie is not (or no longer) consent.
var (
	ErrMalformed     = errors.New("consent cookie is malformed")
	ErrUnknownKey    = errors.New("consent cookie is signed with an unknown key")
	ErrBadSignature  = errors.New("consent cookie signature does not match")
	ErrExpired       = errors.New("consent cookie has expired")
	ErrPolicyChanged = errors.New("consent was given under another policy version")
)

const (
	cookieVersion   = "2"
	cookieVersionV1 = "1"
	idLen           = 16
	payloadFixed    = idLen + 1 + 8
	macLen          = 16
	// MaxPolicyVersionLen bounds the policy version carried in the cookie.
	MaxPolicyVersionLen = 64
	// MaxServices bounds the services accepted one by one, and
	// MaxServiceIDLen a service ID, so the cookie stays far below the
	// browsers' 4096 byte limit.
	MaxServices     = 32
	MaxServiceIDLen = 48
	// maxCookieLen bounds a cookie value Decode reads.
	maxCookieLen = 3072
)

// ValidServiceID reports whether s can name a service in a decision: the
// rules' vendor IDs, lower case letters, digits, '-', '.' and '_'.
func ValidServiceID(s string) bool {
	if s == "" || len(s) > MaxServiceIDLen {
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

// NormalizeServices returns ids sorted without duplicates, or an error
// naming the first invalid one or saying there are too many.
func NormalizeServices(ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	out = slices.Compact(out)
	for _, id := range out {
		if !ValidServiceID(id) {
			return nil, fmt.Errorf("service ID %q: use lower case letters, digits, '-', '.' and '_', at most %d bytes", id, MaxServiceIDLen)
		}
	}
	if len(out) > MaxServices {
		return nil, fmt.Errorf("%d services accepted one by one; at most %d", len(out), MaxServices)
	}
	return out, nil
}

// HasService reports whether d accepts the service id one by one.
func (d Decision) HasService(id string) bool {
	_, ok := slices.BinarySearch(d.Services, id)
	return ok
}

// isBase64URL reports whether s holds only the base64url alphabet: Go's
// decoder skips line breaks, which would give one cookie many spellings.
func isBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// strict rejects non-zero padding bits, so a cookie has one spelling only.
var strict = base64.RawURLEncoding.Strict()

// Key is a derived subkey with the ID that names it.
type Key struct {
	ID     string
	secret []byte
}

// Keys are the subkeys derived from the root secrets: the first signs, all
// verify.
type Keys struct {
	cookie []Key
	ua     Key
}

// DeriveKeys derives the subkeys from root secrets, the current one first
// and then any previous ones still accepted for cookies issued before a
// rotation. Each secret must have at least 32 bytes.
func DeriveKeys(current []byte, previous ...[]byte) (*Keys, error) {
	ks := &Keys{}
	for i, secret := range append([][]byte{current}, previous...) {
		if len(secret) < 32 {
			return nil, fmt.Errorf("secret %d has %d bytes; at least 32 are needed", i+1, len(secret))
		}
		ck, err := derive(secret, "consentgate cookie v1")
		if err != nil {
			return nil, err
		}
		ks.cookie = append(ks.cookie, ck)
		if i == 0 {
			if ks.ua, err = derive(secret, "consentgate user-agent hash v1"); err != nil {
				return nil, err
			}
		}
	}
	return ks, nil
}

func derive(secret []byte, info string) (Key, error) {
	k, err := hkdf.Key(sha256.New, secret, nil, info, 32)
	if err != nil {
		return Key{}, fmt.Errorf("deriving the %s key: %w", info, err)
	}
	id := sha256.Sum256(append([]byte("consentgate key id|"), k...))
	return Key{ID: base64.RawURLEncoding.EncodeToString(id[:6]), secret: k}, nil
}

// HashUserAgent returns a keyed hash of a user agent, and the ID of the key,
// for the proof log: it links a visitor's decisions without keeping the
// user agent in clear.
func (ks *Keys) HashUserAgent(ua string) (hash, keyID string) {
	m := hmac.New(sha256.New, ks.ua.secret)
	m.Write([]byte(ua))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16]), ks.ua.ID
}

// Codec encodes decisions as cookie values and decodes them back.
type Codec struct {
	Keys *Keys
	// Lifetime is how long a decision that accepts an optional category
	// stays valid; RejectLifetime how long one that accepts nothing but
	// the necessary does (zero: Lifetime).
	Lifetime, RejectLifetime time.Duration
	// PolicyVersion is the current policy version; decisions under another
	// one are no longer valid.
	PolicyVersion string
	// Now returns the current time (time.Now when nil).
	Now func() time.Time
}

// LifetimeOf returns how long d stays valid.
func (c *Codec) LifetimeOf(d Decision) time.Duration {
	if d.Accepted&^rules.OnlyNecessary == 0 && c.RejectLifetime > 0 {
		return c.RejectLifetime
	}
	return c.Lifetime
}

// Encode returns the cookie value for d, signed with the current key.
func (c *Codec) Encode(d Decision) (string, error) {
	id, err := strict.DecodeString(d.ID)
	if err != nil || len(id) != idLen {
		return "", fmt.Errorf("consent ID %q is not 16 bytes of base64url", d.ID)
	}
	if len(d.PolicyVersion) > MaxPolicyVersionLen || !utf8.ValidString(d.PolicyVersion) {
		return "", fmt.Errorf("policy version must be valid UTF-8 of at most %d bytes", MaxPolicyVersionLen)
	}
	services, err := NormalizeServices(d.Services)
	if err != nil {
		return "", err
	}
	p := make([]byte, payloadFixed, payloadFixed+1+len(d.PolicyVersion)+len(services)*16)
	copy(p, id)
	p[idLen] = byte(d.Accepted.With(rules.Necessary) & rules.AllSet)
	binary.BigEndian.PutUint64(p[idLen+1:], uint64(d.Time.Unix()))
	p = append(p, byte(len(d.PolicyVersion)))
	p = append(p, d.PolicyVersion...)
	p = append(p, strings.Join(services, ",")...)
	key := c.Keys.cookie[0]
	signed := cookieVersion + "." + key.ID + "." + base64.RawURLEncoding.EncodeToString(p)
	return signed + "." + base64.RawURLEncoding.EncodeToString(mac(key, signed)), nil
}

func mac(k Key, signed string) []byte {
	m := hmac.New(sha256.New, k.secret)
	m.Write([]byte(signed))
	return m.Sum(nil)[:macLen]
}

// Decode verifies a cookie value and returns its decision. With
// ErrPolicyChanged the decision is returned too, so the banner can say
// the policy changed.
func (c *Codec) Decode(value string) (Decision, error) {
	var d Decision
	if len(value) > maxCookieLen {
		return d, ErrMalformed
	}
	parts := strings.Split(value, ".")
	if len(parts) != 4 || parts[0] != cookieVersion && parts[0] != cookieVersionV1 || !isBase64URL(parts[1]) || !isBase64URL(parts[2]) || !isBase64URL(parts[3]) {
		return d, ErrMalformed
	}
	var key *Key
	for i := range c.Keys.cookie {
		if c.Keys.cookie[i].ID == parts[1] {
			key = &c.Keys.cookie[i]
			break
		}
	}
	if key == nil {
		return d, ErrUnknownKey
	}
	sig, err := strict.DecodeString(parts[3])
	if err != nil || len(sig) != macLen {
		return d, ErrMalformed
	}
	if !hmac.Equal(sig, mac(*key, value[:len(value)-len(parts[3])-1])) {
		return d, ErrBadSignature
	}
	p, err := strict.DecodeString(parts[2])
	if err != nil || len(p) < payloadFixed {
		return d, ErrMalformed
	}
	d.ID = base64.RawURLEncoding.EncodeToString(p[:idLen])
	d.Accepted = rules.Set(p[idLen]) & rules.AllSet
	if !d.Accepted.Has(rules.Necessary) {
		return Decision{}, ErrMalformed
	}
	secs := binary.BigEndian.Uint64(p[idLen+1 : payloadFixed])
	if secs > 1<<40 {
		return Decision{}, ErrMalformed
	}
	d.Time = time.Unix(int64(secs), 0).UTC()
	rest := p[payloadFixed:]
	if parts[0] == cookieVersionV1 {
		d.PolicyVersion = string(rest)
	} else {
		if len(rest) < 1 || int(rest[0]) > len(rest)-1 || int(rest[0]) > MaxPolicyVersionLen {
			return Decision{}, ErrMalformed
		}
		d.PolicyVersion = string(rest[1 : 1+int(rest[0])])
		if s := string(rest[1+int(rest[0]):]); s != "" {
			services, err := NormalizeServices(strings.Split(s, ","))
			if err != nil || strings.Join(services, ",") != s {
				return Decision{}, ErrMalformed
			}
			d.Services = services
		}
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if t := now(); d.Time.After(t.Add(time.Minute)) || !t.Before(d.Time.Add(c.LifetimeOf(d))) {
		return Decision{}, ErrExpired
	}
	if d.PolicyVersion != c.PolicyVersion {
		return d, ErrPolicyChanged
	}
	return d, nil
}
