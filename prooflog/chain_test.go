package prooflog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// chainLines builds a small valid chain in memory: texts, decisions and a
// checkpoint.
func chainLines(t testing.TB, n int) [][]byte {
	t.Helper()
	h := emptyHead()
	var lines [][]byte
	add := func(e *Entry, at time.Time) {
		line, err := h.next(e, at)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
	}
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	add(textsEntry(testTexts, testTexts.Hash()), at)
	for i := range n {
		r := testRecord(i)
		_ = r.Validate()
		add(decisionEntry(r), r.Time)
	}
	add(checkpointEntry(h, at.Add(time.Hour), ReasonClose, nil, testKey(), cpMeta{}), at.Add(time.Hour))
	return lines
}

func TestHashLineIsSha256sumOfTheLine(t *testing.T) {
	line := chainLines(t, 1)[1]
	sum := sha256.Sum256(line)
	if HashLine(line) != hex.EncodeToString(sum[:]) {
		t.Fatal("HashLine differs from sha256 of the line with its newline")
	}
}

func TestEntriesChain(t *testing.T) {
	lines := chainLines(t, 3)
	prev := zeroHash
	for i, line := range lines {
		e, err := ParseEntry(line)
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if e.Seq != uint64(i+1) || e.Prev != prev {
			t.Fatalf("line %d: seq %d prev %s, want seq %d prev %s", i+1, e.Seq, e.Prev, i+1, prev)
		}
		prev = HashLine(line)
	}
}

func TestParseEntryRejects(t *testing.T) {
	good := chainLines(t, 1)[1]
	tests := []struct {
		name string
		line string
		want string
	}{
		{"a line without newline", strings.TrimSuffix(string(good), "\n"), "newline"},
		{"two lines", string(good) + string(good), "more than one line"},
		{"not JSON", "hello\n", "not a JSON entry"},
		{"an unknown field", strings.Replace(string(good), `{"v":3,`, `{"v":3,"x":1,`, 1), "unknown field"},
		{"another schema version", strings.Replace(string(good), `{"v":3,`, `{"v":4,`, 1), "schema version 4"},
		{"extra whitespace", strings.Replace(string(good), `"seq":2`, `"seq": 2`, 1), "canonical"},
		{"a local time", strings.Replace(string(good), `.000Z"`, `.000+01:00"`, 1), "time"},
		{"seq zero", strings.Replace(string(good), `"seq":2`, `"seq":0`, 1), "seq is 0"},
		{"a short prev hash", strings.Replace(string(good), `"prev":"`, `"prev":"ab`, 1)[:0] + `{"v":1,"seq":2,"kind":"decision","time":"2026-11-24T10:00:01.000Z","prev":"ab"}` + "\n", "prev"},
		{"a kind without its payload", strings.Replace(string(good), `"kind":"decision"`, `"kind":"texts"`, 1), "without a texts payload"},
		{"an unknown kind", strings.Replace(string(good), `"kind":"decision"`, `"kind":"gossip"`, 1), "unknown entry kind"},
		{"trailing data", strings.TrimSuffix(string(good), "\n") + "{}\n", "trailing data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEntry([]byte(tc.line))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseEntry = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseEntryChecksTheTextsHash(t *testing.T) {
	line := chainLines(t, 0)[0]
	bad := bytes.Replace(line, []byte("Alle ablehnen"), []byte("Alle ablehnen!"), 1)
	if _, err := ParseEntry(bad); err == nil || !strings.Contains(err.Error(), "hash") {
		t.Fatalf("ParseEntry of texts that do not match their hash = %v", err)
	}
}

// memSource serves lines from memory as one file.
type memSource [][]byte

func (m memSource) Scan(_ context.Context, fn func(RawEntry) error) error {
	for i, l := range m {
		if err := fn(RawEntry{Line: l, Pos: Position{File: "mem.jsonl", Line: i + 1}}); err != nil {
			return err
		}
	}
	return nil
}

func (memSource) Close() error { return nil }

func FuzzParseEntry(f *testing.F) {
	for _, l := range chainLines(f, 2) {
		f.Add(l)
	}
	f.Add([]byte("{}\n"))
	f.Add([]byte(`{"v":1,"seq":1,"kind":"checkpoint"}` + "\n"))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := ParseEntry(line)
		if err != nil {
			return
		}
		// Whatever parses is canonical: it re-encodes to the same bytes.
		again, err := encodeEntry(e)
		if err != nil || !bytes.Equal(again, line) {
			t.Fatalf("parsed line does not re-encode to itself: %q vs %q (%v)", line, again, err)
		}
	})
}

// FuzzVerifyRejectsAMutatedLine replaces one line of a valid chain with
// fuzzed bytes: unless they are the original bytes, Verify must fail, and
// it must never panic.
func FuzzVerifyRejectsAMutatedLine(f *testing.F) {
	lines := chainLines(f, 3)
	for i, l := range lines {
		f.Add(uint8(i), l)
		f.Add(uint8(i), bytes.Replace(l, []byte("true"), []byte("false"), 1))
	}
	keys := []PublicKey{testKey().Public()}
	f.Fuzz(func(t *testing.T, at uint8, line []byte) {
		i := int(at) % len(lines)
		mutated := make([][]byte, len(lines))
		copy(mutated, lines)
		mutated[i] = line
		_, err := Verify(context.Background(), memSource(mutated), VerifyOptions{Keys: keys})
		if bytes.Equal(line, lines[i]) {
			if err != nil {
				t.Fatalf("the original chain fails: %v", err)
			}
			return
		}
		if err == nil {
			t.Fatalf("line %d mutated to %q verifies", i+1, line)
		}
	})
}
