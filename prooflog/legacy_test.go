package prooflog

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// v1Lines writes a log as schema version 1 wrote it: texts, n decisions
// and, when closed, a version 1 close checkpoint.
func v1Lines(t *testing.T, n int, closed bool) [][]byte {
	t.Helper()
	h := emptyHead()
	var lines [][]byte
	add := func(e *Entry, at time.Time) {
		e.V = 1
		e.Seq = h.seq + 1
		e.Time = formatTime(at)
		e.Prev = h.hash
		line, err := encodeEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseEntry(line); err != nil {
			t.Fatalf("a version 1 line does not parse: %v", err)
		}
		h = chainHead{seq: e.Seq, hash: HashLine(line)}
		lines = append(lines, line)
	}
	at := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	add(textsEntry(testTexts, testTexts.Hash()), at)
	for i := range n {
		r := testRecord(i)
		_ = r.Validate()
		add(decisionEntry(r), at)
	}
	if closed {
		k := testKey()
		c := &Checkpoint{Reason: ReasonClose, HeadSeq: h.seq, HeadHash: h.hash, KeyID: k.ID(), Alg: AlgEd25519}
		c.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(k.priv, c.signedMessage(formatTime(at), 1)))
		add(&Entry{Kind: KindCheckpoint, Checkpoint: c}, at)
	}
	return lines
}

func TestAVersion1LogVerifiesAsALegacySegmentAndTheWriterContinuesIt(t *testing.T) {
	dir := t.TempDir()
	writeLines(t, filepath.Join(dir, "consent-2026-11-01T09-00-00.000.jsonl"), v1Lines(t, 4, true))
	rep := verifyDir(t, dir)
	if rep.Legacy == nil || rep.Legacy.FirstSeq != 1 || rep.Legacy.LastSeq != 6 || rep.Decisions != 4 || rep.UnsignedTail != 0 {
		t.Fatalf("report of a version 1 log: %+v (legacy %+v)", rep, rep.Legacy)
	}
	// The new writer continues the chain; its first checkpoint names the
	// last version 1 checkpoint.
	s := newTestSink(t, dir, func(c *FileConfig) { c.NoDailyRotation = true })
	appendN(t, s, 10, 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep = verifyDir(t, dir)
	if rep.Legacy == nil || rep.Legacy.LastSeq != 6 || rep.Decisions != 7 || rep.Policy == nil {
		t.Fatalf("report after upgrading: %+v", rep)
	}
	src, _ := OpenDir(dir)
	got := 0
	_ = src.Scan(context.Background(), func(raw RawEntry) error {
		if e, err := ParseEntry(raw.Line); err == nil && e.Kind == KindCheckpoint && e.V >= 2 && e.Checkpoint.Reason == ReasonOpen {
			if e.Checkpoint.PrevCPSeq != 6 {
				t.Errorf("the open checkpoint names checkpoint %d, want the version 1 one at seq 6", e.Checkpoint.PrevCPSeq)
			}
			got++
		}
		return nil
	})
	if got != 1 {
		t.Fatalf("%d open checkpoints, want 1", got)
	}
}

func TestALogWithoutAnyCheckpointIsNotAPass(t *testing.T) {
	dir := t.TempDir()
	writeLines(t, filepath.Join(dir, "consent-2026-11-01T09-00-00.000.jsonl"), v1Lines(t, 3, false))
	src, _ := OpenDir(dir)
	_, err := Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}})
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Kind != BreakUnsigned {
		t.Fatalf("Verify = %v, want unsigned", err)
	}
}
