package prooflog

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// PGSource reads the proof log from PostgreSQL in seq order; the serving
// role's SELECT privilege is enough.
type PGSource struct {
	conn  *pgx.Conn
	table *pgTable
}

// OpenPGSource connects to dsn and checks that table (DefaultPGTable when
// empty) exists.
func OpenPGSource(ctx context.Context, dsn, table string) (*PGSource, error) {
	t, err := newPGTable(table)
	if err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("connecting to the proof log database: %w", err)
	}
	v, err := t.schemaVersion(ctx, conn)
	if err != nil {
		_ = conn.Close(ctx)
		return nil, err
	}
	if v == 0 {
		_ = conn.Close(ctx)
		return nil, fmt.Errorf("%w: table %s does not exist in this database (nothing appended yet?)", ErrNoLog, t.name)
	}
	return &PGSource{conn: conn, table: t}, nil
}

// Close disconnects.
func (p *PGSource) Close() error { return p.conn.Close(context.Background()) }

// Scan reads every entry in seq order.
func (p *PGSource) Scan(ctx context.Context, fn func(RawEntry) error) error {
	return p.query(ctx, fn, "SELECT seq, line FROM "+p.table.entries+" ORDER BY seq")
}

func (p *PGSource) scanConsent(ctx context.Context, consentID string, fn func(RawEntry) error) error {
	return p.query(ctx, fn, "SELECT seq, line FROM "+p.table.entries+" WHERE consent_id = $1 ORDER BY seq", consentID)
}

func (p *PGSource) scanRange(ctx context.Context, from, to time.Time, fn func(RawEntry) error) error {
	q := "SELECT seq, line FROM " + p.table.entries + " WHERE true"
	var args []any
	if !from.IsZero() {
		args = append(args, from)
		q += fmt.Sprintf(" AND at >= $%d", len(args))
	}
	if !to.IsZero() {
		args = append(args, to)
		q += fmt.Sprintf(" AND at < $%d", len(args))
	}
	return p.query(ctx, fn, q+" ORDER BY seq", args...)
}

func (p *PGSource) query(ctx context.Context, fn func(RawEntry) error, q string, args ...any) error {
	rows, err := p.conn.Query(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("reading proof log %s: %w", p.table.name, err)
	}
	defer rows.Close()
	var seq int64
	var line []byte
	for rows.Next() {
		if err := rows.Scan(&seq, &line); err != nil {
			return fmt.Errorf("reading proof log %s: %w", p.table.name, err)
		}
		if err := fn(RawEntry{Line: line, Pos: Position{Seq: uint64(seq)}}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reading proof log %s: %w", p.table.name, err)
	}
	return nil
}
