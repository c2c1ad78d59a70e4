package prooflog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testSeed makes the test signing key deterministic.
var testSeed = bytes.Repeat([]byte{7}, ed25519.SeedSize)

func testKey() *SigningKey { return NewSigningKey(ed25519.NewKeyFromSeed(testSeed)) }

var testTexts = &Texts{Language: "de", Strings: map[string]string{
	"title":  "Wir verwenden Cookies",
	"accept": "Alle akzeptieren",
	"reject": "Alle ablehnen",
}}

// testRecord returns a valid record; i varies the consent ID and choices.
func testRecord(i int) *Record {
	return &Record{
		ConsentID: fmt.Sprintf("c-%06d", i),
		Time:      time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
		Categories: Categories{
			{Name: "necessary", Granted: true},
			{Name: "statistics", Granted: i%2 == 0},
			{Name: "preferences", Granted: i%3 == 0},
			{Name: "marketing", Granted: i%4 == 0},
			{Name: "unclassified", Granted: false},
		},
		Method:        MethodSettings,
		PolicyVersion: "2026-11",
		Language:      "de",
		Origin:        "https://shop.example",
		Path:          "/checkout",
		MaskedIP:      "203.0.113.0",
		UAHash:        "uahash",
		UAKeyID:       "ua1",
		GPC:           i%5 == 0,
		Texts:         testTexts,
	}
}

// clock is a settable time source for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newTestSink opens a file sink on dir with the test key; edit tweaks the
// config first. It is closed at the end of the test.
func newTestSink(t testing.TB, dir string, edit func(*FileConfig)) *FileSink {
	t.Helper()
	cfg := FileConfig{Dir: dir, Keys: testKey()}
	if edit != nil {
		edit(&cfg)
	}
	s, err := NewFileSink(cfg)
	if err != nil {
		t.Fatalf("NewFileSink: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func appendN(t testing.TB, s interface {
	Append(context.Context, *Record) error
}, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := s.Append(context.Background(), testRecord(i)); err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
	}
}

// verifyDir verifies dir with the test key and fails the test on error.
func verifyDir(t testing.TB, dir string) *VerifyReport {
	t.Helper()
	src, err := OpenDir(dir)
	if err != nil {
		t.Fatalf("OpenDir: %v", err)
	}
	rep, err := Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

// logFiles lists dir's log files with full paths.
func logFiles(t testing.TB, dir string) []string {
	t.Helper()
	names, err := listLogFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range names {
		names[i] = filepath.Join(dir, names[i])
	}
	return names
}

// readLines returns the lines of a file, newlines kept.
func readLines(t testing.TB, path string) [][]byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(data, []byte{'\n'})[:bytes.Count(data, []byte{'\n'})]
}

func writeLines(t testing.TB, path string, lines [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

// decisionSeqs returns the seq of each decision in src, by consent ID.
func decisionSeqs(t testing.TB, src Source) map[string]uint64 {
	t.Helper()
	have := map[string]uint64{}
	err := src.Scan(context.Background(), func(raw RawEntry) error {
		e, err := ParseEntry(raw.Line)
		if err != nil {
			return err
		}
		if e.Kind == KindDecision {
			have[e.Decision.ConsentID] = e.Seq
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the log's decisions: %v", err)
	}
	return have
}
