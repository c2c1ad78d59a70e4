package caddymodule

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/consentgate/consentgate/internal/testpages"

	"github.com/consentgate/consentgate/internal/testenv"
)

const trackerPage = `<!DOCTYPE html><html><head><title>Test</title>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-TEST"></script>
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}gtag('config','G-TEST');</script>
</head><body><p>Hello</p>
<noscript><img src="https://www.facebook.com/tr?id=1&ev=PageView&noscript=1"></noscript>
<iframe src="https://www.youtube.com/embed/x" width="560" height="315"></iframe>
</body></html>`

// upstream is a loopback origin with one path per situation the gateway
// must handle.
func upstream(t testing.TB) *httptest.Server {
	t.Helper()
	page := []byte(trackerPage)
	modTime := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	image, err := testpages.Load("wp-content/uploads/2026/11/hero.png")
	if err != nil {
		t.Fatal(err)
	}
	encoded := func(enc string) []byte {
		var buf bytes.Buffer
		var w io.WriteCloser
		switch enc {
		case "gzip":
			w = gzip.NewWriter(&buf)
		case "br":
			w = brotli.NewWriter(&buf)
		case "zstd":
			w, _ = zstd.NewWriter(&buf)
		case "deflate":
			w = zlib.NewWriter(&buf)
		case "deflate-raw":
			w, _ = flate.NewWriter(&buf, flate.DefaultCompression)
		}
		_, _ = w.Write(page)
		_ = w.Close()
		return buf.Bytes()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "public, max-age=60")
		http.ServeContent(w, r, "page.html", modTime, bytes.NewReader(page))
	})
	for _, enc := range []string{"gzip", "br", "zstd", "deflate", "deflate-raw"} {
		body := encoded(enc)
		mux.HandleFunc("/encoded/"+enc, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Encoding", strings.TrimSuffix(enc, "-raw"))
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			_, _ = w.Write(body)
		})
	}
	mux.HandleFunc("/encoded/truncated", func(w http.ResponseWriter, r *http.Request) {
		body := encoded("gzip")
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(body[:len(body)/2])
	})
	mux.HandleFunc("/encoded/compress", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "compress")
		_, _ = w.Write([]byte("\x1f\x9d garbage"))
	})
	mux.HandleFunc("/image.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("ETag", `"img1"`)
		http.ServeContent(w, r, "image.png", modTime, bytes.NewReader(image))
	})
	mux.HandleFunc("/data.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"html":"<script src=\"https://www.googletagmanager.com/gtag/js\"></script>"}`)
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write(page)
	})
	mux.HandleFunc("/untyped", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // keep net/http from sniffing
		_, _ = w.Write(page)
	})
	mux.HandleFunc("/fragment", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		_, _ = io.WriteString(w, `<li><img src="https://secure.gravatar.com/avatar/x?s=32"> Comment</li>`)
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/windows-1252", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=windows-1252")
		body, _ := charmap.Windows1252.NewEncoder().String(`<html><head><title>Caf` + "\u00e9" + `</title></head><body><p>` + "\u201cna\u00efve\u201d" + `</p><img src="https://www.facebook.com/tr"></body></html>`)
		_, _ = io.WriteString(w, body)
	})
	mux.HandleFunc("/utf-16", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-16le")
		body, _ := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder().String(`<html><head></head><body><p>` + "\u00e9t\u00e9" + `</p><img src="https://www.facebook.com/tr"></body></html>`)
		_, _ = io.WriteString(w, body)
	})
	mux.HandleFunc("/link-headers", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Link", "<https://www.googletagmanager.com>; rel=preconnect, </style.css>; rel=preload; as=style")
		w.Header().Add("Link", "<https://fonts.gstatic.com>; rel=preconnect; crossorigin")
		w.Header().Set("Content-Type", "text/css")
		_, _ = io.WriteString(w, "body{}")
	})
	mux.HandleFunc("/early-hints", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "<https://www.googletagmanager.com/gtag/js?id=G-1>; rel=preload; as=script")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(page)
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: <script src=\"https://www.googletagmanager.com/gtag/js\"></script>\n\n")
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type conformanceCase struct {
	name          string
	method        string
	path          string
	reqHeader     map[string]string
	status        int
	header        map[string]string // "" means absent
	bodyHas       []string
	bodyHasNot    []string
	bodyExact     []byte // when set, the body must be exactly this
	bodyRewritten bool   // the body must be the tracker page, neutralised
}

func TestConformance(t *testing.T) {
	up := upstream(t)
	port := testenv.FreePort(t)
	startCaddy(t, fmt.Sprintf(`http://127.0.0.1:%d {
	cookie_consent
	reverse_proxy %s
}
`, port, strings.TrimPrefix(up.URL, "http://")))
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", port))
	image, _ := testpages.Load("wp-content/uploads/2026/11/hero.png")

	rewritten := []string{
		`data-consent-src="https://www.googletagmanager.com/gtag/js?id=G-TEST"`,
		`<script type="text/plain" data-consent-category="statistics" data-consent-vendor="google-analytics">`,
		`data-consent-src="https://www.facebook.com/tr?id=1&ev=PageView&noscript=1"`,
		`data-consent-src="https://www.youtube.com/embed/x"`,
		`/.well-known/consent/banner.`,
	}
	live := []string{` src="https://www.googletagmanager.com`, ` src="https://www.facebook.com`, ` src="https://www.youtube.com`}

	tests := []conformanceCase{
		{name: "HTML is rewritten and marked private with a variant ETag", path: "/page", status: 200,
			header:        map[string]string{"Content-Length": "", "Accept-Ranges": "", "Cache-Control": "private, max-age=60", "Vary": "Cookie", "Content-Type": "text/html; charset=utf-8"},
			bodyRewritten: true},
		{name: "HEAD has the headers GET has and no body", method: "HEAD", path: "/page", status: 200,
			header:    map[string]string{"Content-Length": "", "Cache-Control": "private, max-age=60", "Vary": "Cookie"},
			bodyExact: []byte{}},
		{name: "a Range request for a page is served whole", path: "/page", reqHeader: map[string]string{"Range": "bytes=0-9", "Accept": "text/html"}, status: 200,
			header: map[string]string{"Content-Range": ""}, bodyRewritten: true},
		{name: "a Range request for an image passes through as 206", path: "/image.png", reqHeader: map[string]string{"Range": "bytes=0-9"}, status: 206,
			header: map[string]string{"Content-Range": fmt.Sprintf("bytes 0-9/%d", len(image)), "Content-Length": "10"}, bodyExact: image[:10]},
		{name: "images pass byte for byte with their length", path: "/image.png", status: 200,
			header: map[string]string{"Content-Length": fmt.Sprint(len(image)), "ETag": `"img1"`, "Cache-Control": "", "Vary": ""}, bodyExact: image},
		{name: "an image revalidates with its own ETag", path: "/image.png", reqHeader: map[string]string{"If-None-Match": `"img1"`}, status: 304},
		{name: "JSON passes untouched", path: "/data.json", status: 200,
			bodyExact: []byte(`{"html":"<script src=\"https://www.googletagmanager.com/gtag/js\"></script>"}`)},
		{name: "an error page is rewritten too", path: "/missing", status: 404, bodyRewritten: true},
		{name: "HTML without Content-Type is sniffed and rewritten", path: "/untyped", status: 200,
			header: map[string]string{"Content-Type": "text/html"}, bodyRewritten: true},
		{name: "a fragment is neutralised but gets no banner", path: "/fragment", status: 200,
			bodyHas: []string{`data-consent-src="https://secure.gravatar.com/avatar/x?s=32"`}, bodyHasNot: []string{"/.well-known/consent/"}},
		{name: "204 passes", path: "/empty", status: 204},
		{name: "gzip from upstream is decoded and rewritten", path: "/encoded/gzip", status: 200, header: map[string]string{"Content-Encoding": ""}, bodyRewritten: true},
		{name: "brotli from upstream is decoded and rewritten", path: "/encoded/br", status: 200, header: map[string]string{"Content-Encoding": ""}, bodyRewritten: true},
		{name: "zstd from upstream is decoded and rewritten", path: "/encoded/zstd", status: 200, header: map[string]string{"Content-Encoding": ""}, bodyRewritten: true},
		{name: "deflate (zlib) from upstream is decoded and rewritten", path: "/encoded/deflate", status: 200, header: map[string]string{"Content-Encoding": ""}, bodyRewritten: true},
		{name: "raw deflate from upstream is decoded and rewritten", path: "/encoded/deflate-raw", status: 200, header: map[string]string{"Content-Encoding": ""}, bodyRewritten: true},
		{name: "an encoding the gateway cannot decode fails closed", path: "/encoded/compress", status: 502,
			bodyHas: []string{"cannot decode"}, bodyHasNot: []string{"garbage"}},
		{name: "windows-1252 bytes survive", path: "/windows-1252", status: 200,
			header:  map[string]string{"Content-Type": "text/html; charset=windows-1252"},
			bodyHas: []string{"Caf\xe9", "\x93na\xefve\x94", `data-consent-src="https://www.facebook.com/tr"`}},
		{name: "UTF-16 is transcoded to UTF-8 and rewritten", path: "/utf-16", status: 200,
			header:  map[string]string{"Content-Type": "text/html;charset=utf-8"},
			bodyHas: []string{"\u00e9t\u00e9", `data-consent-src="https://www.facebook.com/tr"`, "/.well-known/consent/banner."}},
		{name: "tracker Link headers are dropped, others kept", path: "/link-headers", status: 200,
			header: map[string]string{"Link": "</style.css>; rel=preload; as=style"}},
		{name: "server-sent events pass untouched", path: "/events", status: 200,
			bodyExact: []byte("data: <script src=\"https://www.googletagmanager.com/gtag/js\"></script>\n\n")},
		{name: "the reserved prefix is served by the gateway", path: "/.well-known/consent/nothing-here", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			req, _ := http.NewRequest(method, base+tt.path, nil)
			for k, v := range tt.reqHeader {
				req.Header.Set(k, v)
			}
			resp, err := client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatalf("reading body: %v", err)
			}
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %.300s", resp.StatusCode, tt.status, body)
			}
			for k, want := range tt.header {
				got := strings.Join(resp.Header.Values(k), ", ")
				if k == "Content-Length" && want == "" && tt.bodyRewritten && got != "" {
					// net/http may set the length of a short body it
					// buffered whole; it must be the rewritten length.
					if got != fmt.Sprint(len(body)) {
						t.Errorf("Content-Length %s for a %d-byte body", got, len(body))
					}
					continue
				}
				if k == "Vary" && want != "" {
					if !strings.Contains(got, want) {
						t.Errorf("Vary %q lacks %q", got, want)
					}
					continue
				}
				if got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
			if tt.bodyExact != nil && !bytes.Equal(body, tt.bodyExact) {
				t.Errorf("body differs from the upstream's (%d bytes, want %d): %.200q", len(body), len(tt.bodyExact), body)
			}
			has := tt.bodyHas
			hasNot := tt.bodyHasNot
			if tt.bodyRewritten {
				has = append(has, rewritten...)
				hasNot = append(hasNot, live...)
			}
			for _, s := range has {
				if !bytes.Contains(body, []byte(s)) {
					t.Errorf("body lacks %q:\n%s", s, body)
				}
			}
			for _, s := range hasNot {
				if bytes.Contains(body, []byte(s)) {
					t.Errorf("body has %q:\n%s", s, body)
				}
			}
		})
	}

	t.Run("a page revalidates only for the same consent state", func(t *testing.T) {
		resp, err := client().Get(base + "/page")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		etag := resp.Header.Get("ETag")
		if !strings.HasPrefix(etag, `"v1-cg`) {
			t.Fatalf("ETag %q has no variant suffix", etag)
		}
		do := func(inm string) *http.Response {
			req, _ := http.NewRequest("GET", base+"/page", nil)
			req.Header.Set("If-None-Match", inm)
			req.Header.Set("Accept", "text/html")
			resp, err := client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		if r := do(etag); r.StatusCode != 304 || r.Header.Get("ETag") != etag || !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Cookie") {
			t.Errorf("same state: status %d, ETag %q, Vary %q; want 304 with the suffixed ETag and Vary: Cookie", r.StatusCode, r.Header.Get("ETag"), r.Header.Values("Vary"))
		}
		if r := do(`"v1-cg00000000"`); r.StatusCode != 200 {
			t.Errorf("another state's ETag got %d, want a fresh 200", r.StatusCode)
		}
		if r := do(`"v1"`); r.StatusCode != 200 {
			t.Errorf("an ETag from before the gateway got %d for a page, want a fresh 200", r.StatusCode)
		}
		req, _ := http.NewRequest("GET", base+"/page", nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("If-Modified-Since", time.Now().UTC().Format(http.TimeFormat))
		resp, err = client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("If-Modified-Since alone got %d for a page, want a fresh 200", resp.StatusCode)
		}
	})

	t.Run("a truncated compressed page is cut short, not completed", func(t *testing.T) {
		resp, err := client().Get(base + "/encoded/truncated")
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil {
			t.Fatal("the client read a complete body from a truncated upstream page")
		}
	})

	t.Run("Early Hints lose tracker links", func(t *testing.T) {
		hints := informationalHeaders(t, base+"/early-hints")
		for _, h := range hints {
			if strings.Contains(h.Get("Link"), "googletagmanager") {
				t.Fatalf("a 103 carried %q", h.Get("Link"))
			}
		}
	})
}
