package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/internal/testenv"
	"github.com/consentgate/consentgate/internal/testpages"
)

// wrk 4.1's output for a run with --latency.
const wrkOutput = `Running 1s test @ http://127.0.0.1:8080/
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   412.53us  101.20us   2.31ms   90.12%
    Req/Sec     2.41k   120.33     2.60k    70.00%
  Latency Distribution
     50%  395.00us
     75%  430.00us
     90%  502.00us
     99%    1.02ms
  2399 requests in 1.00s, 250.12MB read
Requests/sec:   2398.77
Transfer/sec:    250.04MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk([]byte(wrkOutput))
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 2398.77 || r.p50 != 395*time.Microsecond || r.p99 != 1020*time.Microsecond {
		t.Errorf("parsed %+v", r)
	}
	if _, err := parseWrk([]byte(strings.Replace(wrkOutput, "Requests/sec", "Non-2xx or 3xx responses: 3\nRequests/sec", 1))); err == nil {
		t.Error("a run with errors was accepted")
	}
	if _, err := parseWrk([]byte("garbage")); err == nil {
		t.Error("output without figures was accepted")
	}
}

func TestRotationScript(t *testing.T) {
	got := rotation([]string{"/corpus/a.html", "/corpus/b%20c.html"})
	want := "paths = {\"/corpus/a.html\", \"/corpus/b%20c.html\"}\nn = 0\nrequest = function()\n\tn = n % #paths + 1\n\treturn wrk.format(nil, paths[n])\nend\n"
	if got != want {
		t.Errorf("rotation =\n%s\nwant\n%s", got, want)
	}
}

// TestAddPages: the corpus pages of 100–150 KB when the corpus is there,
// the demo page when it is not, a page of one's own with -page.
func TestAddPages(t *testing.T) {
	t.Run("corpus", func(t *testing.T) {
		names, _ := filepath.Glob(filepath.Join(testpages.CorpusDir(), "*.html"))
		if len(names) == 0 {
			t.Skipf("no corpus pages in %s", testpages.CorpusDir())
		}
		site := t.TempDir()
		set, err := addPages(site, "", testpages.CorpusDir())
		if err != nil {
			t.Fatal(err)
		}
		if len(set.paths) < 3 {
			t.Fatalf("%d corpus pages of 100–150 KB", len(set.paths))
		}
		for _, p := range set.paths {
			fi, err := os.Stat(filepath.Join(site, filepath.FromSlash(strings.ReplaceAll(p, "%20", " "))))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() < minRealPage || fi.Size() > maxRealPage {
				t.Errorf("%s: %d bytes", p, fi.Size())
			}
		}
		big, err := os.ReadFile(filepath.Join(site, strings.TrimPrefix(set.bigPath, "/")))
		if err != nil {
			t.Fatal(err)
		}
		if len(big) < 2<<20 || len(big) > 3<<20 || !strings.HasPrefix(set.big, "2 MB page of corpus pages") {
			t.Errorf("2 MB page: %q, %d bytes", set.big, len(big))
		}
		t.Logf("%s: %v", set.what, set.paths)
	})
	t.Run("no corpus", func(t *testing.T) {
		set, err := addPages(t.TempDir(), "", filepath.Join(t.TempDir(), "absent"))
		if err != nil {
			t.Fatal(err)
		}
		if len(set.paths) != 1 || set.paths[0] != "/" || !strings.HasPrefix(set.what, "demo page") || set.bigPath != "/big.html" {
			t.Errorf("without a corpus: %+v", set)
		}
	})
	t.Run("page", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "mine.html")
		if err := os.WriteFile(file, []byte("<!doctype html><title>x</title>"), 0o644); err != nil {
			t.Fatal(err)
		}
		site := t.TempDir()
		set, err := addPages(site, file, testpages.CorpusDir())
		if err != nil {
			t.Fatal(err)
		}
		if len(set.paths) != 1 || !strings.HasPrefix(set.what, "mine.html") {
			t.Fatalf("with -page: %+v", set)
		}
		if _, err := os.Stat(filepath.Join(site, strings.TrimPrefix(set.paths[0], "/"))); err != nil {
			t.Error(err)
		}
		if _, err := addPages(site, filepath.Join(t.TempDir(), "absent.html"), ""); err == nil {
			t.Error("a missing -page file was accepted")
		}
	})
}

func TestCorpusPage(t *testing.T) {
	dir := t.TempDir()
	pages := map[string]string{
		"a.html": "<!doctype html><html><head><title>a</title></head><BODY class=x><p>first</p></BODY></html>\n",
		"b.html": "<html><body><script src=\"https://www.googletagmanager.com/gtag/js\"></script></body></html>",
		"c.html": "<p>no body element</p>",
	}
	var names []string
	for name, page := range pages {
		names = append(names, filepath.Join(dir, name))
		if err := os.WriteFile(names[len(names)-1], []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(names)
	got, err := corpusPage(names, 1000)
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	if len(got) < 1000 || !strings.HasPrefix(s, "<!doctype html><html><head><title>a</title></head><BODY class=x><p>first</p><p>first</p><script") ||
		!strings.HasSuffix(s, "</BODY></html>\n") || strings.Contains(s, "no body element") || strings.Count(s, "<body") > 0 {
		t.Errorf("corpusPage = %q", s)
	}
	if _, err := corpusPage(names[2:], 1000); err == nil {
		t.Error("pages without a body were accepted")
	}
}

// TestLoadtestShort runs every scenario once for a second, as CI does:
// the comparison must run end to end on real pages (the gateway's hooks
// checked in each) and print a row per scenario. It asserts nothing about
// speed.
func TestLoadtestShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds Caddy and runs wrk: not short")
	}
	if _, err := exec.LookPath("wrk"); err != nil {
		testenv.Missing(t, "wrk not found (Debian: apt-get install wrk)")
	}
	t.Chdir(filepath.Join("..", "..")) // withWorkspace builds ./cmd/caddy from the module root
	var out bytes.Buffer
	err := withWorkspace(func(work, bin, site string) error {
		pages, err := addPages(site, "", testpages.CorpusDir())
		if err != nil {
			return err
		}
		return run(&out, work, bin, site, scenarioList(pages), time.Second, 1, 4, 1, "")
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	for _, label := range []string{"(a) ", "(b) ", "(c) ", "(d) "} {
		if !strings.Contains(out.String(), "| "+label) {
			t.Errorf("no row for scenario %s", label)
		}
	}
}
