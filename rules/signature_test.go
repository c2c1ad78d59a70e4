package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/internal/testpages"
)

// naiveScan is the definition sigMatcher.scan implements: every position
// at or after from, every signature in rule order; each signature once, at
// its first occurrence; in order of where they start.
func naiveScan(sigs []*signature, body []byte, from int) []*signature {
	var out []*signature
	seen := map[*signature]bool{}
	for start := max(from, 0); start < len(body); start++ {
		for _, s := range sigs {
			if seen[s] || !hasLitAt(body, start, s.lit) {
				continue
			}
			if s.ident && start > 0 && isIdentByte(body[start-1]) {
				continue
			}
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// hasLitAt reports whether lit occurs in body at start (without copying
// the rest of body into a string).
func hasLitAt(body []byte, start int, lit string) bool {
	return start >= 0 && len(body)-start >= len(lit) && string(body[start:start+len(lit)]) == lit
}

func scanned(m *sigMatcher, body []byte, from int) []*signature {
	var out []*signature
	m.scan(body, from, func(s *signature) { out = append(out, s) })
	return out
}

func oldMatcher(rs *Ruleset) *oldSigMatcher {
	old := &oldSigMatcher{}
	for _, s := range rs.sigs.ordered {
		old.add(s)
	}
	return old
}

// sigSet is the sorted, de-duplicated literals of sigs.
func sigSet(sigs []*signature) string {
	var l []string
	for _, s := range sigs {
		l = append(l, s.lit)
	}
	slices.Sort(l)
	return strings.Join(slices.Compact(l), " | ")
}

func names(sigs []*signature) string {
	var l []string
	for _, s := range sigs {
		l = append(l, s.lit)
	}
	return strings.Join(l, " | ")
}

func testMatcher(t testing.TB, lits ...string) *sigMatcher {
	t.Helper()
	m := &sigMatcher{}
	for i, l := range lits {
		s, err := parseSignature(l)
		if err != nil {
			t.Fatal(err)
		}
		s.order = i
		m.add(&s)
	}
	m.build()
	return m
}

func TestSigMatcher(t *testing.T) {
	m := testMatcher(t, "ga(", "gtag(", "fbq(", "googletag", "googletag.cmd", "aaa", "'gtm.start'", "_paq")
	for _, tt := range []struct {
		body string
		from int
		want string
	}{
		{"", 0, ""},
		{"ga", 0, ""},
		{"ga(", 0, "ga("},
		{"xga(", 0, ""},      // identifier boundary
		{".ga(", 0, "ga("},   // at an odd position
		{"  .ga(", 0, "ga("}, // at an even one
		{"omega(1); ga(2)", 0, "ga("},
		{"fbq(1); ga(2); fbq(3)", 0, "fbq( | ga("},
		{"ga(2); fbq(3)", 3, "fbq("},
		{"ga(2); fbq(3)", 1, "fbq("}, // a match starting before from is not one
		{"x.ga(", 2, "ga("},          // the byte before from still decides the boundary
		{"xga(", 1, ""},
		{"googletag.cmd.push(gtag(", 0, "googletag | googletag.cmd | gtag("},
		{"aaaa", 0, "aaa"},
		{"_paq.push(['a']);{'gtm.start':1}", 0, "_paq | 'gtm.start'"},
		{"gtag(1)", 100, ""},
		{"gtag(1)", -5, "gtag("},
		{"gta", 0, ""},
	} {
		t.Run(fmt.Sprintf("%q@%d", tt.body, tt.from), func(t *testing.T) {
			got := names(scanned(m, []byte(tt.body), tt.from))
			if got != tt.want {
				t.Errorf("scan = %q, want %q", got, tt.want)
			}
			if want := names(naiveScan(m.ordered, []byte(tt.body), tt.from)); got != want {
				t.Errorf("scan = %q, the definition gives %q", got, want)
			}
		})
	}
}

// corpusScripts returns the contents of every <script> element of the
// corpus pages, whatever its type.
func corpusScripts(t testing.TB) [][]byte {
	t.Helper()
	script := regexp.MustCompile(`(?s)<script(?:\s[^>]*)?>(.*?)</script>`)
	var scripts [][]byte
	for _, p := range testpages.Corpus(t) {
		for _, m := range script.FindAllSubmatch(p.Body, -1) {
			if len(m[1]) > 0 {
				scripts = append(scripts, m[1])
			}
		}
	}
	return scripts
}

// TestSigMatcherOnCorpusScripts holds the matcher to its definition and to
// the matcher it replaced on every script of the corpus pages, with the
// signatures of both tiers: the same signatures found, the first one
// (which the rewriter names the script's vendor) the same, and the same
// found when the script arrives in pieces as the rewriter scans it.
func TestSigMatcherOnCorpusScripts(t *testing.T) {
	scripts := corpusScripts(t)
	rs := bothTiers(t)
	old := oldMatcher(rs)
	withSigs := 0
	for i, body := range scripts {
		got := scanned(&rs.sigs, body, 0)
		if want := naiveScan(rs.sigs.ordered, body, 0); names(got) != names(want) {
			t.Errorf("script %d: scan = %q, the definition gives %q", i, names(got), names(want))
		}
		var before []*signature
		old.scan(body, 0, func(s *signature) { before = append(before, s) })
		if sigSet(got) != sigSet(before) {
			t.Errorf("script %d: found %q, the old matcher %q", i, sigSet(got), sigSet(before))
		}
		if len(got) > 0 {
			withSigs++
			if got[0].vendor != before[0].vendor {
				t.Errorf("script %d: first vendor %s, the old matcher's %s", i, got[0].vendor.ID, before[0].vendor.ID)
			}
		}
		// In pieces, as the rewriter scans a script that is still
		// arriving.
		var pieces []*signature
		prev := 0
		for end := 0; end < len(body); {
			end = min(len(body), end+1000)
			pieces = append(pieces, scanned(&rs.sigs, body[:end], max(prev-rs.InlineOverlap(), 0))...)
			prev = end
		}
		if sigSet(pieces) != sigSet(got) {
			t.Errorf("script %d: in pieces found %q, whole %q", i, sigSet(pieces), sigSet(got))
		}
	}
	t.Logf("%d scripts, %d with signatures", len(scripts), withSigs)
	if withSigs == 0 {
		t.Error("no signature found on the corpus: is the matcher broken?")
	}
}

// FuzzSigMatcher holds the matcher to its definition and to the matcher it
// replaced on arbitrary script bodies, with the default signatures.
func FuzzSigMatcher(f *testing.F) {
	rs := bothTiers(f)
	old := oldMatcher(rs)
	for _, s := range []string{
		`gtag('js', new Date()); fbq('init','1');`,
		`(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime()})`,
		`omega(1); _paq.push(['trackPageView']); window.ga('send')`,
		`xfbq(fbq(ga(ga(`,
	} {
		f.Add(s, 0)
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, body string, from int) {
		b := []byte(body)
		got := scanned(&rs.sigs, b, from)
		if want := naiveScan(rs.sigs.ordered, b, from); names(got) != names(want) {
			t.Fatalf("scan(%q, %d) = %q, the definition gives %q", body, from, names(got), names(want))
		}
		if from != 0 {
			return
		}
		var before []*signature
		old.scan(b, 0, func(s *signature) { before = append(before, s) })
		if sigSet(got) != sigSet(before) {
			t.Fatalf("scan(%q) found %q, the old matcher %q", body, sigSet(got), sigSet(before))
		}
	})
}

// BenchmarkSigMatcher times the new and the old matcher in alternation on
// the corpus pages' scripts (a busy machine slows both alike); MB/s is of
// the two together, new-MB/s and old-MB/s are each one's fastest pass.
//
//	go test ./rules -run '^$' -bench SigMatcher -count 6
func BenchmarkSigMatcher(b *testing.B) {
	scripts := corpusScripts(b)
	size := 0
	for _, s := range scripts {
		size += len(s)
	}
	rs := bothTiers(b)
	old := oldMatcher(rs)
	scans := [2]func([]byte){
		func(s []byte) { rs.sigs.scan(s, 0, func(*signature) {}) },
		func(s []byte) { old.scan(s, 0, func(*signature) {}) },
	}
	b.SetBytes(int64(2 * size))
	var fastest [2]float64
	for b.Loop() {
		for k := range 2 {
			start := time.Now()
			for _, s := range scripts {
				scans[k](s)
			}
			if d := float64(time.Since(start).Nanoseconds()); fastest[k] == 0 || d < fastest[k] {
				fastest[k] = d
			}
		}
	}
	b.ReportMetric(float64(size)/fastest[0]*1e3, "new-MB/s")
	b.ReportMetric(float64(size)/fastest[1]*1e3, "old-MB/s")
}
