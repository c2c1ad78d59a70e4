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
	anchor int  // offset of the pair of bytes the matcher looks for first
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

// sigMatcher finds every signature in a script body in one pass. Each
// signature is anchored at its rarest pair of adjacent bytes; a bitset of
// the anchors filters candidate positions, so the cost is about one table
// lookup per byte whatever the number of signatures, and few positions
// need a closer look.
type sigMatcher struct {
	pairs   [1 << 16 / 64]uint64
	group   map[uint16]int // anchor pair -> index into groups
	groups  [][]*signature
	maxLen  int
	ordered []*signature
}

func (m *sigMatcher) add(s *signature) {
	if m.group == nil {
		m.group = make(map[uint16]int)
	}
	s.anchor = rarestPair(s.lit)
	k := uint16(s.lit[s.anchor])<<8 | uint16(s.lit[s.anchor+1])
	m.pairs[k>>6] |= 1 << (k & 63)
	g, ok := m.group[k]
	if !ok {
		g = len(m.groups)
		m.group[k] = g
		m.groups = append(m.groups, nil)
	}
	m.groups[g] = append(m.groups[g], s)
	m.maxLen = max(m.maxLen, len(s.lit))
	m.ordered = append(m.ordered, s)
}

// rarestPair returns the offset of the pair of bytes in lit least likely to
// occur in scripts: lower-case letters and common punctuation of code are
// frequent, capitals, digits, '_', '$' and rarer punctuation are not.
func rarestPair(lit []byte) int {
	best, bestScore := 0, -1
	for i := 0; i+1 < len(lit); i++ {
		if s := byteRarity(lit[i]) + byteRarity(lit[i+1]); s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

func byteRarity(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '$':
		return 3
	case c == '.' || c == '/' || c == '-' || c == ',' || c == ':':
		return 2
	case c >= 'a' && c <= 'z':
		if bytesContain("etaoinsrlcdu", c) {
			return 0
		}
		return 1
	case c == ' ' || c == '(' || c == ')' || c == '\'' || c == '"' || c == ';' || c == '=':
		return 0
	}
	return 2
}

func bytesContain(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}

// scan reports each signature found in body whose anchor pair lies at or
// after from to found. A match must lie wholly inside body; positions
// before it are used only to check an identifier boundary.
func (m *sigMatcher) scan(body []byte, from int, found func(*signature)) {
	if len(m.ordered) == 0 {
		return
	}
	for i := max(from, 0); i+1 < len(body); i++ {
		k := uint16(body[i])<<8 | uint16(body[i+1])
		if m.pairs[k>>6]&(1<<(k&63)) == 0 {
			continue
		}
		for _, s := range m.groups[m.group[k]] {
			start := i - s.anchor
			if start < 0 || !bytes.HasPrefix(body[start:], s.lit) {
				continue
			}
			if s.ident && start > 0 && isIdentByte(body[start-1]) {
				continue
			}
			found(s)
		}
	}
}
