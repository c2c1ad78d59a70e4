package prooflog

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestPositionsNameFileLineAndSeq(t *testing.T) {
	for _, tc := range []struct {
		p    Position
		want string
	}{
		{Position{File: "consent-a.jsonl", Line: 3, Seq: 9}, "consent-a.jsonl:3 (seq 9)"},
		{Position{File: "consent-a.jsonl", Line: 3}, "consent-a.jsonl:3"},
		{Position{Seq: 9}, "seq 9"},
		{Position{}, "start of log"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.p, got, tc.want)
		}
	}
}

func TestDirSourceReadsFilesInOrderAndIgnoresOtherFiles(t *testing.T) {
	dir := buildLog(t, 30, func(c *FileConfig) { c.RotateSize = 2000 })
	for _, name := range []string{"consent.lock", "consent-2026-11-24T10-00-00.000.jsonl.torn-5", "notes.txt", "consent-bad.jsonl"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	src, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Files()) != len(logFiles(t, dir)) {
		t.Fatalf("files %v", src.Files())
	}
	var want [][]byte
	for _, f := range logFiles(t, dir) {
		want = append(want, readLines(t, f)...)
	}
	i := 0
	err = src.Scan(context.Background(), func(raw RawEntry) error {
		if !bytes.Equal(raw.Line, want[i]) {
			t.Fatalf("entry %d at %s differs from the file", i, raw.Pos)
		}
		i++
		return nil
	})
	if err != nil || i != len(want) {
		t.Fatalf("scanned %d of %d lines: %v", i, len(want), err)
	}
}

func TestDirSourceHandlesLinesLongerThanItsBuffer(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, dir, nil)
	r := testRecord(0)
	big := bytes.Repeat([]byte("x"), 600<<10)
	r.Texts = &Texts{Language: "en", Strings: map[string]string{"body": string(big)}}
	r.TextsHash = ""
	if err := s.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if rep := verifyDir(t, dir); rep.Texts != 1 {
		t.Fatalf("report %+v", rep)
	}
}

func TestOpenSourceTellsDirectoriesFromDSNs(t *testing.T) {
	dir := buildLog(t, 1, nil)
	src, err := OpenSource(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.(*DirSource); !ok {
		t.Fatalf("OpenSource(dir) = %T", src)
	}
	if _, err := OpenSource(context.Background(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1"); err == nil {
		t.Fatal("OpenSource of an unreachable DSN succeeded")
	}
}
