package caddymodule

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/certmagic"

	"github.com/consentgate/consentgate/prooflog"

	"github.com/consentgate/consentgate/internal/testenv"
)

// crashChildEnv makes the test binary run as the gateway child of
// TestCrashedGatewayLosesNoAcknowledgedDecision: Caddy with the config in
// the variable, until killed.
const crashChildEnv = "CONSENTGATE_CRASH_CHILD_CONFIG"

func runCrashChild() {
	cfgJSON := adaptForChild(os.Getenv(crashChildEnv))
	if err := caddy.Load(cfgJSON, true); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	select {} // until SIGKILL
}

func adaptForChild(caddyfile string) []byte {
	out, _, err := caddyconfigAdapt(caddyfile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	return out
}

// crashRoundsEnv sets the number of rounds of
// TestCrashedGatewayLosesNoAcknowledgedDecision (default 12, as in CI).
// The long run:
//
//	CONSENTGATE_CRASH_ROUNDS=100 go test ./caddymodule -run TestCrashedGateway -count=1 -timeout 60m -v
const crashRoundsEnv = "CONSENTGATE_CRASH_ROUNDS"

// TestCrashedGatewayLosesNoAcknowledgedDecision kills a gateway under
// concurrent consent load with SIGKILL at random moments, many times, on
// the same proof log with a directory witness. Every decision that was
// answered 200 must be in the log afterwards, and the log must verify,
// with the witness.
//
// A round kills only after the load has been acknowledged at least once
// in that round, however long a starved machine takes to start the
// gateway and answer, so a round can never pass or fail for want of load.
func TestCrashedGatewayLosesNoAcknowledgedDecision(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test restarts a gateway many times; skipped with -short")
	}
	rounds := 12
	if v := os.Getenv(crashRoundsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number of rounds", crashRoundsEnv, v)
		}
		rounds = n
	}
	dir := t.TempDir()
	logDir, storage, witness := filepath.Join(dir, "prooflog"), filepath.Join(dir, "storage"), filepath.Join(dir, "witness")
	var mu sync.Mutex
	acked := map[string]bool{}
	perRound := make([]int, rounds)
	for round := 0; round < rounds; round++ {
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tstorage file_system %s\n\tlog {\n\t\toutput discard\n\t}\n}\n"+
			"http://:%d {\n\tbind 127.0.0.1\n\tcookie_consent {\n\t\trate_limit off\n\t\tproof_log {\n\t\t\tdir %s\n\t\t\tcheckpoint_every 50\n\t\t\twitness %s\n\t\t}\n\t}\n\trespond \"ok\"\n}\n",
			storage, port, logDir, witness)
		child := exec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), crashChildEnv+"="+cfg, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
		var stderr bytes.Buffer
		child.Stderr = &stderr
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- child.Wait() }()
		base := fmt.Sprintf("http://127.0.0.1:%d", port)

		ctx, cancel := context.WithCancel(context.Background())
		first := make(chan struct{})
		var firstOnce sync.Once
		var wg sync.WaitGroup
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A generous timeout: an answer that comes late still
				// counts; one that never comes is simply not acknowledged.
				c := &http.Client{Timeout: 60 * time.Second}
				for ctx.Err() == nil {
					req, _ := http.NewRequestWithContext(ctx, "POST", base+"/.well-known/consent/consent", strings.NewReader(`{"action":"accept_all"}`))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Origin", base)
					resp, err := c.Do(req)
					if err != nil {
						// Not listening yet, or killed.
						select {
						case <-ctx.Done():
						case <-time.After(20 * time.Millisecond):
						}
						continue
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || resp.StatusCode != 200 {
						continue
					}
					var s stateResponse
					if json.Unmarshal(body, &s) == nil && s.ID != "" {
						mu.Lock()
						acked[s.ID] = true
						perRound[round]++
						mu.Unlock()
						firstOnce.Do(func() { close(first) })
					}
				}
			}()
		}
		select {
		case <-first:
		case err := <-exited:
			cancel()
			wg.Wait()
			t.Fatalf("round %d: the gateway exited before acknowledging a decision (%v); stderr:\n%s", round, err, stderr.String())
		case <-time.After(3 * time.Minute):
			cancel()
			wg.Wait()
			_ = child.Process.Kill()
			<-exited
			t.Fatalf("round %d: no decision acknowledged within 3 minutes; stderr:\n%s", round, stderr.String())
		}
		// Kill at a random moment of the load.
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		_ = child.Process.Signal(syscall.SIGKILL)
		<-exited
		cancel()
		wg.Wait()
	}

	// Start the gateway's writer once more, as the next start would: it
	// sets a torn last line aside, signs the log and closes it cleanly.
	keys := &prooflog.Keyring{Storage: fileStorage(storage)}
	s, err := prooflog.NewFileSink(prooflog.FileConfig{Dir: logDir, Keys: keys, Witnesses: []string{witness}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(context.Background()); err != nil {
		t.Fatalf("reopening the log after %d kills: %v", rounds, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	src, err := prooflog.OpenDir(logDir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	inLog := map[string]bool{}
	err = src.Scan(context.Background(), func(e prooflog.RawEntry) error {
		ent, err := prooflog.ParseEntry(e.Line)
		if err != nil {
			return err
		}
		if r := ent.Record(); r != nil {
			inLog[r.ConsentID] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	lost := 0
	for id := range acked {
		if !inLog[id] {
			lost++
			t.Errorf("decision %s was acknowledged but is not in the log", id)
		}
	}
	pub, err := keys.PublicKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	witnessed, err := prooflog.ReadWitness(context.Background(), witness)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := prooflog.Verify(context.Background(), src, prooflog.VerifyOptions{Keys: pub, Witnessed: witnessed})
	if err != nil {
		t.Fatalf("the log does not verify with its witness after %d kills: %v", rounds, err)
	}
	t.Logf("%d rounds killed with SIGKILL: %d decisions acknowledged (fewest in a round: %d), %d lost; %d entries verify with %d witnessed checkpoints; %d torn tails recovered",
		rounds, len(acked), slices.Min(perRound), lost, rep.Entries, rep.Witnessed, len(rep.Recoveries))
}

func caddyconfigAdapt(caddyfile string) ([]byte, []caddyconfig.Warning, error) {
	return caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
}

func fileStorage(dir string) certmagic.Storage { return &certmagic.FileStorage{Path: dir} }
