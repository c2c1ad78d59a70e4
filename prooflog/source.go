package prooflog

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrNoLog is returned when a directory holds no log files.
var ErrNoLog = errors.New("no proof log files")

// Position locates an entry: a file and 1-based line for the file log, a
// seq for PostgreSQL (and for the file log once the line was parsed).
type Position struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Seq  uint64 `json:"seq,omitempty"`
}

// String renders p as "file:line (seq N)" or "seq N".
func (p Position) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File + ":" + strconv.Itoa(p.Line))
	}
	if p.Seq != 0 {
		if b.Len() > 0 {
			b.WriteString(" (seq " + strconv.FormatUint(p.Seq, 10) + ")")
		} else {
			b.WriteString("seq " + strconv.FormatUint(p.Seq, 10))
		}
	}
	if b.Len() == 0 {
		return "start of log"
	}
	return b.String()
}

// RawEntry is one stored entry: its exact bytes (newline included, unless
// the line is torn) and where it is.
type RawEntry struct {
	// Line is only valid during the callback that receives it.
	Line []byte
	Pos  Position
}

// Source reads a proof log in chain order. Verify, Show, Export and Stats
// work on any Source.
type Source interface {
	// Scan calls fn for each entry in chain order until fn returns an
	// error (returned as is) or the log ends.
	Scan(ctx context.Context, fn func(RawEntry) error) error
	// Close releases the source.
	Close() error
}

// consentScanner is implemented by sources that can find one visitor's
// entries without reading everything.
type consentScanner interface {
	scanConsent(ctx context.Context, consentID string, fn func(RawEntry) error) error
}

// rangeScanner is implemented by sources that can read only the entries
// in a time range.
type rangeScanner interface {
	scanRange(ctx context.Context, from, to time.Time, fn func(RawEntry) error) error
}

// OpenSource opens a log for reading: a PostgreSQL DSN (postgres:// or
// postgresql://, read from the default table) or a log directory.
func OpenSource(ctx context.Context, target string) (Source, error) {
	if strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://") {
		return OpenPGSource(ctx, target, "")
	}
	return OpenDir(target)
}

// DirSource reads a file log directory.
type DirSource struct {
	dir   string
	files []string
}

// OpenDir opens the log directory dir for reading.
func OpenDir(dir string) (*DirSource, error) {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("proof log directory %s does not exist: %w", dir, err)
	} else if err != nil {
		return nil, fmt.Errorf("proof log directory %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("proof log %s is not a directory", dir)
	}
	files, err := listLogFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("listing proof log directory %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w in %s (want %s*%s)", ErrNoLog, dir, filePrefix, fileSuffix)
	}
	return &DirSource{dir: dir, files: files}, nil
}

// Files returns the log files in chain order.
func (d *DirSource) Files() []string { return append([]string(nil), d.files...) }

// Close does nothing; it makes DirSource a Source.
func (d *DirSource) Close() error { return nil }

// Scan reads every file line by line.
func (d *DirSource) Scan(ctx context.Context, fn func(RawEntry) error) error {
	for _, name := range d.files {
		if err := d.scanFile(ctx, name, fn); err != nil {
			return err
		}
	}
	return nil
}

func (d *DirSource) scanFile(ctx context.Context, name string, fn func(RawEntry) error) error {
	f, err := os.Open(filepath.Join(d.dir, name))
	if err != nil {
		return fmt.Errorf("opening %s: %w", name, err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 256<<10)
	var long []byte
	for n := 1; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it (up to the limit).
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				if len(long) <= maxLineBytes {
					long = append(long, line...)
				}
			}
			line = long
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading %s line %d: %w", name, n, err)
		}
		if len(line) > 0 {
			if ferr := fn(RawEntry{Line: line, Pos: Position{File: name, Line: n}}); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
	}
}
