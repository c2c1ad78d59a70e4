package prooflog

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// checkpointLines returns the checkpoint lines of a file log, in order.
func checkpointLines(t *testing.T, dir string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, f := range logFiles(t, dir) {
		for _, l := range readLines(t, f) {
			if e, err := ParseEntry(l); err == nil && e.Kind == KindCheckpoint {
				out = append(out, l)
			}
		}
	}
	return out
}

// results counts WitnessHooks results.
type results struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *results) hooks() WitnessHooks {
	return WitnessHooks{OnResult: func(_, result string, _ uint64, _ error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.n == nil {
			r.n = map[string]int{}
		}
		r.n[result]++
	}}
}

func (r *results) get(result string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[result]
}

func TestADirectoryWitnessHoldsEveryCheckpoint(t *testing.T) {
	dir, wdir := t.TempDir(), filepath.Join(t.TempDir(), "auditor")
	var res results
	s := newTestSink(t, dir, func(c *FileConfig) {
		c.CheckpointEvery = 4
		c.RotateSize = 3000
		c.Witnesses = []string{wdir}
		c.WitnessHooks = res.hooks()
	})
	appendN(t, s, 0, 20)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadWitness(context.Background(), wdir)
	if err != nil {
		t.Fatal(err)
	}
	want := checkpointLines(t, dir)
	if len(got) != len(want) || !bytes.Equal(bytes.Join(got, nil), bytes.Join(want, nil)) {
		t.Fatalf("witness holds %d checkpoint lines, the log %d; want the same lines in order", len(got), len(want))
	}
	if res.get(WitnessSent) != len(want) || res.get(WitnessFailed) != 0 {
		t.Fatalf("hooks: %v, want %d sent", res.n, len(want))
	}
	src, _ := OpenDir(dir)
	rep, err := Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}, Witnessed: got})
	if err != nil || rep.Witnessed != len(want) || rep.UnwitnessedTail != 0 {
		t.Fatalf("Verify with the witness: %+v, %v", rep, err)
	}
}

func TestAnHTTPWitnessIsRetriedWithBackoff(t *testing.T) {
	var mu sync.Mutex
	var stored [][]byte
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls <= 2 {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("Consentgate-Checkpoint-Seq") == "" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		stored = append(stored, body)
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	dir := t.TempDir()
	var res results
	s := newTestSink(t, dir, func(c *FileConfig) {
		c.CheckpointEvery = 3
		c.Witnesses = []string{srv.URL + "/witness"}
		c.WitnessHooks = res.hooks()
	})
	appendN(t, s, 0, 9)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want := checkpointLines(t, dir)
	mu.Lock()
	defer mu.Unlock()
	if !bytes.Equal(bytes.Join(stored, nil), bytes.Join(want, nil)) {
		t.Fatalf("the HTTP witness stored %d checkpoints, the log has %d", len(stored), len(want))
	}
	if res.get(WitnessFailed) != 2 || res.get(WitnessSent) != len(want) {
		t.Fatalf("hooks: %v; want 2 failed attempts and %d sent", res.n, len(want))
	}
	// What the endpoint stored is a witness file.
	f := filepath.Join(t.TempDir(), "stored.jsonl")
	if err := os.WriteFile(f, bytes.Join(stored, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	lines, err := ReadWitness(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := OpenDir(dir)
	if _, err := Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}, Witnessed: lines}); err != nil {
		t.Fatal(err)
	}
}

func TestAWitnessThatIsDownNeverDelaysDecisions(t *testing.T) {
	old := witnessDrainTimeout
	witnessDrainTimeout = 300 * time.Millisecond
	t.Cleanup(func() { witnessDrainTimeout = old })
	// A witness that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	// And one whose port refuses connections.
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	refused := "http://" + closed.Addr().String()
	closed.Close()

	dir := t.TempDir()
	var res results
	s := newTestSink(t, dir, func(c *FileConfig) {
		c.CheckpointEvery = 2
		c.Witnesses = []string{"http://" + ln.Addr().String(), refused}
		c.WitnessHooks = res.hooks()
	})
	// Each Append waits for its own fsync only. The bound is generous for
	// a starved machine but far below one witness attempt (10s).
	start := time.Now()
	appendN(t, s, 0, 20)
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("20 appends took %v with the witnesses down", d)
	}
	start = time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if res.get(WitnessFailed) == 0 || res.get(WitnessDropped) == 0 || res.get(WitnessSent) != 0 {
		t.Fatalf("hooks %v: want failures counted and the undelivered dropped at shutdown", res.n)
	}
	verifyDir(t, dir)
}

func TestAPostgreSQLWitnessNeedsOnlyInsert(t *testing.T) {
	dsn := pgDSN(t)
	role := fmt.Sprintf("cg_witness_%d", time.Now().UnixNano()%1e9)
	if err := pgExec(t, dsn, fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD 'wit'", role)); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" {
			t.Skip("the test DSN's role cannot create roles")
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = pgExec(t, dsn, "DROP TABLE IF EXISTS "+DefaultPGWitnessTable+"; DROP FUNCTION IF EXISTS "+DefaultPGWitnessTable+"_insert_only()")
		_ = pgExec(t, dsn, "DROP OWNED BY "+role+"; DROP ROLE "+role)
	})
	_ = pgExec(t, dsn, "DROP TABLE IF EXISTS "+DefaultPGWitnessTable)
	if err := pgExec(t, dsn, PGWitnessSchema("", role)+"GRANT USAGE ON SCHEMA public TO "+role); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Skip("the test DSN is not a URL")
	}
	u.User = url.UserPassword(role, "wit")
	witnessDSN := u.String()

	dir := t.TempDir()
	var res results
	s := newTestSink(t, dir, func(c *FileConfig) {
		c.CheckpointEvery = 3
		c.Witnesses = []string{witnessDSN}
		c.WitnessHooks = res.hooks()
	})
	appendN(t, s, 0, 10)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want := checkpointLines(t, dir)
	if res.get(WitnessSent) != len(want) {
		t.Fatalf("hooks %v, want %d sent", res.n, len(want))
	}
	for _, q := range []string{"SELECT * FROM ", "DELETE FROM ", "UPDATE " + DefaultPGWitnessTable + " SET seq = 0 --", "TRUNCATE "} {
		if err := pgExec(t, witnessDSN, q+DefaultPGWitnessTable); err == nil {
			t.Fatalf("the witness role could run %q", q)
		}
	}
	if err := pgExec(t, dsn, "DELETE FROM "+DefaultPGWitnessTable); err == nil {
		t.Fatal("even the table's owner could delete witnessed checkpoints")
	}
	got, err := ReadWitness(context.Background(), dsn)
	if err != nil || len(got) != len(want) {
		t.Fatalf("ReadWitness: %d lines, %v; want %d", len(got), err, len(want))
	}
	// Truncating the log to its first checkpoints is caught.
	f := logFiles(t, dir)[0]
	lines := readLines(t, f)
	writeLines(t, f, lines[:8])
	src, _ := OpenDir(dir)
	_, err = Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}, Witnessed: got})
	var ce *ChainError
	if !errors.As(err, &ce) || ce.Kind != BreakWitness {
		t.Fatalf("Verify of a truncated log with the witness = %v, want a witness break", err)
	}
}

func TestAWitnessedLineMustBeASignedCheckpoint(t *testing.T) {
	dir, wdir := t.TempDir(), t.TempDir()
	s := newTestSink(t, dir, func(c *FileConfig) { c.Witnesses = []string{wdir} })
	appendN(t, s, 0, 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := ReadWitness(context.Background(), wdir)
	decision := readLines(t, logFiles(t, dir)[0])[2]
	other, _ := GenerateSigningKey()
	for name, lines := range map[string][][]byte{
		"a decision":          append(got, decision),
		"an unknown key":      got,
		"two different heads": append(got, bytes.Replace(got[0], []byte(`"reason":"open"`), []byte(`"reason":"close"`), 1)),
	} {
		keys := []PublicKey{testKey().Public()}
		if name == "an unknown key" {
			keys = []PublicKey{other.Public()}
		}
		src, _ := OpenDir(dir)
		_, err := Verify(context.Background(), src, VerifyOptions{Keys: keys, Witnessed: lines})
		var ce *ChainError
		if !errors.As(err, &ce) || ce.Kind != BreakWitness {
			t.Errorf("%s: Verify = %v, want a witness break", name, err)
		}
	}
}

// FuzzWitnessedLines feeds arbitrary witness files to Verify's witness
// check: it must refuse what is not a signed checkpoint, never panic.
func FuzzWitnessedLines(f *testing.F) {
	dir := f.TempDir()
	s := newTestSink(f, dir, func(c *FileConfig) { c.CheckpointEvery = 2 })
	appendN(f, s, 0, 4)
	_ = s.Close()
	cps := checkpointLinesTB(f, dir)
	f.Add(bytes.Join(cps, nil))
	f.Add([]byte("{}\n"))
	f.Add(append(cps[0], cps[0]...))
	keys := map[string]ed25519.PublicKey{testKey().ID(): testKey().priv.Public().(ed25519.PublicKey)}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.SplitAfter(data, []byte("\n"))
		heads, err := witnessedHeads(lines, keys)
		if err != nil {
			return
		}
		for seq, h := range heads {
			if seq == 0 || len(h) != 64 {
				t.Fatalf("accepted head %d/%q", seq, h)
			}
		}
	})
}

func checkpointLinesTB(t testing.TB, dir string) [][]byte {
	var out [][]byte
	for _, f := range logFiles(t, dir) {
		for _, l := range readLines(t, f) {
			if e, err := ParseEntry(l); err == nil && e.Kind == KindCheckpoint {
				out = append(out, l)
			}
		}
	}
	return out
}

func TestADirectoryWitnessDropsAnIncompleteLineBeforeAppending(t *testing.T) {
	wdir := t.TempDir()
	if err := os.WriteFile(filepath.Join(wdir, WitnessFileName), []byte(`{"v":2,"seq":`), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := newTestSink(t, dir, func(c *FileConfig) { c.Witnesses = []string{wdir} })
	appendN(t, s, 0, 2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadWitness(context.Background(), wdir)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := OpenDir(dir)
	if rep, err := Verify(context.Background(), src, VerifyOptions{Keys: []PublicKey{testKey().Public()}, Witnessed: got}); err != nil || rep.Witnessed != 2 {
		t.Fatalf("Verify with the repaired witness: %v", err)
	}
}
