package rewrite

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/internal/testpages"
	"github.com/consentgate/consentgate/rules"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGoldenPages rewrites the demo site's pages and compares the result with
// the reviewed output in testdata/golden (regenerate with -update and read
// the diff).
func TestGoldenPages(t *testing.T) {
	pages := []string{"index.html", "hello-world/index.html", "privacy/index.html", "404.html", "lite/index.html"}
	page := Page{
		Accepted:    rules.OnlyNecessary,
		Host:        "www.korenschoof.example",
		HeadStart:   []byte(`<script src="/.well-known/consent/consent-mode.js"></script>`),
		HeadEnd:     []byte(`<link rel="stylesheet" href="/.well-known/consent/banner.css"><script src="/.well-known/consent/banner.js" defer></script>`),
		BodyStart:   []byte(`<div id="consent-banner"></div>`),
		Declaration: func() []byte { return []byte(`<table><tr><th>Cookie</th></tr></table>`) },
	}
	for _, name := range pages {
		t.Run(name, func(t *testing.T) {
			in, err := testpages.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := rewriteAll(t, defaultConfig, page, string(in))
			assertNothingLive(t, got)
			golden := filepath.Join("testdata", "golden", strings.ReplaceAll(name, "/", "_"))
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./rewrite -run TestGoldenPages -update and review the diff)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s; rerun with -update and review the diff", golden)
			}
			all := page
			all.Accepted = rules.AllSet
			all.HeadStart, all.HeadEnd, all.BodyStart, all.Declaration = nil, nil, nil, nil
			if out, _ := rewriteChunks(t, defaultConfig, all, string(in), 0); out != string(in) {
				t.Errorf("with everything accepted and no hooks the page is not byte-identical")
			}
		})
	}
}

// TestTenMegabytePageNeedsLittleMemory checks that memory stays bounded by
// the largest element held, not by the page: a 10 MB page written in 32 KB
// writes allocates well under 2 MB in all.
func TestTenMegabytePageNeedsLittleMemory(t *testing.T) {
	page, err := testpages.Sized(10 << 20)
	if err != nil {
		t.Fatal(err)
	}
	rw := New(discard{}, defaultConfig, Page{Accepted: rules.OnlyNecessary, Host: "www.korenschoof.example"})
	allocated := testing.AllocsPerRun(1, func() {}) // warm the testing machinery
	_ = allocated
	var before, after runtimeMem
	before.read()
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
	after.read()
	if extra := after.totalAlloc - before.totalAlloc; extra > 2<<20 {
		t.Fatalf("rewriting a %d-byte page allocated %d bytes; want under 2 MiB", len(page), extra)
	}
	if held := cap(rw.carry) + cap(rw.out) + cap(rw.edit); held > 256<<10 {
		t.Fatalf("rewriter holds %d bytes of buffers after a 10 MB page", held)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func TestDemoPagesCarryEveryRequiredTracker(t *testing.T) {
	in, err := testpages.Load("index.html")
	if err != nil {
		t.Fatal(err)
	}
	_, rec := rewriteAll(t, defaultConfig, Page{Accepted: rules.OnlyNecessary, Host: "www.korenschoof.example"}, string(in))
	post, err := testpages.Load("hello-world/index.html")
	if err != nil {
		t.Fatal(err)
	}
	_, rec2 := rewriteAll(t, defaultConfig, Page{Accepted: rules.OnlyNecessary, Host: "www.korenschoof.example"}, string(post))
	seen := map[string]bool{}
	for _, e := range append(rec.events, rec2.events...) {
		if e.Vendor != nil {
			seen[e.Vendor.ID] = true
		}
	}
	for _, v := range []string{"google-analytics", "google-tag-manager", "hotjar", "meta-pixel", "youtube", "google-fonts", "gravatar", "wordpress-emoji"} {
		if !seen[v] {
			t.Errorf("the demo pages neutralise nothing of %s", v)
		}
	}
	if bytes.Contains(in, []byte("data-consent-")) {
		t.Error("the demo page already carries consent attributes")
	}
}
