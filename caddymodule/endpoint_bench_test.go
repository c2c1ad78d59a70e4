package caddymodule

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/consentgate/consentgate/internal/testenv"
)

// BenchmarkConsentEndpoint measures the consent endpoint with the file
// proof log (fsync on, group commit) under 64 concurrent clients on
// loopback: decisions per second and the p99 latency of a decision. The
// clients run in the same process as the gateway, so the figure is a lower
// bound for the gateway alone. Target: at least 3,000 decisions/s on 2
// cores.
//
//	go test ./caddymodule -run '^$' -bench ConsentEndpoint -benchtime 20000x
func BenchmarkConsentEndpoint(b *testing.B) {
	port := testenv.FreePort(b)
	logDir := filepath.Join(b.TempDir(), "prooflog")
	startCaddy(b, fmt.Sprintf("http://:%d {\n\tbind 127.0.0.1\n\tcookie_consent {\n\t\trate_limit off\n\t\tproof_log {\n\t\t\tdir %s\n\t\t}\n\t}\n\trespond ok\n}\n", port, logDir))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	testenv.WaitListening(b, fmt.Sprintf("127.0.0.1:%d", port))
	transport := &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	c := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	decide := func() (time.Duration, error) {
		req, _ := http.NewRequest("POST", base+"/.well-known/consent/consent", strings.NewReader(`{"action":"save","categories":["statistics"]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", base)
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return 0, fmt.Errorf("status %d", resp.StatusCode)
		}
		return time.Since(start), nil
	}
	for i := 0; i < 64; i++ { // warm the connections and the log file
		if _, err := decide(); err != nil {
			b.Fatal(err)
		}
	}

	const clients = 64
	var next atomic.Int64
	latencies := make([][]time.Duration, clients)
	var failed atomic.Int64
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				d, err := decide()
				if err != nil {
					failed.Add(1)
					continue
				}
				latencies[w] = append(latencies[w], d)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d decisions failed", n)
	}
	all := slices.Concat(latencies...)
	slices.Sort(all)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "decisions/s")
	b.ReportMetric(float64(all[len(all)*99/100])/float64(time.Millisecond), "p99-ms")
	b.ReportMetric(float64(all[len(all)/2])/float64(time.Millisecond), "p50-ms")
}
