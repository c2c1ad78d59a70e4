package rewrite

import (
	"testing"

	"github.com/consentgate/consentgate/internal/testpages"
	"github.com/consentgate/consentgate/rules"
)

// BenchmarkRewrite measures the rewriter on real-world-like pages of 10 KB,
// 100 KB and 2 MB, written in 32 KB pieces as reverse_proxy does. MB/s is
// the page size over the time; allocs/op counts per page.
//
//	go test ./rewrite -run '^$' -bench Rewrite -benchmem
func BenchmarkRewrite(b *testing.B) {
	big, err := testpages.Sized(2 << 20)
	if err != nil {
		b.Fatal(err)
	}
	lite, err := testpages.Load("lite/index.html")
	if err != nil {
		b.Fatal(err)
	}
	home, err := testpages.Load("index.html")
	if err != nil {
		b.Fatal(err)
	}
	hooks := Page{
		Host:      "www.korenschoof.example",
		HeadEnd:   []byte(`<link rel="stylesheet" href="/.well-known/consent/banner.css"><script src="/.well-known/consent/banner.js" defer></script>`),
		BodyStart: []byte(`<div id="consent-banner"></div>`),
		// The gateway always offers the declaration.
		Declaration: func() []byte { return []byte(`<table></table>`) },
	}
	for _, bc := range []struct {
		name     string
		page     []byte
		accepted rules.Set
	}{
		{"10KB/none", lite, rules.OnlyNecessary},
		{"100KB/none", home, rules.OnlyNecessary},
		{"100KB/all", home, rules.AllSet},
		{"2MB/none", big, rules.OnlyNecessary},
	} {
		b.Run(bc.name, func(b *testing.B) {
			page := hooks
			page.Accepted = bc.accepted
			rw := New(discard{}, defaultConfig, page)
			b.SetBytes(int64(len(bc.page)))
			b.ReportAllocs()
			for b.Loop() {
				rw.Reset(discard{}, defaultConfig, page)
				for p := bc.page; len(p) > 0; {
					n := min(32<<10, len(p))
					if _, err := rw.Write(p[:n]); err != nil {
						b.Fatal(err)
					}
					p = p[n:]
				}
				if err := rw.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
