package caddymodule

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/consentgate/consentgate/prooflog"
)

// ProofLogConfig says where consent decisions are recorded, as proof an
// auditor can verify. The file log is the default; PostgreSQL serves
// several gateway instances behind a load balancer.
type ProofLogConfig struct {
	// Dir is the file log's directory. Default: consentgate/prooflog in
	// Caddy's data directory.
	Dir string `json:"dir,omitempty"`

	// Postgres is a PostgreSQL connection string (placeholders such as
	// {env.CONSENTGATE_DSN} work). When set, decisions go to the database
	// instead of the file. The role needs only INSERT and SELECT.
	Postgres string `json:"postgres,omitempty"`

	// PostgresOwner is the connection string of a role that may create the
	// schema and prune; default: Postgres.
	PostgresOwner string `json:"postgres_owner,omitempty"`

	// PostgresTable is the table name. Default: consentgate_proof_log.
	PostgresTable string `json:"postgres_table,omitempty"`

	// CheckpointEvery signs the chain head after this many records
	// (default 1000).
	CheckpointEvery int `json:"checkpoint_every,omitempty"`

	// CheckpointInterval signs the chain head at least this often while
	// records come in (default 10m).
	CheckpointInterval caddy.Duration `json:"checkpoint_interval,omitempty"`

	// RotateSize starts a new file past this size (default 64 MiB). Files
	// also rotate daily unless NoDailyRotation.
	RotateSize int64 `json:"rotate_size,omitempty"`

	// NoDailyRotation keeps one file across days.
	NoDailyRotation bool `json:"no_daily_rotation,omitempty"`

	// Retention prunes records older than this, leaving a signed
	// checkpoint at the cut so the rest stays verifiable (e.g. the policy
	// lifetime plus a year). Zero keeps everything.
	Retention caddy.Duration `json:"retention,omitempty"`
}

// DefaultProofLogDir returns the default file log directory.
func DefaultProofLogDir() string {
	return filepath.Join(caddy.AppDataDir(), "consentgate", "prooflog")
}

// newProofSink builds the configured sink. It does no I/O: the file or
// database is opened on the first decision, never during `caddy validate`.
func (h *Handler) newProofSink(ctx caddy.Context) (prooflog.Sink, error) {
	cfg := h.ProofLog
	if cfg == nil {
		cfg = &ProofLogConfig{}
	}
	keys := &prooflog.Keyring{Storage: ctx.Storage()}
	onError := func(err error) { h.logger.Error("proof log background work failed", zap.Error(err)) }
	repl := caddy.NewReplacer()
	if cfg.Postgres != "" {
		owner := cfg.PostgresOwner
		if owner != "" {
			owner = repl.ReplaceKnown(owner, "")
		}
		s, err := prooflog.NewPGSink(prooflog.PGConfig{
			DSN:                repl.ReplaceKnown(cfg.Postgres, ""),
			OwnerDSN:           owner,
			Table:              cfg.PostgresTable,
			Keys:               keys,
			CheckpointEvery:    cfg.CheckpointEvery,
			CheckpointInterval: time.Duration(cfg.CheckpointInterval),
			Retention:          time.Duration(cfg.Retention),
			OnError:            onError,
		})
		if err != nil {
			return nil, fmt.Errorf("proof log: %w", err)
		}
		return s, nil
	}
	dir := cfg.Dir
	if dir == "" {
		dir = DefaultProofLogDir()
	}
	s, err := prooflog.NewFileSink(prooflog.FileConfig{
		Dir:                repl.ReplaceKnown(dir, ""),
		Keys:               keys,
		CheckpointEvery:    cfg.CheckpointEvery,
		CheckpointInterval: time.Duration(cfg.CheckpointInterval),
		RotateSize:         cfg.RotateSize,
		NoDailyRotation:    cfg.NoDailyRotation,
		Retention:          time.Duration(cfg.Retention),
		OnRecovery: func(r prooflog.RecoveryReport) {
			h.logger.Warn("proof log recovered from a crash: torn bytes set aside", zap.Any("report", r))
		},
		OnError: onError,
	})
	if err != nil {
		return nil, fmt.Errorf("proof log: %w", err)
	}
	return s, nil
}
