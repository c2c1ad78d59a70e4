package htmlencoding

import (
	"fmt"
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
