package scan

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/consentgate/consentgate/rules"
)

// sampleReport is a report as a scan of example.com could give, with a
// finding in every category and things no rule can express.
func sampleReport() *Report {
	maxAge := 31536000
	return &Report{
		Format:    ReportFormat,
		Start:     "https://example.com/",
		Mode:      "static",
		StartedAt: time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC),
		Findings: []Finding{
			{Kind: KindCookie, Key: "PHPSESSID", Category: "necessary", VendorID: "application-session", Vendor: "Web application framework", Hosts: []string{"example.com"}, Pages: 4, ExamplePages: []string{"https://example.com/"}, Cookie: &Cookie{Name: "PHPSESSID", Domain: "example.com", HostOnly: true, Path: "/", Session: true, Source: "set-cookie"}},
			{Kind: KindScript, Key: "google-analytics", Category: "statistics", VendorID: "google-analytics", Vendor: "Google Analytics", Hosts: []string{"www.googletagmanager.com"}, ThirdParty: true, Pages: 4, ExamplePages: []string{"https://example.com/", "https://example.com/a", "https://example.com/b"}, ExampleURLs: []string{"https://www.googletagmanager.com/gtag/js?id=G-1"}},
			{Kind: KindStylesheet, Key: "google-fonts", Category: "preferences", VendorID: "google-fonts", Vendor: "Google Fonts", Hosts: []string{"fonts.googleapis.com"}, ThirdParty: true, Pages: 1, ExamplePages: []string{"https://example.com/"}},
			{Kind: KindIframe, Key: "youtube", Category: "marketing", VendorID: "youtube", Vendor: "YouTube", Hosts: []string{"www.youtube.com"}, ThirdParty: true, Pages: 1, ExamplePages: []string{"https://example.com/video"}},
			{Kind: KindCookie, Key: "visitor", Category: "unclassified", Hosts: []string{"example.com"}, Pages: 3, ExamplePages: []string{"https://example.com/"}, Cookie: &Cookie{Name: "visitor", Domain: "example.com", HostOnly: true, MaxAge: &maxAge, Secure: true, HTTPOnly: true, SameSite: "Lax", Source: "set-cookie"}},
			{Kind: KindCookie, Key: "bad name", Category: "unclassified", Hosts: []string{"example.com"}, Pages: 1, ExamplePages: []string{"https://example.com/"}, Cookie: &Cookie{Name: "bad name", Domain: "example.com", Session: true, Source: "browser"}},
			{Kind: KindCookie, Key: "#hash", Category: "unclassified", Hosts: []string{"example.com"}, Pages: 1, ExamplePages: []string{"https://example.com/"}, Cookie: &Cookie{Name: "#hash", Domain: "example.com", Session: true, Source: "browser"}},
			{Kind: KindCookie, Key: "uid", Category: "unclassified", Hosts: []string{"ads.tracker.net"}, ThirdParty: true, Pages: 2, ExamplePages: []string{"https://example.com/"}, Cookie: &Cookie{Name: "uid", Domain: ".tracker.net", Expires: "2026-01-02T15:04:05Z", Source: "browser"}},
			{Kind: KindImage, Key: "px.tracker.net", Category: "unclassified", Hosts: []string{"px.tracker.net"}, ThirdParty: true, Pages: 2, ExamplePages: []string{"https://example.com/", "https://example.com/a"}},
			{Kind: KindScript, Key: "px.tracker.net", Category: "unclassified", Hosts: []string{"px.tracker.net"}, ThirdParty: true, Pages: 5, ExamplePages: []string{"https://example.com/", "https://example.com/a", "https://example.com/b"}},
			{Kind: KindScript, Key: "[::1]", Category: "unclassified", Hosts: []string{"[::1]"}, ThirdParty: true, Pages: 1, ExamplePages: []string{"https://example.com/"}},
		},
		Pages: []Page{{URL: "https://example.com/", Status: 200}, {URL: "https://example.com/slow", Depth: 1, Error: "timed out after 15s"}},
		Stats: Stats{PagesScanned: 4, Errors: []PageError{{URL: "https://example.com/slow", Reason: "timed out after 15s"}}, SkippedPageLimit: 2, Elapsed: 1.5},
	}
}

func TestWriteTableGroupsByCategoryWithUnclassifiedLast(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Log("\n" + out)
	order := []string{"CATEGORY", "necessary", "statistics", "preferences", "marketing", "UNCLASSIFIED!", "! 7 findings are unclassified", "ERRORS", "/slow"}
	pos := -1
	for _, s := range order {
		i := strings.Index(out, s)
		if i < 0 {
			t.Fatalf("the table lacks %q", s)
		}
		if i < pos {
			t.Errorf("%q comes before what precedes it in %v", s, order)
		}
		pos = i
	}
	if n := strings.Count(out, "UNCLASSIFIED!"); n != 1 {
		t.Errorf("the unclassified group is headed %d times, want once", n)
	}
	for _, want := range []string{"uid (on tracker.net)", "www.googletagmanager.com", "/, /a, /b, …", "timed out after 15s", "1 error,", "2 over the page limit"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q", want)
		}
	}
	// Aligned: the KIND column starts at the same offset on every row.
	lines := strings.Split(out, "\n")
	col := -1
	for _, l := range lines {
		if strings.HasPrefix(l, "CATEGORY") {
			col = strings.Index(l, "KIND")
		}
	}
	for _, l := range lines {
		for _, k := range []string{" cookie ", " script ", " iframe ", " image "} {
			if i := strings.Index(l, k); i >= 0 && i+1 != col {
				t.Errorf("misaligned row (kind at %d, header at %d): %q", i+1, col, l)
			}
		}
	}
}

func TestWriteJSONHasStableSnakeCaseFields(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("invalid JSON: %v", err)
	}
	for _, k := range []string{"format", "start", "mode", "started_at", "findings", "pages", "stats"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("no top-level %q", k)
		}
	}
	stats := doc["stats"].(map[string]any)
	for _, k := range []string{"pages_scanned", "errors", "skipped_depth", "skipped_page_limit", "skipped_non_html", "redirects", "elapsed_seconds"} {
		if _, ok := stats[k]; !ok {
			t.Errorf("no stats.%s", k)
		}
	}
	var visitor map[string]any
	for _, f := range doc["findings"].([]any) {
		f := f.(map[string]any)
		for _, k := range []string{"kind", "key", "category", "third_party", "pages", "example_pages"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding %v has no %q", f["key"], k)
			}
		}
		if f["key"] == "visitor" {
			visitor = f
		}
	}
	c := visitor["cookie"].(map[string]any)
	want := map[string]any{"name": "visitor", "domain": "example.com", "host_only": true, "max_age_seconds": float64(31536000), "secure": true, "http_only": true, "same_site": "Lax", "session": false, "source": "set-cookie"}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("cookie.%s = %v, want %v", k, c[k], v)
		}
	}
	if _, ok := c["value"]; ok {
		t.Error("a cookie has a value field")
	}
	if doc["started_at"] != "2025-01-02T15:04:05Z" {
		t.Errorf("started_at = %v", doc["started_at"])
	}
}

func TestWriteCaddyfileSnippetParsesAsRuleAndCookieLines(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteCaddyfile(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	t.Log("\n" + out)
	if !strings.Contains(out, `replace "unclassified" with`) || !strings.Contains(out, "statistics, preferences, marketing or necessary") {
		t.Error("the header does not tell the operator to replace unclassified")
	}

	// Every line must be a comment or one directive with a trailing
	// comment; the directives must be what the gateway accepts.
	for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.Contains(line, "  # ") {
			t.Errorf("line %d has no comment: %q", i+1, line)
		}
	}
	tokens, err := caddyfile.Tokenize([]byte("cookie_consent {\n"+out+"}\n"), "snippet")
	if err != nil {
		t.Fatalf("the snippet does not tokenize: %v", err)
	}
	lines := map[int][]string{}
	var order []int
	for _, tok := range tokens {
		if tok.Text == "cookie_consent" || tok.Text == "{" || tok.Text == "}" {
			continue
		}
		if _, ok := lines[tok.Line]; !ok {
			order = append(order, tok.Line)
		}
		lines[tok.Line] = append(lines[tok.Line], tok.Text)
	}
	var got []string
	for _, l := range order {
		args := lines[l]
		got = append(got, strings.Join(args, " "))
		if len(args) != 3 {
			t.Errorf("line %d: tokens %q, want directive, category and one argument", l, args)
			continue
		}
		if _, err := rules.ParseCategory(args[1]); err != nil || args[1] != "unclassified" {
			t.Errorf("line %d: category %q, want unclassified", l, args[1])
		}
		switch args[0] {
		case "rule":
			if err := checkPattern(args[2]); err != nil {
				t.Errorf("line %d: %v", l, err)
			}
		case "cookie":
			if err := checkCookie(args[2]); err != nil {
				t.Errorf("line %d: %v", l, err)
			}
		default:
			t.Errorf("line %d: directive %q", l, args[0])
		}
	}
	want := []string{
		"rule unclassified px.tracker.net",
		"cookie unclassified visitor",
		"cookie unclassified uid",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("directives:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, s := range []string{
		"rule unclassified px.tracker.net  # image on 2 pages, script on 5 pages",
		"# cookie set on 3 pages by example.com; max-age 1 year",
		"a third party: the gateway cannot remove it",
		`# not written: host "[::1]"`,
		`# not written: cookie "bad name"`,
		`# not written: cookie "#hash"`,
	} {
		if !strings.Contains(out, s) {
			t.Errorf("the snippet lacks %q", s)
		}
	}
	if strings.Contains(out, "youtube") || strings.Contains(out, "PHPSESSID") {
		t.Error("classified findings are in the snippet")
	}
}

func TestWriteCaddyfileSaysWhenNothingIsUnclassified(t *testing.T) {
	rep := sampleReport()
	rep.Findings = rep.Findings[:4]
	var b bytes.Buffer
	if err := rep.WriteCaddyfile(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "nothing to add") {
		t.Errorf("snippet = %q", b.String())
	}
	toks, err := caddyfile.Tokenize(b.Bytes(), "snippet")
	if err != nil || len(toks) != 0 {
		t.Errorf("tokens %v, err %v: want only comments", toks, err)
	}
}

func TestWritersReportWriteErrors(t *testing.T) {
	rep := sampleReport()
	for name, write := range map[string]func(*Report) error{
		"table":     func(r *Report) error { return r.WriteTable(failingWriter{}) },
		"JSON":      func(r *Report) error { return r.WriteJSON(failingWriter{}) },
		"Caddyfile": func(r *Report) error { return r.WriteCaddyfile(failingWriter{}) },
	} {
		if err := write(rep); !errors.Is(err, errDiskFull) {
			t.Errorf("%s: err = %v, want one wrapping the write error", name, err)
		}
	}
}

var errDiskFull = errors.New("disk full")

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestProgressBarDrawsCounts(t *testing.T) {
	var b bytes.Buffer
	progress, finish := NewProgressBar(&b, "scanning", 0)
	progress(1, 4)
	progress(3, 5)
	if !strings.Contains(b.String(), "3/5") {
		t.Errorf("bar output %q lacks 3/5", b.String())
	}
	finish()
}

func TestTerminalProgressIsOffWhenNotATerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	progress, finish := TerminalProgress(w, "scanning")
	if progress != nil {
		t.Error("a progress callback without a terminal")
	}
	finish()
}
