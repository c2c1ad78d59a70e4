package ipmask

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseAddrAcceptsHeaderAndRemoteAddrForms(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"203.0.113.77", "203.0.113.77"},
		{"203.0.113.77:5555", "203.0.113.77"},
		{"203.0.113.77:0", "203.0.113.77"},
		{"203.0.113.77:65535", "203.0.113.77"},
		{"  203.0.113.77\t", "203.0.113.77"},
		{"2001:db8::1", "2001:db8::1"},
		{"[2001:db8::1]", "2001:db8::1"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{" [2001:db8::1]:443 ", "2001:db8::1"},
		{"::", "::"},
		{"::1", "::1"},
		{"[::1]:80", "::1"},
		{"fe80::1%eth0", "fe80::1%eth0"},
		{"[fe80::1%eth0]:8080", "fe80::1%eth0"},
		{"::ffff:203.0.113.77", "::ffff:203.0.113.77"},
		{"[::ffff:203.0.113.77]:1", "::ffff:203.0.113.77"},
		{"[203.0.113.77]:80", "203.0.113.77"},
	} {
		got, err := ParseAddr(tc.in)
		if err != nil || got != netip.MustParseAddr(tc.want) {
			t.Errorf("ParseAddr(%q) = %v, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestParseAddrRejectsGarbageWithoutQuotingIt(t *testing.T) {
	for _, in := range []string{
		"", "   ", "garbage", "localhost", "localhost:80", "unix", "@",
		"203.0.113", "203.0.113.777", "203.0.113.77.1", "0203.0.113.77",
		"203.0.113.77:", "203.0.113.77:99999", "203.0.113.77:-1", "203.0.113.77:8o",
		"203.0.113.77:123456", "203.0.113.77 :80", "203.0.113.77%eth0",
		"203.0.113.77, 198.51.100.1", "for=203.0.113.77",
		"[2001:db8::1", "[2001:db8::1]x", "[2001:db8::1]:", "[2001:db8::1]:http",
		"2001:db8::1]:80", "[]", "[]:80", "[ 2001:db8::1]", "2001:db8:::1",
		"2001:db8::1::2", "[203.0.113.77:80]",
	} {
		a, err := ParseAddr(in)
		if err == nil {
			t.Errorf("ParseAddr(%q) = %v, want an error", in, a)
			continue
		}
		if !errors.Is(err, ErrInvalidAddr) {
			t.Errorf("ParseAddr(%q) error %v does not wrap ErrInvalidAddr", in, err)
		}
		if s := strings.TrimSpace(in); len(s) > 3 && strings.Contains(err.Error(), s) {
			t.Errorf("ParseAddr(%q) error %q quotes the input", in, err)
		}
		if strings.Contains(err.Error(), "203.0.113") || strings.Contains(err.Error(), "2001:db8") {
			t.Errorf("ParseAddr(%q) error %q leaks an address", in, err)
		}
	}
}

func TestMaskHostMasksOrTurnsGarbageIntoUnspecified(t *testing.T) {
	var m Masker
	for _, tc := range []struct{ in, want string }{
		{"203.0.113.77", "203.0.113.0"},
		{" 203.0.113.77:5555 ", "203.0.113.0"},
		{"[2001:db8:1:2::1]:443", "2001:db8:1::"},
		{"::ffff:203.0.113.77", "203.0.113.0"},
		{"fe80::1%eth0", "fe80::"},
		{"garbage", "0.0.0.0"},
		{"", "0.0.0.0"},
		{"203.0.113.77, 198.51.100.1", "0.0.0.0"},
	} {
		if got := m.MaskHost(tc.in); got.String() != tc.want {
			t.Errorf("MaskHost(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestMaskRemoteAddrKeepsThePort(t *testing.T) {
	var m Masker
	for _, tc := range []struct{ in, want string }{
		{"203.0.113.77:5555", "203.0.113.0:5555"},
		{"[2001:db8:1:2::1]:443", "[2001:db8:1::]:443"},
		{"[::ffff:203.0.113.77]:80", "203.0.113.0:80"}, // mapped comes out as IPv4
		{"[fe80::1%eth0]:8080", "[fe80::]:8080"},
		{"[203.0.113.77]:80", "203.0.113.0:80"},
		{"203.0.113.77:0080", "203.0.113.0:0080"}, // port text kept as is
		{"203.0.113.77", "203.0.113.0"},
		{"2001:db8:1:2::1", "2001:db8:1::"},
		{"[2001:db8:1:2::1]", "[2001:db8:1::]"},
		{" 203.0.113.77:5555\n", "203.0.113.0:5555"},
	} {
		got, err := m.MaskRemoteAddr(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("MaskRemoteAddr(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestMaskRemoteAddrTurnsGarbageIntoUnspecified(t *testing.T) {
	var m Masker
	for _, in := range []string{"", "@", "pipe", "203.0.113.77:99999", "[2001:db8::1"} {
		got, err := m.MaskRemoteAddr(in)
		if got != "0.0.0.0" || !errors.Is(err, ErrInvalidAddr) {
			t.Errorf("MaskRemoteAddr(%q) = %q, %v; want 0.0.0.0 and an ErrInvalidAddr", in, got, err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "masking remote address: ") {
			t.Errorf("MaskRemoteAddr(%q) error %q lacks context", in, err)
		}
	}
}

func TestMaskRemoteAddrHonoursTheMaskerLengths(t *testing.T) {
	m := mustMasker(t, 16, 32)
	got, err := m.MaskRemoteAddr("[2001:db8:1:2::1]:443")
	if err != nil || got != "[2001:db8::]:443" {
		t.Errorf("/32: got %q, %v", got, err)
	}
	got, err = m.MaskRemoteAddr("203.0.113.77:1")
	if err != nil || got != "203.0.0.0:1" {
		t.Errorf("/16: got %q, %v", got, err)
	}
}
