package prooflog

import (
	"bytes"
	"context"
	"errors"
	"io"
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
	// Only bytes after the last newline can be a crash's torn write.
	tests := []struct {
		name string
		torn func(lines [][]byte) []byte
	}{
		{"a partial line without newline", func(l [][]byte) []byte { return l[2][:30] }},
		{"zeros from a lost block", func([][]byte) []byte { return make([]byte, 4096) }},
		{"a whole line but its newline", func(l [][]byte) []byte { return bytes.TrimSuffix(l[2], []byte("\n")) }},
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
			// The open checkpoint, texts and 5 decisions: seq 7.
			if rep.Offset != int64(len(before)) || rep.Bytes != int64(len(torn)) || rep.LastGoodSeq != 7 {
				t.Fatalf("report %+v; want offset %d, %d bytes, last good seq 7", rep, len(before), len(torn))
			}
			if !strings.Contains(rep.Reason, "no trailing newline") {
				t.Fatalf("reason %q, want it to say the line has no newline", rep.Reason)
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

// completeBadLines are damage a crash cannot leave: complete lines after
// the last good entry that do not parse or do not chain.
var completeBadLines = []struct {
	name   string
	damage func(lines [][]byte) [][]byte
	reason string
}{
	{"a complete line that is not JSON", func(l [][]byte) [][]byte { return append(l, []byte("{\"v\":2,\"seq\":\n")) }, "bad line"},
	{"a complete line that does not chain", func(l [][]byte) [][]byte { return append(l, l[3]) }, "does not chain"},
	{"several garbage lines", func(l [][]byte) [][]byte { return append(l, []byte("x\n"), []byte("y\n")) }, "bad line"},
	{"the first bytes of the last lines corrupted", func(l [][]byte) [][]byte {
		for i := len(l) - 3; i < len(l); i++ {
			l[i] = append([]byte("XX"), l[i][2:]...)
		}
		return l
	}, "bad line"},
	{"an edited line followed by good ones", func(l [][]byte) [][]byte {
		l[2] = bytes.Replace(l[2], []byte(`"marketing":true`), []byte(`"marketing":false`), 1)
		l[2] = bytes.Replace(l[2], []byte(`"statistics":true`), []byte(`"statistics":false`), 1)
		return l
	}, "does not chain"},
}

func TestCompleteBadLinesAreRecordedAsADiscontinuityNotSetAside(t *testing.T) {
	for _, tc := range completeBadLines {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newTestSink(t, dir, nil)
			appendN(t, s, 0, 5)
			crash(t, s)
			cur := logFiles(t, dir)[0]
			writeLines(t, cur, tc.damage(readLines(t, cur)))
			damaged, _ := os.ReadFile(cur)

			var got []Discontinuity
			s2 := newTestSink(t, dir, func(c *FileConfig) {
				c.OnDiscontinuity = func(d Discontinuity) { got = append(got, d) }
			})
			if _, err := s2.Open(context.Background()); err != nil {
				t.Fatalf("Open: %v", err)
			}
			if len(got) != 1 || got[0].File != filepath.Base(cur) || !strings.Contains(got[0].Reason, tc.reason) {
				t.Fatalf("discontinuities %+v, want one in %s saying %q", got, filepath.Base(cur), tc.reason)
			}
			if after, _ := os.ReadFile(cur); !bytes.Equal(after, damaged) {
				t.Fatal("the damaged file was changed: its lines must stay in place")
			}
			appendN(t, s2, 5, 2)
			if err := s2.Close(); err != nil {
				t.Fatal(err)
			}
			files := logFiles(t, dir)
			if len(files) != 2 {
				t.Fatalf("%d files, want the damaged one and a new one", len(files))
			}
			src, _ := OpenDir(dir)
			rep, err := Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}})
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Kind != BreakDiscontinuity || rep == nil || len(rep.Discontinuities) != 1 {
				t.Fatalf("Verify = %v (report %+v), want a discontinuity with the report", err, rep)
			}
			if rep.Discontinuities[0].FromLine != got[0].FromLine || ce.Pos.File != filepath.Base(cur) {
				t.Fatalf("verify found %+v at %s, the gateway recorded %+v", rep.Discontinuities[0], ce.Pos, got[0])
			}
			// Show and Export read past the kept lines.
			if recs, err := Show(context.Background(), src, testRecord(6).ConsentID); err != nil || len(recs) != 1 {
				t.Fatalf("Show after a discontinuity: %d records, %v", len(recs), err)
			}
			if _, err := Export(context.Background(), src, io.Discard, FormatJSONL, Filter{}); err != nil {
				t.Fatalf("Export after a discontinuity: %v", err)
			}
			// Editing the kept lines afterwards is caught too.
			lines := readLines(t, cur)
			lines[len(lines)-1] = append([]byte("Z"), lines[len(lines)-1][1:]...)
			writeLines(t, cur, lines)
			if _, err := Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}}); !errors.As(err, &ce) || ce.Kind != BreakEdited {
				t.Fatalf("Verify after editing the kept lines = %v, want edited", err)
			}
		})
	}
}

func TestOnTamperRefuseKeepsTheLogClosed(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, dir, nil)
	appendN(t, s, 0, 5)
	crash(t, s)
	cur := logFiles(t, dir)[0]
	lines := readLines(t, cur)
	lines[2] = []byte("edited\n")
	writeLines(t, cur, lines)
	before, _ := os.ReadFile(cur)

	s2 := newTestSink(t, dir, func(c *FileConfig) { c.OnTamper = TamperRefuse })
	_, err := s2.Open(context.Background())
	if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "lines 3 to") {
		t.Fatalf("Open = %v, want ErrTampered naming line 3", err)
	}
	if after, _ := os.ReadFile(cur); !bytes.Equal(before, after) {
		t.Fatal("a refused open changed the file")
	}
	if err := s2.Append(context.Background(), testRecord(9)); !errors.Is(err, ErrTampered) {
		t.Fatalf("Append on a refused log = %v, want ErrTampered", err)
	}
	if n := len(logFiles(t, dir)); n != 1 {
		t.Fatalf("%d files after a refused open, want 1", n)
	}
	// The operator looked and reloads with on_tamper record: the same
	// writer opens the log, records the damage and takes decisions.
	s3 := newTestSink(t, dir, func(c *FileConfig) { c.OnTamper = TamperRecord })
	if s3.w != s2.w {
		t.Fatal("the reload got another writer")
	}
	if err := s3.Append(context.Background(), testRecord(9)); err != nil {
		t.Fatalf("Append after the reload: %v", err)
	}
	if err := s3.Close(); err != nil {
		t.Fatal(err)
	}
	src, _ := OpenDir(dir)
	if _, err := Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}}); !errors.As(err, new(*ChainError)) || !strings.Contains(err.Error(), "discontinuit") {
		t.Fatalf("Verify after recording = %v, want the discontinuity", err)
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

func TestAnEmptyFileLeftByACrashAtRotationIsRemoved(t *testing.T) {
	// Rotation creates the next file before the checkpoint naming it: a
	// crash in between leaves an empty file that holds nothing.
	dir := t.TempDir()
	s := newTestSink(t, dir, nil)
	appendN(t, s, 0, 3)
	crash(t, s)
	next := filepath.Join(dir, "consent-2999-01-01T00-00-00.000.jsonl")
	if err := os.WriteFile(next, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s2 := newTestSink(t, dir, nil)
	if _, err := s2.Open(context.Background()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := os.Stat(next); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the empty file is still there: %v", err)
	}
	appendN(t, s2, 3, 2)
	if rep := verifyDir(t, dir); rep.Decisions != 5 {
		t.Fatalf("%d decisions, want 5", rep.Decisions)
	}
}

func TestDamageFromTheFirstLineOfARotatedFileIsADiscontinuity(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, dir, func(c *FileConfig) { c.RotateSize = 2500 })
	appendN(t, s, 0, 12)
	crash(t, s)
	files := logFiles(t, dir)
	if len(files) < 2 {
		t.Fatalf("%d files, want a rotation", len(files))
	}
	cur := files[len(files)-1]
	lines := readLines(t, cur)
	lines[0] = append([]byte("#"), lines[0][1:]...)
	writeLines(t, cur, lines)
	s2 := newTestSink(t, dir, nil)
	if _, err := s2.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	appendN(t, s2, 20, 2)
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	src, _ := OpenDir(dir)
	rep, err := Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}})
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Kind != BreakDiscontinuity || rep == nil || rep.Discontinuities[0].FromLine != 1 {
		t.Fatalf("Verify = %v (%+v), want a discontinuity from line 1", err, rep)
	}
}
