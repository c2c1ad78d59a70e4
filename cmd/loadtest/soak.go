package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// soak runs the gateway for d under mixed load — wrk on pages and images,
// and a stream of consent decisions each followed by a page view with the
// new cookie — and samples its resident memory and goroutine count every
// minute (and at the start and end), so a leak shows as growth.
func soak(work, bin, site string, d time.Duration, conns, threads int) error {
	up, err := start(bin, work, "upstream", fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tlog {\n\t\toutput discard\n\t}\n}\nhttp://:{PORT} {\n\troot * %s\n\tfile_server\n}\n", site))
	if err != nil {
		return err
	}
	defer up.stop()
	mport, err := freePort()
	if err != nil {
		return err
	}
	gw, err := start(bin, work, "gateway", fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tstorage file_system %s\n\tlog {\n\t\toutput discard\n\t}\n}\n"+
		"http://:{PORT} {\n\tcookie_consent {\n\t\trate_limit off\n\t\tproof_log {\n\t\t\tdir %s\n\t\t}\n\t}\n\treverse_proxy 127.0.0.1:%d\n}\n"+
		"http://127.0.0.1:%d {\n\tmetrics\n}\n", work, filepath.Join(work, "prooflog"), up.port, mport))
	if err != nil {
		return err
	}
	defer gw.stop()
	base := fmt.Sprintf("http://127.0.0.1:%d", gw.port)
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", mport)

	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var decisions, pageViews, failures atomic.Int64
	var wg sync.WaitGroup
	// Decisions: a visitor decides, then views a page with the cookie.
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second}
			actions := []string{`{"action":"accept_all"}`, `{"action":"reject_all"}`, `{"action":"save","categories":["statistics"]}`}
			for i := 0; ctx.Err() == nil; i++ {
				cookie, err := acceptCookie(ctx, c, base, actions[i%len(actions)])
				if err != nil {
					if ctx.Err() == nil {
						failures.Add(1)
					}
					continue
				}
				decisions.Add(1)
				req, _ := http.NewRequestWithContext(ctx, "GET", base+"/hello-world/", nil)
				req.Header.Set("Cookie", cookie)
				if resp, err := c.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					pageViews.Add(1)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	// Pages and images with wrk, alternating, until the end.
	wg.Add(1)
	go func() {
		defer wg.Done()
		paths := []string{"/", "/wp-content/uploads/2026/11/hero.png", "/big.html", "/privacy/"}
		for i := 0; ctx.Err() == nil; i++ {
			left := time.Until(deadlineOf(ctx))
			if left < 2*time.Second {
				return
			}
			run := min(30*time.Second, left-time.Second)
			cmd := exec.CommandContext(ctx, "wrk", "-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", run.String(), base+paths[i%len(paths)])
			_ = cmd.Run()
		}
	}()

	fmt.Printf("| elapsed | RSS | goroutines | decisions | page views with consent |\n|---|---|---|---|---|\n")
	sample := func(elapsed time.Duration) {
		fmt.Printf("| %s | %s | %s | %d | %d |\n", elapsed.Round(time.Second), gw.rss(), goroutines(metricsURL), decisions.Load(), pageViews.Load())
	}
	startAt := time.Now()
	sample(0)
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			sample(time.Since(startAt))
		}
	}
	wg.Wait()
	time.Sleep(2 * time.Second) // let in-flight requests finish
	sample(time.Since(startAt))
	fmt.Printf("\n%d decisions recorded, %d failed; %s\n", decisions.Load(), failures.Load(), machine())
	return nil
}

func deadlineOf(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// rss reads the process's current resident set size.
func (p *proc) rss() string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return "?"
	}
	m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return "?"
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return fmt.Sprintf("%.1f MB", float64(kb)/1024)
}

// goroutines reads go_goroutines from Caddy's metrics endpoint.
func goroutines(url string) string {
	resp, err := http.Get(url)
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "go_goroutines ") {
			return strings.TrimPrefix(line, "go_goroutines ")
		}
	}
	return "?"
}

// acceptCookie posts a decision (a JSON body) and returns the consent
// cookie it set.
func acceptCookie(ctx context.Context, c *http.Client, base, body string) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, "POST", base+"/.well-known/consent/consent", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", base)
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("decision: %s", resp.Status)
	}
	for _, ck := range resp.Cookies() {
		return ck.Name + "=" + ck.Value, nil
	}
	return "", fmt.Errorf("no cookie")
}
