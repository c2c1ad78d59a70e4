// Package consent holds a visitor's consent decision and the signed cookie
// that carries it between requests.
//
// A Decision records a random consent ID, the accepted categories, when the
// decision was taken and under which policy version. The cookie carries it
// compactly and signed with HMAC-SHA256:
//
//	1.<key id>.<payload>.<mac>
//
// where payload is base64url (no padding) of
//
//	16 bytes consent ID | 1 byte category set | 8 bytes Unix seconds (big endian) | policy version (UTF-8)
//
// and mac is the first 16 bytes of HMAC-SHA256 over "1.<key id>.<payload>",
// base64url. The key ID names the subkey that signed, so a new secret can
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
	cookieVersion = "1"
	idLen         = 16
	payloadFixed  = idLen + 1 + 8
	macLen        = 16
	// MaxPolicyVersionLen bounds the policy version carried in the cookie.
	MaxPolicyVersionLen = 64
)

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
	p := make([]byte, payloadFixed, payloadFixed+len(d.PolicyVersion))
	copy(p, id)
	p[idLen] = byte(d.Accepted.With(rules.Necessary) & rules.AllSet)
	binary.BigEndian.PutUint64(p[idLen+1:], uint64(d.Time.Unix()))
	p = append(p, d.PolicyVersion...)
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
	if len(value) > 512 {
		return d, ErrMalformed
	}
	parts := strings.Split(value, ".")
	if len(parts) != 4 || parts[0] != cookieVersion || !isBase64URL(parts[1]) || !isBase64URL(parts[2]) || !isBase64URL(parts[3]) {
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
	d.PolicyVersion = string(p[payloadFixed:])
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
