package prooflog

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPGTimeout bounds one group commit when PGConfig.Timeout is zero.
const DefaultPGTimeout = 10 * time.Second

// PGConfig configures a PGSink.
type PGConfig struct {
	// DSN is the serving role's connection string; it needs only SELECT
	// and INSERT on the tables (see SCHEMA.md).
	DSN string
	// OwnerDSN connects as the tables' owner to run migrations and
	// retention; DSN is used when empty.
	OwnerDSN string
	// Table is the entries table, optionally schema-qualified
	// (default DefaultPGTable). The migrations table is Table+"_migrations".
	Table string
	// Keys signs checkpoints. Required. Instances sharing the database
	// should share Caddy's storage so they sign with the same key.
	Keys KeySource
	// CheckpointEvery, CheckpointInterval and MaxBatch mean what they mean
	// in FileConfig, counted over the one chain all instances share.
	CheckpointEvery    int
	CheckpointInterval time.Duration
	MaxBatch           int
	// Retention, when positive, makes the sink prune entries older than
	// this, checked hourly (needs OwnerDSN's DELETE privilege).
	Retention time.Duration
	// Timeout bounds one group commit (default 10s).
	Timeout time.Duration
	// OnError receives errors of background work no Append returns.
	OnError func(error)
	// Witnesses and WitnessHooks mean what they mean in FileConfig.
	Witnesses    []string
	WitnessHooks WitnessHooks
}

// PGSink appends records to one hash chain in PostgreSQL shared by every
// gateway instance: each group commit takes a transaction-scoped advisory
// lock, reads the head, inserts the batch with consecutive seqs and prev
// hashes, and commits. It connects on first use, migrating the schema if
// needed, and reconnects on the next Append after a connection error.
type PGSink struct {
	cfg   PGConfig
	table *pgTable
	c     *committer
	now   func() time.Time

	// touched only in the committer goroutine
	conn      *pgx.Conn
	key       *SigningKey
	texts     map[string]bool
	lastPrune time.Time
	witnesses *witnessSet

	nRecords, nEntries, nBatches, nCommits atomic.Uint64
}

// NewPGSink checks cfg and returns a sink; it does not connect.
func NewPGSink(cfg PGConfig) (*PGSink, error) {
	if cfg.DSN == "" {
		return nil, errors.New("postgresql proof log: no DSN configured")
	}
	if cfg.Keys == nil {
		return nil, errors.New("postgresql proof log: no checkpoint signing key source configured")
	}
	if _, err := pgx.ParseConfig(cfg.DSN); err != nil {
		return nil, fmt.Errorf("postgresql proof log: DSN: %w", err)
	}
	if cfg.OwnerDSN != "" {
		if _, err := pgx.ParseConfig(cfg.OwnerDSN); err != nil {
			return nil, fmt.Errorf("postgresql proof log: owner DSN: %w", err)
		}
	}
	t, err := newPGTable(cfg.Table)
	if err != nil {
		return nil, fmt.Errorf("postgresql proof log: %w", err)
	}
	if cfg.CheckpointEvery == 0 {
		cfg.CheckpointEvery = DefaultCheckpointEvery
	}
	if cfg.CheckpointInterval == 0 {
		cfg.CheckpointInterval = DefaultCheckpointInterval
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = DefaultMaxBatch
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultPGTimeout
	}
	for _, t := range cfg.Witnesses {
		if err := CheckWitnessTarget(t); err != nil {
			return nil, fmt.Errorf("postgresql proof log: %w", err)
		}
	}
	s := &PGSink{cfg: cfg, table: t, now: time.Now, texts: map[string]bool{}}
	s.c = newCommitter(s)
	return s, nil
}

// Append inserts r and returns once its transaction committed. An error
// means the commit did not (knowingly) succeed: the caller answers 503.
func (s *PGSink) Append(ctx context.Context, r *Record) error {
	if r.Time.IsZero() {
		r.Time = s.now()
	}
	if err := r.Validate(); err != nil {
		return err
	}
	if err := s.c.append(ctx, r); err != nil {
		return fmt.Errorf("appending to postgresql proof log %s: %w", s.table.name, err)
	}
	return nil
}

// Prune removes entries older than before (see PruneReport), over a
// connection to OwnerDSN.
func (s *PGSink) Prune(ctx context.Context, before time.Time) (*PruneReport, error) {
	var rep *PruneReport
	err := s.c.do(ctx, func() error {
		var err error
		rep, err = s.prune(ctx, before)
		return err
	})
	return rep, err
}

// Counters returns the sink's totals; Fsyncs counts commits.
func (s *PGSink) Counters() Counters {
	return Counters{Records: s.nRecords.Load(), Entries: s.nEntries.Load(), Batches: s.nBatches.Load(), Fsyncs: s.nCommits.Load()}
}

// Close writes a close checkpoint when entries are unsigned and
// disconnects.
func (s *PGSink) Close() error { return s.c.close() }

func (s *PGSink) maxBatch() int { return s.cfg.MaxBatch }

func (s *PGSink) tickInterval() time.Duration {
	d := s.cfg.CheckpointInterval
	if d <= 0 || d > time.Minute {
		d = time.Minute
	}
	return d
}

func (s *PGSink) reportError(err error) {
	if s.cfg.OnError != nil && err != nil {
		s.cfg.OnError(err)
	}
}

// connect returns the open connection, or opens one (checking the schema).
func (s *PGSink) connect(ctx context.Context) (*pgx.Conn, error) {
	if s.conn != nil && !s.conn.IsClosed() {
		return s.conn, nil
	}
	s.drop()
	conn, err := pgx.Connect(ctx, s.cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("connecting: %w", err)
	}
	if err := s.table.ensureSchema(ctx, conn, s.cfg.OwnerDSN); err != nil {
		_ = conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	s.conn = conn
	return conn, nil
}

// drop closes the connection; the next use reconnects.
func (s *PGSink) drop() {
	if s.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.conn.Close(ctx)
		cancel()
		s.conn = nil
	}
}

func (s *PGSink) signingKey(ctx context.Context) (*SigningKey, error) {
	k, err := s.cfg.Keys.SigningKey(ctx)
	if err != nil {
		if s.key != nil {
			s.reportError(fmt.Errorf("reloading checkpoint key, signing with %s: %w", s.key.id, err))
			return s.key, nil
		}
		return nil, fmt.Errorf("loading checkpoint signing key: %w", err)
	}
	s.key = k
	return k, nil
}

// pgRow is one entry to insert.
type pgRow struct {
	e    *Entry
	line []byte
	hash string
}

// pgTx is a chain transaction: the head and checkpoint state read under
// the advisory lock, and the rows to insert.
type pgTx struct {
	tx        pgx.Tx
	head      chainHead
	sinceCP   uint64
	lastCP    time.Time
	lastCPAt  chainHead
	announced [2]int64 // policy of the last checkpoint; -1 when unknown
	rows      []pgRow
}

// begin opens a transaction holding the chain lock and reads the head.
func (s *PGSink) begin(ctx context.Context, conn *pgx.Conn) (*pgTx, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	t := &pgTx{tx: tx, head: emptyHead()}
	fail := func(err error) (*pgTx, error) {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, err
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.table.lockKey); err != nil {
		return fail(fmt.Errorf("taking the chain lock: %w", err))
	}
	var at time.Time
	err = tx.QueryRow(ctx, "SELECT seq, hash, at FROM "+s.table.entries+" ORDER BY seq DESC LIMIT 1").Scan(&t.head.seq, &t.head.hash, &at)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fail(fmt.Errorf("reading the chain head: %w", err))
	}
	t.head.time = at
	var cpSeq uint64
	var cpLine []byte
	t.announced = [2]int64{-1, -1}
	err = tx.QueryRow(ctx, "SELECT seq, at, line FROM "+s.table.entries+" WHERE kind = 'checkpoint' ORDER BY seq DESC LIMIT 1").Scan(&cpSeq, &t.lastCP, &cpLine)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fail(fmt.Errorf("reading the last checkpoint: %w", err))
	}
	if err == nil {
		t.sinceCP = t.head.seq - cpSeq
		t.lastCPAt = chainHead{seq: cpSeq, hash: HashLine(cpLine)}
		if e, err := ParseEntry(cpLine); err == nil && e.V >= 2 {
			t.announced = [2]int64{int64(e.Checkpoint.Every), e.Checkpoint.IntervalMS}
		}
	} else {
		t.sinceCP = t.head.seq
	}
	return t, nil
}

func (t *pgTx) add(e *Entry, at time.Time) error {
	line, err := t.head.next(e, at)
	if err != nil {
		return err
	}
	t.rows = append(t.rows, pgRow{e: e, line: line, hash: t.head.hash})
	if e.Kind == KindCheckpoint {
		t.sinceCP, t.lastCP = 0, e.time
		t.lastCPAt = chainHead{seq: t.head.seq, hash: t.head.hash}
		t.announced = [2]int64{int64(e.Checkpoint.Every), e.Checkpoint.IntervalMS}
	} else {
		t.sinceCP++
	}
	return nil
}

func (s *PGSink) addCheckpoint(ctx context.Context, t *pgTx, reason string, cut *chainHead) error {
	key, err := s.signingKey(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	every, ms := policyOf(s.cfg.CheckpointEvery, s.cfg.CheckpointInterval)
	return t.add(checkpointEntry(t.head, now, reason, cut, key, cpMeta{prev: t.lastCPAt, every: every, intervalMS: ms}), now)
}

// policy is the checkpoint policy this sink announces.
func (s *PGSink) policy() [2]int64 {
	every, ms := policyOf(s.cfg.CheckpointEvery, s.cfg.CheckpointInterval)
	return [2]int64{int64(every), ms}
}

// due adds the checkpoints the policy asks for before more entries: when
// the last one announced another policy, or the interval passed with
// entries unsigned.
func (s *PGSink) due(ctx context.Context, t *pgTx) error {
	if t.announced != s.policy() {
		return s.addCheckpoint(ctx, t, ReasonPolicy, nil)
	}
	if s.cfg.CheckpointInterval > 0 && t.sinceCP > 0 && !t.lastCP.IsZero() && s.now().Sub(t.lastCP) >= s.cfg.CheckpointInterval {
		return s.addCheckpoint(ctx, t, ReasonInterval, nil)
	}
	return nil
}

// count adds a checkpoint once CheckpointEvery entries are unsigned.
func (s *PGSink) count(ctx context.Context, t *pgTx) error {
	if s.cfg.CheckpointEvery > 0 && t.sinceCP >= uint64(s.cfg.CheckpointEvery) {
		return s.addCheckpoint(ctx, t, ReasonCount, nil)
	}
	return nil
}

// witness hands the transaction's checkpoints to the witnesses, after
// COMMIT.
func (s *PGSink) witness(t *pgTx) {
	ws, err := witnessesFor(s.witnesses, s.cfg.Witnesses, func() WitnessHooks { return s.cfg.WitnessHooks })
	if err != nil {
		s.reportError(fmt.Errorf("proof log witnesses: %w", err))
	}
	s.witnesses = ws
	var cps []witnessedCheckpoint
	for _, r := range t.rows {
		if r.e.Kind == KindCheckpoint {
			cps = append(cps, witnessedCheckpoint{seq: r.e.Seq, hash: r.hash, line: r.line})
		}
	}
	ws.send(cps)
}

// insertAndCommit copies the rows in and commits.
func (s *PGSink) insertAndCommit(ctx context.Context, t *pgTx) error {
	if err := s.insert(ctx, t); err != nil {
		return err
	}
	if err := t.tx.Commit(ctx); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	s.nCommits.Add(1)
	s.nEntries.Add(uint64(len(t.rows)))
	s.witness(t)
	return nil
}

// insert copies the rows in.
func (s *PGSink) insert(ctx context.Context, t *pgTx) error {
	if len(t.rows) > 0 {
		src := make([][]any, len(t.rows))
		for i, r := range t.rows {
			var consentID, textsHash any
			switch r.e.Kind {
			case KindDecision:
				consentID, textsHash = r.e.Decision.ConsentID, r.e.Decision.TextsHash
			case KindTexts:
				textsHash = r.e.Texts.Hash
			}
			src[i] = []any{int64(r.e.Seq), string(r.e.Kind), r.e.time, consentID, textsHash, r.hash, r.line}
		}
		cols := []string{"seq", "kind", "at", "consent_id", "texts_hash", "hash", "line"}
		if _, err := t.tx.CopyFrom(ctx, s.table.copyIdent(), cols, pgx.CopyFromRows(src)); err != nil {
			return fmt.Errorf("inserting %d entries: %w", len(src), err)
		}
	}
	return nil
}

// commit runs one group commit. Any error drops the connection: the next
// batch reconnects. Records count as appended only after COMMIT returned.
func (s *PGSink) commit(batch []*appendReq) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	err := s.commitBatch(ctx, batch)
	if err != nil {
		s.drop()
		return err
	}
	s.nRecords.Add(uint64(len(batch)))
	s.nBatches.Add(1)
	return nil
}

func (s *PGSink) commitBatch(ctx context.Context, batch []*appendReq) error {
	conn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	// Which texts does the table lack?
	var ask []string
	for _, req := range batch {
		if r := req.rec; r.Texts != nil && !s.texts[r.TextsHash] {
			ask = append(ask, r.TextsHash)
		}
	}
	t, err := s.begin(ctx, conn)
	if err != nil {
		return err
	}
	defer func() { _ = t.tx.Rollback(context.WithoutCancel(ctx)) }()
	have := map[string]bool{}
	if len(ask) > 0 {
		rows, err := t.tx.Query(ctx, "SELECT DISTINCT texts_hash FROM "+s.table.entries+" WHERE kind = 'texts' AND texts_hash = ANY($1)", ask)
		if err != nil {
			return fmt.Errorf("looking up texts: %w", err)
		}
		hashes, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return fmt.Errorf("looking up texts: %w", err)
		}
		for _, h := range hashes {
			have[h] = true
		}
	}
	prevs := make([]string, len(batch))
	seqs := make([]uint64, len(batch))
	for i, req := range batch {
		r := req.rec
		if err := s.due(ctx, t); err != nil {
			return err
		}
		if r.Texts != nil && !s.texts[r.TextsHash] && !have[r.TextsHash] {
			if err := t.add(textsEntry(r.Texts, r.TextsHash), r.Time); err != nil {
				return err
			}
			have[r.TextsHash] = true
			if err := s.count(ctx, t); err != nil {
				return err
			}
		}
		prevs[i] = t.head.hash
		if err := t.add(decisionEntry(r), r.Time); err != nil {
			return err
		}
		seqs[i] = t.head.seq
		if err := s.count(ctx, t); err != nil {
			return err
		}
	}
	if err := s.insertAndCommit(ctx, t); err != nil {
		return err
	}
	for h := range have {
		s.texts[h] = true
	}
	for i, req := range batch {
		req.rec.Seq, req.rec.Prev = seqs[i], prevs[i]
	}
	return nil
}

// checkpoint writes a checkpoint when entries are unsigned and (for
// ReasonInterval) the last checkpoint is older than the interval.
func (s *PGSink) checkpoint(reason string) error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	conn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	t, err := s.begin(ctx, conn)
	if err != nil {
		s.drop()
		return err
	}
	defer func() { _ = t.tx.Rollback(context.WithoutCancel(ctx)) }()
	if t.sinceCP == 0 {
		return nil
	}
	if reason == ReasonInterval && !t.lastCP.IsZero() && s.now().Sub(t.lastCP) < s.cfg.CheckpointInterval {
		return nil
	}
	if err := s.addCheckpoint(ctx, t, reason, nil); err != nil {
		return err
	}
	if err := s.insertAndCommit(ctx, t); err != nil {
		s.drop()
		return err
	}
	return nil
}

func (s *PGSink) tick() {
	if s.conn == nil {
		return // nothing appended through this sink (or disconnected): wait for an Append
	}
	if s.cfg.CheckpointInterval > 0 {
		if err := s.checkpoint(ReasonInterval); err != nil {
			s.reportError(fmt.Errorf("postgresql proof log checkpoint: %w", err))
		}
	}
	if s.cfg.Retention > 0 && s.now().Sub(s.lastPrune) >= time.Hour {
		s.lastPrune = s.now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*s.cfg.Timeout)
		defer cancel()
		if _, err := s.prune(ctx, s.now().Add(-s.cfg.Retention)); err != nil {
			s.reportError(fmt.Errorf("postgresql proof log retention: %w", err))
		}
	}
}

func (s *PGSink) shutdown() error {
	defer func() {
		s.witnesses.close()
		s.witnesses = nil
	}()
	defer s.drop()
	if s.conn == nil {
		return nil
	}
	if err := s.checkpoint(ReasonClose); err != nil {
		return fmt.Errorf("postgresql proof log close checkpoint: %w", err)
	}
	return nil
}
