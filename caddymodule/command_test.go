package caddymodule

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/spf13/cobra"

	"github.com/consentgate/consentgate/internal/testenv"
	"github.com/consentgate/consentgate/prooflog"
)

// runConsent runs `caddy consent <args>` in process and returns its output
// and error.
func runConsent(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "consent", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(verifyCommand(), showCommand(), exportCommand(), statsCommand(), pruneCommand(), pubkeyCommand(), scanCommand())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestAuditorCommands(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, trackerPage)
	}))
	defer up.Close()
	dir := t.TempDir()
	storage, logDir, witness := filepath.Join(dir, "storage"), filepath.Join(dir, "prooflog"), filepath.Join(dir, "witness")
	port := testenv.FreePort(t)
	site := fmt.Sprintf("http://:%d {\n\tbind 127.0.0.1\n\tcookie_consent {\n\t\trate_limit off\n\t\tproof_log {\n\t\t\tdir %s\n\t\t\twitness %s\n\t\t}\n\t}\n\treverse_proxy %s\n}\n", port, logDir, witness, strings.TrimPrefix(up.URL, "http://"))
	cfgJSON := adaptCaddyfile(t, fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tstorage file_system %s\n\tlog {\n\t\toutput discard\n\t}\n}\n", storage)+site)
	if err := caddy.Load(cfgJSON, true); err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	origin := map[string]string{"Origin": base}
	first := post(t, base, "application/json", `{"action":"save","categories":["statistics"]}`, origin)
	origin["Cookie"] = first.cookie.Name + "=" + first.cookie.Value
	post(t, base, "application/json", `{"action":"reject_all"}`, origin)
	post(t, base, "application/json", `{"action":"accept_all"}`, map[string]string{"Origin": base})
	var state stateResponse
	_ = json.Unmarshal([]byte(first.body), &state)
	// A clean stop signs the chain head.
	if err := caddy.Stop(); err != nil {
		t.Fatal(err)
	}

	cfgFile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cfgFile, []byte(fmt.Sprintf("{\n\tstorage file_system %s\n}\n", storage)+site), 0o600); err != nil {
		t.Fatal(err)
	}

	out, err := runConsent(t, "verify", "--config", cfgFile)
	if err != nil || !strings.Contains(out, "OK: ") || !strings.Contains(out, "3 decisions") || !strings.Contains(out, "last signed checkpoint") || !strings.Contains(out, "no witness given") || !strings.Contains(out, "--witness "+witness) || !strings.Contains(out, "at most 1000 decisions and texts apart, at least every 10m while") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	out, err = runConsent(t, "verify", "--config", cfgFile, "--witness", witness, "--strict")
	if err != nil || !strings.Contains(out, "OK: ") || !strings.Contains(out, "witness: the log holds all 2 witnessed checkpoints") {
		t.Fatalf("verify --witness: %v\n%s", err, out)
	}
	out, err = runConsent(t, "prune", "--config", cfgFile, "--before", "2000-01-01")
	if err != nil || !strings.Contains(out, "nothing to prune") {
		t.Fatalf("prune with nothing to prune: %v\n%s", err, out)
	}

	out, err = runConsent(t, "show", "--config", cfgFile, "--id", state.ID)
	if err != nil || strings.Count(out, "\n") != 2 || !strings.Contains(out, `"method":"settings"`) || !strings.Contains(out, `"method":"withdrawal"`) {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if _, err := runConsent(t, "show", "--config", cfgFile, "--", "-no-such-id"); err == nil || !strings.Contains(err.Error(), `"-no-such-id"`) {
		t.Fatalf("show of an unknown ID that starts with a dash: %v", err)
	}

	out, err = runConsent(t, "export", "--format", "csv", "--granted", "statistics", "--log", logDir)
	if err != nil || strings.Count(out, "\n") < 3 {
		t.Fatalf("export csv: %v\n%s", err, out)
	}
	out, err = runConsent(t, "export", "--format", "jsonl", "--log", logDir)
	if err != nil || strings.Count(out, `"kind":"decision"`) != 3 {
		t.Fatalf("export jsonl: %v\n%s", err, out)
	}
	out, err = runConsent(t, "stats", "--json", "--log", logDir)
	if err != nil || !strings.Contains(out, `"decisions":3`) {
		t.Fatalf("stats: %v\n%s", err, out)
	}
	out, err = runConsent(t, "stats", "--log", logDir)
	if err != nil || !strings.Contains(out, "acceptance") {
		t.Fatalf("stats table: %v\n%s", err, out)
	}

	pub, err := runConsent(t, "pubkey", "--config", cfgFile)
	if err != nil || !strings.Contains(pub, "ed25519") {
		t.Fatalf("pubkey: %v\n%s", err, pub)
	}
	pubFile := filepath.Join(dir, "pubkey.json")
	if err := os.WriteFile(pubFile, []byte(pub), 0o600); err != nil {
		t.Fatal(err)
	}
	// An auditor with only the log and the public key.
	if out, err := runConsent(t, "verify", "--log", logDir, "--pubkey", pubFile); err != nil || !strings.Contains(out, "OK: ") {
		t.Fatalf("verify with the exported key: %v\n%s", err, out)
	}
	if out, err := runConsent(t, "verify", "--log", logDir, "--pubkey", filepath.Join(dir, "missing.json")); err == nil {
		t.Fatalf("verify with a missing key file passed:\n%s", out)
	}
	// Keys from several files (e.g. one per instance or per rotation).
	other, _ := prooflog.GenerateSigningKey()
	otherDoc, _ := prooflog.MarshalPublicKeys([]prooflog.PublicKey{other.Public()})
	otherFile := filepath.Join(dir, "other.json")
	if err := os.WriteFile(otherFile, otherDoc, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runConsent(t, "verify", "--log", logDir, "--pubkey", otherFile); err == nil || !strings.Contains(out, "unknown_key") {
		t.Fatalf("verify with only another key: %v\n%s", err, out)
	}
	if out, err := runConsent(t, "verify", "--log", logDir, "--pubkey", otherFile, "--pubkey", pubFile, "--json"); err != nil || !strings.Contains(out, `"ok":true`) {
		t.Fatalf("verify with two key files: %v\n%s", err, out)
	}

	// Cutting the log right after a checkpoint passes without the witness
	// (documented) and fails with it.
	logFiles, _ := filepath.Glob(filepath.Join(logDir, "consent-*.jsonl"))
	full, _ := os.ReadFile(logFiles[0])
	cut := bytes.SplitAfter(full, []byte("\n"))
	if err := os.WriteFile(logFiles[0], bytes.Join(cut[:1], nil), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runConsent(t, "verify", "--log", logDir, "--pubkey", pubFile); err != nil {
		t.Fatalf("verify of a log cut after its first checkpoint, without the witness: %v\n%s", err, out)
	}
	if out, err := runConsent(t, "verify", "--log", logDir, "--pubkey", pubFile, "--witness", witness); err == nil || !strings.Contains(out, "FAILED: proof log witness") {
		t.Fatalf("verify of a cut log with the witness: %v\n%s", err, out)
	}
	if err := os.WriteFile(logFiles[0], full, 0o600); err != nil {
		t.Fatal(err)
	}

	// Editing a record breaks the chain at that record.
	files, _ := filepath.Glob(filepath.Join(logDir, "consent-*.jsonl"))
	if len(files) == 0 {
		t.Fatal("no log file")
	}
	data, _ := os.ReadFile(files[0])
	edited := bytes.Replace(data, []byte(`"statistics":true`), []byte(`"statistics":false`), 1)
	if bytes.Equal(edited, data) {
		t.Fatal("nothing to edit")
	}
	if err := os.WriteFile(files[0], edited, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runConsent(t, "verify", "--log", logDir, "--pubkey", pubFile)
	if err == nil || !strings.Contains(out, "FAILED") || !strings.Contains(out, filepath.Base(files[0])) {
		t.Fatalf("verify of an edited log: %v\n%s", err, out)
	}
}
