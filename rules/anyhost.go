package rules

import "encoding/binary"

// anyHostFilter tells, in one pass over a URL's path, that no URL rule for
// any host ("*/*matomo.js") can match it. Those rules are tried for every
// URL a page names, and most of them look for their text anywhere in the
// path: without the filter they cost several substring searches per URL,
// the bulk of MatchURL on real pages. Each such rule is represented by one
// pair of adjacent bytes of its path pattern, one that URLs seldom
// contain; a path holding none of the pairs matches none of the rules.
type anyHostFilter struct {
	pairs [1 << 16 / 64]uint64
	// on: every rule for any host has a pair, so the filter can rule
	// them all out.
	on bool
}

func (f *anyHostFilter) build(rules []*urlRule) {
	*f = anyHostFilter{on: len(rules) > 0}
	for _, r := range rules {
		a, b, ok := rarestURLPair(r.pattern.path)
		if !ok {
			f.on = false // e.g. "*/*": nothing to look for
			return
		}
		k := pairKey(a, b)
		f.pairs[k>>6] |= 1 << (k & 63)
	}
}

// maxFilteredPath bounds the paths the filter looks at: over a long one
// (a data: URL, a query full of state) the rules' own substring searches,
// vectorised, are faster than a byte-by-byte pass.
const maxFilteredPath = 256

// mayMatch reports whether a rule for any host may match pathq.
func (f *anyHostFilter) mayMatch(pathq []byte) bool {
	if !f.on || len(pathq) > maxFilteredPath {
		return true
	}
	p := &f.pairs
	has := func(k uint16) bool { return p[k>>6]&(1<<(k&63)) != 0 }
	i := 0
	// Seven pairs from each load of eight bytes.
	for ; i+8 <= len(pathq); i += 7 {
		x := binary.LittleEndian.Uint64(pathq[i:])
		if has(uint16(x)) || has(uint16(x>>8)) || has(uint16(x>>16)) || has(uint16(x>>24)) ||
			has(uint16(x>>32)) || has(uint16(x>>40)) || has(uint16(x>>48)) {
			return true
		}
	}
	for ; i+1 < len(pathq); i++ {
		if has(binary.LittleEndian.Uint16(pathq[i:])) {
			return true
		}
	}
	return false
}

// rarestURLPair returns the pair of adjacent bytes, within one segment of
// a path pattern (a match holds each segment as it is), least likely to
// occur in URLs.
func rarestURLPair(segs [][]byte) (a, b byte, ok bool) {
	best := -1
	for _, seg := range segs {
		for i := 0; i+1 < len(seg); i++ {
			if c := urlByteCost(seg[i]) * urlByteCost(seg[i+1]); best < 0 || c < best {
				a, b, best = seg[i], seg[i+1], c
			}
		}
	}
	return a, b, best >= 0
}

// urlByteCost estimates how common a byte is in URL paths: digits and
// punctuation are in nearly every one ("/wp-content/uploads/2026/11/"),
// letters about as often as in scripts.
func urlByteCost(c byte) int {
	if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
		return int(byteFreq[c])
	}
	return 5000
}
