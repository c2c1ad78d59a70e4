package prooflog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"slices"
	"strings"
	"testing"
)

// serviceRecord is testRecord(i) with services granted one by one, and
// with method embed when vendor is set.
func serviceRecord(i int, vendor string, services ...string) *Record {
	r := testRecord(i)
	r.Services = services
	if vendor != "" {
		r.Method, r.Vendor = MethodEmbed, vendor
	}
	return r
}

func TestRecordServicesAreChecked(t *testing.T) {
	for _, c := range []struct {
		name string
		r    *Record
		want string
	}{
		{"unsorted", serviceRecord(1, "", "youtube", "google-maps"), "sorted"},
		{"duplicate", serviceRecord(1, "", "youtube", "youtube"), "sorted"},
		{"upper case", serviceRecord(1, "", "YouTube"), "invalid service"},
		{"embed without a vendor", func() *Record { r := testRecord(1); r.Method = MethodEmbed; return r }(), "vendor"},
		{"a vendor without embed", func() *Record { r := testRecord(1); r.Vendor = "youtube"; return r }(), "vendor"},
	} {
		if err := c.r.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", c.name, err, c.want)
		}
	}
	for _, r := range []*Record{serviceRecord(1, "youtube"), serviceRecord(2, "youtube", "youtube"), serviceRecord(3, "", "google-maps", "youtube")} {
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
	}
}

// A version 2 log (before services) continued by this writer verifies as
// one chain; show and export read both versions; a version 2 line cannot
// claim version 3 fields.
func TestAVersion2LogContinuesWithServices(t *testing.T) {
	dir := t.TempDir()
	s := newTestSink(t, dir, func(c *FileConfig) { c.NoDailyRotation = true })
	appendN(t, s, 0, 4)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files := logFiles(t, dir)
	if len(files) != 1 {
		t.Fatalf("%d files", len(files))
	}
	writeLines(t, files[0], asVersion2(t, readLines(t, files[0])))
	if rep := verifyDir(t, dir); rep.Legacy != nil || rep.Decisions != 4 {
		t.Fatalf("the version 2 log: %+v", rep)
	}

	s = newTestSink(t, dir, func(c *FileConfig) { c.NoDailyRotation = true })
	for _, r := range []*Record{serviceRecord(0, "youtube"), serviceRecord(0, "youtube", "youtube"), serviceRecord(0, "", "google-maps", "youtube")} {
		if err := s.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep := verifyDir(t, dir)
	if rep.Legacy != nil || rep.Decisions != 7 {
		t.Fatalf("after the upgrade: %+v", rep)
	}
	src, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := Show(context.Background(), src, "c-000000")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("show found %d records", len(recs))
	}
	if recs[0].Services != nil || recs[0].Vendor != "" || recs[0].Method != MethodSettings {
		t.Errorf("the version 2 record reads as %+v", recs[0])
	}
	if recs[1].Method != MethodEmbed || recs[1].Vendor != "youtube" || recs[1].Services != nil ||
		!slices.Equal(recs[2].Services, []string{"youtube"}) || !slices.Equal(recs[3].Services, []string{"google-maps", "youtube"}) {
		t.Errorf("the version 3 records read as %+v %+v %+v", recs[1], recs[2], recs[3])
	}
	var csv bytes.Buffer
	if _, err := Export(context.Background(), src, &csv, FormatCSV, Filter{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if !strings.Contains(lines[0], ",gpc,services,vendor,category:necessary") || !strings.Contains(lines[len(lines)-1], ",google-maps youtube,,") ||
		!strings.Contains(lines[len(lines)-3], ",embed,") || !strings.Contains(lines[len(lines)-3], ",,youtube,") {
		t.Errorf("CSV export:\n%s", csv.String())
	}
	var jsonl bytes.Buffer
	if _, err := Export(context.Background(), src, &jsonl, FormatJSONL, Filter{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(jsonl.String(), `"categories":{"necessary":true,"statistics":true,"preferences":true,"marketing":true,"unclassified":false},"services":["google-maps","youtube"],"policy_version"`) {
		t.Errorf("JSONL export lacks the services:\n%s", jsonl.String())
	}

	// Version 3 fields in a version 2 entry are refused.
	h := emptyHead()
	e := decisionEntry(serviceRecord(1, "", "youtube"))
	e.Decision.TextsHash = testTexts.Hash()
	line, err := h.next(e, testRecord(1).Time)
	if err != nil {
		t.Fatal(err)
	}
	v2 := bytes.Replace(line, []byte(`{"v":3,`), []byte(`{"v":2,`), 1)
	if _, err := ParseEntry(v2); err == nil || !strings.Contains(err.Error(), "version 2 decision with services") {
		t.Errorf("a version 2 line with services: %v", err)
	}
}

// asVersion2 rewrites a log file as the version 2 writer would have
// written it: every entry version 2, chained and signed again.
func asVersion2(t *testing.T, lines [][]byte) [][]byte {
	t.Helper()
	k := testKey()
	h := emptyHead()
	var lastCP *Head
	var out [][]byte
	for _, l := range lines {
		e, err := ParseEntry(l)
		if err != nil {
			t.Fatal(err)
		}
		e.V, e.Seq, e.Prev = 2, h.seq+1, h.hash
		if c := e.Checkpoint; c != nil {
			c.HeadSeq, c.HeadHash = h.seq, h.hash
			if lastCP != nil {
				c.PrevCPSeq, c.PrevCPHash = lastCP.Seq, lastCP.Hash
			}
			c.Sig = base64.StdEncoding.EncodeToString(ed25519.Sign(k.priv, c.signedMessage(e.Time, 2)))
		}
		line, err := encodeEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseEntry(line); err != nil {
			t.Fatalf("a version 2 line does not parse: %v", err)
		}
		h = chainHead{seq: e.Seq, hash: HashLine(line)}
		if e.Checkpoint != nil {
			lastCP = &Head{Seq: e.Seq, Hash: h.hash}
		}
		out = append(out, line)
	}
	return out
}
