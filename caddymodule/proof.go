package caddymodule

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
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

	// Witnesses receive every signed checkpoint as it is made, somewhere
	// the log's storage cannot rewrite: a directory (another volume, an
	// auditor's mount), a PostgreSQL DSN (an INSERT-only role on its own
	// table) or an http(s) URL (POST, retried with backoff). A witness
	// that is down never delays a decision; failures are logged and
	// counted in consentgate_proof_log_witness_total.
	Witnesses []string `json:"witnesses,omitempty"`

	// OnTamper says what the file log does when, on opening, complete
	// lines after its last good entry do not verify (a crash leaves at
	// most an incomplete last line): "record" (default) keeps them in
	// place and continues after a signed discontinuity entry; "refuse"
	// does not open the log, so decisions fail with 503 until an operator
	// has looked and reloaded.
	OnTamper string `json:"on_tamper,omitempty"`
}

// proofMetrics are the proof log's own metrics besides appends.
type proofMetrics struct {
	witness    *prometheus.CounterVec // witness, result
	recoveries *prometheus.CounterVec // kind
}

func newProofMetrics(reg prometheus.Registerer) *proofMetrics {
	return &proofMetrics{
		witness: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "proof_log_witness_total",
			Help: "Signed checkpoints per witness and result: sent, failed (an attempt; retried with backoff) or dropped (not delivered: queue overflow, refused, shutdown)."}, []string{"witness", "result"})),
		recoveries: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "proof_log_recoveries_total",
			Help: "Damage found when opening the proof log: torn (an incomplete last line set aside) or discontinuity (complete lines that do not verify, kept and recorded)."}, []string{"kind"})),
	}
}

// witnessHooks count and log what happens to witnessed checkpoints.
func (h *Handler) witnessHooks(m *proofMetrics) prooflog.WitnessHooks {
	return prooflog.WitnessHooks{OnResult: func(target, result string, seq uint64, err error) {
		m.witness.WithLabelValues(target, result).Inc()
		switch result {
		case prooflog.WitnessFailed:
			h.logger.Warn("proof log witness unreachable; retrying with backoff (decisions are not delayed)",
				zap.String("witness", target), zap.Uint64("checkpoint_seq", seq), zap.Error(err))
		case prooflog.WitnessDropped:
			h.logger.Error("proof log checkpoint not delivered to a witness; a later checkpoint covers it when delivered",
				zap.String("witness", target), zap.Uint64("checkpoint_seq", seq), zap.Error(err))
		}
	}}
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
	pm := newProofMetrics(ctx.GetMetricsRegistry())
	var witnesses []string
	for _, w := range cfg.Witnesses {
		witnesses = append(witnesses, repl.ReplaceKnown(w, ""))
	}
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
			Witnesses:          witnesses,
			WitnessHooks:       h.witnessHooks(pm),
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
			pm.recoveries.WithLabelValues("torn").Inc()
			h.logger.Warn("proof log recovered from a crash: an incomplete last line was set aside and recorded", zap.Any("report", r))
		},
		OnDiscontinuity: func(d prooflog.Discontinuity) {
			pm.recoveries.WithLabelValues("discontinuity").Inc()
			h.logger.Error("proof log damaged or tampered with: complete lines that do not verify were kept in place and a signed discontinuity recorded; `caddy consent verify` reports it",
				zap.String("file", d.File), zap.Int("from_line", d.FromLine), zap.Int("lines", d.Lines), zap.String("sha256", d.SHA256), zap.String("reason", d.Reason))
		},
		OnError:      onError,
		Witnesses:    witnesses,
		WitnessHooks: h.witnessHooks(pm),
		OnTamper:     cfg.OnTamper,
	})
	if err != nil {
		return nil, fmt.Errorf("proof log: %w", err)
	}
	return s, nil
}
