package prooflog

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Filter selects decisions for Export and Stats.
type Filter struct {
	// From and To bound the decision time: From <= time < To. Zero means
	// unbounded.
	From, To time.Time
	// Granted keeps only decisions that granted every category named.
	Granted []string
	// Categories fixes the CSV category columns and their order; when
	// empty, every category seen becomes a column, in order of first
	// appearance.
	Categories []string
}

func (f *Filter) match(r *Record) bool {
	if !f.From.IsZero() && r.Time.Before(f.From) {
		return false
	}
	if !f.To.IsZero() && !r.Time.Before(f.To) {
		return false
	}
	for _, c := range f.Granted {
		if !r.Categories.Granted(c) {
			return false
		}
	}
	return true
}

// damagedLines returns whether a position lies in lines a recorded
// discontinuity keeps outside the chain (file log): they are neither
// decisions to export nor a reason to stop. A discontinuity entry is
// always the first line of the file after the damage.
func damagedLines(src Source) func(Position) bool {
	d, ok := src.(*DirSource)
	if !ok {
		return func(Position) bool { return false }
	}
	from := map[string]int{}
	for _, name := range d.files {
		_, e, err := firstEntry(filepath.Join(d.dir, name))
		if err == nil && e.Kind == KindDiscontinuity {
			from[e.Discontinuity.File] = e.Discontinuity.FromLine
		}
	}
	return func(p Position) bool {
		l, ok := from[p.File]
		return ok && p.Line >= l
	}
}

// firstEntry parses the first line of a file.
func firstEntry(path string) ([]byte, *Entry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(f, 64<<10).ReadBytes('\n')
	if err != nil {
		return nil, nil, err
	}
	e, err := ParseEntry(line)
	return line, e, err
}

// scanDecisions calls fn for each decision matching f, with its raw line.
func scanDecisions(ctx context.Context, src Source, f Filter, fn func(r *Record, line []byte) error) error {
	damaged := damagedLines(src)
	each := func(raw RawEntry) error {
		if damaged(raw.Pos) {
			return nil
		}
		e, err := ParseEntry(raw.Line)
		if err != nil {
			return fmt.Errorf("%w at %s: %w (run Verify)", ErrBroken, raw.Pos, err)
		}
		if e.Kind != KindDecision {
			return nil
		}
		r := recordFromEntry(e)
		if !f.match(r) {
			return nil
		}
		return fn(r, raw.Line)
	}
	if rs, ok := src.(rangeScanner); ok && (!f.From.IsZero() || !f.To.IsZero()) {
		return rs.scanRange(ctx, f.From, f.To, each)
	}
	return src.Scan(ctx, each)
}

// Show returns every decision recorded under consentID, oldest first: the
// visitor's full history (grants, changes, withdrawals).
func Show(ctx context.Context, src Source, consentID string) ([]*Record, error) {
	var out []*Record
	damaged := damagedLines(src)
	each := func(raw RawEntry) error {
		if damaged(raw.Pos) {
			return nil
		}
		e, err := ParseEntry(raw.Line)
		if err != nil {
			return fmt.Errorf("%w at %s: %w (run Verify)", ErrBroken, raw.Pos, err)
		}
		if e.Kind == KindDecision && e.Decision.ConsentID == consentID {
			out = append(out, recordFromEntry(e))
		}
		return nil
	}
	var err error
	if cs, ok := src.(consentScanner); ok {
		err = cs.scanConsent(ctx, consentID, each)
	} else {
		err = src.Scan(ctx, each)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Format is an export format.
type Format string

// Export formats.
const (
	// FormatCSV writes one row per decision with a header; category
	// columns hold "granted", "denied" or "" (not offered).
	FormatCSV Format = "csv"
	// FormatJSONL writes each matching decision's log line verbatim, so
	// every exported line still hashes to what the chain records.
	FormatJSONL Format = "jsonl"
)

var csvHeader = []string{"seq", "time", "consent_id", "method", "policy_version", "texts_hash",
	"language", "origin", "path", "ip_masked", "ua_hash", "ua_key_id", "gpc", "services", "vendor"}

// Export writes the decisions matching f to w and returns how many.
func Export(ctx context.Context, src Source, w io.Writer, format Format, f Filter) (int, error) {
	n := 0
	switch format {
	case FormatJSONL:
		err := scanDecisions(ctx, src, f, func(_ *Record, line []byte) error {
			n++
			_, err := w.Write(line)
			return err
		})
		return n, err
	case FormatCSV:
		cats := f.Categories
		if len(cats) == 0 {
			err := scanDecisions(ctx, src, f, func(r *Record, _ []byte) error {
				for _, c := range r.Categories {
					if !slices.Contains(cats, c.Name) {
						cats = append(cats, c.Name)
					}
				}
				return nil
			})
			if err != nil {
				return 0, err
			}
		}
		cw := csv.NewWriter(w)
		head := slices.Clone(csvHeader)
		for _, c := range cats {
			head = append(head, "category:"+c)
		}
		if err := cw.Write(head); err != nil {
			return 0, err
		}
		err := scanDecisions(ctx, src, f, func(r *Record, _ []byte) error {
			n++
			row := []string{strconv.FormatUint(r.Seq, 10), formatTime(r.Time), r.ConsentID, string(r.Method),
				r.PolicyVersion, r.TextsHash, r.Language, r.Origin, r.Path, r.MaskedIP, r.UAHash, r.UAKeyID,
				strconv.FormatBool(r.GPC), strings.Join(r.Services, " "), r.Vendor}
			for _, c := range cats {
				v := ""
				for _, rc := range r.Categories {
					if rc.Name == c {
						v = "denied"
						if rc.Granted {
							v = "granted"
						}
					}
				}
				row = append(row, v)
			}
			for i := range row {
				row[i] = csvSafe(row[i])
			}
			return cw.Write(row)
		})
		cw.Flush()
		return n, errors.Join(err, cw.Error())
	default:
		return 0, fmt.Errorf("unknown export format %q (want csv or jsonl)", format)
	}
}

// csvSafe keeps a spreadsheet from reading a cell as a formula (paths and
// IDs come from visitors): a leading = + - @ tab or CR gets a ' prefix.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// CategoryStats counts one category's decisions.
type CategoryStats struct {
	Name    string `json:"name"`
	Offered int    `json:"offered"`
	Granted int    `json:"granted"`
	// Rate is Granted/Offered.
	Rate float64 `json:"acceptance_rate"`
}

// DayStats counts one UTC day's decisions.
type DayStats struct {
	Day        string          `json:"day"`
	Decisions  int             `json:"decisions"`
	Methods    map[Method]int  `json:"methods"`
	Categories []CategoryStats `json:"categories"`
}

// StatsReport is what Stats computes.
type StatsReport struct {
	Decisions  int             `json:"decisions"`
	Methods    map[Method]int  `json:"methods"`
	Categories []CategoryStats `json:"categories"`
	Days       []DayStats      `json:"days"`
}

type statsAcc struct {
	decisions int
	methods   map[Method]int
	cats      []CategoryStats
}

func (a *statsAcc) add(r *Record) {
	a.decisions++
	a.methods[r.Method]++
	for _, c := range r.Categories {
		i := slices.IndexFunc(a.cats, func(s CategoryStats) bool { return s.Name == c.Name })
		if i < 0 {
			a.cats = append(a.cats, CategoryStats{Name: c.Name})
			i = len(a.cats) - 1
		}
		a.cats[i].Offered++
		if c.Granted {
			a.cats[i].Granted++
		}
	}
}

func (a *statsAcc) categories() []CategoryStats {
	for i := range a.cats {
		if a.cats[i].Offered > 0 {
			a.cats[i].Rate = float64(a.cats[i].Granted) / float64(a.cats[i].Offered)
		}
	}
	return a.cats
}

// Stats counts the decisions matching f per UTC day, method and category,
// with acceptance rates.
func Stats(ctx context.Context, src Source, f Filter) (*StatsReport, error) {
	total := &statsAcc{methods: map[Method]int{}}
	days := map[string]*statsAcc{}
	err := scanDecisions(ctx, src, f, func(r *Record, _ []byte) error {
		total.add(r)
		d := r.Time.UTC().Format(time.DateOnly)
		if days[d] == nil {
			days[d] = &statsAcc{methods: map[Method]int{}}
		}
		days[d].add(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep := &StatsReport{Decisions: total.decisions, Methods: total.methods, Categories: total.categories()}
	for _, d := range slices.Sorted(maps.Keys(days)) {
		a := days[d]
		rep.Days = append(rep.Days, DayStats{Day: d, Decisions: a.decisions, Methods: a.methods, Categories: a.categories()})
	}
	return rep, nil
}
