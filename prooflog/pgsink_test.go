package prooflog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/consentgate/consentgate/internal/testenv"
)

// pgDSN returns the test database (see testenv.PostgresDSN).
func pgDSN(t testing.TB) string { return testenv.PostgresDSN(t) }

// pgTestTable returns a fresh table name, dropped after the test.
func pgTestTable(t testing.TB, dsn string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "prooflog_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Logf("dropping %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %[1]s, %[1]s_migrations; DROP FUNCTION IF EXISTS %[1]s_append_only()", name))
		if err != nil {
			t.Logf("dropping %s: %v", name, err)
		}
	})
	return name
}

func newPGTestSink(t testing.TB, dsn, table string, edit func(*PGConfig)) *PGSink {
	t.Helper()
	cfg := PGConfig{DSN: dsn, Table: table, Keys: testKey()}
	if edit != nil {
		edit(&cfg)
	}
	s, err := NewPGSink(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func verifyPG(t testing.TB, dsn, table string) *VerifyReport {
	t.Helper()
	src, err := OpenPGSource(context.Background(), dsn, table)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	rep, err := Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return rep
}

func pgExec(t testing.TB, dsn, sql string, args ...any) error {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

func TestPGConstructionTouchesNoDatabase(t *testing.T) {
	// An unreachable address: construction must not try it.
	s, err := NewPGSink(PGConfig{DSN: "postgres://nobody@127.0.0.1:1/none?connect_timeout=1", Keys: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPGSink(PGConfig{DSN: "postgres://x@y/z", Table: "Robert'); DROP TABLE x;--", Keys: testKey()}); err == nil {
		t.Fatal("a table name that is not an identifier was accepted")
	}
}

func TestPGAnUnreachableDatabaseFailsTheAppend(t *testing.T) {
	s, _ := NewPGSink(PGConfig{DSN: "postgres://nobody@127.0.0.1:1/none?connect_timeout=1", Keys: testKey()})
	defer s.Close()
	if err := s.Append(context.Background(), testRecord(0)); err == nil {
		t.Fatal("Append succeeded without a database")
	}
}

func TestPGAppendsChainAndVerify(t *testing.T) {
	dsn := pgDSN(t)
	table := pgTestTable(t, dsn)
	s := newPGTestSink(t, dsn, table, func(c *PGConfig) { c.CheckpointEvery = 5 })
	var exists *string
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	_ = conn.QueryRow(context.Background(), "SELECT to_regclass($1)::text", table).Scan(&exists)
	if exists != nil {
		t.Fatal("NewPGSink created the table before the first Append")
	}
	r := testRecord(0)
	if err := s.Append(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if r.Seq != 3 {
		t.Fatalf("first record seq %d, want 3 after the policy checkpoint and its texts entry", r.Seq)
	}
	appendN(t, s, 1, 19)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep := verifyPG(t, dsn, table)
	// The policy checkpoint first, one every 5 entries, the close one.
	if rep.Decisions != 20 || rep.Texts != 1 || rep.Checkpoints != 6 || rep.UnsignedTail != 0 {
		t.Fatalf("report %+v", rep)
	}
	var version int
	if err := conn.QueryRow(context.Background(), "SELECT max(version) FROM "+table+"_migrations").Scan(&version); err != nil || version != 1 {
		t.Fatalf("schema version %d, %v", version, err)
	}

	src, err := OpenPGSource(context.Background(), dsn, table)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	recs, err := Show(context.Background(), src, "c-000007")
	if err != nil || len(recs) != 1 || recs[0].ConsentID != "c-000007" {
		t.Fatalf("Show: %+v, %v", recs, err)
	}
	n, err := Export(context.Background(), src, &strings.Builder{}, FormatCSV, Filter{
		From: time.Date(2026, 11, 24, 10, 0, 5, 0, time.UTC), To: time.Date(2026, 11, 24, 10, 0, 10, 0, time.UTC)})
	if err != nil || n != 5 {
		t.Fatalf("Export of a time range: %d, %v; want 5", n, err)
	}
	st, err := Stats(context.Background(), src, Filter{})
	if err != nil || st.Decisions != 20 {
		t.Fatalf("Stats: %+v, %v", st, err)
	}
}

func TestPGMigrationIsIdempotent(t *testing.T) {
	dsn := pgDSN(t)
	table := pgTestTable(t, dsn)
	tbl, _ := newPGTable(table)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer conn.Close(ctx)
			errs[i] = tbl.migrate(ctx, conn)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrations: %v", err)
		}
	}
}

func TestPGInstancesShareOneChain(t *testing.T) {
	dsn := pgDSN(t)
	table := pgTestTable(t, dsn)
	const instances, writers, each = 3, 8, 25
	var wg sync.WaitGroup
	var acked sync.Map
	for in := range instances {
		s := newPGTestSink(t, dsn, table, func(c *PGConfig) { c.CheckpointEvery = 50 })
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					r := testRecord((in*writers+w)*each + i)
					if err := s.Append(context.Background(), r); err != nil {
						t.Error(err)
						return
					}
					acked.Store(r.ConsentID, r.Seq)
				}
			}()
		}
	}
	wg.Wait()
	rep := verifyPG(t, dsn, table)
	if rep.Decisions != instances*writers*each || rep.Texts != 1 {
		t.Fatalf("report %+v", rep)
	}
	checkAcked(t, dsn, table, &acked)
}

// checkAcked asserts every acknowledged consent ID is in the table at its
// acknowledged seq.
func checkAcked(t testing.TB, dsn, table string, acked *sync.Map) {
	t.Helper()
	src, err := OpenPGSource(context.Background(), dsn, table)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	have := decisionSeqs(t, src)
	n := 0
	acked.Range(func(k, v any) bool {
		n++
		if have[k.(string)] != v.(uint64) {
			t.Errorf("acknowledged %s at seq %d is not in the database (have seq %d)", k, v, have[k.(string)])
		}
		return true
	})
	t.Logf("%d acknowledged records all present", n)
}

func TestPGPruneCarriesTextsForwardAndLeavesASignedCut(t *testing.T) {
	dsn := pgDSN(t)
	table := pgTestTable(t, dsn)
	s := newPGTestSink(t, dsn, table, func(c *PGConfig) { c.CheckpointEvery = -1 })
	now := time.Now().UTC()
	for i := range 10 {
		r := testRecord(i)
		r.Time = now.Add(-10 * 24 * time.Hour).Add(time.Duration(i) * time.Second)
		if i >= 6 {
			r.Time = now.Add(time.Duration(i) * time.Second)
		}
		if err := s.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := s.Prune(context.Background(), now.Add(-5*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// The policy checkpoint (seq 1), texts (seq 2) and decisions 0..5
	// (seq 3..8) go.
	if rep.Cut == nil || rep.Cut.Seq != 8 || rep.RemovedEntries != 8 {
		t.Fatalf("prune report %+v", rep)
	}
	vr := verifyPG(t, dsn, table)
	if vr.Anchor == nil || vr.Anchor.Seq != 8 || vr.Decisions != 4 || vr.Texts != 1 || len(vr.MissingTexts) != 0 {
		t.Fatalf("after pruning: %+v", vr)
	}
	appendN(t, s, 20, 2)
	verifyPG(t, dsn, table)
}

func TestPGTamperingIsCaught(t *testing.T) {
	dsn := pgDSN(t)
	table := pgTestTable(t, dsn)
	s := newPGTestSink(t, dsn, table, nil)
	appendN(t, s, 0, 6)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	err := pgExec(t, dsn, "UPDATE "+table+" SET consent_id = 'x' WHERE seq = 3")
	if err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("UPDATE = %v, want the append-only trigger to refuse it", err)
	}
	if err := pgExec(t, dsn, "TRUNCATE "+table); err == nil {
		t.Fatal("TRUNCATE was allowed")
	}
	// Someone with the power to disable triggers edits a row anyway.
	if err := pgExec(t, dsn, "ALTER TABLE "+table+" DISABLE TRIGGER USER; UPDATE "+table+
		" SET line = convert_to(replace(convert_from(line, 'UTF8'), '\"marketing\":false', '\"marketing\":true'), 'UTF8') WHERE seq = 4"); err != nil {
		t.Fatal(err)
	}
	src, _ := OpenPGSource(context.Background(), dsn, table)
	defer src.Close()
	_, err = Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}})
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Kind != BreakEdited || ce.Pos.Seq != 4 {
		t.Fatalf("Verify = %v, want an edit at seq 4", err)
	}
	if err := pgExec(t, dsn, "DELETE FROM "+table+" WHERE seq = 4"); err != nil {
		t.Fatal(err)
	}
	_, err = Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}})
	if !errors.As(err, &ce) || ce.Kind != BreakDeleted || ce.Pos.Seq != 5 {
		t.Fatalf("Verify = %v, want a deletion before seq 5", err)
	}
}

// TestPGServingRoleNeedsOnlyInsertAndSelect runs the sink as a role with
// exactly the GRANTs SCHEMA.md documents.
func TestPGServingRoleNeedsOnlyInsertAndSelect(t *testing.T) {
	dsn := pgDSN(t)
	table := pgTestTable(t, dsn)
	role := table + "_gw"
	if err := pgExec(t, dsn, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD 'gw'", role)); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" {
			t.Skip("the test DSN's role cannot create roles")
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pgExec(t, dsn, "DROP OWNED BY "+role+"; DROP ROLE "+role) })
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		t.Skip("the test DSN is not a URL; cannot derive the serving role's DSN")
	}
	u.User = url.UserPassword(role, "gw")
	gwDSN := u.String()

	// The owner migrates (lazily, through OwnerDSN), then grants.
	owner := newPGTestSink(t, gwDSN, table, func(c *PGConfig) { c.OwnerDSN = dsn })
	tbl, _ := newPGTable(table)
	if err := pgExec(t, dsn, fmt.Sprintf("GRANT USAGE ON SCHEMA public TO %s", role)); err != nil {
		t.Fatal(err)
	}
	// Without grants the serving role cannot even read the version.
	if err := owner.Append(context.Background(), testRecord(0)); err == nil {
		t.Fatal("Append worked before the grants")
	}
	if err := pgExec(t, dsn, fmt.Sprintf("GRANT SELECT, INSERT ON %s TO %s; GRANT SELECT ON %s TO %s",
		tbl.entries, role, tbl.migrations, role)); err != nil {
		t.Fatal(err)
	}
	appendN(t, owner, 1, 5)
	if err := pgExec(t, gwDSN, "DELETE FROM "+table); err == nil {
		t.Fatal("the serving role could delete")
	}
	if err := owner.Close(); err != nil {
		t.Fatal(err)
	}
	verifyPG(t, gwDSN, table)
}

// TestPGRestartUnderLoadLosesNoAcknowledgedRecord restarts the server
// while appenders run; every acknowledged Append must be there after.
func TestPGRestartUnderLoadLosesNoAcknowledgedRecord(t *testing.T) {
	dsn, restart := testenv.PostgresRestart(t)
	table := pgTestTable(t, dsn)
	s := newPGTestSink(t, dsn, table, func(c *PGConfig) { c.Timeout = 5 * time.Second; c.CheckpointEvery = 100 })
	appendN(t, s, 0, 1) // migrate before the load
	var acked sync.Map
	var ok, failed, okAfter atomic.Int64
	var restarted atomic.Bool
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var next atomic.Int64
	next.Store(1)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := testRecord(int(next.Add(1)))
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				err := s.Append(ctx, r)
				cancel()
				if err != nil {
					failed.Add(1)
					time.Sleep(20 * time.Millisecond)
					continue
				}
				ok.Add(1)
				if restarted.Load() {
					okAfter.Add(1)
				}
				acked.Store(r.ConsentID, r.Seq)
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	out, err := exec.Command("sh", "-c", restart).CombinedOutput()
	if err != nil {
		close(stop)
		wg.Wait()
		t.Fatalf("restart command %q: %v\n%s", restart, err, out)
	}
	restarted.Store(true)
	deadline := time.Now().Add(30 * time.Second)
	for okAfter.Load() < 200 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d acknowledged, %d failed (503), %d acknowledged after the restart", ok.Load(), failed.Load(), okAfter.Load())
	if okAfter.Load() == 0 {
		t.Fatal("no Append succeeded after the restart: the sink did not reconnect")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	verifyPG(t, dsn, table)
	checkAcked(t, dsn, table, &acked)
}
