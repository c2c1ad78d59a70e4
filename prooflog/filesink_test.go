package prooflog

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConstructingASinkCreatesNoFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	s := newTestSink(t, dir, nil)
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("NewFileSink touched the disk: stat = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Close of an unused sink touched the disk: stat = %v", err)
	}
}

func TestAppendedRecordsChainAndVerify(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, dir, nil)
	r := testRecord(0)
	if err := s.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if r.Seq != 3 || r.Prev == "" {
		t.Fatalf("first record got seq %d prev %q; want seq 3 after the open checkpoint and its texts entry", r.Seq, r.Prev)
	}
	appendN(t, s, 1, 9)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep := verifyDir(t, dir)
	// The open checkpoint, 1 texts, 10 decisions, the close checkpoint.
	if rep.Entries != 13 || rep.Decisions != 10 || rep.Texts != 1 || rep.Checkpoints != 2 || rep.UnsignedTail != 0 {
		t.Fatalf("report %+v", rep)
	}
	lines := readLines(t, logFiles(t, dir)[0])
	if !bytes.Contains(lines[len(lines)-1], []byte(`"reason":"close"`)) {
		t.Fatalf("last line is not the close checkpoint: %s", lines[len(lines)-1])
	}
	// sha256sum-level check: each prev is the hash of the line before.
	for i := 1; i < len(lines); i++ {
		e, _ := ParseEntry(lines[i])
		if e.Prev != HashLine(lines[i-1]) {
			t.Fatalf("line %d prev does not hash line %d", i+1, i)
		}
	}
}

func TestCheckpointsEveryNRecords(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, dir, func(c *FileConfig) { c.CheckpointEvery = 5 })
	appendN(t, s, 0, 12)
	rep := verifyDir(t, dir)
	// The open checkpoint, then texts + 4 decisions fill the first 5,
	// then 5 more, then 3 unsigned.
	if rep.Checkpoints != 3 || rep.UnsignedTail != 3 || rep.Policy == nil || rep.Policy.Every != 5 {
		t.Fatalf("checkpoints %d, unsigned tail %d, policy %+v; want 3, 3 and every 5", rep.Checkpoints, rep.UnsignedTail, rep.Policy)
	}
}

func TestCheckpointAfterTheIntervalWhenEntriesWereAdded(t *testing.T) {
	dir := t.TempDir()
	clk := newClock(time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	s := newTestSink(t, dir, func(c *FileConfig) { c.CheckpointInterval = 10 * time.Minute })
	s.w.now = clk.Now
	tick := func() {
		_ = s.w.c.do(context.Background(), func() error { s.w.tick(); return nil })
	}
	appendN(t, s, 0, 3)
	clk.Add(9 * time.Minute)
	tick()
	if got := verifyDir(t, dir).Checkpoints; got != 1 {
		t.Fatalf("%d checkpoints before the interval, want the open checkpoint only", got)
	}
	clk.Add(time.Minute)
	tick()
	if got := verifyDir(t, dir).Checkpoints; got != 2 {
		t.Fatalf("%d checkpoints after the interval, want 2", got)
	}
	clk.Add(time.Hour)
	tick()
	if got := verifyDir(t, dir).Checkpoints; got != 2 {
		t.Fatalf("%d checkpoints after an idle interval, want still 2", got)
	}
	// An Append after the interval with entries unsigned signs them first,
	// without waiting for the tick.
	appendN(t, s, 3, 1)
	clk.Add(11 * time.Minute)
	appendN(t, s, 4, 1)
	if got := verifyDir(t, dir).Checkpoints; got != 3 {
		t.Fatalf("%d checkpoints after an Append past the interval, want 3", got)
	}
}

func TestRotationBySizeKeepsTheChain(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, dir, func(c *FileConfig) { c.RotateSize = 2000 })
	appendN(t, s, 0, 40)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files := logFiles(t, dir)
	if len(files) < 3 {
		t.Fatalf("%d files, want several", len(files))
	}
	for i := 1; i < len(files); i++ {
		prev := readLines(t, files[i-1])
		last := prev[len(prev)-1]
		if !bytes.Contains(last, []byte(`"reason":"rotation"`)) {
			t.Fatalf("%s does not end with a rotation checkpoint", files[i-1])
		}
		first, err := ParseEntry(readLines(t, files[i])[0])
		if err != nil {
			t.Fatal(err)
		}
		if first.Prev != HashLine(last) {
			t.Fatalf("%s does not continue the chain of %s", files[i], files[i-1])
		}
		// Each file carries the texts its decisions refer to.
		if first.Kind != KindTexts {
			t.Fatalf("%s starts with %s, want the texts entry", files[i], first.Kind)
		}
	}
	if rep := verifyDir(t, dir); rep.Decisions != 40 {
		t.Fatalf("%d decisions verified, want 40", rep.Decisions)
	}
}

func TestRotationAtUTCMidnight(t *testing.T) {
	dir := t.TempDir()
	clk := newClock(time.Date(2026, 11, 24, 23, 59, 0, 0, time.UTC))
	s := newTestSink(t, dir, nil)
	s.w.now = clk.Now
	appendN(t, s, 0, 2)
	clk.Add(2 * time.Minute)
	appendN(t, s, 2, 2)
	files := logFiles(t, dir)
	if len(files) != 2 {
		t.Fatalf("%d files, want 2", len(files))
	}
	if want := "consent-2026-11-25T00-01-00.000.jsonl"; filepath.Base(files[1]) != want {
		t.Fatalf("new file %s, want %s", filepath.Base(files[1]), want)
	}
	verifyDir(t, dir)
}

func TestFileNamesSortInCreationOrder(t *testing.T) {
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	a := newFileName(at, "")
	b := newFileName(at, a) // same millisecond
	c := newFileName(at.Add(-time.Hour), b)
	if !(a < b && b < c) {
		t.Fatalf("names %s, %s, %s do not sort in creation order", a, b, c)
	}
	if a != "consent-2026-11-24T10-00-00.000.jsonl" {
		t.Fatalf("name %s", a)
	}
}

func TestTextsAreWrittenOncePerFile(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, dir, nil)
	appendN(t, s, 0, 5)
	r := testRecord(5)
	r.Texts = &Texts{Language: "en", Strings: map[string]string{"title": "We use cookies"}}
	r.TextsHash = ""
	if err := s.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	rep := verifyDir(t, dir)
	if rep.Texts != 2 || len(rep.MissingTexts) != 0 {
		t.Fatalf("texts %d missing %v; want 2 texts entries, none missing", rep.Texts, rep.MissingTexts)
	}
}

func TestManyConcurrentAppendersShareFsyncs(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, dir, nil)
	const writers, each = 32, 50
	var wg sync.WaitGroup
	seqs := make(chan uint64, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := testRecord(w*each + i)
				if err := s.Append(context.Background(), r); err != nil {
					t.Error(err)
					return
				}
				seqs <- r.Seq
			}
		}()
	}
	wg.Wait()
	close(seqs)
	c := s.Counters()
	if c.Records != writers*each {
		t.Fatalf("%d records acknowledged, want %d", c.Records, writers*each)
	}
	if c.Fsyncs*4 > c.Records {
		t.Fatalf("%d fsyncs for %d records: group commit is not batching", c.Fsyncs, c.Records)
	}
	t.Logf("%d records, %d fsyncs (%.3f per record)", c.Records, c.Fsyncs, float64(c.Fsyncs)/float64(c.Records))
	src, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	have := map[uint64]bool{}
	for _, seq := range decisionSeqs(t, src) {
		have[seq] = true
	}
	for seq := range seqs {
		if !have[seq] {
			t.Fatalf("acknowledged seq %d is not in the log", seq)
		}
	}
	verifyDir(t, dir)
}

func TestHandlesForOneDirectoryShareOneWriter(t *testing.T) {
	dir := t.TempDir()
	old := newTestSink(t, dir, nil)
	appendN(t, old, 0, 2)
	// A config reload: the new handler is provisioned before the old one
	// is cleaned up.
	neu := newTestSink(t, filepath.Join(dir, "."), nil)
	if neu.w != old.w {
		t.Fatal("a second handle on the same directory got its own writer")
	}
	appendN(t, neu, 2, 2)
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	appendN(t, neu, 4, 2) // still open after the old handle went
	if n := verifyDir(t, dir).Checkpoints; n != 1 {
		t.Fatalf("closing one handle wrote %d checkpoints besides the open one", n-1)
	}
	if err := neu.Close(); err != nil {
		t.Fatal(err)
	}
	rep := verifyDir(t, dir)
	if rep.Decisions != 6 || rep.Checkpoints != 2 {
		t.Fatalf("report %+v; want 6 decisions and the close checkpoint", rep)
	}
	if err := neu.Append(context.Background(), testRecord(9)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
}

func TestAnotherProcessIsKeptOutByTheDirectoryLock(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, dir, nil)
	appendN(t, s, 0, 1)
	if _, err := lockDir(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock = %v, want ErrLocked", err)
	}
}

func TestAWriteFailureFailsTheBatchAndStopsAppendsUntilReopened(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, dir, nil)
	appendN(t, s, 0, 2)
	// Swap the file for a read-only handle so the next write fails.
	_ = s.w.c.do(context.Background(), func() error {
		ro, err := os.Open(filepath.Join(dir, s.w.name))
		if err != nil {
			return err
		}
		_ = s.w.f.Close()
		s.w.f = ro
		return nil
	})
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.Append(context.Background(), testRecord(10+i)) }()
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrFailed) {
			t.Fatalf("append %d during the failure = %v, want ErrFailed", i, err)
		}
	}
	if err := s.Append(context.Background(), testRecord(20)); !errors.Is(err, ErrFailed) {
		t.Fatalf("append after the failure = %v, want ErrFailed until reopened", err)
	}
	if err := s.Reopen(context.Background()); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 21, 2)
	rep := verifyDir(t, dir)
	if rep.Decisions != 4 {
		t.Fatalf("%d decisions after reopening, want 4", rep.Decisions)
	}
}

func TestAMissingKeyFailsTheFirstAppend(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, dir, func(c *FileConfig) { c.Keys = failingKeys{} })
	err := s.Append(context.Background(), testRecord(0))
	if err == nil || !strings.Contains(err.Error(), "signing key") {
		t.Fatalf("Append = %v, want a signing key error", err)
	}
}

type failingKeys struct{}

func (failingKeys) SigningKey(context.Context) (*SigningKey, error) {
	return nil, errors.New("storage unreachable")
}

func TestInvalidRecordsAreRefusedBeforeTheLog(t *testing.T) {
	s := newTestSink(t, t.TempDir(), nil)
	r := testRecord(0)
	r.Method = "nope"
	if err := s.Append(context.Background(), r); err == nil {
		t.Fatal("an invalid record was appended")
	}
	if c := s.Counters(); c.Batches != 0 {
		t.Fatalf("an invalid record reached the writer: %+v", c)
	}
}

func TestAPolicyChangeIsAnnouncedBeforeEntriesFollowIt(t *testing.T) {
	dir := t.TempDir()
	old := newTestSink(t, dir, func(c *FileConfig) { c.CheckpointEvery = 3 })
	appendN(t, old, 0, 2)
	// A reload raises checkpoint_every: the next entries may be further
	// apart than the last checkpoint announced, so a policy checkpoint
	// comes first.
	neu := newTestSink(t, dir, func(c *FileConfig) { c.CheckpointEvery = 8 })
	_ = old.Close()
	appendN(t, neu, 2, 7)
	rep := verifyDir(t, dir)
	if rep.Policy == nil || rep.Policy.Every != 8 {
		t.Fatalf("policy %+v, want every 8", rep.Policy)
	}
	found := false
	for _, l := range readLines(t, logFiles(t, dir)[0]) {
		if e, err := ParseEntry(l); err == nil && e.Kind == KindCheckpoint && e.Checkpoint.Reason == ReasonPolicy {
			found = true
		}
	}
	if !found {
		t.Fatal("no policy checkpoint after the reload")
	}
}
