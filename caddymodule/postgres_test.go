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
	base := gateway(t, "{\n\t\tproof_log {\n\t\t\tpostgres {env.CONSENTGATE_E2E_DSN}\n\t\t\tpostgres_table "+table+"\n\t\t}\n\t}", up)
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
	if _, err := prooflog.Verify(ctx, src, prooflog.VerifyOptions{}); err != nil {
		t.Fatalf("the database chain does not verify: %v", err)
	}
}
