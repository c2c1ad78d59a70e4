package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
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

// TestCrashedGatewayLosesNoAcknowledgedDecision kills a gateway under
// concurrent consent load with SIGKILL at random moments, many times, on
// the same proof log. Every decision that was answered 200 must be in the
// log afterwards, and the log must verify.
func TestCrashedGatewayLosesNoAcknowledgedDecision(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test restarts a gateway 12 times; skipped with -short")
	}
	dir := t.TempDir()
	logDir, storage := filepath.Join(dir, "prooflog"), filepath.Join(dir, "storage")
	var mu sync.Mutex
	acked := map[string]bool{}
	rounds := 12
	for round := 0; round < rounds; round++ {
		port := testenv.FreePort(t)
		cfg := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tstorage file_system %s\n\tlog {\n\t\toutput discard\n\t}\n}\n"+
			"http://:%d {\n\tbind 127.0.0.1\n\tcookie_consent {\n\t\trate_limit off\n\t\tproof_log {\n\t\t\tdir %s\n\t\t\tcheckpoint_every 50\n\t\t}\n\t}\n\trespond \"ok\"\n}\n", storage, port, logDir)
		child := exec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), crashChildEnv+"="+cfg, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
		child.Stderr = os.Stderr
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
		base := fmt.Sprintf("http://127.0.0.1:%d", port)

		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := &http.Client{Timeout: 5 * time.Second}
				for ctx.Err() == nil {
					req, _ := http.NewRequestWithContext(ctx, "POST", base+"/.well-known/consent/consent", strings.NewReader(`{"action":"accept_all"}`))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Origin", base)
					resp, err := c.Do(req)
					if err != nil {
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
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		_ = child.Process.Signal(syscall.SIGKILL)
		_ = child.Wait()
		cancel()
		wg.Wait()
	}
	if len(acked) < rounds {
		t.Fatalf("only %d decisions acknowledged over %d rounds: the load did not run", len(acked), rounds)
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
	for id := range acked {
		if !inLog[id] {
			t.Errorf("decision %s was acknowledged but is not in the log", id)
		}
	}
	keys, err := prooflog.PublicKeys(context.Background(), fileStorage(storage), prooflog.DefaultKeyStorageKey)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := prooflog.Verify(context.Background(), src, prooflog.VerifyOptions{Keys: keys})
	if err != nil {
		t.Fatalf("the log does not verify after %d kills: %v", rounds, err)
	}
	t.Logf("%d rounds killed with SIGKILL: %d decisions acknowledged, all in the log; %d entries verify, %d recoveries from torn tails",
		rounds, len(acked), rep.Entries, len(rep.Recoveries))
}

func caddyconfigAdapt(caddyfile string) ([]byte, []caddyconfig.Warning, error) {
	return caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
}

func fileStorage(dir string) certmagic.Storage { return &certmagic.FileStorage{Path: dir} }
