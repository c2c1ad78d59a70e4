package prooflog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The tamper table: every way the review and the classic attacks change a
// log someone controls the storage of, each verified without and with a
// witness, with the outcome SCHEMA.md ("Threat model") documents. pass
// means Verify cannot tell (documented as such); otherwise the break
// kinds that may be reported first.

// tamperLog is a log made by the sink, with a directory witness: an open
// checkpoint, texts, 23 decisions with a checkpoint every 5 entries, and
// (closed) the close checkpoint.
type tamperLog struct {
	dir, witness string
	rotated      bool
}

func buildTamperLog(t *testing.T, rotate, closeIt bool) *tamperLog {
	t.Helper()
	tl := &tamperLog{dir: filepath.Join(t.TempDir(), "log"), witness: filepath.Join(t.TempDir(), "witness"), rotated: rotate}
	s := newTestSink(t, tl.dir, func(c *FileConfig) {
		c.CheckpointEvery = 5
		c.Witnesses = []string{tl.witness}
		if rotate {
			c.RotateSize = 4000
		}
	})
	appendN(t, s, 0, 23)
	if closeIt {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		// Let the witness catch up, then stop as a crash would.
		if err := s.w.c.do(context.Background(), func() error { s.w.witnesses.close(); s.w.witnesses = nil; return nil }); err != nil {
			t.Fatal(err)
		}
		crash(t, s)
	}
	return tl
}

// lastFile returns the newest log file's path.
func (tl *tamperLog) lastFile(t *testing.T) string {
	files := logFiles(t, tl.dir)
	return files[len(files)-1]
}

// rechain renumbers and relinks lines from index from on, as someone
// without the key can: every entry's seq and prev recomputed (signed
// checkpoints cannot be, so they must be gone already).
func rechain(t *testing.T, lines [][]byte, from int) [][]byte {
	t.Helper()
	h := emptyHead()
	if from > 0 {
		prev, err := ParseEntry(lines[from-1])
		if err != nil {
			t.Fatal(err)
		}
		h = chainHead{seq: prev.Seq, hash: HashLine(lines[from-1])}
	}
	for i := from; i < len(lines); i++ {
		e, err := ParseEntry(lines[i])
		if err != nil {
			t.Fatalf("rechain: line %d: %v", i+1, err)
		}
		if e.Kind == KindCheckpoint {
			t.Fatalf("rechain: line %d is a checkpoint; delete it first", i+1)
		}
		line, err := h.next(e, e.At())
		if err != nil {
			t.Fatal(err)
		}
		lines[i] = line
	}
	return lines
}

func indexOf(t *testing.T, lines [][]byte, pred func(*Entry) bool, nth int) int {
	t.Helper()
	for i, l := range lines {
		if e, err := ParseEntry(l); err == nil && pred(e) {
			if nth == 0 {
				return i
			}
			nth--
		}
	}
	t.Fatal("no such entry")
	return -1
}

func isCP(reason string) func(*Entry) bool {
	return func(e *Entry) bool {
		return e.Kind == KindCheckpoint && (reason == "" || e.Checkpoint.Reason == reason)
	}
}

func isDecision(e *Entry) bool { return e.Kind == KindDecision }

func withoutCheckpoints(t *testing.T, lines [][]byte, from int) [][]byte {
	out := slices.Clone(lines[:from])
	for _, l := range lines[from:] {
		if e, err := ParseEntry(l); err == nil && e.Kind == KindCheckpoint {
			continue
		}
		out = append(out, l)
	}
	return out
}

type tamperCase struct {
	name            string
	rotate          bool // a log of several files
	open            bool // the gateway was not closed (crashed, or still running)
	tamper          func(t *testing.T, tl *tamperLog)
	without, withW  []BreakKind // nil: Verify passes
	needsWitness    bool        // documented: only a witness catches it
	undetectable    bool        // documented: nobody can tell (unsigned tail)
	restartGatewayA bool        // the gateway opens the tampered log before Verify
}

func editLast(t *testing.T, tl *tamperLog, fn func([][]byte) [][]byte) {
	f := tl.lastFile(t)
	writeLines(t, f, fn(readLines(t, f)))
}

var tamperCases = []tamperCase{
	{
		name: "(a) every entry after a checkpoint dropped",
		tamper: func(t *testing.T, tl *tamperLog) {
			editLast(t, tl, func(l [][]byte) [][]byte { return l[:indexOf(t, l, isCP(ReasonCount), 2)+1] })
		},
		withW: []BreakKind{BreakWitness}, needsWitness: true,
	},
	{
		name: "(b) a forged decision appended after the close checkpoint",
		tamper: func(t *testing.T, tl *tamperLog) {
			editLast(t, tl, func(l [][]byte) [][]byte { return appendForged(t, l) })
		},
		without: []BreakKind{BreakMissingCheckpoint}, withW: []BreakKind{BreakMissingCheckpoint},
	},
	{
		name: "(b) a forged decision appended to a log whose gateway is running or crashed",
		open: true,
		tamper: func(t *testing.T, tl *tamperLog) {
			editLast(t, tl, func(l [][]byte) [][]byte { return appendForged(t, l) })
		},
		undetectable: true,
	},
	{
		name: "(c) a covered decision edited, its checkpoint and all later ones deleted, the chain recomputed",
		tamper: func(t *testing.T, tl *tamperLog) {
			editLast(t, tl, func(l [][]byte) [][]byte {
				i := indexOf(t, l, isDecision, 1)
				l[i] = bytes.Replace(l[i], []byte(`"statistics":false`), []byte(`"statistics":true`), 1)
				l = withoutCheckpoints(t, l, i)
				return rechain(t, l, i)
			})
		},
		without: []BreakKind{BreakMissingCheckpoint}, withW: []BreakKind{BreakWitness, BreakMissingCheckpoint},
	},
	{
		name: "(c) a decision edited under the last checkpoint only, that checkpoint deleted, the chain recomputed",
		tamper: func(t *testing.T, tl *tamperLog) {
			editLast(t, tl, func(l [][]byte) [][]byte {
				l = l[:len(l)-1] // the close checkpoint
				i := len(l) - 1
				l[i] = bytes.Replace(l[i], []byte(`"preferences":false`), []byte(`"preferences":true`), 1)
				return rechain(t, l, i)
			})
		},
		withW: []BreakKind{BreakWitness}, needsWitness: true,
	},
	{
		name: "(d) the whole log rewritten without checkpoints",
		tamper: func(t *testing.T, tl *tamperLog) {
			editLast(t, tl, func(l [][]byte) [][]byte { return rechain(t, withoutCheckpoints(t, l, 0), 0) })
		},
		without: []BreakKind{BreakUnsigned}, withW: []BreakKind{BreakWitness},
	},
	{
		name: "(e) the newest file of a rotation set deleted", rotate: true,
		tamper: func(t *testing.T, tl *tamperLog) {
			if err := os.Remove(tl.lastFile(t)); err != nil {
				t.Fatal(err)
			}
		},
		without: []BreakKind{BreakMissingFile}, withW: []BreakKind{BreakWitness},
	},
	{
		name: "a middle file of a rotation set deleted", rotate: true,
		tamper: func(t *testing.T, tl *tamperLog) {
			if err := os.Remove(logFiles(t, tl.dir)[1]); err != nil {
				t.Fatal(err)
			}
		},
		without: []BreakKind{BreakDeleted, BreakMissingFile}, withW: []BreakKind{BreakDeleted, BreakMissingFile, BreakWitness},
	},
	{
		name: "the rotation checkpoint between two files deleted, the chain after it recomputed", rotate: true,
		tamper: func(t *testing.T, tl *tamperLog) {
			files := logFiles(t, tl.dir)
			first := readLines(t, files[0])
			first = first[:len(first)-1]
			writeLines(t, files[0], first)
			prev := first[len(first)-1]
			for _, f := range files[1:] {
				lines := append([][]byte{prev}, withoutCheckpoints(t, readLines(t, f), 0)...)
				lines = rechain(t, lines, 1)
				writeLines(t, f, lines[1:])
				prev = lines[len(lines)-1]
			}
		},
		without: []BreakKind{BreakMissingFile, BreakMissingCheckpoint}, withW: []BreakKind{BreakMissingFile, BreakMissingCheckpoint, BreakWitness},
	},
	{
		name: "(f) the first bytes of the last 15 complete lines corrupted, then the gateway restarted", open: true,
		restartGatewayA: true,
		tamper: func(t *testing.T, tl *tamperLog) {
			editLast(t, tl, func(l [][]byte) [][]byte {
				for i := len(l) - 15; i < len(l); i++ {
					l[i] = append([]byte("{\"v\":9"), l[i][6:]...)
				}
				return l
			})
		},
		without: []BreakKind{BreakDiscontinuity}, withW: []BreakKind{BreakDiscontinuity, BreakWitness},
	},
	{
		name: "(f) the first bytes of the last 15 complete lines corrupted, gateway not restarted", open: true,
		tamper: func(t *testing.T, tl *tamperLog) {
			editLast(t, tl, func(l [][]byte) [][]byte {
				for i := len(l) - 15; i < len(l); i++ {
					l[i] = append([]byte("XXXXXX"), l[i][6:]...)
				}
				return l
			})
		},
		without: []BreakKind{BreakCorrupt}, withW: []BreakKind{BreakCorrupt},
	},
	{
		name: "a decision edited",
		tamper: func(t *testing.T, tl *tamperLog) {
			editLast(t, tl, func(l [][]byte) [][]byte {
				i := indexOf(t, l, isDecision, 3)
				l[i] = bytes.Replace(l[i], []byte(`"marketing":false`), []byte(`"marketing":true`), 1)
				return l
			})
		},
		without: []BreakKind{BreakEdited}, withW: []BreakKind{BreakEdited},
	},
	{
		name: "a decision deleted",
		tamper: func(t *testing.T, tl *tamperLog) {
			editLast(t, tl, func(l [][]byte) [][]byte { i := indexOf(t, l, isDecision, 3); return slices.Delete(l, i, i+1) })
		},
		without: []BreakKind{BreakDeleted}, withW: []BreakKind{BreakDeleted},
	},
	{
		name: "a forged decision inserted",
		tamper: func(t *testing.T, tl *tamperLog) {
			editLast(t, tl, func(l [][]byte) [][]byte {
				i := indexOf(t, l, isDecision, 3)
				forged := appendForged(t, slices.Clone(l[:i+1]))
				return slices.Insert(l, i+1, forged[len(forged)-1])
			})
		},
		// The forged entry chains, so the first finding may be that it
		// overruns the checkpoint policy.
		without: []BreakKind{BreakInserted, BreakMissingCheckpoint}, withW: []BreakKind{BreakInserted, BreakMissingCheckpoint, BreakWitness},
	},
	{
		name: "two decisions reordered",
		tamper: func(t *testing.T, tl *tamperLog) {
			editLast(t, tl, func(l [][]byte) [][]byte { i := indexOf(t, l, isDecision, 3); l[i], l[i+1] = l[i+1], l[i]; return l })
		},
		without: []BreakKind{BreakReordered}, withW: []BreakKind{BreakReordered},
	},
	{
		name: "the file truncated in the middle of a line",
		tamper: func(t *testing.T, tl *tamperLog) {
			f := tl.lastFile(t)
			data, _ := os.ReadFile(f)
			lines := readLines(t, f)
			cut := len(bytes.Join(lines[:10], nil)) + 20
			if err := os.WriteFile(f, data[:cut], 0o600); err != nil {
				t.Fatal(err)
			}
		},
		without: []BreakKind{BreakTorn}, withW: []BreakKind{BreakTorn},
	},
	{
		name: "a forged checkpoint signature",
		tamper: func(t *testing.T, tl *tamperLog) {
			other, _ := GenerateSigningKey()
			editLast(t, tl, func(l [][]byte) [][]byte {
				i := indexOf(t, l, isCP(ReasonCount), 1)
				e, _ := ParseEntry(l[i])
				sig := ed25519.Sign(other.priv, e.Checkpoint.signedMessage(e.Time, e.V))
				l[i] = bytes.Replace(l[i], []byte(e.Checkpoint.Sig), []byte(base64.StdEncoding.EncodeToString(sig)), 1)
				return l
			})
		},
		without: []BreakKind{BreakBadSignature}, withW: []BreakKind{BreakBadSignature, BreakWitness},
	},
	{
		name: "a signature swapped in from another checkpoint",
		tamper: func(t *testing.T, tl *tamperLog) {
			editLast(t, tl, func(l [][]byte) [][]byte {
				i, j := indexOf(t, l, isCP(ReasonCount), 1), indexOf(t, l, isCP(ReasonCount), 2)
				a, _ := ParseEntry(l[i])
				b, _ := ParseEntry(l[j])
				l[i] = bytes.Replace(l[i], []byte(a.Checkpoint.Sig), []byte(b.Checkpoint.Sig), 1)
				return l
			})
		},
		without: []BreakKind{BreakBadSignature}, withW: []BreakKind{BreakBadSignature, BreakWitness},
	},
}

// appendForged appends a decision that chains to the last line, as anyone
// with write access can make.
func appendForged(t *testing.T, l [][]byte) [][]byte {
	t.Helper()
	last, err := ParseEntry(l[len(l)-1])
	if err != nil {
		t.Fatal(err)
	}
	r := testRecord(99)
	r.ConsentID = "forged"
	_ = r.Validate()
	h := chainHead{seq: last.Seq, hash: HashLine(l[len(l)-1])}
	line, err := h.next(decisionEntry(r), r.Time)
	if err != nil {
		t.Fatal(err)
	}
	return append(l, line)
}

func TestTamperTable(t *testing.T) {
	keys := []PublicKey{testKey().Public()}
	for _, tc := range tamperCases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needsWitness && (tc.without != nil || tc.withW == nil) || tc.undetectable && (tc.without != nil || tc.withW != nil) {
				t.Fatal("the table contradicts itself: a case that needs a witness fails only with one; an undetectable one never fails")
			}
			tl := buildTamperLog(t, tc.rotate, !tc.open)
			if n := len(logFiles(t, tl.dir)); tc.rotate && n < 3 {
				t.Fatalf("the rotated log has %d files, want at least 3", n)
			}
			witnessed, err := ReadWitness(context.Background(), tl.witness)
			if err != nil || len(witnessed) < 4 {
				t.Fatalf("witness holds %d checkpoints (%v), want every one", len(witnessed), err)
			}
			// Untouched, the log verifies with and without the witness.
			src, _ := OpenDir(tl.dir)
			if _, err := Verify(context.Background(), src, VerifyOptions{Keys: keys, Witnessed: witnessed}); err != nil {
				t.Fatalf("the untouched log does not verify: %v", err)
			}
			tc.tamper(t, tl)
			if tc.restartGatewayA {
				s := newTestSink(t, tl.dir, nil)
				if _, err := s.Open(context.Background()); err != nil {
					t.Fatalf("restarting the gateway: %v", err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
			}
			for _, w := range []struct {
				name      string
				witnessed [][]byte
				want      []BreakKind
			}{{"without a witness", nil, tc.without}, {"with the witness", witnessed, tc.withW}} {
				src, err := OpenDir(tl.dir)
				if err != nil {
					t.Fatal(err)
				}
				rep, err := Verify(context.Background(), src, VerifyOptions{Keys: keys, Witnessed: w.witnessed})
				var ce *ChainError
				switch {
				case w.want == nil && err != nil:
					t.Errorf("%s: Verify = %v, want it to pass (documented as not detectable %s)", w.name, err, w.name)
				case w.want == nil && tc.undetectable && rep.UnsignedTail == 0:
					t.Errorf("%s: the forged tail is not reported as unsigned: %+v", w.name, rep)
				case w.want != nil && !errors.As(err, &ce):
					t.Errorf("%s: Verify = %v, want one of %v", w.name, err, w.want)
				case w.want != nil && !slices.Contains(w.want, ce.Kind):
					t.Errorf("%s: Verify = %v (%s), want one of %v", w.name, err, ce.Kind, w.want)
				case w.want != nil && !errors.Is(err, ErrBroken):
					t.Errorf("%s: %v does not wrap ErrBroken", w.name, err)
				}
			}
		})
	}
}

// FuzzVerifyNeverPanics verifies arbitrary bytes as the last file of a
// real log (with a discontinuity-style successor file): Verify must answer
// with a report or a *ChainError, never panic or pass garbage.
func FuzzVerifyNeverPanics(f *testing.F) {
	base := f.TempDir()
	s := newTestSink(f, base, func(c *FileConfig) { c.CheckpointEvery = 3 })
	appendN(f, s, 0, 5)
	_ = s.Close()
	files := logFiles(f, base)
	good := bytes.Join(readLines(f, files[len(files)-1]), nil)
	f.Add(good, []byte{})
	f.Add(good[:len(good)/2], []byte("x\n"))
	f.Add(append(append([]byte{}, good...), "junk\n"...), []byte(`{"v":2}`+"\n"))
	keys := []PublicKey{testKey().Public()}
	f.Fuzz(func(t *testing.T, last, next []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "consent-2026-01-01T00-00-00.000.jsonl"), last, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "consent-2026-01-02T00-00-00.000.jsonl"), next, 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(context.Background(), src, VerifyOptions{Keys: keys})
		var ce *ChainError
		switch {
		case err == nil && rep == nil:
			t.Fatal("no report and no error")
		case err != nil && !errors.As(err, &ce):
			t.Fatalf("not a ChainError: %v", err)
		case err == nil && rep.Entries > 0 && rep.Checkpoints == 0:
			t.Fatalf("entries passed without a checkpoint: %+v", rep)
		}
	})
}
