package prooflog

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// A witness keeps a copy of every signed checkpoint somewhere the log's
// storage cannot rewrite: another volume or an auditor's mount, a
// PostgreSQL table the gateway may only INSERT into, or an HTTP(S)
// endpoint. `caddy consent verify --witness` then checks that the log
// holds every witnessed checkpoint, which catches truncation, rewriting
// and deleted files (see SCHEMA.md, "Threat model").
//
// Checkpoints go to witnesses after they are durable in the log, from a
// queue per witness: a witness that is slow or down never delays a
// decision. Failed sends are retried with exponential backoff; when the
// queue overflows the oldest checkpoints are dropped (each checkpoint
// covers everything before it, so the newest matter most) and counted.

// WitnessFileName is the file a directory witness appends checkpoints to.
const WitnessFileName = "consentgate-checkpoints.jsonl"

// DefaultPGWitnessTable is the table a PostgreSQL witness inserts into.
const DefaultPGWitnessTable = "consentgate_checkpoint_witness"

// Witness results passed to WitnessHooks.OnResult.
const (
	WitnessSent    = "sent"    // the witness stored the checkpoint
	WitnessFailed  = "failed"  // an attempt failed; it will be retried
	WitnessDropped = "dropped" // given up: queue overflow, a permanent refusal, or shutdown
)

const (
	witnessQueueLimit   = 1024
	witnessAttemptLimit = 10 * time.Second
	witnessBackoffMin   = 250 * time.Millisecond
	witnessBackoffMax   = 30 * time.Second
)

// witnessDrainTimeout bounds how long closing a sink waits for witnesses
// to take what is queued (a variable for tests).
var witnessDrainTimeout = 5 * time.Second

// WitnessHooks receive what happens to witnessed checkpoints, e.g. for
// metrics and logs. OnResult is called from the witness's goroutine.
type WitnessHooks struct {
	OnResult func(target, result string, seq uint64, err error)
}

// witnessedCheckpoint is one checkpoint line on its way to a witness.
type witnessedCheckpoint struct {
	seq  uint64
	hash string
	line []byte
}

// witness stores checkpoint lines. send must be idempotent: a retry after
// a lost answer sends the same line again.
type witness interface {
	send(ctx context.Context, cp witnessedCheckpoint) error
	close() error
}

// permanentError marks a refusal that retrying cannot fix.
type permanentError struct{ error }

func (p permanentError) Unwrap() error { return p.error }

// WitnessKind says what kind of target a witness string names:
// "http" (http:// or https:// URL), "postgres" (postgres:// or
// postgresql:// DSN) or "dir" (anything else: a directory path).
func WitnessKind(target string) string {
	switch {
	case strings.HasPrefix(target, "http://"), strings.HasPrefix(target, "https://"):
		return "http"
	case strings.HasPrefix(target, "postgres://"), strings.HasPrefix(target, "postgresql://"):
		return "postgres"
	}
	return "dir"
}

// CheckWitnessTarget checks a witness target without touching it.
func CheckWitnessTarget(target string) error {
	if target == "" {
		return errors.New("witness: empty target")
	}
	switch WitnessKind(target) {
	case "http":
		u, err := url.Parse(target)
		if err != nil || u.Host == "" {
			return fmt.Errorf("witness %s: want an http(s) URL with a host", RedactTarget(target))
		}
	case "postgres":
		if _, err := pgx.ParseConfig(target); err != nil {
			return fmt.Errorf("witness %s: %w", RedactTarget(target), err)
		}
	}
	return nil
}

// RedactTarget hides a password (and a URL's query) in a witness target
// or DSN, for logs and metric labels.
func RedactTarget(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" {
		// Unparsable: still hide whatever sits between "user:" and "@".
		if i := strings.Index(s, "://"); i >= 0 {
			if at := strings.LastIndexByte(s, '@'); at > i {
				if c := strings.IndexByte(s[i+3:at], ':'); c >= 0 {
					return s[:i+3+c+1] + "xxx" + s[at:]
				}
			}
		}
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxx")
	}
	if u.RawQuery != "" {
		u.RawQuery = "…"
	}
	return u.String()
}

func newWitness(target string) (witness, error) {
	if err := CheckWitnessTarget(target); err != nil {
		return nil, err
	}
	switch WitnessKind(target) {
	case "http":
		return &httpWitness{url: target, client: &http.Client{
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}, nil
	case "postgres":
		return &pgWitness{dsn: target, table: DefaultPGWitnessTable}, nil
	}
	return &dirWitness{dir: target}, nil
}

// dirWitness appends checkpoint lines to WitnessFileName in a directory,
// fsyncing each.
type dirWitness struct {
	dir string
	f   *os.File
}

func (d *dirWitness) send(_ context.Context, cp witnessedCheckpoint) error {
	if d.f == nil {
		if err := os.MkdirAll(d.dir, 0o700); err != nil {
			return fmt.Errorf("creating witness directory: %w", err)
		}
		f, err := os.OpenFile(filepath.Join(d.dir, WitnessFileName), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("opening witness file: %w", err)
		}
		if err := endWithNewline(f); err != nil {
			_ = f.Close()
			return err
		}
		d.f = f
	}
	if _, err := d.f.Write(cp.line); err != nil {
		_ = d.close()
		return fmt.Errorf("writing witness file: %w", err)
	}
	if err := d.f.Sync(); err != nil {
		_ = d.close()
		return fmt.Errorf("fsync witness file: %w", err)
	}
	return nil
}

// endWithNewline removes an incomplete last line a failed write left (or,
// when the file may only be appended to, ends it) so the next checkpoint
// starts a line of its own.
func endWithNewline(f *os.File) error {
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	tail := make([]byte, min(fi.Size(), 64<<10))
	if _, err := f.ReadAt(tail, fi.Size()-int64(len(tail))); err != nil && err != io.EOF {
		return fmt.Errorf("reading witness file: %w", err)
	}
	if tail[len(tail)-1] == '\n' {
		return nil
	}
	cut := fi.Size() - int64(len(tail)) + int64(bytes.LastIndexByte(tail, '\n')+1)
	if err := f.Truncate(cut); err == nil {
		return nil
	}
	_, err = f.Write([]byte("\n"))
	return err
}

func (d *dirWitness) close() error {
	if d.f == nil {
		return nil
	}
	err := d.f.Close()
	d.f = nil
	return err
}

// httpWitness POSTs each checkpoint line (Content-Type application/json).
// 2xx is stored; 408, 429, 5xx and network errors are retried; any other
// status is a permanent refusal.
type httpWitness struct {
	url    string
	client *http.Client
}

func (h *httpWitness) send(ctx context.Context, cp witnessedCheckpoint) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(cp.line))
	if err != nil {
		return permanentError{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Consentgate-Checkpoint-Seq", strconv.FormatUint(cp.seq, 10))
	req.Header.Set("Consentgate-Checkpoint-Hash", cp.hash)
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return fmt.Errorf("witness answered %s", resp.Status)
	default:
		return permanentError{fmt.Errorf("witness refused the checkpoint: %s", resp.Status)}
	}
}

func (h *httpWitness) close() error {
	h.client.CloseIdleConnections()
	return nil
}

// pgWitness inserts checkpoint lines into its own table with a role that
// needs only INSERT on it (see SCHEMA.md).
type pgWitness struct {
	dsn   string
	table string
	conn  *pgx.Conn
}

func (p *pgWitness) send(ctx context.Context, cp witnessedCheckpoint) error {
	if p.conn == nil || p.conn.IsClosed() {
		conn, err := pgx.Connect(ctx, p.dsn)
		if err != nil {
			return fmt.Errorf("connecting: %w", err)
		}
		p.conn = conn
	}
	_, err := p.conn.Exec(ctx, "INSERT INTO "+pgx.Identifier{p.table}.Sanitize()+" (seq, hash, line) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
		int64(cp.seq), cp.hash, cp.line)
	if err != nil {
		_ = p.close()
		return fmt.Errorf("inserting checkpoint %d: %w", cp.seq, err)
	}
	return nil
}

func (p *pgWitness) close() error {
	if p.conn == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := p.conn.Close(ctx)
	p.conn = nil
	return err
}

// PGWitnessSchema returns the SQL that creates a PostgreSQL witness table
// (DefaultPGWitnessTable when table is empty) refusing UPDATE, DELETE and
// TRUNCATE, and grants INSERT only to role.
func PGWitnessSchema(table, role string) string {
	if table == "" {
		table = DefaultPGWitnessTable
	}
	t := pgx.Identifier{table}.Sanitize()
	fn := pgx.Identifier{table + "_insert_only"}.Sanitize()
	return fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %[1]s (
	seq         bigint      NOT NULL,
	hash        text        NOT NULL,
	line        bytea       NOT NULL,
	received_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (seq, hash)
);
CREATE OR REPLACE FUNCTION %[2]s() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
	RAISE EXCEPTION 'consentgate witness entries are insert-only';
END
$f$;
DROP TRIGGER IF EXISTS %[3]s ON %[1]s;
CREATE TRIGGER %[3]s BEFORE UPDATE OR DELETE ON %[1]s FOR EACH ROW EXECUTE FUNCTION %[2]s();
DROP TRIGGER IF EXISTS %[4]s ON %[1]s;
CREATE TRIGGER %[4]s BEFORE TRUNCATE ON %[1]s FOR EACH STATEMENT EXECUTE FUNCTION %[2]s();
GRANT INSERT ON %[1]s TO %[5]s;
`, t, fn, pgx.Identifier{table + "_no_change"}.Sanitize(), pgx.Identifier{table + "_no_truncate"}.Sanitize(), pgx.Identifier{role}.Sanitize())
}

// witnessWorker delivers checkpoints to one witness in order, retrying
// with backoff, from its own goroutine.
type witnessWorker struct {
	target string
	w      witness
	hooks  func() WitnessHooks

	// ctx bounds every attempt; it is cancelled witnessDrainTimeout after
	// stop, so a hanging witness cannot hold up a shutdown.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	queue   []witnessedCheckpoint
	closing bool
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

func (ww *witnessWorker) result(result string, seq uint64, err error) {
	if h := ww.hooks(); h.OnResult != nil {
		h.OnResult(RedactTarget(ww.target), result, seq, err)
	}
}

func (ww *witnessWorker) enqueue(cp witnessedCheckpoint) {
	ww.mu.Lock()
	var dropped []uint64
	if ww.closing {
		ww.mu.Unlock()
		ww.result(WitnessDropped, cp.seq, errors.New("witness is shutting down"))
		return
	}
	ww.queue = append(ww.queue, cp)
	for len(ww.queue) > witnessQueueLimit {
		dropped = append(dropped, ww.queue[0].seq)
		ww.queue = ww.queue[1:]
	}
	ww.mu.Unlock()
	for _, seq := range dropped {
		ww.result(WitnessDropped, seq, errors.New("witness queue full: a newer checkpoint covers this one"))
	}
	select {
	case ww.wake <- struct{}{}:
	default:
	}
}

func (ww *witnessWorker) head() (witnessedCheckpoint, bool) {
	ww.mu.Lock()
	defer ww.mu.Unlock()
	if len(ww.queue) == 0 {
		return witnessedCheckpoint{}, false
	}
	return ww.queue[0], true
}

func (ww *witnessWorker) pop(seq uint64) {
	ww.mu.Lock()
	if len(ww.queue) > 0 && ww.queue[0].seq == seq {
		ww.queue = ww.queue[1:]
	}
	ww.mu.Unlock()
}

func (ww *witnessWorker) run() {
	defer close(ww.done)
	defer func() { _ = ww.w.close() }()
	backoff := time.Duration(0)
	var deadline time.Time // set when stopping: drain until then
	for {
		cp, ok := ww.head()
		if !ok {
			if !deadline.IsZero() {
				return
			}
			select {
			case <-ww.wake:
				continue
			case <-ww.stop:
				deadline = time.Now().Add(witnessDrainTimeout)
				continue
			}
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			ww.mu.Lock()
			left := ww.queue
			ww.queue = nil
			ww.mu.Unlock()
			for _, cp := range left {
				ww.result(WitnessDropped, cp.seq, errors.New("not delivered before shutdown"))
			}
			return
		}
		limit := witnessAttemptLimit
		if !deadline.IsZero() {
			limit = min(limit, time.Until(deadline))
		}
		ctx, cancel := context.WithTimeout(ww.ctx, limit)
		err := ww.w.send(ctx, cp)
		cancel()
		if err == nil {
			ww.pop(cp.seq)
			ww.result(WitnessSent, cp.seq, nil)
			backoff = 0
			continue
		}
		var perm permanentError
		if errors.As(err, &perm) {
			ww.pop(cp.seq)
			ww.result(WitnessDropped, cp.seq, err)
			continue
		}
		ww.result(WitnessFailed, cp.seq, err)
		backoff = min(max(2*backoff, witnessBackoffMin), witnessBackoffMax)
		sleep := backoff/2 + rand.N(backoff/2+1)
		if !deadline.IsZero() {
			sleep = min(sleep, max(time.Until(deadline), 0))
		}
		t := time.NewTimer(sleep)
		select {
		case <-t.C:
		case <-ww.stop:
			t.Stop()
			if deadline.IsZero() {
				deadline = time.Now().Add(witnessDrainTimeout)
			}
		}
	}
}

// witnessSet is the witnesses of one sink.
type witnessSet struct {
	targets []string
	workers []*witnessWorker
}

// newWitnessSet starts a worker per target. hooks is read at each result,
// so a config reload's hooks take over.
func newWitnessSet(targets []string, hooks func() WitnessHooks) (*witnessSet, error) {
	ws := &witnessSet{targets: slices.Clone(targets)}
	for _, t := range targets {
		w, err := newWitness(t)
		if err != nil {
			ws.close()
			return nil, err
		}
		ww := &witnessWorker{target: t, w: w, hooks: hooks,
			wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
		ww.ctx, ww.cancel = context.WithCancel(context.Background())
		go ww.run()
		ws.workers = append(ws.workers, ww)
	}
	return ws, nil
}

func (ws *witnessSet) send(cps []witnessedCheckpoint) {
	if ws == nil {
		return
	}
	for _, ww := range ws.workers {
		for _, cp := range cps {
			ww.enqueue(cp)
		}
	}
}

// close stops the workers after they tried to deliver what is queued
// (for at most witnessDrainTimeout).
func (ws *witnessSet) close() {
	if ws == nil {
		return
	}
	for _, ww := range ws.workers {
		ww.mu.Lock()
		ww.closing = true
		ww.mu.Unlock()
		close(ww.stop)
		time.AfterFunc(witnessDrainTimeout, ww.cancel)
	}
	for _, ww := range ws.workers {
		<-ww.done
		ww.cancel()
	}
}

// witnessesFor returns ws when it serves targets, or a new set replacing
// it (closing ws in the background).
func witnessesFor(ws *witnessSet, targets []string, hooks func() WitnessHooks) (*witnessSet, error) {
	if ws != nil && slices.Equal(ws.targets, targets) {
		return ws, nil
	}
	if ws == nil && len(targets) == 0 {
		return nil, nil
	}
	// The old witnesses may take a while to give up (one that is down):
	// never in the writer's goroutine.
	go ws.close()
	if len(targets) == 0 {
		return nil, nil
	}
	return newWitnessSet(targets, hooks)
}

// ReadWitness returns the checkpoint lines a witness holds: a directory
// (its WitnessFileName), a file of checkpoint lines (e.g. what an HTTP
// witness stored) or a postgres:// DSN (DefaultPGWitnessTable; needs
// SELECT). An incomplete last line is ignored.
func ReadWitness(ctx context.Context, target string) ([][]byte, error) {
	if WitnessKind(target) == "postgres" {
		conn, err := pgx.Connect(ctx, target)
		if err != nil {
			return nil, fmt.Errorf("connecting to the witness database: %w", err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		rows, err := conn.Query(ctx, "SELECT line FROM "+pgx.Identifier{DefaultPGWitnessTable}.Sanitize()+" ORDER BY seq, received_at")
		if err != nil {
			return nil, fmt.Errorf("reading the witness table: %w", err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil {
			return nil, fmt.Errorf("reading the witness table: %w", err)
		}
		return lines, nil
	}
	path := target
	if fi, err := os.Stat(target); err == nil && fi.IsDir() {
		path = filepath.Join(target, WitnessFileName)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading witness: %w", err)
	}
	defer f.Close()
	var out [][]byte
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			out = append(out, line)
		}
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading witness %s: %w", path, err)
		}
	}
}
