package ipmask

import (
	"fmt"
	"net/netip"
)

// The prefix lengths a zero [Masker] keeps.
const (
	// DefaultIPv4Bits keeps the first three octets of an IPv4 address.
	DefaultIPv4Bits = 24
	// DefaultIPv6Bits keeps the first 48 bits of an IPv6 address.
	DefaultIPv6Bits = 48
)

var (
	// sixToFour addresses embed an IPv4 address in bits 16 to 47 (RFC 3056).
	sixToFour = netip.MustParsePrefix("2002::/16")
	// nat64 is the well-known NAT64 prefix; the IPv4 address is in the
	// last 32 bits (RFC 6052).
	nat64 = netip.MustParsePrefix("64:ff9b::/96")
)

// A Masker zeroes the host part of IP addresses: it keeps the first
// IPv4Bits bits of an IPv4 address and the first IPv6Bits bits of an IPv6
// one. The zero Masker keeps [DefaultIPv4Bits] and [DefaultIPv6Bits]; use
// [NewMasker] for other lengths. A Masker is a small value, safe to copy
// and to use from several goroutines.
type Masker struct {
	v4, v6 uint8
	set    bool // false: the defaults
}

// NewMasker returns a Masker keeping the first ipv4Bits bits (0 to 32) of
// IPv4 addresses and the first ipv6Bits bits (0 to 128) of IPv6 addresses.
// Zero masks everything; 32 or 128 masks nothing. On error it returns the
// zero Masker, which masks with the defaults.
func NewMasker(ipv4Bits, ipv6Bits int) (Masker, error) {
	if ipv4Bits < 0 || ipv4Bits > 32 {
		return Masker{}, fmt.Errorf("IPv4 prefix length %d out of range: want 0 to 32", ipv4Bits)
	}
	if ipv6Bits < 0 || ipv6Bits > 128 {
		return Masker{}, fmt.Errorf("IPv6 prefix length %d out of range: want 0 to 128", ipv6Bits)
	}
	return Masker{v4: uint8(ipv4Bits), v6: uint8(ipv6Bits), set: true}, nil
}

// IPv4Bits returns how many leading bits of an IPv4 address m keeps.
func (m Masker) IPv4Bits() int {
	if !m.set {
		return DefaultIPv4Bits
	}
	return int(m.v4)
}

// IPv6Bits returns how many leading bits of an IPv6 address m keeps.
func (m Masker) IPv6Bits() int {
	if !m.set {
		return DefaultIPv6Bits
	}
	return int(m.v6)
}

// MaskAddr returns a with its host bits zeroed. An IPv4-mapped IPv6 address
// is unmapped and masked as IPv4, a zone is dropped, and an address with an
// IPv4 address embedded (6to4, NAT64) loses at least the IPv4 host bits.
// The invalid zero Addr yields 0.0.0.0, so the result is always a valid,
// masked address. MaskAddr is idempotent.
func (m Masker) MaskAddr(a netip.Addr) netip.Addr {
	if !a.IsValid() {
		return netip.IPv4Unspecified()
	}
	a = a.Unmap().WithZone("")
	v4 := m.IPv4Bits()
	bits := v4
	if !a.Is4() {
		bits = m.IPv6Bits()
		switch {
		case sixToFour.Contains(a):
			bits = min(bits, 16+v4)
		case nat64.Contains(a):
			bits = min(bits, 96+v4)
		}
	}
	p, err := a.Prefix(bits)
	if err != nil {
		// Unreachable: bits is within range for a's family.
		return netip.IPv4Unspecified()
	}
	return p.Addr()
}
