package ipmask

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrInvalidAddr is wrapped by the errors of this package that report text
// which is not an IP address in any form it accepts. The messages say what
// is wrong but never quote the text, which may hold a client address.
var ErrInvalidAddr = errors.New("invalid IP address")

// Reasons for ErrInvalidAddr. They are values so that failing costs no
// allocation.
var (
	errEmpty        = fmt.Errorf("%w: empty", ErrInvalidAddr)
	errNoBracket    = fmt.Errorf("%w: missing ']'", ErrInvalidAddr)
	errAfterBracket = fmt.Errorf("%w: unexpected text after ']'", ErrInvalidAddr)
	errPort         = fmt.Errorf("%w: port is not a number from 0 to 65535", ErrInvalidAddr)
	errNotAddr      = fmt.Errorf("%w: not an IPv4 or IPv6 address", ErrInvalidAddr)
)

// ParseAddr parses an IP address as it arrives in request headers and in
// http.Request.RemoteAddr: a bare IPv4 or IPv6 address, "host:port",
// "[v6]:port" or "[v6]", with an optional IPv6 zone ("fe80::1%eth0") and
// surrounding white space. A port is checked and dropped. The address is
// returned as written (mapped or zoned); [Masker.MaskAddr] normalizes it.
// Errors wrap [ErrInvalidAddr].
func ParseAddr(s string) (netip.Addr, error) {
	a, _, _, err := parseHostPort(s)
	return a, err
}

// parseHostPort parses s like ParseAddr and also returns its port, if any,
// and whether the address was in brackets.
func parseHostPort(s string) (a netip.Addr, port string, bracketed bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, "", false, errEmpty
	}
	host := s
	hasPort := false
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return netip.Addr{}, "", false, errNoBracket
		}
		host, bracketed = s[1:end], true
		switch rest := s[end+1:]; {
		case rest == "":
		case rest[0] == ':':
			port, hasPort = rest[1:], true
		default:
			return netip.Addr{}, "", false, errAfterBracket
		}
	} else if i := strings.IndexByte(s, ':'); i >= 0 && strings.IndexByte(s[i+1:], ':') < 0 {
		// Exactly one colon: IPv4 with a port. Two or more: bare IPv6.
		host, port, hasPort = s[:i], s[i+1:], true
	}
	if hasPort && !validPort(port) {
		return netip.Addr{}, "", false, errPort
	}
	a, perr := netip.ParseAddr(host)
	if perr != nil {
		// perr quotes host, which may be a client address: leave it out.
		return netip.Addr{}, "", false, errNotAddr
	}
	return a, port, bracketed, nil
}

// validPort reports whether p is a decimal port number, 0 to 65535.
func validPort(p string) bool {
	if len(p) == 0 || len(p) > 5 {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n <= 65535
}

// MaskHost parses s as [ParseAddr] does and returns the masked address.
// Garbage yields 0.0.0.0, the address with every bit masked, so that the
// result can go straight into a header: the raw text never does. Callers
// that need to know why s did not parse use ParseAddr and [Masker.MaskAddr].
func (m Masker) MaskHost(s string) netip.Addr {
	a, err := ParseAddr(s)
	if err != nil {
		return netip.IPv4Unspecified()
	}
	return m.MaskAddr(a)
}

// MaskRemoteAddr masks the address in s, which has the form of
// http.Request.RemoteAddr, and keeps its port: "203.0.113.77:5555" becomes
// "203.0.113.0:5555" and "[2001:db8:1:2::1]:443" becomes
// "[2001:db8:1::]:443". Whatever [ParseAddr] accepts is accepted; an IPv6
// address is written in brackets when it has a port or had them, and a
// mapped IPv4 address comes out as plain IPv4. When s does not parse,
// MaskRemoteAddr returns "0.0.0.0" and an error wrapping [ErrInvalidAddr].
func (m Masker) MaskRemoteAddr(s string) (string, error) {
	a, port, bracketed, err := parseHostPort(s)
	if err != nil {
		return "0.0.0.0", fmt.Errorf("masking remote address: %w", err)
	}
	a = m.MaskAddr(a)
	var buf [64]byte
	b := buf[:0]
	if a.Is6() && (bracketed || port != "") {
		b = append(b, '[')
		b = a.AppendTo(b)
		b = append(b, ']')
	} else {
		b = a.AppendTo(b)
	}
	if port != "" {
		b = append(b, ':')
		b = append(b, port...)
	}
	return string(b), nil
}
