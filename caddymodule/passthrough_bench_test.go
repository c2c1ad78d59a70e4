package caddymodule

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/internal/testpages"

	"github.com/consentgate/consentgate/internal/testenv"
)

// BenchmarkProxy compares, in one run, plain reverse_proxy with the gateway
// (the same site plus cookie_consent) in front of the same loopback
// upstream, for the 100 KB image (which the gateway must pass untouched)
// and the 100 KB page. Client, gateway and upstream share the process, so
// compare the two sub-benchmarks of a case, not the absolute figures; the
// load run (cmd/loadtest) measures them with separate processes and wrk.
//
//	go test ./caddymodule -run '^$' -bench Proxy -benchmem
//
// CONSENTGATE_BENCH_PAGE=file serves that page instead of the demo's.
func BenchmarkProxy(b *testing.B) {
	image, err := testpages.Load("wp-content/uploads/2026/11/hero.png")
	if err != nil {
		b.Fatal(err)
	}
	page, err := testpages.Load("index.html")
	if f := os.Getenv("CONSENTGATE_BENCH_PAGE"); f != "" {
		page, err = os.ReadFile(f) // a real page, e.g. one of ../shared/corpus/pages
	}
	if err != nil {
		b.Fatal(err)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".png") {
			w.Header().Set("Content-Type", "image/png")
			http.ServeContent(w, r, "hero.png", benchTime, bytes.NewReader(image))
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		http.ServeContent(w, r, "index.html", benchTime, bytes.NewReader(page))
	}))
	defer up.Close()
	plain, gw := testenv.FreePort(b), testenv.FreePort(b)
	upstream := strings.TrimPrefix(up.URL, "http://")
	startCaddy(b, fmt.Sprintf("http://:%d {\n\tbind 127.0.0.1\n\treverse_proxy %s\n}\nhttp://:%d {\n\tbind 127.0.0.1\n\tcookie_consent\n\treverse_proxy %s\n}\n", plain, upstream, gw, upstream))
	testenv.WaitListening(b, fmt.Sprintf("127.0.0.1:%d", plain))
	testenv.WaitListening(b, fmt.Sprintf("127.0.0.1:%d", gw))
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8, DisableCompression: true}}
	for _, path := range []string{"/hero.png", "/"} {
		for _, target := range []struct {
			name string
			port int
		}{{"plain", plain}, {"gateway", gw}} {
			b.Run(strings.Trim(path, "/")+"/"+target.name, func(b *testing.B) {
				url := fmt.Sprintf("http://127.0.0.1:%d%s", target.port, path)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						resp, err := c.Get(url)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				})
			})
		}
	}
}

var benchTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
