package rewrite

import (
	"bytes"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

// pathologicalPages are inputs that once cost time or memory in
// proportion to their square or their size (issue 13, class 8): a tag
// that never closes (29 s and 1.3 GB for 16 MiB before), a tag of
// 100,000 attributes, a giant comment and a giant attribute value.
func pathologicalPages(size int) map[string][]byte {
	fill := func(prefix, unit, suffix string) []byte {
		var b bytes.Buffer
		b.WriteString(prefix)
		for b.Len() < size {
			b.WriteString(unit)
		}
		b.WriteString(suffix)
		return b.Bytes()
	}
	return map[string][]byte{
		"unclosed img tag":       fill(`<p>x</p><img src="https://www.facebook.com/tr" alt="`, "a", ""),
		"unclosed div tag":       fill(`<div class=`, "b ", ""),
		"unclosed quoted values": fill(`<img `, `a=">" `, ""),
		"100000 attributes":      fill(`<img src="/a.png"`, ` data-x="1"`, `>`),
		"giant comment":          fill(`<!--`, "-- > ", `--><img src="https://www.facebook.com/tr">`),
		"giant attribute value":  fill(`<img src="https://www.facebook.com/tr" alt="`, "x", `">`),
		"giant end tag":          fill(`</p `, "y", ""),
	}
}

func writeIn32K(t testing.TB, rw *Rewriter, page []byte) {
	for p := page; len(p) > 0; {
		n := min(32<<10, len(p))
		if _, err := rw.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestPathologicalInputNeedsBoundedMemory checks that rewriting 16 MiB of
// each pathological input allocates no more than a few times max_hold,
// and that nothing they hide loads.
func TestPathologicalInputNeedsBoundedMemory(t *testing.T) {
	const maxHold = 256 << 10
	cfg := &Config{Rules: testRules, MaxHold: maxHold}
	for name, page := range pathologicalPages(16 << 20) {
		t.Run(name, func(t *testing.T) {
			rw := New(discard{}, cfg, Page{Accepted: rules.OnlyNecessary, Host: "www.example.com"})
			var before, after runtimeMem
			before.read()
			writeIn32K(t, rw, page)
			after.read()
			// The input is 16 MiB; what the rewriter allocates must not
			// grow with it: the held tag (up to max_hold, its buffer
			// doubling on the way) and the output buffer.
			if extra := after.totalAlloc - before.totalAlloc; extra > 6*maxHold+(1<<20) {
				t.Fatalf("allocated %d bytes for %d bytes of input", extra, len(page))
			}
			var out bytes.Buffer
			writeIn32K(t, New(&out, cfg, Page{Accepted: rules.OnlyNecessary, Host: "www.example.com"}), page)
			if live := liveTrackers(testRules, out.Bytes(), rules.OnlyNecessary); len(live) > 0 {
				t.Fatalf("live after rewriting: %v", live[:min(len(live), 3)])
			}
		})
	}
}

func TestOversizeTagsFailClosedOrPass(t *testing.T) {
	cfg := &Config{Rules: testRules, MaxHold: 64}
	page := Page{Accepted: rules.OnlyNecessary, Host: "www.example.com"}
	long := strings.Repeat("x", 100)
	for _, c := range []struct{ name, in, want string }{
		{"an img too long to hold loses its <", `<img alt="` + long + `" src="https://www.facebook.com/tr">`,
			`&lt;img alt="` + long + `" src="https://www.facebook.com/tr">`},
		{"a div too long to hold passes", `<div title="` + long + `">x</div>`, `<div title="` + long + `">x</div>`},
		{"a short img is decided", `<img src="https://www.facebook.com/tr">`,
			`<img data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-src="https://www.facebook.com/tr">`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			rw := New(&out, cfg, page)
			for p := []byte(c.in); len(p) > 0; {
				n := min(16, len(p))
				if _, err := rw.Write(p[:n]); err != nil {
					t.Fatal(err)
				}
				p = p[n:]
			}
			if err := rw.Close(); err != nil {
				t.Fatal(err)
			}
			if out.String() != c.want {
				t.Errorf("got  %s\nwant %s", out.String(), c.want)
			}
		})
	}
}

// BenchmarkPathological rewrites each pathological input of 1 and 16 MiB
// in 32 KiB writes: MB/s stays about the same from 1 to 16 MiB when time
// is linear in the input.
//
//	go test ./rewrite -run '^$' -bench Pathological -benchmem
func BenchmarkPathological(b *testing.B) {
	for _, size := range []int{1 << 20, 16 << 20} {
		for name, page := range pathologicalPages(size) {
			b.Run(name+"/"+map[int]string{1 << 20: "1MiB", 16 << 20: "16MiB"}[size], func(b *testing.B) {
				rw := New(discard{}, defaultConfig, Page{Accepted: rules.OnlyNecessary, Host: "www.example.com"})
				b.SetBytes(int64(len(page)))
				b.ReportAllocs()
				for b.Loop() {
					rw.Reset(discard{}, defaultConfig, Page{Accepted: rules.OnlyNecessary, Host: "www.example.com"})
					writeIn32K(b, rw, page)
				}
			})
		}
	}
}
