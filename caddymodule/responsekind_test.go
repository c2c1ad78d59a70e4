package caddymodule

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/consentgate/consentgate/internal/testenv"
)

// TestResponsesThatAreNotWhatWasAsked covers issue 13, class 9: a 206 to
// a request sent without Range, a gzip body followed by other bytes, and
// Set-Cookie on 103 Early Hints and 101 Switching Protocols.
func TestResponsesThatAreNotWhatWasAsked(t *testing.T) {
	const page = `<html><head></head><body><script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></body></html>`
	const held = `data-consent-src="https://www.googletagmanager.com/gtag/js?id=G-1"`
	up := startRawUpstream(t)
	up.add("/partial", rawCase{status: "206 Partial Content", headers: []string{"Content-Type: text/html", "Content-Range: bytes 0-99/200"}, chunks: []string{page}})
	up.add("/gzip-trailing", rawCase{headers: []string{"Content-Type: text/html", "Content-Encoding: gzip"}, chunks: []string{gzipped(page) + "trailing garbage"}, raw: true})
	up.add("/gzip-two-members", rawCase{headers: []string{"Content-Type: text/html", "Content-Encoding: gzip"}, chunks: []string{gzipped(page) + gzipped("<p>second member</p>")}, raw: true})
	up.add("/early-hints", rawCase{
		pre:     "HTTP/1.1 103 Early Hints\r\nSet-Cookie: _ga=GA1.1.1; Path=/\r\nSet-Cookie: PHPSESSID=abc; Path=/\r\nLink: <https://www.googletagmanager.com/gtag/js>; rel=preload; as=script\r\n\r\n",
		headers: []string{"Content-Type: text/html"}, chunks: []string{page}})
	up.add("/socket", rawCase{status: "101 Switching Protocols", headers: []string{"Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "Set-Cookie: _ga=GA1.1.1; Path=/", "Set-Cookie: PHPSESSID=abc; Path=/"}, upgrade: true})
	port := testenv.FreePort(t)
	startCaddy(t, fmt.Sprintf("http://:%d {\n\tbind 127.0.0.1\n\tcookie_consent\n\treverse_proxy %s\n}\n", port, up.addr))
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	t.Run("a 206 to a request without Range is rewritten as a 200", func(t *testing.T) {
		resp, body := get(t, base+"/partial")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Range") != "" || !strings.Contains(body, held) {
			t.Fatalf("status %d, Content-Range %q, body %s", resp.StatusCode, resp.Header.Get("Content-Range"), body)
		}
	})
	t.Run("bytes after a gzip stream are ignored, as browsers do", func(t *testing.T) {
		resp, body := getGzip(t, base+"/gzip-trailing")
		if resp.StatusCode != 200 || !strings.Contains(body, held) || strings.Contains(body, "garbage") {
			t.Fatalf("status %d, body %q", resp.StatusCode, body)
		}
	})
	t.Run("only the first gzip member is the page, as in Chromium", func(t *testing.T) {
		_, body := getGzip(t, base+"/gzip-two-members")
		if !strings.Contains(body, held) || strings.Contains(body, "second member") {
			t.Fatalf("body %q", body)
		}
	})
	t.Run("103 Early Hints lose tracker cookies and links", func(t *testing.T) {
		hints := informationalHeaders(t, base+"/early-hints")
		if len(hints) == 0 {
			t.Fatal("no 103 came through")
		}
		for _, h := range hints {
			if c := strings.Join(h.Values("Set-Cookie"), "; "); strings.Contains(c, "_ga") || !strings.Contains(c, "PHPSESSID") {
				t.Errorf("a 103 set cookies %q", c)
			}
			if strings.Contains(h.Get("Link"), "googletagmanager") {
				t.Errorf("a 103 carried %q", h.Get("Link"))
			}
		}
	})
	t.Run("101 Switching Protocols loses tracker cookies", func(t *testing.T) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprint(c, "GET /socket HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 101 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if cs := strings.Join(resp.Header.Values("Set-Cookie"), "; "); strings.Contains(cs, "_ga") || !strings.Contains(cs, "PHPSESSID") {
			t.Errorf("a 101 set cookies %q", cs)
		}
	})
}

// getGzip is get as a browser asks: with Accept-Encoding, so that the
// proxy's transport does not decode gzip itself (Go's transport reads
// every member and fails on trailing bytes).
func getGzip(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, body := getWith(t, url, map[string]string{"Accept-Encoding": "gzip"})
	if resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("the gateway passed Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	return resp, body
}
