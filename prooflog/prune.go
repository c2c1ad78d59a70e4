package prooflog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// PruneReport says what retention removed.
type PruneReport struct {
	// Cut is the last removed entry, where a verifier now starts; nil when
	// nothing was old enough to remove.
	Cut *Head `json:"cut,omitempty"`
	// Checkpoint is the signed prune checkpoint that names Cut.
	Checkpoint *Head `json:"checkpoint,omitempty"`
	// RemovedFiles lists removed log files (file log).
	RemovedFiles []string `json:"removed_files,omitempty"`
	// RemovedEntries counts removed entries (PostgreSQL; texts entries
	// still needed are carried forward first).
	RemovedEntries int64 `json:"removed_entries,omitempty"`
}

// Prune applies retention to the log at target (a directory or a
// postgres:// DSN, which should be the owner role's), removing entries
// older than before, after writing a signed prune checkpoint with keys.
// For a directory it needs the directory lock: in the gateway's own
// process it shares the running writer; another process holding it makes
// Prune fail with ErrLocked (configure retention in the gateway instead).
func Prune(ctx context.Context, target string, keys KeySource, before time.Time) (*PruneReport, error) {
	if strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://") {
		s, err := NewPGSink(PGConfig{DSN: target, Keys: keys})
		if err != nil {
			return nil, err
		}
		rep, err := s.Prune(ctx, before)
		return rep, errors.Join(err, s.Close())
	}
	if _, err := os.Stat(target); err != nil {
		return nil, fmt.Errorf("proof log directory %s: %w", target, err)
	}
	s, err := newFileSink(FileConfig{Dir: target, Keys: keys}, false)
	if err != nil {
		return nil, err
	}
	rep, err := s.Prune(ctx, before)
	return rep, errors.Join(err, s.Close())
}

// newestEntryTime returns the time of the last entry of a file that is
// not a checkpoint (a rotation checkpoint is written when the next file
// starts, so its time says nothing about the file's records).
func newestEntryTime(path string) (time.Time, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, err
	}
	var newest time.Time
	for len(data) > 0 {
		i := bytes.LastIndexByte(data[:len(data)-1], '\n')
		line := data[i+1:]
		data = data[:i+1]
		e, err := ParseEntry(line)
		if err != nil {
			return time.Time{}, err
		}
		if e.Kind != KindCheckpoint {
			return e.time, nil
		}
		newest = e.time
	}
	return newest, nil
}

// prune removes whole files, oldest first, whose entries (checkpoints
// aside) are all older than before; never the current file. The prune checkpoint is written and
// fsync'd before anything is removed, so a crash in between leaves only
// files that a later prune removes.
func (w *fileWriter) prune(before time.Time) (*PruneReport, error) {
	if err := w.ensureOpen(); err != nil {
		return nil, err
	}
	names, err := listLogFiles(w.dir)
	if err != nil {
		return nil, fmt.Errorf("listing proof log directory: %w", err)
	}
	var remove []string
	var cut chainHead
	for _, name := range names {
		if name == w.name {
			break
		}
		h, _, err := lastEntry(filepath.Join(w.dir, name))
		if err != nil {
			return nil, fmt.Errorf("reading the last entry of %s: %w", name, err)
		}
		newest, err := newestEntryTime(filepath.Join(w.dir, name))
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		if !newest.Before(before) {
			break
		}
		remove = append(remove, name)
		cut = h
	}
	rep := &PruneReport{}
	if len(remove) == 0 {
		return rep, nil
	}
	buf, err := w.appendCheckpoint(nil, w.now(), ReasonPrune, &cut, "")
	if err != nil {
		return nil, err
	}
	if err := w.writeSync(buf); err != nil {
		return nil, err
	}
	w.nEntries.Add(1)
	rep.Cut = &Head{Seq: cut.seq, Hash: cut.hash}
	rep.Checkpoint = &Head{Seq: w.head.seq, Hash: w.head.hash}
	for _, name := range remove {
		sides, err := sidecars(w.dir, name)
		if err != nil {
			return rep, err
		}
		for _, f := range append(sides, name) {
			if err := os.Remove(filepath.Join(w.dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return rep, fmt.Errorf("removing %s: %w", f, err)
			}
		}
		rep.RemovedFiles = append(rep.RemovedFiles, name)
	}
	return rep, syncDir(w.dir)
}

// prune removes every entry up to the cut: the entry before the first one
// at or after before (or the head, when all are older). In one
// transaction under the chain lock it carries forward the texts entries
// that remaining decisions still refer to, appends the signed prune
// checkpoint, and deletes. It connects as OwnerDSN (DELETE privilege).
func (s *PGSink) prune(ctx context.Context, before time.Time) (*PruneReport, error) {
	dsn := s.cfg.OwnerDSN
	if dsn == "" {
		dsn = s.cfg.DSN
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connecting as the proof log owner to prune: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := s.table.ensureSchema(ctx, conn, ""); err != nil {
		return nil, err
	}
	t, err := s.begin(ctx, conn)
	if err != nil {
		return nil, err
	}
	defer func() { _ = t.tx.Rollback(context.WithoutCancel(ctx)) }()
	rep := &PruneReport{}
	if t.head.seq == 0 {
		return rep, nil
	}
	tbl := s.table.entries
	var firstNew, first *int64
	if err := t.tx.QueryRow(ctx, "SELECT (SELECT min(seq) FROM "+tbl+" WHERE at >= $1 AND kind <> 'checkpoint'), (SELECT min(seq) FROM "+tbl+")", before).Scan(&firstNew, &first); err != nil {
		return nil, fmt.Errorf("finding the retention cut: %w", err)
	}
	cutSeq := t.head.seq
	if firstNew != nil {
		cutSeq = uint64(*firstNew) - 1
	}
	if first == nil || cutSeq < uint64(*first) {
		return rep, nil
	}
	var cutLine []byte
	if err := t.tx.QueryRow(ctx, "SELECT line FROM "+tbl+" WHERE seq = $1", int64(cutSeq)).Scan(&cutLine); err != nil {
		return nil, fmt.Errorf("reading the entry at the retention cut (seq %d): %w", cutSeq, err)
	}
	cut := chainHead{seq: cutSeq, hash: HashLine(cutLine)}

	rows, err := t.tx.Query(ctx, `SELECT DISTINCT d.texts_hash FROM `+tbl+` d
WHERE d.kind = 'decision' AND d.seq > $1 AND NOT EXISTS (
	SELECT 1 FROM `+tbl+` x WHERE x.kind = 'texts' AND x.texts_hash = d.texts_hash AND x.seq > $1)`, int64(cutSeq))
	if err != nil {
		return nil, fmt.Errorf("finding texts to carry forward: %w", err)
	}
	carry, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("finding texts to carry forward: %w", err)
	}
	slices.Sort(carry)
	for _, h := range carry {
		var line []byte
		err := t.tx.QueryRow(ctx, "SELECT line FROM "+tbl+" WHERE kind = 'texts' AND texts_hash = $1 ORDER BY seq DESC LIMIT 1", h).Scan(&line)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // never logged; Verify reports it as missing
		} else if err != nil {
			return nil, fmt.Errorf("reading texts %s: %w", h, err)
		}
		e, err := ParseEntry(line)
		if err != nil {
			return nil, fmt.Errorf("texts entry %s: %w", h, err)
		}
		texts := &Texts{Language: e.Texts.Language, Strings: e.Texts.Strings}
		if err := t.add(textsEntry(texts, h), s.now()); err != nil {
			return nil, err
		}
	}
	if err := s.addCheckpoint(ctx, t, ReasonPrune, &cut); err != nil {
		return nil, err
	}
	if err := s.insert(ctx, t); err != nil {
		return nil, err
	}
	tag, err := t.tx.Exec(ctx, "DELETE FROM "+tbl+" WHERE seq <= $1", int64(cutSeq))
	if err != nil {
		return nil, fmt.Errorf("deleting entries up to seq %d: %w", cutSeq, err)
	}
	if err := t.tx.Commit(ctx); err != nil {
		return nil, fmt.Errorf("committing retention: %w", err)
	}
	s.nEntries.Add(uint64(len(t.rows)))
	s.witness(t)
	rep.Cut = &Head{Seq: cut.seq, Hash: cut.hash}
	rep.Checkpoint = &Head{Seq: t.head.seq, Hash: t.head.hash}
	rep.RemovedEntries = tag.RowsAffected()
	return rep, nil
}
