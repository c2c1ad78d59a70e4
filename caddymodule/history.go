package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/consentgate/consentgate/prooflog"
)

// historyPath is the visitor's history under the reserved prefix.
const historyPath = "consent/history"

// The history endpoint reads the whole proof log for one consent ID, so it
// is bounded harder than decisions: per masked client address, and in
// scans running at once.
const (
	historyPerMinute  = 6
	historyBurst      = 3
	historyConcurrent = 2
	historyTimeout    = 20 * time.Second
)

// historyResponse is what the history endpoint answers: every record of
// the visitor's consent ID, oldest first, as `caddy consent show` prints
// them.
type historyResponse struct {
	ConsentID string           `json:"consent_id"`
	Records   []map[string]any `json:"records"`
}

// serveHistory answers the records of the consent ID in the visitor's own,
// verified consent cookie: never another ID (there is no parameter to name
// one), so a visitor can see what was recorded of them (GDPR art. 15)
// and nobody can read anyone else's.
func (h *Handler) serveHistory(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return h.refuse(w, r, http.StatusMethodNotAllowed, "use GET to read your consent history")
	}
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return h.refuse(w, r, http.StatusForbidden, "your consent history can only be read from this site's own pages")
	}
	v := h.newVisit(r)
	d := v.decision
	if d == nil {
		d = v.previous // a decision under an older policy is still yours
	}
	if d == nil {
		return h.refuse(w, r, http.StatusNotFound, "this browser holds no consent decision, so nothing was recorded of it")
	}
	if ok, wait := h.historyLimiter.allow(h.maskedClient(r), time.Now()); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return h.refuse(w, r, http.StatusTooManyRequests, "too many history requests from your network; try again shortly")
	}
	select {
	case h.historyScans <- struct{}{}:
		defer func() { <-h.historyScans }()
	default:
		w.Header().Set("Retry-After", "5")
		return h.refuse(w, r, http.StatusServiceUnavailable, "the consent history is busy; try again shortly")
	}
	ctx, cancel := context.WithTimeout(r.Context(), historyTimeout)
	defer cancel()
	recs, err := h.readHistory(ctx, d.ID)
	if err != nil {
		h.logger.Error("reading a visitor's consent history failed", zap.Error(err))
		return h.refuse(w, r, http.StatusServiceUnavailable, "your consent history cannot be read right now; please try again")
	}
	resp := historyResponse{ConsentID: d.ID, Records: make([]map[string]any, 0, len(recs))}
	for _, rec := range recs {
		resp.Records = append(resp.Records, showRecord(rec))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cross-Origin-Resource-Policy", "same-origin")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(resp)
}

// readHistory reads the records of one consent ID from the proof log this
// handler writes.
func (h *Handler) readHistory(ctx context.Context, id string) ([]*prooflog.Record, error) {
	cfg := h.ProofLog
	if cfg == nil {
		cfg = &ProofLogConfig{}
	}
	repl := caddy.NewReplacer()
	var src prooflog.Source
	var err error
	if cfg.Postgres != "" {
		src, err = prooflog.OpenPGSource(ctx, repl.ReplaceKnown(cfg.Postgres, ""), cfg.PostgresTable)
	} else {
		dir := cfg.Dir
		if dir == "" {
			dir = DefaultProofLogDir()
		}
		src, err = prooflog.OpenDir(repl.ReplaceKnown(dir, ""))
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, prooflog.ErrNoLog) {
			return nil, nil // nothing recorded yet
		}
	}
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return prooflog.Show(ctx, src, id)
}
