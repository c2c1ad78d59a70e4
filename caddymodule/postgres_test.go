package caddymodule

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/jackc/pgx/v5"

	"github.com/consentgate/consentgate/internal/testenv"
	"github.com/consentgate/consentgate/prooflog"
)

func TestDecisionsGoToPostgreSQL(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	table := fmt.Sprintf("cg_e2e_%d", time.Now().UnixNano())
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return
		}
		defer conn.Close(ctx)
		_, _ = conn.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %[1]s, %[1]s_migrations; DROP FUNCTION IF EXISTS %[1]s_append_only()", table))
	})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, trackerPage)
	}))
	defer up.Close()
	t.Setenv("CONSENTGATE_E2E_DSN", dsn)
	witness := t.TempDir()
	base := gateway(t, "{\n\t\tproof_log {\n\t\t\tpostgres {env.CONSENTGATE_E2E_DSN}\n\t\t\tpostgres_table "+table+"\n\t\t\twitness "+witness+"\n\t\t}\n\t}", up)
	var ids []string
	for _, action := range []string{"accept_all", "reject_all"} {
		res := post(t, base, "application/json", `{"action":"`+action+`"}`, map[string]string{"Origin": base})
		if res.status != 200 || res.cookie == nil {
			t.Fatalf("%s: %d %s", action, res.status, res.body)
		}
		ids = append(ids, res.cookie.Value)
	}
	ctx := context.Background()
	src, err := prooflog.OpenPGSource(ctx, dsn, table)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	n := 0
	err = src.Scan(ctx, func(e prooflog.RawEntry) error {
		if strings.Contains(string(e.Line), `"kind":"decision"`) {
			n++
		}
		return nil
	})
	if err != nil || n != 2 {
		t.Fatalf("the database holds %d decisions (%v), want 2", n, err)
	}
	keys, err := prooflog.PublicKeys(ctx, caddy.ActiveContext().Storage(), prooflog.DefaultKeyStorageKey)
	if err != nil {
		t.Fatal(err)
	}
	// The checkpoint the sink wrote first is with the witness once it is
	// durable in the database.
	var witnessed [][]byte
	for deadline := time.Now().Add(30 * time.Second); len(witnessed) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		witnessed, _ = prooflog.ReadWitness(ctx, witness)
	}
	rep, err := prooflog.Verify(ctx, src, prooflog.VerifyOptions{Keys: keys, Witnessed: witnessed})
	if err != nil || rep.Witnessed == 0 {
		t.Fatalf("the database chain does not verify with its witness (%d witnessed): %v", len(witnessed), err)
	}
}
