package rules

import (
	"bytes"
	"fmt"
)

// An inline signature is a literal that identifies a tracker's inline
// snippet, e.g. "fbq(" or "googletagmanager.com/gtm.js". A signature that
// starts with an identifier character ([A-Za-z0-9_$]) only matches where the
// byte before it is not one, so "ga(" matches "ga(" and "window.ga(" but not
// "omega(".
type signature struct {
	lit    []byte
	ident  bool // starts with an identifier character: check the boundary
	vendor *Vendor
	order  int
}

// minSignatureLen keeps signatures specific enough to be worth a rule.
const minSignatureLen = 3

func parseSignature(s string) (signature, error) {
	if len(s) < minSignatureLen {
		return signature{}, fmt.Errorf("inline signature %q is shorter than %d bytes: it would match unrelated scripts", s, minSignatureLen)
	}
	return signature{lit: []byte(s), ident: isIdentByte(s[0])}, nil
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$'
}

// sigMatcher finds every signature in a script body in one pass. A bitset of
// the signatures' first two bytes filters candidate positions, so the cost
// is about one table lookup per byte whatever the number of signatures.
type sigMatcher struct {
	pairs   [1 << 16 / 64]uint64
	byPair  map[uint16][]*signature
	maxLen  int
	ordered []*signature
}

func (m *sigMatcher) add(s *signature) {
	if m.byPair == nil {
		m.byPair = make(map[uint16][]*signature)
	}
	k := uint16(s.lit[0])<<8 | uint16(s.lit[1])
	m.pairs[k>>6] |= 1 << (k & 63)
	m.byPair[k] = append(m.byPair[k], s)
	m.maxLen = max(m.maxLen, len(s.lit))
	m.ordered = append(m.ordered, s)
}

// scan reports each signature found in body[from:] (a match may start
// anywhere from `from`, and must lie inside body) to found. Positions
// before from are used only to check an identifier boundary.
func (m *sigMatcher) scan(body []byte, from int, found func(*signature)) {
	if len(m.ordered) == 0 {
		return
	}
	for i := max(from, 0); i+1 < len(body); i++ {
		k := uint16(body[i])<<8 | uint16(body[i+1])
		if m.pairs[k>>6]&(1<<(k&63)) == 0 {
			continue
		}
		for _, s := range m.byPair[k] {
			if !bytes.HasPrefix(body[i:], s.lit) {
				continue
			}
			if s.ident && i > 0 && isIdentByte(body[i-1]) {
				continue
			}
			found(s)
		}
	}
}
