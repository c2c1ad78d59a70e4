// Command loadtest measures what the gateway costs: on loopback, in one run,
// plain Caddy reverse_proxy and the gateway (the same config plus the
// cookie_consent line) in front of the same upstream, loaded with wrk.
//
//	go run ./cmd/loadtest                       # all scenarios, 3 rounds of 10 s
//	go run ./cmd/loadtest -duration 5s -rounds 1 -scenarios image,page
//	go run ./cmd/loadtest -soak 10m             # mixed load with decisions; RSS and goroutines over time
//
// Each scenario starts fresh processes (so peak RSS is per scenario),
// alternates plain and gateway runs within each round, and reports the
// median requests/s and latency percentiles, the ratio gateway/plain, and
// the peak RSS (VmHWM) of both proxies. It needs wrk (Debian: apt-get
// install wrk).
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/consentgate/consentgate/internal/testpages"
)

type scenario struct {
	name, label, path string
	// cookie returns a Cookie header for the gateway run (e.g. a consent
	// cookie that accepts everything); nil: none.
	cookie func(gatewayURL string) (string, error)
}

var scenarios = []scenario{
	{name: "image", label: "(a) 100 KB image", path: "/wp-content/uploads/2026/11/hero.png"},
	{name: "page", label: "(b) 100 KB page, no consent", path: "/"},
	{name: "accepted", label: "(c) 100 KB page, all accepted", path: "/", cookie: acceptAllCookie},
	{name: "big", label: "(d) 2 MB page, no consent", path: "/big.html"},
}

func main() {
	duration := flag.Duration("duration", 10*time.Second, "length of each wrk run")
	rounds := flag.Int("rounds", 3, "plain/gateway run pairs per scenario")
	conns := flag.Int("connections", 32, "wrk connections")
	threads := flag.Int("threads", 2, "wrk threads")
	only := flag.String("scenarios", "", "comma-separated subset of: image,page,accepted,big")
	soakFor := flag.Duration("soak", 0, "instead of the comparison, run mixed load with consent decisions this long and report RSS and goroutines")
	flag.Parse()
	err := withWorkspace(func(work, bin, site string) error {
		if *soakFor > 0 {
			return soak(work, bin, site, *soakFor, *conns, *threads)
		}
		return run(work, bin, site, *duration, *rounds, *conns, *threads, *only)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// withWorkspace checks for wrk, builds Caddy with the gateway and prepares
// the demo site (with the 2 MB page) in a temporary folder for f.
func withWorkspace(f func(work, bin, site string) error) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return errors.New("wrk not found: install it (Debian: apt-get install wrk)")
	}
	work, err := os.MkdirTemp("", "consentgate-loadtest")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "caddy")
	build := exec.Command("go", "build", "-o", bin, "./cmd/caddy")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building caddy: %w", err)
	}
	site, err := prepareSite(work)
	if err != nil {
		return err
	}
	return f(work, bin, site)
}

func run(work, bin, site string, duration time.Duration, rounds, conns, threads int, only string) error {
	fmt.Printf("| scenario | plain req/s | gateway req/s | ratio | plain p50 / p99 (1 conn) | gateway p50 / p99 (1 conn) | added p99 | peak RSS plain / gateway |\n")
	fmt.Printf("|---|---|---|---|---|---|---|---|\n")
	for _, sc := range scenarios {
		if only != "" && !strings.Contains(","+only+",", ","+sc.name+",") {
			continue
		}
		row, err := measure(bin, work, site, sc, duration, rounds, conns, threads)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		fmt.Println(row)
	}
	fmt.Printf("\nreq/s: wrk -t%d -c%d -d%s; latency: wrk -t1 -c1 -d%s; median of %d rounds each; %s\n", threads, conns, duration, duration, rounds, machine())
	return nil
}

// prepareSite copies the demo site and adds the 2 MB page.
func prepareSite(work string) (string, error) {
	site := filepath.Join(work, "site")
	if err := os.CopyFS(site, os.DirFS(testpages.Dir())); err != nil {
		return "", fmt.Errorf("copying the demo site: %w", err)
	}
	big, err := testpages.Sized(2 << 20)
	if err != nil {
		return "", err
	}
	return site, os.WriteFile(filepath.Join(site, "big.html"), big, 0o644)
}

// proxyConfig is the one config both proxies run; only the cookie_consent
// line differs.
func proxyConfig(upstream int, gateway bool, storage string) string {
	line := ""
	if gateway {
		line = "\tcookie_consent\n"
	}
	return fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tstorage file_system %s\n\tlog {\n\t\toutput discard\n\t}\n}\n"+
		"http://:{PORT} {\n%s\treverse_proxy 127.0.0.1:%d\n}\n", storage, line, upstream)
}

type proc struct {
	cmd  *exec.Cmd
	port int
}

func start(bin, dir, name, config string) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	config = strings.ReplaceAll(config, "{PORT}", strconv.Itoa(port))
	cfgPath := filepath.Join(dir, name+".caddyfile")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "--config", cfgPath, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, port: port}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond); err == nil {
			c.Close()
			return p, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("%s did not start: %s", name, stderr.String())
}

func (p *proc) stop() {
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
}

// peakRSS reads the process's high-water resident set size.
func (p *proc) peakRSS() string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return "?"
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		return "?"
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return fmt.Sprintf("%.0f MB", float64(kb)/1024)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func measure(bin, work, site string, sc scenario, duration time.Duration, rounds, conns, threads int) (string, error) {
	dir, err := os.MkdirTemp(work, sc.name)
	if err != nil {
		return "", err
	}
	up, err := start(bin, dir, "upstream", fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n\tlog {\n\t\toutput discard\n\t}\n}\nhttp://:{PORT} {\n\troot * %s\n\tfile_server\n}\n", site))
	if err != nil {
		return "", err
	}
	defer up.stop()
	plain, err := start(bin, dir, "plain", proxyConfig(up.port, false, dir))
	if err != nil {
		return "", err
	}
	defer plain.stop()
	gw, err := start(bin, dir, "gateway", proxyConfig(up.port, true, dir))
	if err != nil {
		return "", err
	}
	defer gw.stop()

	cookie := ""
	if sc.cookie != nil {
		if cookie, err = sc.cookie(fmt.Sprintf("http://127.0.0.1:%d", gw.port)); err != nil {
			return "", err
		}
	}
	// Throughput with many connections, then latency with one (where
	// queueing does not hide what a request costs), alternating plain and
	// gateway so drift in the machine's load hits both.
	both := func(conns, threads int) (wrkResult, wrkResult, error) {
		var p, g []wrkResult
		for i := 0; i < rounds; i++ {
			order := []bool{false, true}
			if i%2 == 1 {
				order = []bool{true, false}
			}
			for _, isGateway := range order {
				target, hdr := plain, ""
				if isGateway {
					target, hdr = gw, cookie
				}
				res, err := runWrk(fmt.Sprintf("http://127.0.0.1:%d%s", target.port, sc.path), hdr, duration, conns, threads)
				if err != nil {
					return wrkResult{}, wrkResult{}, err
				}
				if isGateway {
					g = append(g, res)
				} else {
					p = append(p, res)
				}
			}
		}
		return median(p), median(g), nil
	}
	tp, tg, err := both(conns, threads)
	if err != nil {
		return "", err
	}
	lp, lg, err := both(1, 1)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("| %s | %.0f | %.0f | **%.2f** | %s / %s | %s / %s | %s | %s / %s |",
		sc.label, tp.rps, tg.rps, tg.rps/tp.rps,
		ms(lp.p50), ms(lp.p99), ms(lg.p50), ms(lg.p99), ms(lg.p99-lp.p99),
		plain.peakRSS(), gw.peakRSS()), nil
}

type wrkResult struct {
	rps      float64
	p50, p99 time.Duration
}

func runWrk(url, cookie string, duration time.Duration, conns, threads int) (wrkResult, error) {
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", duration.String(), "--latency"}
	if cookie != "" {
		args = append(args, "-H", "Cookie: "+cookie)
	}
	out, err := exec.Command("wrk", append(args, url)...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	if bytes.Contains(out, []byte("Non-2xx")) {
		return wrkResult{}, fmt.Errorf("wrk saw errors: %s", out)
	}
	var r wrkResult
	if m := regexp.MustCompile(`Requests/sec:\s+([\d.]+)`).FindSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	}
	if m := regexp.MustCompile(`\s50%\s+([\d.]+)(us|ms|s)`).FindSubmatch(out); m != nil {
		r.p50 = parseDur(m[1], m[2])
	}
	if m := regexp.MustCompile(`\s99%\s+([\d.]+)(us|ms|s)`).FindSubmatch(out); m != nil {
		r.p99 = parseDur(m[1], m[2])
	}
	if r.rps == 0 {
		return r, fmt.Errorf("cannot read wrk output: %s", out)
	}
	return r, nil
}

func parseDur(v, unit []byte) time.Duration {
	f, _ := strconv.ParseFloat(string(v), 64)
	switch string(unit) {
	case "us":
		return time.Duration(f * float64(time.Microsecond))
	case "ms":
		return time.Duration(f * float64(time.Millisecond))
	}
	return time.Duration(f * float64(time.Second))
}

func median(rs []wrkResult) wrkResult {
	pick := func(f func(wrkResult) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		sort.Float64s(v)
		return v[len(v)/2]
	}
	return wrkResult{
		rps: pick(func(r wrkResult) float64 { return r.rps }),
		p50: time.Duration(pick(func(r wrkResult) float64 { return float64(r.p50) })),
		p99: time.Duration(pick(func(r wrkResult) float64 { return float64(r.p99) })),
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

// acceptAllCookie asks the gateway's consent endpoint to accept every
// category and returns the consent cookie it sets.
func acceptAllCookie(base string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return acceptCookie(ctx, http.DefaultClient, base, `{"action":"accept_all"}`)
}

func machine() string {
	out, _ := exec.Command("nproc").Output()
	return "loopback, " + strings.TrimSpace(string(out)) + " cores"
}
