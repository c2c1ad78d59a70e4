package prooflog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// Defaults for FileConfig and PGConfig fields left zero.
const (
	DefaultCheckpointEvery    = 1000
	DefaultCheckpointInterval = 10 * time.Minute
	DefaultRotateSize         = 64 << 20
	DefaultMaxBatch           = 1024
)

const (
	filePrefix     = "consent-"
	fileSuffix     = ".jsonl"
	fileTimeLayout = "2006-01-02T15-04-05.000"
	lockFileName   = "consent.lock"
	tornMarker     = ".torn-"
)

// ErrLocked is returned when another process holds a log directory.
var ErrLocked = errors.New("another process is appending to this proof log")

// FileConfig configures a FileSink. Zero values take the defaults above.
type FileConfig struct {
	// Dir is the log directory; created (0700) on first append.
	Dir string
	// Keys signs checkpoints: a *Keyring over Caddy's storage, or a
	// *SigningKey. Required.
	Keys KeySource
	// CheckpointEvery writes a signed checkpoint after this many entries
	// (default 1000; negative disables).
	CheckpointEvery int
	// CheckpointInterval writes a signed checkpoint when this much time
	// passed since the last one and entries were added (default 10 min;
	// negative disables).
	CheckpointInterval time.Duration
	// RotateSize starts a new file once the current one reaches this many
	// bytes (default 64 MiB; negative disables).
	RotateSize int64
	// NoDailyRotation keeps appending to one file across UTC midnight;
	// by default a new file starts with the first entry of each UTC day.
	NoDailyRotation bool
	// Retention, when positive, makes the sink prune (see Prune) files
	// whose entries are all older than this, checked hourly.
	Retention time.Duration
	// MaxBatch bounds how many records share one write and fsync
	// (default 1024).
	MaxBatch int
	// OnRecovery, when set, receives the report of every crash recovery
	// (torn bytes set aside) so the caller can log it.
	OnRecovery func(RecoveryReport)
	// OnError, when set, receives errors of background work (time-based
	// checkpoints, retention, key reloads) that no Append returns.
	OnError func(error)
	// Witnesses receive every checkpoint once it is durable: directories,
	// postgres:// DSNs or http(s):// URLs (see witness.go). A witness
	// that is down never delays an Append.
	Witnesses []string
	// WitnessHooks report each delivery, failure and drop.
	WitnessHooks WitnessHooks
	// OnTamper says what opening the log does when complete lines after
	// the last good entry do not verify (a crash leaves at most an
	// incomplete last line, so this is damage or tampering): TamperRecord
	// (the default) keeps them in place and continues in a new file after
	// a signed discontinuity entry; TamperRefuse refuses to open the log
	// (every Append fails) until the operator has looked.
	OnTamper string
	// OnDiscontinuity, when set, receives every discontinuity recorded.
	OnDiscontinuity func(Discontinuity)
}

// What opening a log does about complete lines that do not verify.
const (
	TamperRecord = "record"
	TamperRefuse = "refuse"
)

// ErrTampered is wrapped by the error of a log that was not opened because
// complete lines after its last good entry do not verify (OnTamper
// TamperRefuse, or damage that no discontinuity entry can describe).
var ErrTampered = errors.New("proof log damaged or tampered with")

func (c FileConfig) withDefaults() FileConfig {
	if c.CheckpointEvery == 0 {
		c.CheckpointEvery = DefaultCheckpointEvery
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = DefaultCheckpointInterval
	}
	if c.RotateSize == 0 {
		c.RotateSize = DefaultRotateSize
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = DefaultMaxBatch
	}
	if c.OnTamper == "" {
		c.OnTamper = TamperRecord
	}
	return c
}

// RecoveryReport describes torn bytes found after the last good entry of
// the current file when the log was opened, and where they went.
type RecoveryReport struct {
	Recovery
	// LastGoodSeq is the seq of the last intact entry; appending resumed
	// after it.
	LastGoodSeq uint64 `json:"last_good_seq"`
}

// Counters are a sink's running totals since it was created.
type Counters struct {
	Records uint64 // decisions appended and acknowledged
	Entries uint64 // lines written, checkpoints and texts included
	Batches uint64 // group commits
	Fsyncs  uint64 // fsync calls on log files (file sink) or commits (PostgreSQL)
}

// filePool shares one writer per absolute log directory across Caddy
// config reloads: the new handler loads the writer the old one made.
var filePool = caddy.NewUsagePool()

// FileSink appends records to a hash-chained JSON Lines log in a
// directory. Handles made by NewFileSink for the same directory share one
// writer; the last Close closes the file.
type FileSink struct {
	key       string
	w         *fileWriter
	closeOnce sync.Once
	closeErr  error
}

// NewFileSink returns a handle on the shared writer for cfg.Dir. It does no
// I/O: the directory and files are touched on the first Append (or Open),
// so `caddy validate` creates nothing. When a writer for the directory
// already exists, it takes cfg's settings, and if it had failed it reopens
// the log on the next Append.
func NewFileSink(cfg FileConfig) (*FileSink, error) {
	return newFileSink(cfg, true)
}

// newFileSink makes a handle; adopt makes an existing writer take cfg (a
// config reload) rather than keep its own (an in-process Prune).
func newFileSink(cfg FileConfig, adopt bool) (*FileSink, error) {
	if cfg.Dir == "" {
		return nil, errors.New("file proof log: no directory configured")
	}
	if cfg.Keys == nil {
		return nil, errors.New("file proof log: no checkpoint signing key source configured")
	}
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("file proof log: resolving %s: %w", cfg.Dir, err)
	}
	cfg.Dir = abs
	cfg = cfg.withDefaults()
	if cfg.OnTamper != TamperRecord && cfg.OnTamper != TamperRefuse {
		return nil, fmt.Errorf("file proof log: on_tamper %q: want %s or %s", cfg.OnTamper, TamperRecord, TamperRefuse)
	}
	for _, t := range cfg.Witnesses {
		if err := CheckWitnessTarget(t); err != nil {
			return nil, fmt.Errorf("file proof log: %w", err)
		}
	}
	val, loaded, err := filePool.LoadOrNew(abs, func() (caddy.Destructor, error) {
		return newFileWriter(cfg), nil
	})
	if err != nil {
		return nil, fmt.Errorf("file proof log: %w", err)
	}
	w := val.(*fileWriter)
	if loaded && adopt {
		w.cfg.Store(&cfg)
		w.reopen.Store(true)
	}
	return &FileSink{key: abs, w: w}, nil
}

// Append writes r and returns once it is on disk (written and fsync'd),
// batched with concurrent Appends into one write and fsync. On error r may
// or may not be in the log, but was not acknowledged. After a write or
// fsync error every Append fails with ErrFailed until Reopen.
func (s *FileSink) Append(ctx context.Context, r *Record) error {
	if r.Time.IsZero() {
		r.Time = s.w.now()
	}
	if err := r.Validate(); err != nil {
		return err
	}
	if err := s.w.c.append(ctx, r); err != nil {
		return fmt.Errorf("appending to proof log %s: %w", s.key, err)
	}
	return nil
}

// Open opens the log now instead of at the first Append, returning the
// crash recovery reports of that open (none when the log was intact; they
// also go to FileConfig.OnRecovery).
func (s *FileSink) Open(ctx context.Context) ([]RecoveryReport, error) {
	var rep []RecoveryReport
	err := s.w.c.do(ctx, func() error {
		if err := s.w.ensureOpen(); err != nil {
			return err
		}
		rep = s.w.lastRecovery
		return nil
	})
	return rep, err
}

// Reopen closes the log file and clears a failure; the next Append opens
// it again, with crash recovery.
func (s *FileSink) Reopen(ctx context.Context) error {
	return s.w.c.do(ctx, func() error {
		s.w.closeFile()
		s.w.failed = nil
		return nil
	})
}

// Prune removes whole files whose entries are all older than before (the
// current file is never removed). It first appends a signed prune
// checkpoint naming the last removed entry, so the remaining log still
// verifies.
func (s *FileSink) Prune(ctx context.Context, before time.Time) (*PruneReport, error) {
	var rep *PruneReport
	err := s.w.c.do(ctx, func() error {
		var err error
		rep, err = s.w.prune(before)
		return err
	})
	return rep, err
}

// Counters returns the writer's totals (shared by all handles).
func (s *FileSink) Counters() Counters { return s.w.counters() }

// Close releases this handle. The last handle's Close writes a close
// checkpoint, fsyncs and closes the file.
func (s *FileSink) Close() error {
	s.closeOnce.Do(func() {
		_, err := filePool.Delete(s.key)
		s.closeErr = err
	})
	return s.closeErr
}

// fileWriter owns the log directory. Everything but cfg, the counters and
// reopen is touched only in the committer's goroutine.
type fileWriter struct {
	c      *committer
	dir    string
	cfg    atomic.Pointer[FileConfig]
	reopen atomic.Bool // a new handle arrived: clear a failure
	now    func() time.Time

	lock      *os.File
	f         *os.File
	name      string
	size      int64
	head      chainHead
	sinceCP   int
	lastCP    time.Time
	lastCPAt  chainHead // the last checkpoint entry (seq 0: none)
	announced [2]int64  // the policy the last checkpoint announced (every, interval ms)
	texts     map[string]bool
	witnesses *witnessSet
	toWitness []witnessedCheckpoint // checkpoints in the buffer not yet durable
	key       *SigningKey
	failed    error
	lastPrune time.Time
	buf       []byte

	lastRecovery      []RecoveryReport
	lastDiscontinuity *Discontinuity

	nRecords, nEntries, nBatches, nFsyncs atomic.Uint64
}

func newFileWriter(cfg FileConfig) *fileWriter {
	w := &fileWriter{dir: cfg.Dir, now: time.Now}
	w.cfg.Store(&cfg)
	w.c = newCommitter(w)
	return w
}

func (w *fileWriter) counters() Counters {
	return Counters{
		Records: w.nRecords.Load(),
		Entries: w.nEntries.Load(),
		Batches: w.nBatches.Load(),
		Fsyncs:  w.nFsyncs.Load(),
	}
}

// Destruct is called by the pool when the last handle closes.
func (w *fileWriter) Destruct() error { return w.c.close() }

func (w *fileWriter) config() *FileConfig { return w.cfg.Load() }

func (w *fileWriter) maxBatch() int { return w.config().MaxBatch }

func (w *fileWriter) tickInterval() time.Duration {
	d := w.config().CheckpointInterval
	if d <= 0 || d > time.Minute {
		d = time.Minute
	}
	return d
}

func (w *fileWriter) reportError(err error) {
	if fn := w.config().OnError; fn != nil && err != nil {
		fn(err)
	}
}

// fail records a write or fsync error: the writer refuses appends from now
// on, because what is on disk is no longer known.
func (w *fileWriter) fail(err error) error {
	w.failed = err
	w.toWitness = nil
	w.closeFile()
	return fmt.Errorf("%w: %w", ErrFailed, err)
}

func (w *fileWriter) closeFile() {
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
	if w.lock != nil {
		_ = w.lock.Close()
		w.lock = nil
	}
}

func (w *fileWriter) ensureOpen() error {
	if w.reopen.CompareAndSwap(true, false) && w.failed != nil {
		w.failed = nil
	}
	if w.failed != nil {
		return fmt.Errorf("%w: %w", ErrFailed, w.failed)
	}
	w.updateWitnesses()
	if w.f != nil {
		return nil
	}
	if err := w.open(); err != nil {
		w.closeFile()
		if errors.Is(err, ErrTampered) {
			// Do not reread the log on every Append: refuse until the
			// operator reloads the config or calls Reopen.
			w.failed = err
		}
		return err
	}
	return nil
}

func (w *fileWriter) witnessHooks() WitnessHooks { return w.config().WitnessHooks }

// policy is the checkpoint policy of the current config, as announced.
func (w *fileWriter) policy() [2]int64 {
	cfg := w.config()
	every, ms := policyOf(cfg.CheckpointEvery, cfg.CheckpointInterval)
	return [2]int64{int64(every), ms}
}

// signingKey asks the key source for the current key, falling back to the
// last one it gave when it fails now.
func (w *fileWriter) signingKey() (*SigningKey, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k, err := w.config().Keys.SigningKey(ctx)
	if err != nil {
		if w.key != nil {
			w.reportError(fmt.Errorf("reloading checkpoint key, signing with %s: %w", w.key.id, err))
			return w.key, nil
		}
		return nil, err
	}
	w.key = k
	return k, nil
}

func (w *fileWriter) commit(batch []*appendReq) error {
	if err := w.ensureOpen(); err != nil {
		return err
	}
	cfg := w.config()
	buf := w.buf[:0]
	var err error
	entries := 0
	// count signs the head once CheckpointEvery entries are unsigned:
	// Verify holds every checkpoint's successor to the policy it announced.
	count := func(now time.Time) error {
		if cfg.CheckpointEvery > 0 && w.sinceCP >= cfg.CheckpointEvery {
			if buf, err = w.appendCheckpoint(buf, now, ReasonCount, nil, ""); err != nil {
				return err
			}
			entries++
		}
		return nil
	}
	add := func(e *Entry, at, now time.Time) error {
		line, err := w.head.next(e, at)
		if err != nil {
			return w.fail(err)
		}
		buf = append(buf, line...)
		entries++
		w.sinceCP++
		return nil
	}
	if p := w.policy(); p != w.announced {
		// A reload changed the policy: announce it before entries are
		// added under it.
		if buf, err = w.appendCheckpoint(buf, w.now(), ReasonPolicy, nil, ""); err != nil {
			return err
		}
		entries++
	}
	for _, req := range batch {
		r := req.rec
		now := w.now()
		if w.needRotation(now, int64(len(buf))) {
			if buf, err = w.rotate(buf, now); err != nil {
				return err
			}
		}
		if cfg.CheckpointInterval > 0 && w.sinceCP > 0 && now.Sub(w.lastCP) >= cfg.CheckpointInterval {
			if buf, err = w.appendCheckpoint(buf, now, ReasonInterval, nil, ""); err != nil {
				return err
			}
			entries++
		}
		if r.Texts != nil && !w.texts[r.TextsHash] {
			if err := add(textsEntry(r.Texts, r.TextsHash), r.Time, now); err != nil {
				return err
			}
			w.texts[r.TextsHash] = true
			if err := count(now); err != nil {
				return err
			}
		}
		prev := w.head.hash
		if err := add(decisionEntry(r), r.Time, now); err != nil {
			return err
		}
		r.Seq, r.Prev = w.head.seq, prev
		if err := count(now); err != nil {
			return err
		}
	}
	if err := w.writeSync(buf); err != nil {
		return err
	}
	w.buf = buf[:0]
	w.nEntries.Add(uint64(entries))
	w.nRecords.Add(uint64(len(batch)))
	w.nBatches.Add(1)
	return nil
}

// writeSync writes buf to the current file and fsyncs it.
func (w *fileWriter) writeSync(buf []byte) error {
	if len(buf) == 0 {
		return nil
	}
	n, err := w.f.Write(buf)
	w.size += int64(n)
	if err != nil {
		return w.fail(fmt.Errorf("writing %s: %w", w.name, err))
	}
	if err := w.f.Sync(); err != nil {
		return w.fail(fmt.Errorf("fsync %s: %w", w.name, err))
	}
	w.nFsyncs.Add(1)
	if len(w.toWitness) > 0 {
		w.witnesses.send(w.toWitness)
		w.toWitness = nil
	}
	return nil
}

// appendCheckpoint signs the head into buf; nextFile is set for rotation.
// The checkpoint goes to the witnesses once buf is durable.
func (w *fileWriter) appendCheckpoint(buf []byte, now time.Time, reason string, cut *chainHead, nextFile string) ([]byte, error) {
	key, err := w.signingKey()
	if err != nil {
		return buf, w.fail(fmt.Errorf("loading checkpoint signing key: %w", err))
	}
	p := w.policy()
	e := checkpointEntry(w.head, now, reason, cut, key, cpMeta{prev: w.lastCPAt, file: w.name, nextFile: nextFile, every: int(p[0]), intervalMS: p[1]})
	line, err := w.head.next(e, now)
	if err != nil {
		return buf, w.fail(err)
	}
	w.sinceCP = 0
	w.lastCP = now
	w.lastCPAt = chainHead{seq: w.head.seq, hash: w.head.hash}
	w.announced = p
	w.toWitness = append(w.toWitness, witnessedCheckpoint{seq: w.head.seq, hash: w.head.hash, line: line})
	return append(buf, line...), nil
}

func (w *fileWriter) needRotation(now time.Time, pending int64) bool {
	cfg := w.config()
	size := w.size + pending
	if size == 0 {
		return false
	}
	if cfg.RotateSize > 0 && size >= cfg.RotateSize {
		return true
	}
	return !cfg.NoDailyRotation && fileDay(w.name) != now.UTC().Format(time.DateOnly)
}

// rotate creates the next file, ends the current one with a rotation
// checkpoint naming it, writes and fsyncs that with whatever of the batch
// is pending, and continues in the new file. The chain continues: the new
// file's first entry points at the checkpoint. (A crash between creating
// the file and the checkpoint leaves an empty file that the next open
// removes.)
func (w *fileWriter) rotate(buf []byte, now time.Time) ([]byte, error) {
	next, err := w.newFile(now)
	if err != nil {
		return buf, w.fail(err)
	}
	buf, err = w.appendCheckpoint(buf, now, ReasonRotation, nil, filepath.Base(next.Name()))
	if err != nil {
		_ = next.Close()
		return buf, err
	}
	w.nEntries.Add(1)
	if err := w.writeSync(buf); err != nil {
		_ = next.Close()
		return buf, err
	}
	if err := w.f.Close(); err != nil {
		_ = next.Close()
		return buf[:0], w.fail(fmt.Errorf("closing %s: %w", w.name, err))
	}
	w.useFile(next)
	return buf[:0], nil
}

// newFileName names a file created at now, sorting after prev.
func newFileName(now time.Time, prev string) string {
	t := now.UTC().Truncate(time.Millisecond)
	if pt, ok := fileTime(prev); ok && !t.After(pt) {
		t = pt.Add(time.Millisecond)
	}
	return filePrefix + t.Format(fileTimeLayout) + fileSuffix
}

// fileTime parses the creation time out of a log file name.
func fileTime(name string) (time.Time, bool) {
	if !strings.HasPrefix(name, filePrefix) || !strings.HasSuffix(name, fileSuffix) {
		return time.Time{}, false
	}
	s := strings.TrimSuffix(strings.TrimPrefix(name, filePrefix), fileSuffix)
	t, err := time.Parse(fileTimeLayout, s)
	if err != nil || t.Format(fileTimeLayout) != s {
		return time.Time{}, false
	}
	return t, true
}

func fileDay(name string) string {
	t, _ := fileTime(name)
	return t.Format(time.DateOnly)
}

// listLogFiles returns the log files in dir in chain order. The current
// file is the last: names embed their UTC creation time and sort in order.
func listLogFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if _, ok := fileTime(e.Name()); ok && e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// newFile creates (and makes durable in the directory) the file after
// the current one.
func (w *fileWriter) newFile(now time.Time) (*os.File, error) {
	name := newFileName(now, w.name)
	f, err := os.OpenFile(filepath.Join(w.dir, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating %s: %w", name, err)
	}
	if err := syncDir(w.dir); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// useFile makes f the current file.
func (w *fileWriter) useFile(f *os.File) {
	w.f, w.name, w.size = f, filepath.Base(f.Name()), 0
	w.texts = map[string]bool{}
}

func (w *fileWriter) createFile(now time.Time) error {
	f, err := w.newFile(now)
	if err != nil {
		return err
	}
	w.useFile(f)
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening %s to fsync it: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

// open takes the directory lock, recovers the current file, positions
// the writer at the chain head and signs it with an "open" checkpoint. A
// torn last line is set aside and recorded; complete lines that do not
// verify are kept in place and recorded as a discontinuity at the start
// of a new file (or, with TamperRefuse, the log is not opened).
func (w *fileWriter) open() error {
	if _, err := os.Stat(w.dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(w.dir, 0o700); err != nil {
			return fmt.Errorf("creating proof log directory: %w", err)
		}
		if err := syncDir(filepath.Dir(w.dir)); err != nil {
			return err
		}
	}
	lock, err := lockDir(w.dir)
	if err != nil {
		return err
	}
	w.lock = lock
	w.key = nil
	if _, err := w.signingKey(); err != nil {
		return fmt.Errorf("loading checkpoint signing key: %w", err)
	}
	w.lastRecovery, w.lastDiscontinuity = nil, nil
	st, err := recoverDir(w.dir)
	if err != nil {
		return err
	}
	cfg := w.config()
	if st.damage != nil && cfg.OnTamper == TamperRefuse {
		d := st.damage
		return fmt.Errorf("%w: %s lines %d to %d (%d bytes after seq %d) are complete but do not verify (%s); a crash leaves at most an incomplete last line, so this is damage or tampering. The log was not opened (on_tamper refuse): inspect it with `caddy consent verify`, then restore the file, or set on_tamper record to keep the lines and continue after a signed discontinuity entry",
			ErrTampered, d.File, d.FromLine, d.FromLine+d.Lines-1, d.Bytes, st.head.seq, d.Reason)
	}
	w.head, w.sinceCP, w.lastCP, w.texts, w.lastCPAt = st.head, st.sinceCP, st.lastCP, st.texts, st.lastCPAt
	w.announced = [2]int64{-1, -1}
	w.name = st.name
	switch {
	case st.name == "":
		if err := w.createFile(w.now()); err != nil {
			return err
		}
	case st.damage != nil:
		// Leave the damaged file as it is; the chain resumes from its last
		// good entry in a new file that starts by saying so.
		if err := w.createFile(w.now()); err != nil {
			return err
		}
		d := *st.damage
		line, err := w.head.next(&Entry{Kind: KindDiscontinuity, Discontinuity: &d}, w.now())
		if err != nil {
			return err
		}
		if err := w.writeSync(line); err != nil {
			return err
		}
		w.nEntries.Add(1)
		w.sinceCP++
		w.lastDiscontinuity = &d
		if fn := cfg.OnDiscontinuity; fn != nil {
			fn(d)
		}
	default:
		f, err := os.OpenFile(filepath.Join(w.dir, st.name), os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("opening %s: %w", st.name, err)
		}
		w.f, w.size = f, st.size
	}
	// Torn bytes were set aside: say so in the chain before anything else
	// is appended.
	for _, rep := range st.pending {
		line, err := w.head.next(&Entry{Kind: KindRecovery, Recovery: &rep.Recovery}, w.now())
		if err != nil {
			return err
		}
		if err := w.writeSync(line); err != nil {
			return err
		}
		w.nEntries.Add(1)
		w.sinceCP++
		w.lastRecovery = append(w.lastRecovery, rep)
		if fn := cfg.OnRecovery; fn != nil {
			fn(rep)
		}
	}
	// Sign what the log holds now, so that what was written before a crash
	// (and what recovery found) is covered and witnessed at once, and so
	// that an entry after a close checkpoint is always this one.
	buf, err := w.appendCheckpoint(nil, w.now(), ReasonOpen, nil, "")
	if err != nil {
		return err
	}
	w.nEntries.Add(1)
	return w.writeSync(buf)
}

// updateWitnesses starts, replaces or stops the witnesses when the config
// names other targets.
func (w *fileWriter) updateWitnesses() {
	ws, err := witnessesFor(w.witnesses, w.config().Witnesses, w.witnessHooks)
	if err != nil {
		w.reportError(fmt.Errorf("proof log witnesses: %w", err))
	}
	w.witnesses = ws
}

// tick writes a time-based checkpoint and runs retention.
func (w *fileWriter) tick() {
	if w.f == nil || w.failed != nil {
		return
	}
	cfg := w.config()
	now := w.now()
	if cfg.CheckpointInterval > 0 && w.sinceCP > 0 && now.Sub(w.lastCP) >= cfg.CheckpointInterval {
		buf, err := w.appendCheckpoint(nil, now, ReasonInterval, nil, "")
		if err == nil {
			err = w.writeSync(buf)
			w.nEntries.Add(1)
		}
		w.reportError(err)
	}
	if cfg.Retention > 0 && now.Sub(w.lastPrune) >= time.Hour {
		w.lastPrune = now
		if _, err := w.prune(now.Add(-cfg.Retention)); err != nil {
			w.reportError(fmt.Errorf("proof log retention: %w", err))
		}
	}
}

// shutdown writes the close checkpoint (always: an entry after it must be
// the next open checkpoint), closes the file and lets the witnesses
// deliver what is queued.
func (w *fileWriter) shutdown() error {
	defer func() {
		w.witnesses.close()
		w.witnesses = nil
	}()
	defer w.closeFile()
	if w.f == nil || w.failed != nil {
		return nil
	}
	buf, err := w.appendCheckpoint(nil, w.now(), ReasonClose, nil, "")
	if err != nil {
		return err
	}
	w.nEntries.Add(1)
	return w.writeSync(buf)
}
