// Package ipmask masks client IP addresses before analytics vendors see
// them: the address the gateway reports for a request, and the parameters
// through which a hit can name an address of its own.
//
// # What is masked
//
// A [Masker] keeps the leading bits of an address (its prefix) and zeroes
// the rest. The defaults are /24 for IPv4, which zeroes the last octet
// (203.0.113.77 becomes 203.0.113.0, the promise the gateway makes), and
// /48 for IPv6, the customary choice: Google Analytics' IP anonymization
// zeroed the low 80 bits. A /64 is usually a single household's network,
// so a mask that keeps it would still single the household out. Callers
// who want coarser masks configure them with [NewMasker].
//
// Vendors read a client address from more than the connection. Universal
// Analytics' Measurement Protocol reads "uip", Google Analytics 4's
// /g/collect reads "_uip" and Matomo reads "cip" (the latter only from
// requests carrying a token_auth). [ParamMasker] rewrites those parameters
// in query strings, form bodies, Google Analytics batch bodies and Matomo
// bulk tracking bodies, leaving every other byte as it was. Plausible and
// Umami take the client address from the connection and from headers such
// as X-Forwarded-For, never from the payload; masking those is the
// caller's job, with [Masker.MaskRemoteAddr] and [Masker.MaskHost].
//
// # Special addresses
//
// An IPv4-mapped IPv6 address (::ffff:203.0.113.77), as a dual-stack
// listener reports an IPv4 client, is an IPv4 address: it is unmapped and
// masked with the IPv4 prefix, so the promise holds whatever the socket
// family. Zones (fe80::1%eth0) name a local interface, not a client, and
// are dropped. A 6to4 address (2002::/16) carries a whole IPv4 address in
// bits 16 to 47, which a /48 would keep, and the NAT64 well-known prefix
// (64:ff9b::/96) carries one in its last 32 bits; both are masked so that
// the embedded IPv4 address loses at least what an IPv4 mask removes.
//
// # Garbage never leaks
//
// Text that is not an address is never passed on: a parameter value that
// does not parse is replaced by the masked client address, and
// [Masker.MaskHost] turns garbage into 0.0.0.0. A value that merely looks
// odd (an address with a port, brackets or spaces, percent-encoded) is
// parsed and masked rather than trusted. Errors about addresses say what
// is wrong without quoting the text, so they are safe to log.
//
// Parameter names are matched the way PHP (and so Matomo) reads them, which
// is looser than an exact comparison: names are URL-decoded, leading spaces
// are ignored, "." and " " stand for "_", and a decoded NUL ends the name.
// A client cannot smuggle an address past the masking by spelling the name
// differently; the looser match can only mask more.
package ipmask
