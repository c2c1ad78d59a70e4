package mimesniff

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/consentgate/consentgate/internal/browsertest"
)

// rawServer answers every request on loopback with the raw header lines
// and body of the case its path names, so that a test controls every byte
// (duplicate headers, empty values, no Content-Type at all).
type rawServer struct {
	mu    sync.Mutex
	cases map[string]rawResponse
	addr  string
}

type rawResponse struct {
	headers []string // "Name: value" lines
	body    string
}

func startRawServer(t *testing.T) *rawServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s := &rawServer{cases: map[string]rawResponse{}, addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *rawServer) serve(c net.Conn) {
	defer c.Close()
	req, err := http.ReadRequest(bufio.NewReader(c))
	if err != nil {
		return
	}
	s.mu.Lock()
	rr, ok := s.cases[req.URL.Path]
	s.mu.Unlock()
	if !ok {
		fmt.Fprint(c, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 200 OK\r\n")
	for _, h := range rr.headers {
		b.WriteString(h + "\r\n")
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(rr.body), rr.body)
	_, _ = c.Write([]byte(b.String()))
}

// navigationCases are responses whose rendering as HTML or not the
// gateway must predict exactly: when it says "not HTML" and Chromium
// renders HTML, a tracker runs unseen.
var navigationCases = []struct {
	name    string
	headers []string
	body    string
}{
	{"no content type, html", nil, "<html><script>self.ran=1</script>"},
	{"no content type, text", nil, "hello <script>self.ran=1</script>"},
	{"no content type, white space then doctype", nil, "\r\n\t <!DOCTYPE html><script>self.ran=1</script>"},
	// Chromium skips a vertical tab too, where the standard does not.
	{"no content type, vertical tab first", nil, "\v<html><script>self.ran=1</script>"},
	{"no content type, BOM first", nil, "\xef\xbb\xbf<html><script>self.ran=1</script>"},
	{"no content type, comment", nil, "<!-- x --><script>self.ran=1</script>"},
	{"no content type, tag past 512 bytes", nil, strings.Repeat(" ", 520) + "<html><script>self.ran=1</script>"},
	{"no content type, nosniff", []string{"X-Content-Type-Options: nosniff"}, "<html><script>self.ran=1</script>"},
	{"empty content type", []string{"Content-Type:"}, "<html><script>self.ran=1</script>"},
	{"unparsable content type", []string{"Content-Type: text/html garbage"}, "<html><script>self.ran=1</script>"},
	{"content type without a slash", []string{"Content-Type: html"}, "<html><script>self.ran=1</script>"},
	{"application/unknown", []string{"Content-Type: application/unknown"}, "<html><script>self.ran=1</script>"},
	{"unknown/unknown", []string{"Content-Type: unknown/unknown"}, "<html><script>self.ran=1</script>"},
	{"*/*", []string{"Content-Type: */*"}, "<html><script>self.ran=1</script>"},
	{"unknown/unknown with nosniff", []string{"Content-Type: unknown/unknown", "X-Content-Type-Options: nosniff"}, "<html><script>self.ran=1</script>"},
	{"comma list, html last", []string{"Content-Type: text/plain, text/html"}, "<script>self.ran=1</script>"},
	{"comma list, html twice", []string{"Content-Type: text/html, text/html; charset=utf-8"}, "<script>self.ran=1</script>"},
	{"comma list, plain last", []string{"Content-Type: text/html, text/plain"}, "<script>self.ran=1</script>"},
	{"two headers, html last", []string{"Content-Type: text/plain", "Content-Type: text/html"}, "<script>self.ran=1</script>"},
	{"two headers, plain last", []string{"Content-Type: text/html", "Content-Type: text/plain"}, "<script>self.ran=1</script>"},
	{"html then */*", []string{"Content-Type: text/html, */*"}, "<script>self.ran=1</script>"},
	{"text/plain is not sniffed as html", []string{"Content-Type: text/plain"}, "<html><script>self.ran=1</script>"},
	{"html with a quoted comma", []string{`Content-Type: text/html;x="a,text/plain"`}, "<script>self.ran=1</script>"},
	{"upper case", []string{"Content-Type: TEXT/HTML"}, "<script>self.ran=1</script>"},
	{"nosniff listed first", []string{"X-Content-Type-Options: nosniff, foo"}, "<html><script>self.ran=1</script>"},
	{"nosniff listed second", []string{"X-Content-Type-Options: foo, nosniff"}, "<html><script>self.ran=1</script>"},
	{"nosniff upper case", []string{"X-Content-Type-Options: NOSNIFF"}, "<html><script>self.ran=1</script>"},
	{"octet-stream is not sniffed as html", []string{"Content-Type: application/octet-stream"}, "<html><script>self.ran=1</script>"},
	{"xml declaration sniffed", nil, `<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body><script>self.ran=1</script></body></html>`},
	{"xhtml", []string{"Content-Type: application/xhtml+xml"}, `<html xmlns="http://www.w3.org/1999/xhtml"><body><script>self.ran=1</script></body></html>`},
}

// verdict is what the package predicts a browser renders the case as:
// "html", "xml" or "other".
func verdict(headers []string, body string) string {
	h := http.Header{}
	for _, l := range headers {
		name, value, _ := strings.Cut(l, ":")
		h[http.CanonicalHeaderKey(name)] = append(h[http.CanonicalHeaderKey(name)], strings.TrimSpace(value))
	}
	mt, nav := ForNavigation(h["Content-Type"], h["X-Content-Type-Options"])
	if nav == Sniff {
		switch SniffHTML([]byte(body), true) {
		case SniffedHTML:
			return "html"
		case SniffedXML:
			return "xml"
		}
		return "other"
	}
	switch {
	case mt.IsHTML(), mt.IsXHTML():
		return "html"
	case mt.Subtype == "xml" || strings.HasSuffix(mt.Subtype, "+xml"):
		return "xml"
	}
	return "other"
}

// TestNavigationTypeMatchesChromium serves each case straight to headless
// Chromium and checks that the document type Chromium settles on, and
// whether the page's script ran, is what ForNavigation and SniffHTML
// predict.
func TestNavigationTypeMatchesChromium(t *testing.T) {
	browser := browsertest.Start(t, browsertest.Options{})
	srv := startRawServer(t)
	for i, c := range navigationCases {
		path := fmt.Sprintf("/case/%d", i)
		srv.mu.Lock()
		srv.cases[path] = rawResponse{headers: c.headers, body: c.body}
		srv.mu.Unlock()
		t.Run(c.name, func(t *testing.T) {
			tab := browsertest.NewTab(t, browser)
			got, ct, ran := "other", "(download)", false
			// A type Chromium does not render is a download: the
			// navigation aborts and nothing runs.
			if err := chromedp.Do(tab.Ctx, chromedp.Navigate("http://"+srv.addr+path)); err == nil {
				ct = browsertest.Eval[string](tab, "document.contentType")
				ran = browsertest.Eval[bool](tab, "self.ran === 1")
			} else if !strings.Contains(err.Error(), "ERR_ABORTED") {
				t.Fatalf("navigating: %v", err)
			}
			switch {
			case ct == "text/html" || ct == "application/xhtml+xml":
				got = "html"
			case strings.HasSuffix(ct, "xml"):
				got = "xml"
			}
			if want := verdict(c.headers, c.body); got != want {
				t.Errorf("Chromium renders it as %s (%s, script ran: %v); predicted %s", got, ct, ran, want)
			}
			// XML documents run scripts in the XHTML namespace too: the
			// gateway does not rewrite them (README, "What the rewriter
			// inspects").
			if ran && got == "other" || got == "html" && !ran {
				t.Errorf("Chromium's document type %s, yet the script ran: %v", ct, ran)
			}
		})
	}
}
