package caddymodule

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/consentgate/consentgate/internal/testenv"
)

func adaptProofLog(block string) ([]byte, error) {
	caddyfile := "http://:8080 {\n\tcookie_consent {\n\t\tproof_log {\n" + block + "\t\t}\n\t}\n\trespond ok\n}\n"
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
	return out, err
}

func TestProofLogWitnessAndOnTamperAdapt(t *testing.T) {
	out, err := adaptProofLog("\t\t\tdir /var/lib/cg\n\t\t\twitness /mnt/auditor/cg\n\t\t\twitness https://witness.example/checkpoints\n\t\t\twitness {env.CG_WITNESS_DSN}\n\t\t\ton_tamper refuse\n")
	if err != nil {
		t.Fatal(err)
	}
	hs := findHandlers(out)
	if len(hs) != 1 || hs[0].ProofLog == nil {
		t.Fatalf("no proof_log in %s", out)
	}
	pl := hs[0].ProofLog
	want := []string{"/mnt/auditor/cg", "https://witness.example/checkpoints", "{env.CG_WITNESS_DSN}"}
	if strings.Join(pl.Witnesses, " ") != strings.Join(want, " ") || pl.OnTamper != "refuse" {
		t.Fatalf("proof_log %+v", pl)
	}
	b, _ := json.Marshal(pl)
	if !strings.Contains(string(b), `"witnesses":[`) || !strings.Contains(string(b), `"on_tamper":"refuse"`) {
		t.Fatalf("JSON %s", b)
	}
}

func TestProofLogOptionErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		block, want string
	}{
		{"\t\t\ton_tamper ignore\n", `proof_log on_tamper "ignore": want record`},
		{"\t\t\twitness http://\n", "proof_log witness http://: want an http(s) URL with a host"},
		{"\t\t\twitness postgres://x:secret@host:notaport/db\n", "proof_log witness postgres://x:xxx@host:notaport/db"},
		{"\t\t\twitness\n", "wrong argument count"},
		{"\t\t\twitness /a /b\n", "wrong argument count"},
		{"\t\t\tpostgres postgres://u@h/db\n\t\t\ton_tamper refuse\n", "on_tamper applies to the file log"},
	}
	for _, tc := range tests {
		_, err := adaptProofLog(tc.block)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Caddyfile:") || strings.Contains(err.Error(), "secret") {
			t.Errorf("%q: %v, want an error at its Caddyfile line containing %q (and no password)", tc.block, err, tc.want)
		}
	}
}

func TestProofLogWitnessAndRecoveryMetrics(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, trackerPage)
	}))
	defer up.Close()
	dir := t.TempDir()
	logDir, witness := filepath.Join(dir, "prooflog"), filepath.Join(dir, "witness")
	// A log whose only line was damaged: opening it records a
	// discontinuity.
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(logDir, "consent-2026-01-01T00-00-00.000.jsonl"), []byte("not an entry\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	down := "http://" + closed.Addr().String() + "/witness"
	closed.Close()
	port, mport := testenv.FreePort(t), testenv.FreePort(t)
	startCaddy(t, fmt.Sprintf("http://:%d {\n\tbind 127.0.0.1\n\tcookie_consent {\n\t\trate_limit off\n\t\tproof_log {\n\t\t\tdir %s\n\t\t\twitness %s\n\t\t\twitness %s\n\t\t}\n\t}\n\treverse_proxy %s\n}\nhttp://:%d {\n\tbind 127.0.0.1\n\tmetrics\n}\n",
		port, logDir, witness, down, strings.TrimPrefix(up.URL, "http://"), mport))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", mport))

	if res := post(t, base, "application/json", `{"action":"accept_all"}`, map[string]string{"Origin": base}); res.status != 200 {
		t.Fatalf("a decision with a witness down: %d %s", res.status, res.body)
	}
	var exposition string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		_, exposition = get(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", mport))
		if metricValue(t, exposition, "consentgate_proof_log_witness_total", `result="sent"`) >= 1 &&
			metricValue(t, exposition, "consentgate_proof_log_witness_total", `result="failed"`) >= 1 {
			break
		}
	}
	if got := metricValue(t, exposition, "consentgate_proof_log_witness_total", `witness="`+witness+`"`, `result="sent"`); got < 1 {
		t.Errorf("checkpoints sent to the directory witness: %v", got)
	}
	if got := metricValue(t, exposition, "consentgate_proof_log_witness_total", `witness="`+down+`"`, `result="failed"`); got < 1 {
		t.Errorf("failed attempts at the witness that is down: %v", got)
	}
	if got := metricValue(t, exposition, "consentgate_proof_log_recoveries_total", `kind="discontinuity"`); got != 1 {
		t.Errorf("discontinuities recorded: %v, want 1", got)
	}
}
