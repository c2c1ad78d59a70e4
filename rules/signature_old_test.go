package rules

// The inline-signature matcher as it was before the multi-literal scan
// (commit fdea60f), kept as a reference for the differential test: the new
// matcher must find the same signatures.

// oldSigMatcher finds every signature in a script body in one pass. Each
// signature is anchored at its rarest pair of adjacent bytes; a bitset of
// the anchors filters candidate positions, so the cost is about one table
// lookup per byte whatever the number of signatures, and few positions
// need a closer look.
type oldSigMatcher struct {
	pairs   [1 << 16 / 64]uint64
	group   map[uint16]int // anchor pair -> index into groups
	groups  [][]*signature
	maxLen  int
	ordered []*signature
	anchors map[*signature]int
}

func (m *oldSigMatcher) add(s *signature) {
	if m.group == nil {
		m.group = make(map[uint16]int)
	}
	if m.anchors == nil {
		m.anchors = make(map[*signature]int)
	}
	anchor := oldRarestPair(s.lit)
	m.anchors[s] = anchor
	k := uint16(s.lit[anchor])<<8 | uint16(s.lit[anchor+1])
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

// oldRarestPair returns the offset of the pair of bytes in lit least likely to
// occur in scripts: lower-case letters and common punctuation of code are
// frequent, capitals, digits, '_', '$' and rarer punctuation are not.
func oldRarestPair(lit string) int {
	best, bestScore := 0, -1
	for i := 0; i+1 < len(lit); i++ {
		if s := oldByteRarity(lit[i]) + oldByteRarity(lit[i+1]); s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

func oldByteRarity(c byte) int {
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

// scan reports each signature found in body whose anchor pair lies at or
// after from to found. A match must lie wholly inside body; positions
// before it are used only to check an identifier boundary.
func (m *oldSigMatcher) scan(body []byte, from int, found func(*signature)) {
	if len(m.ordered) == 0 {
		return
	}
	for i := max(from, 0); i+1 < len(body); i++ {
		k := uint16(body[i])<<8 | uint16(body[i+1])
		if m.pairs[k>>6]&(1<<(k&63)) == 0 {
			continue
		}
		for _, s := range m.groups[m.group[k]] {
			start := i - m.anchors[s]
			if !hasLitAt(body, start, s.lit) {
				continue
			}
			if s.ident && start > 0 && isIdentByte(body[start-1]) {
				continue
			}
			found(s)
		}
	}
}
