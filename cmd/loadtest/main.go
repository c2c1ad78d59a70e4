// Command loadtest measures what the gateway costs: on loopback, in one run,
// plain Caddy reverse_proxy and the gateway (the same config plus the
// cookie_consent line) in front of the same upstream, loaded with wrk.
//
//	go run ./cmd/loadtest                       # all scenarios, 3 rounds of 10 s
//	go run ./cmd/loadtest -duration 5s -rounds 1 -scenarios image,page
//	go run ./cmd/loadtest -page some.html       # pages (b) and (c): this file
//	go run ./cmd/loadtest -soak 10m             # mixed load with decisions; RSS and goroutines over time
//
// Pages (b) and (c) are real: the pages of 100–150 KB from
// ../shared/corpus/pages (real sites with their original tags), requested
// in rotation, when that folder is there; else the demo site's home page.
// -page FILE puts one page of your own in their place. The 2 MB page (d)
// is made of the corpus pages' bodies one after another, or else of the
// demo home page's post list repeated.
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
	"io"
	"net"
	"net/http"
	"net/url"
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
	name, label string
	// paths are requested in rotation.
	paths []string
	// cookie returns a Cookie header for the gateway run (e.g. a consent
	// cookie that accepts everything); nil: none.
	cookie func(gatewayURL string) (string, error)
}

// The real pages of scenarios (b) and (c): corpus pages of this size.
const (
	minRealPage = 100_000
	maxRealPage = 150_000
)

// pageSet is the page or pages scenarios (b) and (c) request, as copied
// into the site.
type pageSet struct {
	what  string // for the label
	paths []string
	// The 2 MB page of scenario (d).
	big, bigPath string
}

// scenarioList returns the scenarios with pages (b) and (c) from pages.
func scenarioList(pages pageSet) []scenario {
	return []scenario{
		{name: "image", label: "(a) 100 KB image", paths: []string{"/wp-content/uploads/2026/11/hero.png"}},
		{name: "page", label: "(b) " + pages.what + ", no consent", paths: pages.paths},
		{name: "accepted", label: "(c) " + pages.what + ", all accepted", paths: pages.paths, cookie: acceptAllCookie},
		{name: "big", label: "(d) " + pages.big + ", no consent", paths: []string{pages.bigPath}},
	}
}

func main() {
	duration := flag.Duration("duration", 10*time.Second, "length of each wrk run")
	rounds := flag.Int("rounds", 3, "plain/gateway run pairs per scenario")
	conns := flag.Int("connections", 32, "wrk connections")
	threads := flag.Int("threads", 2, "wrk threads")
	only := flag.String("scenarios", "", "comma-separated subset of: image,page,accepted,big")
	page := flag.String("page", "", "an HTML `file` for pages (b) and (c) instead of the corpus pages")
	corpus := flag.String("corpus", testpages.CorpusDir(), "`folder` of real pages: those of 100–150 KB are pages (b) and (c), in rotation, and page (d) is made of them all (absent: the demo pages)")
	soakFor := flag.Duration("soak", 0, "instead of the comparison, run mixed load with consent decisions this long and report RSS and goroutines")
	flag.Parse()
	err := withWorkspace(func(work, bin, site string) error {
		if *soakFor > 0 {
			return soak(work, bin, site, *soakFor, *conns, *threads)
		}
		pages, err := addPages(site, *page, *corpus)
		if err != nil {
			return err
		}
		return run(os.Stdout, work, bin, site, scenarioList(pages), *duration, *rounds, *conns, *threads, *only)
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

func run(out io.Writer, work, bin, site string, scenarios []scenario, duration time.Duration, rounds, conns, threads int, only string) error {
	fmt.Fprintf(out, "| scenario | plain req/s | gateway req/s | ratio | plain p50 / p99 (1 conn) | gateway p50 / p99 (1 conn) | added p99 | peak RSS plain / gateway |\n")
	fmt.Fprintf(out, "|---|---|---|---|---|---|---|---|\n")
	for _, sc := range scenarios {
		if only != "" && !strings.Contains(","+only+",", ","+sc.name+",") {
			continue
		}
		row, err := measure(bin, work, site, sc, duration, rounds, conns, threads)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.name, err)
		}
		fmt.Fprintln(out, row)
	}
	fmt.Fprintf(out, "\nreq/s: wrk -t%d -c%d -d%s; latency: wrk -t1 -c1 -d%s; median of %d rounds each; %s\n", threads, conns, duration, duration, rounds, machine())
	return nil
}

// addPages copies the pages of scenarios (b) and (c) into the site: file
// if given, else the corpus pages of 100–150 KB, else none (the demo
// home page); and makes the 2 MB page of scenario (d) from the corpus
// pages, or else uses the demo's (prepareSite wrote it).
func addPages(site, file, corpus string) (pageSet, error) {
	set, err := pagesBC(site, file, corpus)
	if err != nil {
		return set, err
	}
	set.big, set.bigPath = "2 MB demo page", "/big.html"
	names, _ := filepath.Glob(filepath.Join(corpus, "*.html"))
	if len(names) > 0 {
		big, err := corpusPage(names, 2<<20)
		if err != nil {
			return set, err
		}
		if err := os.WriteFile(filepath.Join(site, "corpus-big.html"), big, 0o644); err != nil {
			return set, err
		}
		set.big, set.bigPath = "2 MB page of corpus pages", "/corpus-big.html"
	}
	return set, nil
}

// corpusPage makes a page of at least n bytes out of real ones: the first
// page with the contents of the others' bodies (and then again, in turn)
// added at the end of its body, trackers and all.
func corpusPage(names []string, n int) ([]byte, error) {
	var bodies [][]byte
	var first []byte
	for i, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			first = data
		}
		lower := bytes.ToLower(data)
		start, end := bytes.Index(lower, []byte("<body")), bytes.LastIndex(lower, []byte("</body"))
		if start < 0 || end < start {
			continue
		}
		if k := bytes.IndexByte(data[start:end], '>'); k >= 0 {
			bodies = append(bodies, data[start+k+1:end])
		}
	}
	end := bytes.LastIndex(bytes.ToLower(first), []byte("</body"))
	if end < 0 || len(bodies) == 0 {
		return nil, errors.New("the corpus pages have no <body> to repeat")
	}
	out := append([]byte(nil), first[:end]...)
	for i := 0; len(out)+len(first)-end < n; i++ {
		out = append(out, bodies[i%len(bodies)]...)
	}
	return append(out, first[end:]...), nil
}

// pagesBC copies the pages of scenarios (b) and (c) into the site.
func pagesBC(site, file, corpus string) (pageSet, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return pageSet{}, fmt.Errorf("-page: %w", err)
		}
		if err := os.WriteFile(filepath.Join(site, "loadtest-page.html"), data, 0o644); err != nil {
			return pageSet{}, err
		}
		return pageSet{what: fmt.Sprintf("%s (%.0f KB)", filepath.Base(file), float64(len(data))/1000), paths: []string{"/loadtest-page.html"}}, nil
	}
	names, _ := filepath.Glob(filepath.Join(corpus, "*.html"))
	var set pageSet
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return pageSet{}, err
		}
		if len(data) < minRealPage || len(data) > maxRealPage {
			continue
		}
		if err := os.MkdirAll(filepath.Join(site, "corpus"), 0o755); err != nil {
			return pageSet{}, err
		}
		if err := os.WriteFile(filepath.Join(site, "corpus", filepath.Base(n)), data, 0o644); err != nil {
			return pageSet{}, err
		}
		set.paths = append(set.paths, "/corpus/"+url.PathEscape(filepath.Base(n)))
	}
	if len(set.paths) == 0 {
		home, err := testpages.Load("index.html")
		if err != nil {
			return pageSet{}, err
		}
		return pageSet{what: fmt.Sprintf("demo page (%.0f KB)", float64(len(home))/1000), paths: []string{"/"}}, nil
	}
	set.what = fmt.Sprintf("%d real pages of %d–%d KB", len(set.paths), minRealPage/1000, maxRealPage/1000)
	return set, nil
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
	if err := check(plain.port, gw.port, sc.paths, cookie); err != nil {
		return "", err
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
				res, err := runWrk(dir, fmt.Sprintf("http://127.0.0.1:%d", target.port), sc.paths, hdr, duration, conns, threads)
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

// check fetches every path once from both proxies before the load: the
// plain proxy must serve it, and the gateway must serve the same bytes for
// anything but a page, and a page with its consent hooks inserted; else
// the comparison would time something other than the gateway at work.
func check(plainPort, gatewayPort int, paths []string, cookie string) error {
	get := func(port int, path, cookie string) ([]byte, string, error) {
		req, err := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
		if err != nil {
			return nil, "", err
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("%s: status %d", path, resp.StatusCode)
		}
		return body, resp.Header.Get("Content-Type"), err
	}
	for _, path := range paths {
		plain, ctype, err := get(plainPort, path, "")
		if err != nil {
			return fmt.Errorf("plain: %w", err)
		}
		gw, _, err := get(gatewayPort, path, cookie)
		if err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
		if !strings.HasPrefix(ctype, "text/html") {
			if !bytes.Equal(plain, gw) {
				return fmt.Errorf("%s: the gateway changed a %s response", path, ctype)
			}
			continue
		}
		if hook := []byte("/.well-known/consent/"); bytes.Contains(plain, hook) || !bytes.Contains(gw, hook) {
			return fmt.Errorf("%s: the gateway's hooks are not in its page, or are in the plain proxy's", path)
		}
	}
	return nil
}

// rotation is a wrk script requesting paths in turn.
func rotation(paths []string) string {
	var b strings.Builder
	b.WriteString("paths = {")
	for i, p := range paths {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", p)
	}
	b.WriteString("}\nn = 0\nrequest = function()\n\tn = n % #paths + 1\n\treturn wrk.format(nil, paths[n])\nend\n")
	return b.String()
}

// runWrk loads base+paths[0], or every path in turn, and reads wrk's
// figures.
func runWrk(dir, base string, paths []string, cookie string, duration time.Duration, conns, threads int) (wrkResult, error) {
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", duration.String(), "--latency"}
	if cookie != "" {
		args = append(args, "-H", "Cookie: "+cookie)
	}
	if len(paths) > 1 {
		script := filepath.Join(dir, "rotation.lua")
		if err := os.WriteFile(script, []byte(rotation(paths)), 0o644); err != nil {
			return wrkResult{}, err
		}
		args = append(args, "-s", script)
	}
	out, err := exec.Command("wrk", append(args, base+paths[0])...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk: %w: %s", err, out)
	}
	return parseWrk(out)
}

// parseWrk reads requests/s and the latency percentiles from wrk --latency
// output.
func parseWrk(out []byte) (wrkResult, error) {
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
