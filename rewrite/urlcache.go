package rewrite

import (
	"bytes"
	"hash/maphash"

	"github.com/consentgate/consentgate/rules"
)

// urlCache remembers, for one response, which vendor the rules give an
// attribute value (a URL, or a whole srcset), keyed by its raw bytes. Pages
// repeat URLs a lot (the same image in every card, the same avatar in
// every comment), and classifying one costs a decode, a split and several
// rule lookups. Direct-mapped: a collision just replaces the entry.
type urlCache struct {
	seed    maphash.Seed
	entries [64]urlCacheEntry
}

type urlCacheEntry struct {
	key    []byte
	vendor *rules.Vendor
	used   bool
}

func (c *urlCache) reset() {
	if c.seed == (maphash.Seed{}) {
		c.seed = maphash.MakeSeed()
	}
	for i := range c.entries {
		c.entries[i].used = false
	}
}

func (c *urlCache) slot(key []byte) *urlCacheEntry {
	return &c.entries[maphash.Bytes(c.seed, key)&uint64(len(c.entries)-1)]
}

// get returns the cached vendor of key (nil: no rule matches), and whether
// it was cached.
func (c *urlCache) get(key []byte) (*rules.Vendor, bool) {
	e := c.slot(key)
	if e.used && bytes.Equal(e.key, key) {
		return e.vendor, true
	}
	return nil, false
}

func (c *urlCache) put(key []byte, v *rules.Vendor) {
	if len(key) > 512 {
		return // long values (data: URLs) are rare and would pin memory
	}
	e := c.slot(key)
	e.key = append(e.key[:0], key...)
	e.vendor, e.used = v, true
}
