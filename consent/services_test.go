package consent

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/rules"
)

func TestServicesRoundTrip(t *testing.T) {
	c := codec(t, secretA)
	d := decision(t, rules.SetOf(rules.Statistics), now.Add(-time.Hour))
	d.Services = []string{"youtube", "google-maps", "youtube", "vimeo"}
	v, err := c.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Decode(v)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"google-maps", "vimeo", "youtube"}; !slices.Equal(got.Services, want) {
		t.Errorf("services %v, want %v", got.Services, want)
	}
	if !got.HasService("vimeo") || got.HasService("meta") {
		t.Error("HasService")
	}
	if got.PolicyVersion != "2026-11" || got.Accepted != rules.SetOf(rules.Necessary, rules.Statistics) {
		t.Errorf("decoded %+v", got)
	}
	// The largest decision stays a cookie browsers keep.
	for i := range MaxServices {
		d.Services = append(d.Services, strings.Repeat("x", MaxServiceIDLen-3)+string(rune('a'+i%26))+string(rune('a'+i/26))+"z")
	}
	d.Services = d.Services[len(d.Services)-MaxServices:]
	d.PolicyVersion = strings.Repeat("p", MaxPolicyVersionLen)
	c.PolicyVersion = d.PolicyVersion
	if v, err = c.Encode(d); err != nil {
		t.Fatal(err)
	}
	if len(v) > maxCookieLen || len(v)+len("consentgate=") > 4000 {
		t.Errorf("the largest cookie is %d bytes", len(v))
	}
	if got, err := c.Decode(v); err != nil || len(got.Services) != MaxServices {
		t.Errorf("the largest cookie decodes to %d services, %v", len(got.Services), err)
	}
}

func TestServicesAreChecked(t *testing.T) {
	c := codec(t, secretA)
	for _, bad := range [][]string{{"YouTube"}, {"you tube"}, {"a,b"}, {""}, {strings.Repeat("x", MaxServiceIDLen+1)}} {
		d := decision(t, rules.OnlyNecessary, now)
		d.Services = bad
		if _, err := c.Encode(d); err == nil {
			t.Errorf("Encode took services %q", bad)
		}
	}
	// A signed payload whose services are not in canonical form is not
	// consent: one decision has one spelling.
	for _, services := range []string{"b,a", "a,,b", "a,a", "A"} {
		if _, err := c.Decode(signV2(t, c, "2026-11", services)); !errors.Is(err, ErrMalformed) {
			t.Errorf("services %q: %v, want ErrMalformed", services, err)
		}
	}
	if d, err := c.Decode(signV2(t, c, "2026-11", "a,b")); err != nil || !slices.Equal(d.Services, []string{"a", "b"}) {
		t.Errorf("canonical services: %+v %v", d, err)
	}
}

// signV2 signs a version 2 payload by hand.
func signV2(t *testing.T, c *Codec, policy, services string) string {
	t.Helper()
	p := make([]byte, payloadFixed)
	p[idLen] = byte(rules.OnlyNecessary)
	binary.BigEndian.PutUint64(p[idLen+1:], uint64(now.Add(-time.Hour).Unix()))
	p = append(p, byte(len(policy)))
	p = append(p, policy...)
	p = append(p, services...)
	key := c.Keys.cookie[0]
	signed := "2." + key.ID + "." + base64.RawURLEncoding.EncodeToString(p)
	return signed + "." + base64.RawURLEncoding.EncodeToString(mac(key, signed))
}

// Cookies set before services existed (format 1) stay valid.
func TestVersion1CookiesAreStillRead(t *testing.T) {
	c := codec(t, secretA)
	id := make([]byte, idLen)
	id[0] = 7
	p := make([]byte, payloadFixed)
	copy(p, id)
	p[idLen] = byte(rules.SetOf(rules.Necessary, rules.Marketing))
	binary.BigEndian.PutUint64(p[idLen+1:], uint64(now.Add(-time.Hour).Unix()))
	p = append(p, "2026-11"...)
	key := c.Keys.cookie[0]
	signed := "1." + key.ID + "." + base64.RawURLEncoding.EncodeToString(p)
	v := signed + "." + base64.RawURLEncoding.EncodeToString(mac(key, signed))
	d, err := c.Decode(v)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != base64.RawURLEncoding.EncodeToString(id) || d.Accepted != rules.SetOf(rules.Necessary, rules.Marketing) || d.PolicyVersion != "2026-11" || d.Services != nil {
		t.Errorf("decoded %+v", d)
	}
}
