package prooflog

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"
)

// exportLog has c-000000..c-000009 plus a withdrawal by c-000003.
func exportLog(t *testing.T) *DirSource {
	t.Helper()
	dir := t.TempDir()
	s := newTestSink(t, dir, nil)
	appendN(t, s, 0, 10)
	w := testRecord(3)
	w.Method = MethodWithdrawal
	w.Time = w.Time.Add(48 * time.Hour)
	for i := range w.Categories {
		w.Categories[i].Granted = w.Categories[i].Name == "necessary"
	}
	if err := s.Append(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	src, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestShowReturnsAVisitorsWholeHistory(t *testing.T) {
	src := exportLog(t)
	recs, err := Show(context.Background(), src, "c-000003")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Method != MethodSettings || recs[1].Method != MethodWithdrawal {
		t.Fatalf("history %+v, want the decision then the withdrawal", recs)
	}
	if recs[1].Categories.Granted("statistics") {
		t.Fatal("the withdrawal still grants statistics")
	}
	if recs, _ := Show(context.Background(), src, "nobody"); len(recs) != 0 {
		t.Fatalf("unknown visitor has %d records", len(recs))
	}
}

func TestExport(t *testing.T) {
	src := exportLog(t)
	from := time.Date(2026, 11, 24, 10, 0, 2, 0, time.UTC)
	to := time.Date(2026, 11, 24, 10, 0, 8, 0, time.UTC)
	tests := []struct {
		name   string
		format Format
		filter Filter
		want   int
	}{
		{"everything as CSV", FormatCSV, Filter{}, 11},
		{"a time range", FormatCSV, Filter{From: from, To: to}, 6},
		{"only decisions granting statistics", FormatJSONL, Filter{Granted: []string{"statistics"}}, 5},
		{"granting statistics and marketing", FormatJSONL, Filter{Granted: []string{"statistics", "marketing"}}, 3},
		{"a category nobody was offered", FormatJSONL, Filter{Granted: []string{"social"}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			n, err := Export(context.Background(), src, &buf, tc.format, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.want {
				t.Fatalf("exported %d, want %d", n, tc.want)
			}
			switch tc.format {
			case FormatCSV:
				rows, err := csv.NewReader(&buf).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				if len(rows) != n+1 || rows[0][0] != "seq" || rows[0][len(rows[0])-1] != "category:unclassified" {
					t.Fatalf("csv has %d rows, header %v", len(rows), rows[0])
				}
			case FormatJSONL:
				for line := range bytes.Lines(buf.Bytes()) {
					if _, err := ParseEntry(line); err != nil {
						t.Fatalf("exported line does not parse as a log entry: %v", err)
					}
				}
			}
		})
	}
	if _, err := Export(context.Background(), src, &bytes.Buffer{}, "xml", Filter{}); err == nil {
		t.Fatal("an unknown format was accepted")
	}
}

func TestCSVCellsCannotBecomeFormulas(t *testing.T) {
	for in, want := range map[string]string{"=cmd()": "'=cmd()", "+1": "'+1", "/path": "/path", "": ""} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStatsCountsDecisionsPerDayAndCategory(t *testing.T) {
	src := exportLog(t)
	st, err := Stats(context.Background(), src, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Decisions != 11 || len(st.Days) != 2 || st.Days[0].Day != "2026-11-24" || st.Days[0].Decisions != 10 {
		t.Fatalf("stats %+v", st)
	}
	if st.Methods[MethodWithdrawal] != 1 {
		t.Fatalf("methods %v", st.Methods)
	}
	for _, c := range st.Days[0].Categories {
		want := map[string]int{"necessary": 10, "statistics": 5, "preferences": 4, "marketing": 3, "unclassified": 0}[c.Name]
		if c.Offered != 10 || c.Granted != want || c.Rate != float64(want)/10 {
			t.Errorf("%s: %+v, want %d of 10 granted", c.Name, c, want)
		}
	}
	if !strings.HasPrefix(st.Categories[0].Name, "necessary") {
		t.Fatalf("categories keep first-seen order: %+v", st.Categories)
	}
}
