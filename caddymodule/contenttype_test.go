package caddymodule

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/consentgate/consentgate/internal/testenv"
)

// rawUpstream answers each path with exactly the header lines and body
// chunks of its case, flushing the header before the body and pausing
// between chunks, as a streaming origin does. Only raw bytes can give a
// gateway duplicate, empty or missing Content-Type headers.
type rawUpstream struct {
	mu    sync.Mutex
	cases map[string]rawCase
	addr  string
}

type rawCase struct {
	status  string   // "200 OK" unless set
	headers []string // "Name: value" lines
	chunks  []string // body pieces, sent chunked with a pause between
	pre     string   // raw bytes before the response (an informational one)
	raw     bool     // the chunks are the raw body: no chunked framing
	upgrade bool     // a 101: the connection then stays open, echoing nothing
}

func startRawUpstream(t *testing.T) *rawUpstream {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	u := &rawUpstream{cases: map[string]rawCase{}, addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go u.serve(c)
		}
	}()
	return u
}

func (u *rawUpstream) add(path string, c rawCase) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.cases[path] = c
}

func (u *rawUpstream) serve(c net.Conn) {
	defer c.Close()
	br := bufio.NewReader(c)
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		u.mu.Lock()
		rc, ok := u.cases[req.URL.Path]
		u.mu.Unlock()
		if !ok {
			fmt.Fprint(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
			continue
		}
		status := rc.status
		if status == "" {
			status = "200 OK"
		}
		var head strings.Builder
		head.WriteString(rc.pre)
		fmt.Fprintf(&head, "HTTP/1.1 %s\r\n", status)
		for _, h := range rc.headers {
			head.WriteString(h + "\r\n")
		}
		switch {
		case rc.upgrade:
			head.WriteString("\r\n")
			_, _ = c.Write([]byte(head.String()))
			time.Sleep(500 * time.Millisecond)
			return
		case rc.raw:
			body := strings.Join(rc.chunks, "")
			fmt.Fprintf(&head, "Content-Length: %d\r\n\r\n%s", len(body), body)
			_, _ = c.Write([]byte(head.String()))
			continue
		}
		head.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		if _, err := c.Write([]byte(head.String())); err != nil {
			return
		}
		for i, ch := range rc.chunks {
			if i > 0 {
				time.Sleep(30 * time.Millisecond)
			}
			if ch != "" { // an empty chunk would end the body: just pause
				fmt.Fprintf(c, "%x\r\n%s\r\n", len(ch), ch)
			}
		}
		fmt.Fprint(c, "0\r\n\r\n")
	}
}

func gzipped(s string) string {
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	_, _ = io.WriteString(z, s)
	_ = z.Close()
	return b.String()
}

// TestContentTypeAsBrowsersDecide runs responses whose type a browser
// works out from several headers, or sniffs from the first bytes, through
// the gateway. Where Chromium renders HTML (mimesniff's browser test holds
// the decisions to Chromium) the page must come back rewritten; where it
// does not, byte for byte, with no Content-Type made up.
func TestContentTypeAsBrowsersDecide(t *testing.T) {
	const page = `<html><head></head><body><script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></body></html>`
	const live = `<script src="https://www.googletagmanager.com`
	const held = `data-consent-src="https://www.googletagmanager.com/gtag/js?id=G-1"`
	up := startRawUpstream(t)
	port := testenv.FreePort(t)
	startCaddyWith(t, "", fmt.Sprintf("http://:%d {\n\tbind 127.0.0.1\n\tcookie_consent\n\treverse_proxy %s {\n\t\tflush_interval -1\n\t}\n}\n", port, up.addr))
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	for i, c := range []struct {
		name      string
		headers   []string
		chunks    []string
		rewritten bool
		wantCT    string // the Content-Type the client gets; "-" for none
	}{
		{"no Content-Type: sniffed as HTML", nil, []string{page}, true, "text/html"},
		{"no Content-Type, the header flushed before the first bytes", nil, []string{"", "<ht", "ml>", page}, true, "text/html"},
		{"no Content-Type, white space arriving first", nil, []string{"\n \n", "\t", page}, true, "text/html"},
		{"no Content-Type, a vertical tab first", nil, []string{"\v" + page}, true, "text/html"},
		{"no Content-Type, gzip", []string{"Content-Encoding: gzip"}, []string{gzipped(page)}, true, "text/html"},
		{"no Content-Type, gzip in small pieces", []string{"Content-Encoding: gzip"}, splitEvery(gzipped(page), 7), true, "text/html"},
		{"no Content-Type, text", nil, []string{"hello " + page}, false, "-"},
		{"no Content-Type, nosniff", []string{"X-Content-Type-Options: nosniff"}, []string{page}, false, "-"},
		{"empty Content-Type", []string{"Content-Type:"}, []string{page}, true, "text/html"},
		{"unparsable Content-Type", []string{"Content-Type: text/html garbage"}, []string{page}, true, "text/html"},
		{"Content-Type without a slash", []string{"Content-Type: html"}, []string{page}, true, "text/html"},
		{"application/unknown", []string{"Content-Type: application/unknown"}, []string{page}, true, "text/html"},
		{"unknown/unknown", []string{"Content-Type: unknown/unknown"}, []string{page}, true, "text/html"},
		{"*/*", []string{"Content-Type: */*"}, []string{page}, true, "text/html"},
		{"unknown/unknown under nosniff", []string{"Content-Type: unknown/unknown", "X-Content-Type-Options: nosniff"}, []string{page}, false, "unknown/unknown"},
		{"comma list, HTML last", []string{"Content-Type: text/plain, text/html"}, []string{page}, true, "text/plain, text/html"},
		{"comma list, HTML twice", []string{"Content-Type: text/html, text/html; charset=utf-8"}, []string{page}, true, "text/html, text/html; charset=utf-8"},
		{"comma list, plain text last", []string{"Content-Type: text/html, text/plain"}, []string{page}, false, "text/html, text/plain"},
		{"two headers, HTML last", []string{"Content-Type: text/plain", "Content-Type: text/html"}, []string{page}, true, "text/plain, text/html"},
		{"two headers, plain text last", []string{"Content-Type: text/html", "Content-Type: text/plain"}, []string{page}, false, "text/html, text/plain"},
		{"HTML then */*", []string{"Content-Type: text/html, */*"}, []string{page}, true, "text/html, */*"},
		{"a quoted comma", []string{`Content-Type: text/html;x="a,text/plain"`}, []string{page}, true, `text/html;x="a,text/plain"`},
		{"text/plain is never sniffed as HTML", []string{"Content-Type: text/plain"}, []string{page}, false, "text/plain"},
	} {
		path := fmt.Sprintf("/ct/%d", i)
		up.add(path, rawCase{headers: c.headers, chunks: c.chunks})
		t.Run(c.name, func(t *testing.T) {
			resp, body := get(t, base+path)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			ct := strings.Join(resp.Header.Values("Content-Type"), ", ")
			if _, has := resp.Header["Content-Type"]; !has {
				ct = "-"
			}
			if ct != c.wantCT {
				t.Errorf("Content-Type %q, want %q", ct, c.wantCT)
			}
			if c.rewritten {
				if strings.Contains(body, live) || !strings.Contains(body, held) || !strings.Contains(body, "/.well-known/consent/banner.") {
					t.Errorf("not rewritten:\n%s", body)
				}
				return
			}
			want := strings.Join(c.chunks, "")
			if resp.Header.Get("Content-Encoding") == "" && strings.Contains(strings.Join(c.headers, "\n"), "gzip") {
				t.Fatal("gzip was decoded for a response that passes")
			}
			if body != want {
				t.Errorf("body changed:\n got %q\nwant %q", body, want)
			}
		})
	}
}

func splitEvery(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}
