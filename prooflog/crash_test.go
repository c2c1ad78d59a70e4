package prooflog

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
)

// The crash test runs this test binary again as a child that appends
// until it is killed; these variables switch TestMain into the child.
const (
	crashChildDirEnv   = "PROOFLOG_CRASH_CHILD_DIR"
	crashChildRoundEnv = "PROOFLOG_CRASH_CHILD_ROUND"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildDirEnv); dir != "" {
		os.Exit(crashChild(dir, os.Getenv(crashChildRoundEnv)))
	}
	os.Exit(m.Run())
}

// crashConfig is the sink configuration parent and child share: small
// files so crashes also hit rotations, keys in Caddy file storage.
func crashConfig(dir string) FileConfig {
	return FileConfig{
		Dir:             filepath.Join(dir, "log"),
		Keys:            &Keyring{Storage: &certmagic.FileStorage{Path: filepath.Join(dir, "storage")}},
		CheckpointEvery: 50,
		RotateSize:      256 << 10,
	}
}

// crashChild appends from 8 goroutines and prints "ack <consent id>
// <seq>" for every acknowledged record, until killed.
func crashChild(dir, round string) int {
	s, err := NewFileSink(crashConfig(dir))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var mu sync.Mutex
	say := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		_, _ = os.Stdout.WriteString(line) // one write per line: the parent never sees half a line
	}
	var wg sync.WaitGroup
	deadline := time.Now().Add(time.Minute)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				r := testRecord(i)
				r.ConsentID = fmt.Sprintf("r%s-g%d-%d", round, g, i)
				if err := s.Append(context.Background(), r); err != nil {
					say("err " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n")
					time.Sleep(10 * time.Millisecond)
					continue
				}
				say(fmt.Sprintf("ack %s %d\n", r.ConsentID, r.Seq))
			}
		}()
	}
	wg.Wait()
	return 3 // not killed in time
}

func TestCrashesLoseNoAcknowledgedRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	dir := t.TempDir()
	rounds := 20
	acked := map[string]uint64{}
	torn := 0
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildDirEnv+"="+dir, crashChildRoundEnv+"="+strconv.Itoa(round))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		first := make(chan struct{})
		done := make(chan struct{})
		var lines []string
		go func() {
			defer close(done)
			sc := bufio.NewScanner(out)
			once := sync.Once{}
			for sc.Scan() {
				lines = append(lines, sc.Text())
				once.Do(func() { close(first) })
			}
		}()
		select {
		case <-first:
		case <-time.After(30 * time.Second):
		}
		time.Sleep(time.Duration(20+rng.IntN(200)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-done
		_ = cmd.Wait()
		n := 0
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) == 3 && f[0] == "ack" {
				seq, _ := strconv.ParseUint(f[2], 10, 64)
				acked[f[1]] = seq
				n++
			} else if len(f) > 0 && f[0] == "err" {
				t.Errorf("round %d: child append failed: %s", round, l)
			}
		}
		if n == 0 {
			t.Fatalf("round %d: the child acknowledged nothing; stderr:\n%s", round, stderr.String())
		}
		// Every fourth round also loses the end of a write, as a power
		// cut might: a partial line is left behind.
		if round%4 == 3 {
			files := logFiles(t, filepath.Join(dir, "log"))
			cur := files[len(files)-1]
			lines := readLines(t, cur)
			last := lines[len(lines)-1]
			appendBytes(t, cur, last[:1+rng.IntN(len(last)-1)])
			torn++
		}
	}

	// A last open recovers whatever the last kill left, then closes cleanly.
	cfg := crashConfig(dir)
	s, err := NewFileSink(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	keys, err := cfg.Keys.(*Keyring).PublicKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	src, err := OpenDir(cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(context.Background(), src, VerifyOptions{Keys: keys})
	if err != nil {
		t.Fatalf("Verify after %d crashes: %v", rounds, err)
	}
	if len(rep.Recoveries) < torn {
		t.Fatalf("%d recoveries recorded, want at least the %d torn writes", len(rep.Recoveries), torn)
	}
	have := decisionSeqs(t, src)
	for id, seq := range acked {
		if have[id] != seq {
			t.Fatalf("acknowledged %s (seq %d) is not in the log (found seq %d)", id, seq, have[id])
		}
	}
	t.Logf("%d rounds, %d acknowledged records all present, %d entries, %d files, %d recoveries, %d warnings",
		rounds, len(acked), rep.Entries, len(logFiles(t, cfg.Dir)), len(rep.Recoveries), len(rep.Warnings))
}
