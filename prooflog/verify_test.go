package prooflog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// buildLog writes n decisions with the test key and closes the sink.
func buildLog(t testing.TB, n int, edit func(*FileConfig)) string {
	t.Helper()
	dir := t.TempDir()
	s := newTestSink(t, dir, edit)
	appendN(t, s, 0, n)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestVerifyFindsTampering(t *testing.T) {
	other, _ := GenerateSigningKey()
	tests := []struct {
		name     string
		tamper   func(t *testing.T, lines [][]byte) [][]byte
		kind     BreakKind
		line     int
		keys     []PublicKey
		sentinel error
	}{
		{
			name: "an edited record",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				l[3] = bytes.Replace(l[3], []byte(`"marketing":false`), []byte(`"marketing":true`), 1)
				return l
			},
			kind: BreakEdited, line: 4,
		},
		{
			name:   "a deleted record",
			tamper: func(t *testing.T, l [][]byte) [][]byte { return slices.Delete(l, 3, 4) },
			kind:   BreakDeleted, line: 4,
		},
		{
			name: "two records swapped",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				l[3], l[4] = l[4], l[3]
				return l
			},
			kind: BreakReordered, line: 4,
		},
		{
			name: "a forged record inserted",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				e, _ := ParseEntry(l[3])
				forged := &Entry{Kind: KindDecision, Decision: e.Decision}
				forged.Decision.ConsentID = "forged"
				h := chainHead{seq: e.Seq, hash: HashLine(l[3])}
				line, err := h.next(forged, e.At())
				if err != nil {
					t.Fatal(err)
				}
				return slices.Insert(l, 4, line)
			},
			kind: BreakInserted, line: 5,
		},
		{
			name:   "a record duplicated",
			tamper: func(t *testing.T, l [][]byte) [][]byte { return slices.Insert(l, 4, l[3]) },
			kind:   BreakInserted, line: 5,
		},
		{
			name: "a forged checkpoint signature",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				last := len(l) - 1
				e, err := ParseEntry(l[last])
				if err != nil {
					t.Fatal(err)
				}
				sig := ed25519.Sign(other.priv, e.Checkpoint.signedMessage(e.Time, e.V))
				l[last] = bytes.Replace(l[last], []byte(e.Checkpoint.Sig), []byte(base64.StdEncoding.EncodeToString(sig)), 1)
				return l
			},
			kind: BreakBadSignature, sentinel: ErrBadSignature,
		},
		{
			name:     "a checkpoint verified with the wrong key",
			tamper:   func(t *testing.T, l [][]byte) [][]byte { return l },
			keys:     []PublicKey{other.Public()},
			kind:     BreakUnknownKey,
			sentinel: ErrUnknownKey,
		},
		{
			name:   "a torn last line",
			tamper: func(t *testing.T, l [][]byte) [][]byte { return append(l, []byte(`{"v":1`)) },
			kind:   BreakTorn,
		},
		{
			name: "a line that is not an entry",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				l[2] = []byte("{}\n")
				return l
			},
			kind: BreakCorrupt, line: 3,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := buildLog(t, 6, nil)
			file := logFiles(t, dir)[0]
			lines := readLines(t, file)
			writeLines(t, file, tc.tamper(t, lines))
			keys := tc.keys
			if keys == nil {
				keys = []PublicKey{testKey().Public()}
			}
			src, err := OpenDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Verify(context.Background(), src, VerifyOptions{Keys: keys})
			var ce *ChainError
			if !errors.As(err, &ce) || !errors.Is(err, ErrBroken) {
				t.Fatalf("Verify = %v, want a *ChainError wrapping ErrBroken", err)
			}
			if ce.Kind != tc.kind {
				t.Fatalf("break kind %s, want %s (%v)", ce.Kind, tc.kind, err)
			}
			if tc.line != 0 && (ce.Pos.Line != tc.line || ce.Pos.File != filepath.Base(file)) {
				t.Fatalf("break at %s, want %s:%d (%v)", ce.Pos, filepath.Base(file), tc.line, err)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Fatalf("Verify = %v, want it to wrap %v", err, tc.sentinel)
			}
		})
	}
}

func TestVerifyNeedsTheKeyForCheckpoints(t *testing.T) {
	dir := buildLog(t, 2, nil)
	src, _ := OpenDir(dir)
	_, err := Verify(context.Background(), src, VerifyOptions{})
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Kind != BreakUnknownKey || !strings.Contains(err.Error(), "no public keys") {
		t.Fatalf("Verify without keys = %v, want an unknown key error saying no keys were given", err)
	}
}

func TestVerifyAcrossFiles(t *testing.T) {
	small := func(c *FileConfig) { c.RotateSize = 1500 }
	t.Run("a deleted middle file is a deletion", func(t *testing.T) {
		dir := buildLog(t, 30, small)
		files := logFiles(t, dir)
		if err := os.Remove(files[1]); err != nil {
			t.Fatal(err)
		}
		src, _ := OpenDir(dir)
		_, err := Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}})
		var ce *ChainError
		if !errors.As(err, &ce) || ce.Kind != BreakDeleted || ce.Pos.File != filepath.Base(files[2]) || ce.Pos.Line != 1 {
			t.Fatalf("Verify = %v, want a deletion at the first line of %s", err, filepath.Base(files[2]))
		}
	})
	t.Run("a deleted first file without a prune checkpoint is unanchored", func(t *testing.T) {
		dir := buildLog(t, 30, small)
		files := logFiles(t, dir)
		if err := os.Remove(files[0]); err != nil {
			t.Fatal(err)
		}
		src, _ := OpenDir(dir)
		_, err := Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}})
		var ce *ChainError
		if !errors.As(err, &ce) || ce.Kind != BreakUnanchored {
			t.Fatalf("Verify = %v, want an unanchored start", err)
		}
	})
	t.Run("a deleted last file is missing", func(t *testing.T) {
		dir := buildLog(t, 30, small)
		rep := verifyDir(t, dir)
		files := logFiles(t, dir)
		if err := os.Remove(files[len(files)-1]); err != nil {
			t.Fatal(err)
		}
		src, _ := OpenDir(dir)
		opts := VerifyOptions{Keys: []PublicKey{testKey().Public()}}
		_, err := Verify(context.Background(), src, opts)
		var ce *ChainError
		if !errors.As(err, &ce) || ce.Kind != BreakMissingFile {
			t.Fatalf("without a known head: %v, want a missing file", err)
		}
		opts.KnownHeads = []Head{*rep.LastCheckpoint}
		_, err = Verify(context.Background(), src, opts)
		if !errors.As(err, &ce) || ce.Kind != BreakDeleted {
			t.Fatalf("Verify with the last checkpoint as a known head = %v, want a deletion", err)
		}
	})
}

func TestVerifyWithRotatedKeys(t *testing.T) {
	k1, k2 := testKey(), mustKey(t)
	dir := t.TempDir()
	keys := &switchKey{}
	keys.set(k1)
	s := newTestSink(t, dir, func(c *FileConfig) { c.Keys = keys; c.CheckpointEvery = 3 })
	appendN(t, s, 0, 4)
	keys.set(k2)
	appendN(t, s, 4, 4)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	src, _ := OpenDir(dir)
	rep, err := Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{k1.Public(), k2.Public()}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.KeysUsed) != 2 {
		t.Fatalf("keys used %v, want both", rep.KeysUsed)
	}
	if _, err := Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{k2.Public()}}); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("without the old key: %v, want ErrUnknownKey", err)
	}
}

func TestOpenDirErrors(t *testing.T) {
	if _, err := OpenDir(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing dir: %v", err)
	}
	if _, err := OpenDir(t.TempDir()); !errors.Is(err, ErrNoLog) {
		t.Fatalf("empty dir: %v", err)
	}
	f := filepath.Join(t.TempDir(), "file")
	_ = os.WriteFile(f, nil, 0o600)
	if _, err := OpenDir(f); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("a file: %v", err)
	}
}

func TestVerifyReportIsJSON(t *testing.T) {
	rep := verifyDir(t, buildLog(t, 3, nil))
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
}

func mustKey(t testing.TB) *SigningKey {
	k, err := GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// switchKey is a KeySource whose key a test can change (a rotation).
type switchKey struct{ k atomic.Pointer[SigningKey] }

func (s *switchKey) set(k *SigningKey) { s.k.Store(k) }

func (s *switchKey) SigningKey(context.Context) (*SigningKey, error) { return s.k.Load(), nil }
