package rules

import (
	"regexp"
	"testing"

	"github.com/consentgate/consentgate/internal/testpages"
)

// BenchmarkScanInlineLoaders measures what finding tracker script URLs
// adds to the signature scan of inline scripts, on the corpus pages'
// inline scripts (with both tiers):
//
//	go test ./rules -run '^$' -bench ScanInlineLoaders -count 6
func BenchmarkScanInlineLoaders(b *testing.B) {
	script := regexp.MustCompile(`(?s)<script(?:\s[^>]*)?>(.*?)</script>`)
	var scripts [][]byte
	size := 0
	for _, p := range testpages.Corpus(b) {
		for _, m := range script.FindAllSubmatch(p.Body, -1) {
			if len(m[1]) > 0 {
				scripts = append(scripts, m[1])
				size += len(m[1])
			}
		}
	}
	rs := bothTiers(b)
	for _, bc := range []struct {
		name string
		scan func([]byte)
	}{
		{"signatures", func(s []byte) { rs.sigs.scan(s, 0, func(*signature) {}) }},
		{"signatures+loaders", func(s []byte) { rs.ScanInline(s, 0, func(*Vendor) {}) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				for _, s := range scripts {
					bc.scan(s)
				}
			}
		})
	}
}
