package caddymodule

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
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
