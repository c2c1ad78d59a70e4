package caddymodule

import (
	"fmt"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/internal/testenv"
)

// TestEncodingsAsBrowsersDecide runs pages whose encoding a BOM, a label
// or a <meta> decides through the gateway: pages whose markup is not
// ASCII come back as UTF-8 (behind a BOM, which the browser obeys over
// any label) and rewritten; the rest pass in their own encoding.
func TestEncodingsAsBrowsersDecide(t *testing.T) {
	const page = `<html><head></head><body><p>été</p><script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></body></html>`
	const held = `data-consent-src="https://www.googletagmanager.com/gtag/js?id=G-1"`
	le := utf16LE(page) // with a BOM
	up := startRawUpstream(t)
	port := testenv.FreePort(t)
	startCaddy(t, fmt.Sprintf("http://:%d {\n\tbind 127.0.0.1\n\tcookie_consent\n\treverse_proxy %s\n}\n", port, up.addr))
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for i, c := range []struct {
		name    string
		ct      string
		body    string
		wantCT  string
		utf8BOM bool // transcoded: a UTF-8 BOM first
		has     []string
	}{
		{"UTF-16LE BOM under a UTF-8 header", "text/html; charset=utf-8", le, "text/html; charset=utf-8", true, []string{"été", held}},
		{"label ucs-2", "text/html; charset=ucs-2", le[2:], "text/html;charset=utf-8", true, []string{"été", held}},
		{"label csunicode, quoted", `text/html; charset="csunicode"`, le[2:], "text/html;charset=utf-8", true, []string{"été", held}},
		{"label unicodefeff, upper case", "text/html; charset=UnicodeFEFF", le[2:], "text/html;charset=utf-8", true, []string{"été", held}},
		{"malformed parameters", "text/html; charset=utf-16le;;", le[2:], "text/html;charset=utf-8", true, []string{"été", held}},
		{"duplicate charsets: the first counts", "text/html; charset=utf-16le; charset=utf-8", le[2:], "text/html;charset=utf-8", true, []string{"été", held}},
		{"ISO-2022-JP by a meta", "text/html", "<meta charset=\"iso-2022-jp\"><script>var s=\"\x1b$B</script>\x1b(B\";fbq('init','1')</script>", "text/html", true, []string{`<script type="text/plain" data-consent-category="marketing"`}},
		{"the replacement encoding", "text/html; charset=iso-2022-kr", page, "text/html;charset=utf-8", true, []string{"\ufffd"}},
		{"a label browsers ignore changes nothing", "text/html; charset=utf-32", page, "text/html; charset=utf-32", false, []string{held}},
		{"UTF-8 BOM under a UTF-16 header", "text/html; charset=utf-16le", "\xef\xbb\xbf" + page, "text/html;charset=utf-8", true, []string{"été", held}},
	} {
		path := fmt.Sprintf("/enc/%d", i)
		up.add(path, rawCase{headers: []string{"Content-Type: " + c.ct}, chunks: []string{c.body}})
		t.Run(c.name, func(t *testing.T) {
			resp, body := get(t, base+path)
			if got := resp.Header.Get("Content-Type"); got != c.wantCT {
				t.Errorf("Content-Type %q, want %q", got, c.wantCT)
			}
			if strings.HasPrefix(body, "\xef\xbb\xbf") != c.utf8BOM {
				t.Errorf("UTF-8 BOM first: %v, want %v: %q", !c.utf8BOM, c.utf8BOM, body[:min(len(body), 20)])
			}
			for _, s := range c.has {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q: %q", s, body)
				}
			}
			if strings.Contains(body, `<script src="https://www.googletagmanager.com`) {
				t.Errorf("a tracker is live: %q", body)
			}
		})
	}
}
