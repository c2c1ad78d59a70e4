package consent

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/rules"
)

var (
	secretA = bytes.Repeat([]byte("a"), 32)
	secretB = bytes.Repeat([]byte("b"), 32)
	now     = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
)

func codec(t testing.TB, current []byte, previous ...[]byte) *Codec {
	t.Helper()
	ks, err := DeriveKeys(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return &Codec{Keys: ks, Lifetime: 183 * 24 * time.Hour, RejectLifetime: 30 * 24 * time.Hour, PolicyVersion: "2026-11", Now: func() time.Time { return now }}
}

func decision(t testing.TB, accepted rules.Set, at time.Time) Decision {
	t.Helper()
	id, err := NewID()
	if err != nil {
		t.Fatal(err)
	}
	return Decision{ID: id, Accepted: accepted, Time: at, PolicyVersion: "2026-11"}
}

func TestCookieRoundTrips(t *testing.T) {
	c := codec(t, secretA)
	for _, acc := range []rules.Set{rules.OnlyNecessary, rules.SetOf(rules.Statistics), rules.AllSet} {
		d := decision(t, acc, now.Add(-time.Hour))
		v, err := c.Encode(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(v) > 100 {
			t.Errorf("cookie value of %d bytes: %s", len(v), v)
		}
		got, err := c.Decode(v)
		if err != nil {
			t.Fatalf("decoding %s: %v", v, err)
		}
		if got.ID != d.ID || got.Accepted != acc.With(rules.Necessary) || !got.Time.Equal(d.Time) || got.PolicyVersion != "2026-11" {
			t.Fatalf("decoded %+v, want %+v", got, d)
		}
	}
}

func TestCookieThatIsNotConsent(t *testing.T) {
	c := codec(t, secretA)
	d := decision(t, rules.SetOf(rules.Statistics, rules.Marketing), now.Add(-time.Hour))
	good, err := c.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	rejected := decision(t, rules.OnlyNecessary, now.Add(-31*24*time.Hour))
	rejectedCookie, _ := c.Encode(rejected)
	old := decision(t, rules.AllSet, now.Add(-184*24*time.Hour))
	oldCookie, _ := c.Encode(old)
	future := decision(t, rules.AllSet, now.Add(time.Hour))
	futureCookie, _ := c.Encode(future)
	otherPolicy := decision(t, rules.AllSet, now.Add(-time.Hour))
	otherPolicy.PolicyVersion = "2025-01"
	otherPolicyCookie, _ := c.Encode(otherPolicy)
	foreign, _ := codec(t, secretB).Encode(d)

	tests := []struct {
		name  string
		value string
		want  error
	}{
		{"empty", "", ErrMalformed},
		{"garbage", "not a cookie", ErrMalformed},
		{"another format version", "3" + good[1:], ErrMalformed},
		{"too many parts", good + ".x", ErrMalformed},
		{"payload tampered", parts[0] + "." + parts[1] + "." + flip(parts[2], 3) + "." + parts[3], ErrBadSignature},
		{"categories tampered", strings.Replace(good, parts[2], flip(parts[2], 22), 1), ErrBadSignature},
		{"signature tampered", parts[0] + "." + parts[1] + "." + parts[2] + "." + flip(parts[3], 0), ErrBadSignature},
		{"signature cut", good[:len(good)-2], ErrMalformed},
		{"signed by another secret", foreign, ErrUnknownKey},
		{"key ID swapped", parts[0] + "." + flip(parts[1], 0) + "." + parts[2] + "." + parts[3], ErrUnknownKey},
		{"a rejection past its shorter lifetime", rejectedCookie, ErrExpired},
		{"an acceptance past its lifetime", oldCookie, ErrExpired},
		{"a decision from the future", futureCookie, ErrExpired},
		{"given under another policy version", otherPolicyCookie, ErrPolicyChanged},
		{"huge", strings.Repeat("A", 4096), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Decode(tt.value)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %v, want %v", err, tt.want)
			}
		})
	}
	if got, err := c.Decode(otherPolicyCookie); !errors.Is(err, ErrPolicyChanged) || got.ID != otherPolicy.ID {
		t.Errorf("a policy change must still return the old decision (for its ID): %+v, %v", got, err)
	}
}

func TestRotatedSecretKeepsOldCookiesValid(t *testing.T) {
	d := decision(t, rules.AllSet, now.Add(-time.Hour))
	old, _ := codec(t, secretA).Encode(d)
	rotated := codec(t, secretB, secretA)
	if _, err := rotated.Decode(old); err != nil {
		t.Fatalf("a cookie signed with the previous secret: %v", err)
	}
	fresh, _ := rotated.Encode(d)
	if strings.Split(fresh, ".")[1] == strings.Split(old, ".")[1] {
		t.Fatal("new cookies are still signed with the previous key")
	}
	if _, err := codec(t, secretA).Decode(fresh); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("an instance without the new secret accepted it: %v", err)
	}
}

func TestSubkeysDifferPerUse(t *testing.T) {
	ks, err := DeriveKeys(secretA)
	if err != nil {
		t.Fatal(err)
	}
	if ks.cookie[0].ID == ks.ua.ID || bytes.Equal(ks.cookie[0].secret, ks.ua.secret) {
		t.Fatal("the cookie and user-agent keys are the same")
	}
	h1, id := ks.HashUserAgent("Mozilla/5.0")
	h2, _ := ks.HashUserAgent("Mozilla/5.0")
	h3, _ := ks.HashUserAgent("curl/8")
	if h1 != h2 || h1 == h3 || strings.Contains(h1, "Mozilla") || id == "" {
		t.Fatalf("user-agent hashes %q %q %q (key %q)", h1, h2, h3, id)
	}
	if _, err := DeriveKeys([]byte("short")); err == nil {
		t.Fatal("a short secret was accepted")
	}
}

func FuzzDecode(f *testing.F) {
	c := codec(f, secretA)
	// A fixed ID: fuzz workers must all compute the same good cookie.
	good, _ := c.Encode(Decision{ID: "AAECAwQFBgcICQoLDA0ODw", Accepted: rules.AllSet, Time: now.Add(-time.Hour), PolicyVersion: "2026-11"})
	f.Add(good)
	f.Add("1.x.y.z")
	f.Add("")
	f.Fuzz(func(t *testing.T, v string) {
		d, err := c.Decode(v)
		if err == nil && v != good {
			t.Fatalf("a value that Encode never produced verified: %q -> %+v", v, d)
		}
		if err == nil && !d.Accepted.Has(rules.Necessary) {
			t.Fatalf("decoded a decision without necessary: %+v", d)
		}
	})
}
