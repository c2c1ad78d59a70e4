package prooflog

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// crash stops s as a killed process would: the file and lock are closed
// without the close checkpoint.
func crash(t testing.TB, s *FileSink) {
	t.Helper()
	if err := s.w.c.do(context.Background(), func() error { s.w.closeFile(); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t testing.TB, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestATornTailIsSetAsideAndRecorded(t *testing.T) {
	tests := []struct {
		name   string
		torn   func(lines [][]byte) []byte
		reason string
	}{
		{"a partial line without newline", func(l [][]byte) []byte { return l[2][:30] }, "no trailing newline"},
		{"a line that is not JSON", func([][]byte) []byte { return []byte("{\"v\":1,\"seq\":\n") }, "bad line"},
		{"a complete line that does not chain", func(l [][]byte) []byte { return l[2] }, "does not chain"},
		{"zeros from a lost block", func([][]byte) []byte { return make([]byte, 4096) }, "no trailing newline"},
		{"several garbage lines", func([][]byte) []byte { return []byte("x\ny\nz") }, "bad line"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newTestSink(t, dir, nil)
			appendN(t, s, 0, 5)
			crash(t, s)
			cur := logFiles(t, dir)[0]
			before, _ := os.ReadFile(cur)
			torn := tc.torn(readLines(t, cur))
			appendBytes(t, cur, torn)

			var reported []RecoveryReport
			s2 := newTestSink(t, dir, func(c *FileConfig) {
				c.OnRecovery = func(r RecoveryReport) { reported = append(reported, r) }
			})
			reps, err := s2.Open(context.Background())
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if len(reps) != 1 || len(reported) != 1 {
				t.Fatalf("Open reported %d recoveries, callback %d; want 1 each", len(reps), len(reported))
			}
			rep := reps[0]
			if rep.Offset != int64(len(before)) || rep.Bytes != int64(len(torn)) || rep.LastGoodSeq != 6 {
				t.Fatalf("report %+v; want offset %d, %d bytes, last good seq 6", rep, len(before), len(torn))
			}
			if !strings.Contains(rep.Reason, tc.reason) {
				t.Fatalf("reason %q, want it to mention %q", rep.Reason, tc.reason)
			}
			side, err := os.ReadFile(filepath.Join(dir, rep.SetAside))
			if err != nil || !bytes.Equal(side, torn) {
				t.Fatalf("sidecar %s holds %q (%v), want the torn bytes", rep.SetAside, side, err)
			}
			appendN(t, s2, 5, 2)
			vr := verifyDir(t, dir)
			if len(vr.Recoveries) != 1 || vr.Recoveries[0].SetAside != rep.SetAside || len(vr.Warnings) != 0 {
				t.Fatalf("verify report: recoveries %+v warnings %v", vr.Recoveries, vr.Warnings)
			}
			if vr.Decisions != 7 {
				t.Fatalf("%d decisions, want 7", vr.Decisions)
			}
		})
	}
}

func TestDamageBeforeTheLastLineIsNotTakenForATornWrite(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, dir, nil)
	appendN(t, s, 0, 5)
	crash(t, s)
	cur := logFiles(t, dir)[0]
	lines := readLines(t, cur)
	lines[2] = []byte("edited\n")
	writeLines(t, cur, lines)
	before, _ := os.ReadFile(cur)

	s2 := newTestSink(t, dir, nil)
	_, err := s2.Open(context.Background())
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Kind != BreakCorrupt || ce.Pos.Line != 3 {
		t.Fatalf("Open = %v, want a corrupt-entry error at line 3", err)
	}
	after, _ := os.ReadFile(cur)
	if !bytes.Equal(before, after) {
		t.Fatal("a refused open changed the file")
	}
	if err := s2.Append(context.Background(), testRecord(9)); err == nil {
		t.Fatal("Append succeeded on a damaged log")
	}
}

func TestASidecarWithoutItsRecoveryEntryGetsOne(t *testing.T) {
	// A crash after the torn bytes were moved aside but before the
	// recovery entry was written.
	dir := t.TempDir()
	s := newTestSink(t, dir, nil)
	appendN(t, s, 0, 3)
	crash(t, s)
	cur := logFiles(t, dir)[0]
	size := int64(len(bytes.Join(readLines(t, cur), nil)))
	side := filepath.Base(cur) + ".torn-" + strconv.FormatInt(size, 10)
	if err := os.WriteFile(filepath.Join(dir, side), []byte("{\"v\":1,"), 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := newTestSink(t, dir, nil)
	reps, err := s2.Open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != 1 || reps[0].SetAside != side || reps[0].Bytes != 7 {
		t.Fatalf("reports %+v, want one for %s", reps, side)
	}
	// Opening again finds it recorded.
	crash(t, s2)
	s3 := newTestSink(t, dir, nil)
	if reps, err := s3.Open(context.Background()); err != nil || len(reps) != 0 {
		t.Fatalf("second open: %v, %v; want no recovery", reps, err)
	}
	verifyDir(t, dir)
}

func TestAnEmptyFileLeftByACrashAtRotationContinuesTheChain(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, dir, nil)
	appendN(t, s, 0, 3)
	crash(t, s)
	next := filepath.Join(dir, "consent-2999-01-01T00-00-00.000.jsonl")
	if err := os.WriteFile(next, []byte(`{"v":1,"se`), 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := newTestSink(t, dir, nil)
	reps, err := s2.Open(context.Background())
	if err != nil || len(reps) != 1 {
		t.Fatalf("Open: %v, %v", reps, err)
	}
	appendN(t, s2, 3, 2)
	if rep := verifyDir(t, dir); rep.Decisions != 5 {
		t.Fatalf("%d decisions, want 5", rep.Decisions)
	}
}
