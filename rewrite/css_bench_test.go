package rewrite

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// BenchmarkCSSURLs scans every <style> sheet and style attribute of the
// corpus pages as the rewriter does (the cssMayLoad gate, then the scan
// when it passes), with the fast scan and with the reference tokenizer
// of css_ref_test.go in the same run; scan= leaves the gate out, gate=
// runs only the gate.
//
//	go test ./rewrite -run '^$' -bench CSSURLs -count 5
func BenchmarkCSSURLs(b *testing.B) {
	sheets, attrs := corpusCSS(b)
	all := slices.Concat(sheets, attrs)
	size := 0
	for _, css := range all {
		size += len(css)
	}
	type impl struct {
		gate func([]byte) bool
		scan func([]byte, func([]byte) bool)
	}
	impls := []struct {
		name string
		impl
	}{
		{"fast", impl{cssMayLoad, forEachCSSURL}},
		{"ref", impl{refCSSMayLoad, refForEachCSSURL}},
	}
	urls := 0
	count := func([]byte) bool { urls++; return true }
	for _, gated := range []bool{true, false} {
		for _, m := range impls {
			name := "gate+scan=" + m.name
			if !gated {
				name = "scan=" + m.name
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					for _, css := range all {
						if !gated || m.gate(css) {
							m.scan(css, count)
						}
					}
				}
			})
		}
	}
	for _, m := range impls {
		b.Run("gate="+m.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				for _, css := range all {
					m.gate(css)
				}
			}
		})
	}
}

// BenchmarkCSSURLsDense scans texts that are all stops, where the fast
// scan's per-stop IndexByte costs more than the reference's byte loop:
// it stays linear, within a few times the reference's time.
func BenchmarkCSSURLsDense(b *testing.B) {
	for _, unit := range []string{"(", "@", `"`, "/", `"a` + "\n", "url(a)", `\75`} {
		css := []byte(strings.Repeat(unit, 256<<10/len(unit)))
		for _, m := range []struct {
			name string
			scan func([]byte, func([]byte) bool)
		}{{"fast", forEachCSSURL}, {"ref", refForEachCSSURL}} {
			b.Run(fmt.Sprintf("unit=%q/%s", unit, m.name), func(b *testing.B) {
				b.SetBytes(int64(len(css)))
				for b.Loop() {
					m.scan(css, func([]byte) bool { return true })
				}
			})
		}
	}
}
