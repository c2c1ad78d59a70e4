package rules

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
)

// An inline signature is a literal that identifies a tracker's inline
// snippet, e.g. "fbq(" or "googletagmanager.com/gtm.js". A signature that
// starts with an identifier character ([A-Za-z0-9_$]) only matches where the
// byte before it is not one, so "ga(" matches "ga(" and "window.ga(" but not
// "omega(".
type signature struct {
	lit    string
	ident  bool // starts with an identifier character: check the boundary
	vendor *Vendor
	order  int
}

// minSignatureLen keeps signatures specific enough to be worth a rule. The
// matcher relies on it too: every signature holds two overlapping pairs of
// bytes.
const minSignatureLen = 3

func parseSignature(s string) (signature, error) {
	if len(s) < minSignatureLen {
		return signature{}, fmt.Errorf("inline signature %q is shorter than %d bytes: it would match unrelated scripts", s, minSignatureLen)
	}
	return signature{lit: s, ident: isIdentByte(s[0])}, nil
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$'
}

// sigMatcher finds every signature in a script body in one pass over it,
// whatever the number of signatures.
//
// It looks at every other position only. Each signature is anchored at two
// overlapping pairs of its bytes, at offsets j and j+1 (chosen so that both
// pairs are rare in scripts): wherever the signature occurs, one of the two
// lies at a position the scan looks at (four of them per 8-byte load). A
// bitset of the anchor pairs (8 KB, in the first-level cache) rejects
// almost every position with one load; at the few positions it lets
// through, the pair's rank in the bitset indexes what is anchored there,
// with no map lookup: the bytes that may surround the pair, then the
// signatures, compared in full.
type sigMatcher struct {
	filter  [1 << 16 / 64]uint64 // anchor pairs, by little-endian value
	rank    [1 << 16 / 64]uint16 // set bits of filter before each word
	groups  []uint32             // entries of the k-th set pair: entries[groups[k]:groups[k+1]]
	around  []byteSets           // of the k-th set pair
	entries []sigEntry
	maxLen  int
	ordered []*signature // in rule order
}

// byteSets are the bytes that may come right before and right after an
// anchor pair in the signatures anchored at it (all 256 where a signature
// starts or ends with the pair): one load each rules out most positions
// the pair alone lets through.
type byteSets struct {
	before, after byteSet
}

// byteSet is a set of bytes.
type byteSet [4]uint64

func (b *byteSet) add(c byte)      { b[c>>6] |= 1 << (c & 63) }
func (b *byteSet) has(c byte) bool { return b[c>>6]&(1<<(c&63)) != 0 }
func (b *byteSet) fill()           { *b = byteSet{^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)} }

// sigEntry is a signature anchored at a pair off bytes into it.
type sigEntry struct {
	sig *signature
	off int
	// head is the signature's first four bytes (little-endian; fewer
	// for a shorter one, with mask covering them): most candidates fail
	// on them without a call to compare the rest.
	head, mask uint32
}

// add adds a signature; call build once all are added.
func (m *sigMatcher) add(s *signature) {
	m.ordered = append(m.ordered, s)
	m.maxLen = max(m.maxLen, len(s.lit))
}

// build computes the lookup tables from the signatures added.
func (m *sigMatcher) build() {
	type keyed struct {
		key uint16
		sigEntry
	}
	var all []keyed
	for _, s := range m.ordered {
		j := anchorOffset(s.lit)
		var h [4]byte
		n := copy(h[:], s.lit)
		head := binary.LittleEndian.Uint32(h[:])
		mask := uint32(1)<<(8*n) - 1
		if n == 4 {
			mask = ^uint32(0)
		}
		for _, off := range [2]int{j, j + 1} {
			all = append(all, keyed{pairKey(s.lit[off], s.lit[off+1]), sigEntry{s, off, head, mask}})
		}
	}
	// By pair, then rule order, so that the entries of one pair are
	// contiguous and are tried in rule order.
	slices.SortStableFunc(all, func(a, b keyed) int { return int(a.key) - int(b.key) })
	m.filter = [len(m.filter)]uint64{}
	m.entries = m.entries[:0]
	m.groups = m.groups[:0]
	m.around = m.around[:0]
	for i, e := range all {
		if i == 0 || e.key != all[i-1].key {
			m.filter[e.key>>6] |= 1 << (e.key & 63)
			m.groups = append(m.groups, uint32(len(m.entries)))
			m.around = append(m.around, byteSets{})
		}
		m.entries = append(m.entries, e.sigEntry)
		a := &m.around[len(m.around)-1]
		if lit := e.sig.lit; e.off > 0 {
			a.before.add(lit[e.off-1])
		} else {
			a.before.fill()
		}
		if lit := e.sig.lit; e.off+2 < len(lit) {
			a.after.add(lit[e.off+2])
		} else {
			a.after.fill()
		}
	}
	m.groups = append(m.groups, uint32(len(m.entries)))
	n := 0
	for w := range m.filter {
		m.rank[w] = uint16(n)
		n += bits.OnesCount64(m.filter[w])
	}
}

func pairKey(a, b byte) uint16 { return uint16(a) | uint16(b)<<8 }

// anchorOffset returns the offset j in lit of the two overlapping pairs
// lit[j:j+2] and lit[j+1:j+3] least likely to occur together in scripts.
func anchorOffset(lit string) int {
	best, bestCost := 0, -1
	for j := 0; j+2 < len(lit); j++ {
		c := pairCost(lit[j], lit[j+1]) + pairCost(lit[j+1], lit[j+2])
		if bestCost < 0 || c < bestCost {
			best, bestCost = j, c
		}
	}
	return best
}

// pairCost estimates how often a pair of bytes occurs in scripts.
func pairCost(a, b byte) int { return int(byteFreq[a]) * int(byteFreq[b]) }

// byteFreq is how many of 100,000 bytes of inline scripts (the real pages
// of ../shared/corpus, JSON included) are each ASCII byte, at least 1;
// bytes past ASCII count as 20.
var byteFreq = func() (f [256]uint16) {
	ascii := [128]uint16{
		1, 1, 1, 1, 1, 1, 1, 1, 1, 956, 1048, 1, 1, 93, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		23098, 119, 3289, 86, 28, 38, 178, 560, 893, 894, 48, 146, 1395, 1005, 1454, 1260,
		1099, 661, 749, 382, 300, 391, 278, 308, 248, 305, 975, 493, 429, 1000, 416, 72,
		47, 245, 141, 226, 171, 198, 99, 79, 67, 185, 52, 38, 150, 126, 127, 120,
		142, 46, 126, 238, 189, 82, 59, 86, 26, 42, 40, 241, 886, 241, 7, 786,
		1, 3527, 931, 2141, 1998, 5361, 1012, 1229, 1324, 3313, 280, 479, 2316, 1352, 3392, 3240,
		1694, 140, 2829, 3033, 4331, 1565, 685, 1052, 396, 588, 326, 457, 187, 439, 1, 1,
	}
	copy(f[:], ascii[:])
	for c := 128; c < 256; c++ {
		f[c] = 20
	}
	return f
}()

// sigMatch is a signature found and where it starts.
type sigMatch struct {
	start int
	sig   *signature
}

// scan calls found once for each signature that occurs in body starting at
// or after from, in the order of their first such occurrence (and in rule
// order where two start at the same byte). A match must lie wholly inside
// body; the byte before it is used to check an identifier boundary even
// when it lies before from.
func (m *sigMatcher) scan(body []byte, from int, found func(*signature)) {
	if len(m.ordered) == 0 {
		return
	}
	from = max(from, 0)
	var stack [16]sigMatch
	matches := stack[:0]
	check := func(i int, k uint16) {
		w := m.filter[k>>6]
		bit := uint64(1) << (k & 63)
		g := int(m.rank[k>>6]) + bits.OnesCount64(w&(bit-1))
		if a := &m.around[g]; i+2 < len(body) && !a.after.has(body[i+2]) || i > 0 && !a.before.has(body[i-1]) {
			return
		}
		for _, e := range m.entries[m.groups[g]:m.groups[g+1]] {
			s := e.sig
			start := i - e.off
			end := start + len(s.lit)
			if start < from || end > len(body) {
				continue
			}
			if start+4 <= len(body) && binary.LittleEndian.Uint32(body[start:])&e.mask != e.head {
				continue
			}
			if len(s.lit) > 4 && string(body[start+4:end]) != s.lit[4:] {
				continue
			}
			if len(s.lit) < 4 && string(body[start:end]) != s.lit {
				continue
			}
			if s.ident && start > 0 && isIdentByte(body[start-1]) {
				continue
			}
			matches = addMatch(matches, start, s)
		}
	}
	i := from
	// Four positions from each load of eight bytes.
	f := &m.filter
	for ; i+8 <= len(body); i += 8 {
		x := binary.LittleEndian.Uint64(body[i:])
		if k := uint16(x); f[k>>6]&(1<<(k&63)) != 0 {
			check(i, k)
		}
		if k := uint16(x >> 16); f[k>>6]&(1<<(k&63)) != 0 {
			check(i+2, k)
		}
		if k := uint16(x >> 32); f[k>>6]&(1<<(k&63)) != 0 {
			check(i+4, k)
		}
		if k := uint16(x >> 48); f[k>>6]&(1<<(k&63)) != 0 {
			check(i+6, k)
		}
	}
	for ; i+1 < len(body); i += 2 {
		k := binary.LittleEndian.Uint16(body[i:])
		if m.filter[k>>6]&(1<<(k&63)) != 0 {
			check(i, k)
		}
	}
	if len(matches) > 1 {
		slices.SortFunc(matches, func(a, b sigMatch) int {
			if a.start != b.start {
				return a.start - b.start
			}
			return a.sig.order - b.sig.order
		})
	}
	for _, x := range matches {
		found(x.sig)
	}
}

// addMatch records that s occurs at start, keeping only its first
// occurrence: at most one entry per signature.
func addMatch(matches []sigMatch, start int, s *signature) []sigMatch {
	for i := range matches {
		if matches[i].sig == s {
			matches[i].start = min(matches[i].start, start)
			return matches
		}
	}
	return append(matches, sigMatch{start, s})
}
