package ipmask

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// maskBits is the reference: a's big-endian bytes with all but the first
// bits bits cleared, computed without netip's prefix code.
func maskBits(a netip.Addr, bits int) netip.Addr {
	b := a.AsSlice()
	for i := range b {
		switch keep := bits - 8*i; {
		case keep >= 8:
		case keep <= 0:
			b[i] = 0
		default:
			b[i] &= byte(0xff << (8 - keep))
		}
	}
	r, _ := netip.AddrFromSlice(b)
	return r
}

func mustMasker(t testing.TB, v4, v6 int) Masker {
	t.Helper()
	m, err := NewMasker(v4, v6)
	if err != nil {
		t.Fatalf("NewMasker(%d, %d): %v", v4, v6, err)
	}
	return m
}

func TestNewMaskerRejectsOutOfRangeLengths(t *testing.T) {
	for _, tc := range []struct {
		v4, v6 int
		want   string
	}{
		{-1, 48, "IPv4 prefix length -1 out of range"},
		{33, 48, "IPv4 prefix length 33 out of range"},
		{24, -1, "IPv6 prefix length -1 out of range"},
		{24, 129, "IPv6 prefix length 129 out of range"},
	} {
		m, err := NewMasker(tc.v4, tc.v6)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewMasker(%d, %d) error = %v, want it to say %q", tc.v4, tc.v6, err, tc.want)
		}
		if m != (Masker{}) {
			t.Errorf("NewMasker(%d, %d) returned %+v with its error, want the zero Masker", tc.v4, tc.v6, m)
		}
	}
}

func TestNewMaskerAcceptsTheWholeRange(t *testing.T) {
	for _, tc := range [][2]int{{0, 0}, {32, 128}, {24, 48}, {16, 64}} {
		m := mustMasker(t, tc[0], tc[1])
		if m.IPv4Bits() != tc[0] || m.IPv6Bits() != tc[1] {
			t.Errorf("NewMasker(%d, %d) keeps /%d and /%d", tc[0], tc[1], m.IPv4Bits(), m.IPv6Bits())
		}
	}
}

func TestZeroMaskerKeepsDefaultPrefixes(t *testing.T) {
	var m Masker
	if m.IPv4Bits() != 24 || m.IPv6Bits() != 48 {
		t.Fatalf("zero Masker keeps /%d and /%d, want /24 and /48", m.IPv4Bits(), m.IPv6Bits())
	}
	explicit := mustMasker(t, 24, 48)
	for _, s := range []string{"203.0.113.77", "2001:db8:aaaa:bbbb::1"} {
		a := netip.MustParseAddr(s)
		if m.MaskAddr(a) != explicit.MaskAddr(a) {
			t.Errorf("zero Masker masks %s to %s, NewMasker(24, 48) to %s", s, m.MaskAddr(a), explicit.MaskAddr(a))
		}
	}
}

func TestMaskAddr(t *testing.T) {
	var m Masker
	for _, tc := range []struct{ in, want string }{
		{"203.0.113.77", "203.0.113.0"},
		{"203.0.113.0", "203.0.113.0"},
		{"255.255.255.255", "255.255.255.0"},
		{"0.0.0.0", "0.0.0.0"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1::"},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8:ffff::"},
		{"::1", "::"},
		{"::ffff:203.0.113.77", "203.0.113.0"},      // mapped: masked as IPv4
		{"::ffff:cb00:714d", "203.0.113.0"},         // the same, in hex
		{"fe80::1234:5678%eth0", "fe80::"},          // zone dropped
		{"2001:db8:1:2::1%3", "2001:db8:1::"},       // numeric zone dropped
		{"2002:cb00:714d:1::1", "2002:cb00:7100::"}, // 6to4: embedded 203.0.113.77 masked to /24
		{"64:ff9b::203.0.113.77", "64:ff9b::"},      // NAT64 at /48: nothing of the IPv4 left
	} {
		got := m.MaskAddr(netip.MustParseAddr(tc.in))
		if got.String() != tc.want {
			t.Errorf("MaskAddr(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestMaskAddrTurnsInvalidAddrIntoUnspecified(t *testing.T) {
	if got := (Masker{}).MaskAddr(netip.Addr{}); got != netip.IPv4Unspecified() {
		t.Fatalf("MaskAddr(Addr{}) = %v, want 0.0.0.0", got)
	}
}

func TestMaskAddrMasksEmbeddedIPv4LikeIPv4(t *testing.T) {
	for _, tc := range []struct {
		v4, v6  int
		in, out string
	}{
		// 6to4 keeps 16 + IPv4 bits at most.
		{24, 48, "2002:cb00:714d::1", "2002:cb00:7100::"},
		{16, 48, "2002:cb00:714d::1", "2002:cb00::"},
		{24, 32, "2002:cb00:714d::1", "2002:cb00::"}, // the IPv6 mask is shorter
		{32, 128, "2002:cb00:714d::1", "2002:cb00:714d::"},
		{0, 128, "2002:cb00:714d::1", "2002::"},
		// NAT64 keeps 96 + IPv4 bits at most.
		{24, 128, "64:ff9b::203.0.113.77", "64:ff9b::cb00:7100"},
		{24, 100, "64:ff9b::203.0.113.77", "64:ff9b::c000:0"},
	} {
		m := mustMasker(t, tc.v4, tc.v6)
		if got := m.MaskAddr(netip.MustParseAddr(tc.in)); got != netip.MustParseAddr(tc.out) {
			t.Errorf("/%d,/%d: MaskAddr(%s) = %s, want %s", tc.v4, tc.v6, tc.in, got, tc.out)
		}
	}
}

// randomAddrs returns n IPv4 and n IPv6 addresses with many bits set, none
// of them in the ranges with embedded IPv4 addresses.
func randomAddrs(n int) (v4, v6 []netip.Addr) {
	r := rand.New(rand.NewPCG(1, 2))
	v4 = []netip.Addr{netip.MustParseAddr("255.255.255.255")}
	v6 = []netip.Addr{netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}
	for len(v4) < n {
		var b [4]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		v4 = append(v4, netip.AddrFrom4(b))
	}
	for len(v6) < n {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		a := netip.AddrFrom16(b)
		if a.Is4In6() || sixToFour.Contains(a) || nat64.Contains(a) {
			continue
		}
		v6 = append(v6, a)
	}
	return v4, v6
}

func TestMaskAddrKeepsExactlyThePrefixAtEveryIPv4Length(t *testing.T) {
	v4s, _ := randomAddrs(64)
	for bits := 0; bits <= 32; bits++ {
		m := mustMasker(t, bits, 48)
		for _, a := range v4s {
			want := maskBits(a, bits)
			if got := m.MaskAddr(a); got != want {
				t.Fatalf("/%d: MaskAddr(%s) = %s, want %s", bits, a, got, want)
			}
			// The same address, mapped into IPv6, masks the same.
			if got := m.MaskAddr(netip.AddrFrom16(a.As16())); got != want {
				t.Fatalf("/%d: MaskAddr(::ffff:%s) = %s, want %s", bits, a, got, want)
			}
			if p := netip.PrefixFrom(a, bits).Masked().Addr(); p != want {
				t.Fatalf("reference disagrees with netip at /%d for %s: %s, netip %s", bits, a, want, p)
			}
		}
	}
}

func TestMaskAddrKeepsExactlyThePrefixAtEveryIPv6Length(t *testing.T) {
	_, v6s := randomAddrs(64)
	for bits := 0; bits <= 128; bits++ {
		m := mustMasker(t, 24, bits)
		for _, a := range v6s {
			want := maskBits(a, bits)
			if got := m.MaskAddr(a); got != want {
				t.Fatalf("/%d: MaskAddr(%s) = %s, want %s", bits, a, got, want)
			}
			if got := m.MaskAddr(a.WithZone("eth0")); got != want {
				t.Fatalf("/%d: MaskAddr(%s%%eth0) = %s, want %s", bits, a, got, want)
			}
			if p := netip.PrefixFrom(a, bits).Masked().Addr(); p != want {
				t.Fatalf("reference disagrees with netip at /%d for %s: %s, netip %s", bits, a, want, p)
			}
		}
	}
}

func TestMaskAddrIsIdempotent(t *testing.T) {
	v4s, v6s := randomAddrs(32)
	extra := []netip.Addr{
		netip.MustParseAddr("2002:cb00:714d::1"),
		netip.MustParseAddr("64:ff9b::203.0.113.77"),
		netip.MustParseAddr("::ffff:203.0.113.77"),
	}
	all := append(append(append([]netip.Addr(nil), v4s...), v6s...), extra...)
	for _, bits := range [][2]int{{0, 0}, {8, 8}, {24, 48}, {0, 128}, {32, 128}, {16, 20}} {
		m := mustMasker(t, bits[0], bits[1])
		for _, a := range all {
			once := m.MaskAddr(a)
			if twice := m.MaskAddr(once); twice != once {
				t.Errorf("/%d,/%d: MaskAddr(%s) = %s but masking again gives %s", bits[0], bits[1], a, once, twice)
			}
		}
	}
}
