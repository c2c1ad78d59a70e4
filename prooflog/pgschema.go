package prooflog

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// DefaultPGTable is the entries table when PGConfig.Table is empty.
const DefaultPGTable = "consentgate_proof_log"

var pgIdent = regexp.MustCompile(`^([a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,40}$`)

// pgTable holds the quoted names derived from the configured table name.
type pgTable struct {
	name       string // as configured, e.g. "audit.proof_log"
	entries    string // quoted entries table
	migrations string // quoted migrations table
	base       string // unqualified name, prefix for indexes
	schema     string // "" or schema name
	lockKey    int64  // advisory lock serializing the chain
	migrateKey int64  // advisory lock serializing migrations
}

func newPGTable(name string) (*pgTable, error) {
	if name == "" {
		name = DefaultPGTable
	}
	if !pgIdent.MatchString(name) {
		return nil, fmt.Errorf("proof log table %q: want [schema.]name in lowercase letters, digits and _", name)
	}
	t := &pgTable{name: name, base: name}
	if i := strings.IndexByte(name, '.'); i >= 0 {
		t.schema, t.base = name[:i], name[i+1:]
	}
	t.entries = t.ident(t.base)
	t.migrations = t.ident(t.base + "_migrations")
	t.lockKey = advisoryKey("consentgate/prooflog/chain/" + name)
	t.migrateKey = advisoryKey("consentgate/prooflog/migrate/" + name)
	return t, nil
}

// ident quotes name, qualified with the table's schema.
func (t *pgTable) ident(name string) string {
	if t.schema != "" {
		return pgx.Identifier{t.schema, name}.Sanitize()
	}
	return pgx.Identifier{name}.Sanitize()
}

func (t *pgTable) copyIdent() pgx.Identifier {
	if t.schema != "" {
		return pgx.Identifier{t.schema, t.base}
	}
	return pgx.Identifier{t.base}
}

func advisoryKey(s string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return int64(h.Sum64())
}

// migrations are applied in order, each once, recorded in the migrations
// table. Never edit a released migration: add one.
func (t *pgTable) migrationSteps() []string {
	q := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	return []string{
		// 1: the entries table, its indexes, and triggers refusing UPDATE
		// and TRUNCATE (rows are only ever inserted, and deleted by
		// retention).
		fmt.Sprintf(`
CREATE TABLE %[1]s (
	seq        bigint      PRIMARY KEY CHECK (seq > 0),
	kind       text        NOT NULL,
	at         timestamptz NOT NULL,
	consent_id text,
	texts_hash text,
	hash       text        NOT NULL,
	line       bytea       NOT NULL
);
CREATE INDEX %[2]s ON %[1]s (consent_id, seq) WHERE consent_id IS NOT NULL;
CREATE INDEX %[3]s ON %[1]s (at);
CREATE INDEX %[4]s ON %[1]s (seq) WHERE kind = 'checkpoint';
CREATE INDEX %[5]s ON %[1]s (texts_hash, seq) WHERE kind = 'texts';
CREATE FUNCTION %[6]s() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
	RAISE EXCEPTION 'consentgate proof log entries are append-only';
END
$f$;
CREATE TRIGGER %[7]s BEFORE UPDATE ON %[1]s FOR EACH ROW EXECUTE FUNCTION %[6]s();
CREATE TRIGGER %[8]s BEFORE TRUNCATE ON %[1]s FOR EACH STATEMENT EXECUTE FUNCTION %[6]s();
`, t.entries, q(t.base+"_consent_idx"), q(t.base+"_at_idx"), q(t.base+"_checkpoint_idx"),
			q(t.base+"_texts_idx"), t.ident(t.base+"_append_only"), q(t.base+"_no_update"), q(t.base+"_no_truncate")),
	}
}

// schemaVersion reads the applied migration version; 0 when the
// migrations table does not exist.
func (t *pgTable) schemaVersion(ctx context.Context, conn *pgx.Conn) (int, error) {
	var v int
	err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+t.migrations).Scan(&v)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading proof log schema version: %w", err)
	}
	return v, nil
}

// migrate applies missing migrations in one transaction under an advisory
// lock, so concurrent instances apply each once. Idempotent.
func (t *pgTable) migrate(ctx context.Context, conn *pgx.Conn) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrating proof log schema: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", t.migrateKey); err != nil {
		return fmt.Errorf("migrating proof log schema: %w", err)
	}
	if _, err := tx.Exec(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
	version    integer     PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`, t.migrations)); err != nil {
		return fmt.Errorf("creating %s: %w", t.migrations, err)
	}
	var have int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+t.migrations).Scan(&have); err != nil {
		return fmt.Errorf("reading proof log schema version: %w", err)
	}
	for i, step := range t.migrationSteps() {
		v := i + 1
		if v <= have {
			continue
		}
		if _, err := tx.Exec(ctx, step); err != nil {
			return fmt.Errorf("proof log schema migration %d: %w", v, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+t.migrations+" (version) VALUES ($1)", v); err != nil {
			return fmt.Errorf("recording proof log schema migration %d: %w", v, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("committing proof log schema migrations: %w", err)
	}
	return nil
}

// ensureSchema checks the schema version with conn (the serving role needs
// only SELECT for that) and, when migrations are missing, applies them
// over a connection to ownerDSN.
func (t *pgTable) ensureSchema(ctx context.Context, conn *pgx.Conn, ownerDSN string) error {
	v, err := t.schemaVersion(ctx, conn)
	if err != nil {
		return err
	}
	if v >= len(t.migrationSteps()) {
		return nil
	}
	owner := conn
	if ownerDSN != "" {
		owner, err = pgx.Connect(ctx, ownerDSN)
		if err != nil {
			return fmt.Errorf("connecting as the proof log owner to migrate: %w", err)
		}
		defer owner.Close(context.WithoutCancel(ctx))
	}
	return t.migrate(ctx, owner)
}
