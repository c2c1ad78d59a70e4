package htmlencoding

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/consentgate/consentgate/internal/browsertest"
)

// pageServer serves registered bodies under registered Content-Types.
type pageServer struct {
	mu    sync.Mutex
	pages map[string][2]string // path -> Content-Type, body
	*httptest.Server
}

func newPageServer(t *testing.T) *pageServer {
	s := &pageServer{pages: map[string][2]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		p, ok := s.pages[r.URL.Path]
		s.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header()["Content-Type"] = []string{p[0]}
		_, _ = w.Write([]byte(p[1]))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *pageServer) add(path, contentType, body string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages[path] = [2]string{contentType, body}
	return s.URL + path
}

// characterSet navigates to u and returns Chromium's document.characterSet,
// lower case.
func characterSet(t *testing.T, tab *browsertest.Tab, u string) string {
	t.Helper()
	if err := chromedp.Do(tab.Ctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("navigating to %s: %v", u, err)
	}
	return strings.ToLower(browsertest.Eval[string](tab, "document.characterSet"))
}

// TestEncodingMatchesChromium checks Decide against the encoding headless
// Chromium settles on, for every WHATWG label given in the Content-Type
// and for the cases where a BOM or a <meta> decides.
func TestEncodingMatchesChromium(t *testing.T) {
	browser := browsertest.Start(t, browsertest.Options{})
	srv := newPageServer(t)
	tab := browsertest.NewTab(t, browser)
	body := "<!DOCTYPE html><title>x</title><p>x</p>"

	var labels []string
	want := map[string]string{}
	for name, ls := range whatwgLabels {
		for _, l := range ls {
			labels = append(labels, l)
			want[l] = name
		}
	}
	sort.Strings(labels)
	t.Run("every label in the Content-Type", func(t *testing.T) {
		for i, l := range labels {
			if l == "replacement" {
				continue // the name, not a label browsers accept
			}
			u := srv.add(fmt.Sprintf("/label/%d", i), "text/html; charset="+l, body)
			got := characterSet(t, tab, u)
			if got != want[l] {
				t.Errorf("charset=%s: Chromium decodes %s, the standard says %s", l, got, want[l])
			}
			name, _, _ := Decide([]byte(body), l, true)
			if name != got {
				t.Errorf("charset=%s: Decide says %s, Chromium %s", l, name, got)
			}
		}
	})

	pad := "<!--" + strings.Repeat("x", PrescanLen) + "-->"
	for i, c := range []struct {
		name, contentType, body string
	}{
		{"UTF-8 BOM over a UTF-16 header", "text/html; charset=utf-16le", "\xef\xbb\xbf" + body},
		{"UTF-16LE BOM over a UTF-8 header", "text/html; charset=utf-8", "\xff\xfe<\x00p\x00>\x00"},
		{"UTF-16BE BOM over windows-1252", "text/html; charset=windows-1252", "\xfe\xff\x00<\x00p\x00>"},
		{"meta charset ISO-2022-JP", "text/html", `<meta charset="iso-2022-jp">` + body},
		{"meta http-equiv ISO-2022-JP", "text/html", `<meta http-equiv="Content-Type" content="text/html; charset=csISO2022JP">` + body},
		{"meta UTF-16 means UTF-8", "text/html", `<meta charset="utf-16">` + body},
		{"a label browsers ignore, then a meta", "text/html; charset=utf-32", `<meta charset="iso-2022-jp">` + body},
		{"quoted header charset", `text/html; charset="ucs-2"`, "<\x00p\x00>\x00"},
		{"duplicate charset: the first counts", "text/html; charset=utf-16le; charset=utf-8", "<\x00p\x00>\x00"},
		{"a meta after the prescan's bytes", "text/html", "<head>" + pad + `<meta charset="iso-2022-jp">` + body},
		{"a meta after the prescan's bytes in text", "text/html", "<head><title>" + strings.Repeat("x", PrescanLen) + `</title><meta charset="iso-2022-jp">` + body},
		{"undeclared, ISO-2022-JP escapes", "text/html", "<p>\x1b$B$3$s$K$A$O\x1b(B</p>" + body},
		{"undeclared, UTF-8 bytes", "text/html", "<p>\xc3\xa9t\xc3\xa9</p>" + body},
		{"empty parameters", "text/html; charset=utf-16le;;", "<\x00p\x00>\x00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := srv.add(fmt.Sprintf("/case/%d", i), c.contentType, c.body)
			got := characterSet(t, tab, u)
			cs := headerCharset(c.contentType)
			name, _, _ := Decide([]byte(c.body), cs, true)
			if name != got {
				t.Errorf("Decide says %s, Chromium %s", name, got)
			}
		})
	}
}

// TestISO2022JPAgainstChromium decodes thousands of byte strings made of
// the bytes that steer the ISO-2022-JP decoder with Chromium's TextDecoder
// and with ours. (node's TextDecoder is ICU's and differs from both
// Chromium and the standard, e.g. after a line feed in JIS X 0208 mode.)
func TestISO2022JPAgainstChromium(t *testing.T) {
	browser := browsertest.Start(t, browsertest.Options{})
	tab := browsertest.NewTab(t, browser)
	srv := newPageServer(t)
	if err := chromedp.Do(tab.Ctx, chromedp.Navigate(srv.add("/blank", "text/html", "<p>x</p>"))); err != nil {
		t.Fatal(err)
	}
	alphabet := []byte("\x1b\x1b\x1b$$((BBB@JIDZ!~<>/\\\n\r\x0e\x0f\x80\xffa3_`")
	rng := rand.New(rand.NewPCG(13, 2026))
	var inputs [][]byte
	for _, c := range jpCases {
		inputs = append(inputs, []byte(c))
	}
	for len(inputs) < 20000 {
		b := make([]byte, 1+rng.IntN(12))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		inputs = append(inputs, b)
	}
	for start := 0; start < len(inputs); start += 2000 {
		batch := inputs[start:min(start+2000, len(inputs))]
		arrays := make([][]int, len(batch))
		for i, b := range batch {
			for _, c := range b {
				arrays[i] = append(arrays[i], int(c))
			}
		}
		js, _ := json.Marshal(arrays)
		got := browsertest.Eval[[]string](tab, ""+string(js)+".map(a=>new TextDecoder('iso-2022-jp').decode(new Uint8Array(a)))")
		for i, b := range batch {
			if ours := decodeJP(t, b, 0); ours != got[i] {
				t.Errorf("%q: ours %q, Chromium %q", b, ours, got[i])
			}
		}
	}
}
