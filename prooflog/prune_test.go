package prooflog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// appendAt appends n records timed by clk.
func appendAt(t *testing.T, s *FileSink, clk *clock, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		r := testRecord(i)
		r.Time = clk.Now()
		if err := s.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPruneRemovesOldFilesAndLeavesAVerifiableLog(t *testing.T) {
	dir := t.TempDir()
	clk := newClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	s := newTestSink(t, dir, nil)
	s.w.now = clk.Now
	for day := range 5 {
		appendAt(t, s, clk, day*10, 3)
		clk.Add(24 * time.Hour)
	}
	files := logFiles(t, dir)
	if len(files) != 5 {
		t.Fatalf("%d files, want one per day", len(files))
	}
	// Keep the last two days.
	rep, err := s.Prune(context.Background(), clk.Now().Add(-48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.RemovedFiles) != 3 || rep.Cut == nil || rep.Checkpoint == nil {
		t.Fatalf("prune report %+v, want 3 files removed with a cut", rep)
	}
	if left := logFiles(t, dir); len(left) != 2 || left[0] != files[3] {
		t.Fatalf("files left %v", left)
	}
	vr := verifyDir(t, dir)
	if vr.Anchor == nil || *vr.Anchor != *rep.Cut {
		t.Fatalf("verify anchor %+v, want the cut %+v", vr.Anchor, rep.Cut)
	}
	if vr.Decisions != 6 || len(vr.MissingTexts) != 0 {
		t.Fatalf("after pruning: %+v", vr)
	}
	// Nothing old enough: nothing removed, nothing written.
	again, err := s.Prune(context.Background(), clk.Now().Add(-48*time.Hour))
	if err != nil || again.Cut != nil {
		t.Fatalf("second prune: %+v, %v", again, err)
	}
	// Removing another file by hand is still caught.
	if err := os.Remove(logFiles(t, dir)[0]); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "consent-2999-01-01T00-00-00.000.jsonl"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	src, _ := OpenDir(dir)
	_, err = Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}})
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Kind != BreakUnanchored {
		t.Fatalf("Verify after removing a file by hand = %v, want unanchored", err)
	}
}

func TestPruneByDirectoryUsesTheRunningWriter(t *testing.T) {
	dir := t.TempDir()
	clk := newClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	s := newTestSink(t, dir, func(c *FileConfig) { c.CheckpointEvery = 7 })
	s.w.now = clk.Now
	appendAt(t, s, clk, 0, 2)
	clk.Add(72 * time.Hour)
	appendAt(t, s, clk, 2, 2)
	rep, err := Prune(context.Background(), dir, testKey(), clk.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.RemovedFiles) != 1 {
		t.Fatalf("report %+v", rep)
	}
	if got := s.w.config().CheckpointEvery; got != 7 {
		t.Fatalf("Prune's handle replaced the gateway's settings: checkpoint every %d", got)
	}
	appendN(t, s, 4, 1) // the gateway's handle still works
	verifyDir(t, dir)
}

func TestPruneOfAMissingDirectoryFails(t *testing.T) {
	_, err := Prune(context.Background(), filepath.Join(t.TempDir(), "nope"), testKey(), time.Now())
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Prune = %v, want not exist", err)
	}
}

func TestRetentionPrunesOnTick(t *testing.T) {
	dir := t.TempDir()
	clk := newClock(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC))
	s := newTestSink(t, dir, func(c *FileConfig) { c.Retention = 24 * time.Hour })
	s.w.now = clk.Now
	appendAt(t, s, clk, 0, 2)
	clk.Add(72 * time.Hour)
	appendAt(t, s, clk, 2, 2)
	_ = s.w.c.do(context.Background(), func() error { s.w.tick(); return nil })
	if n := len(logFiles(t, dir)); n != 1 {
		t.Fatalf("%d files after retention, want 1", n)
	}
	verifyDir(t, dir)
}
