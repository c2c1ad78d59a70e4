package mimesniff

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// headerBytes turns a test vector's string into the header bytes it stands
// for: code points up to U+00FF are one byte each (isomorphic encoding).
// Code points above cannot occur in a header; they become 0x00, which is
// outside every set the parser accepts, as they are.
func headerBytes(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			r = 0
		}
		b = append(b, byte(r))
	}
	return string(b)
}

// fromHeaderBytes is the isomorphic decoding of a serialised type.
func fromHeaderBytes(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		b = utf8.AppendRune(b, rune(s[i]))
	}
	return string(b)
}

// TestParseWPT runs the web-platform-tests MIME type parsing vectors.
func TestParseWPT(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "wpt", "mime-types.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []json.RawMessage
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, raw := range cases {
		var c struct {
			Input  string  `json:"input"`
			Output *string `json:"output"`
		}
		if json.Unmarshal(raw, &c) != nil {
			continue // a section title
		}
		n++
		m, ok := Parse(headerBytes(c.Input))
		switch {
		case c.Output == nil && ok:
			t.Errorf("Parse(%q) = %q, want failure", c.Input, m.String())
		case c.Output != nil && !ok:
			t.Errorf("Parse(%q) failed, want %q", c.Input, *c.Output)
		case c.Output != nil && fromHeaderBytes(m.String()) != *c.Output:
			t.Errorf("Parse(%q) = %q, want %q", c.Input, fromHeaderBytes(m.String()), *c.Output)
		}
	}
	if n < 50 {
		t.Fatalf("only %d vectors read", n)
	}
}

// TestExtractWPT runs the web-platform-tests vectors of Fetch's "extract a
// MIME type" over several Content-Type headers.
func TestExtractWPT(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "wpt", "content-types.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Input               []string `json:"input"`
		MIMEType            string   `json:"mimeType"`
		DocumentContentType string   `json:"documentContentType"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		m, ok := Extract(c.Input)
		if !ok {
			t.Errorf("Extract(%q) failed, want %q", c.Input, c.MIMEType)
			continue
		}
		if m.String() != c.MIMEType {
			t.Errorf("Extract(%q) = %q, want %q", c.Input, m.String(), c.MIMEType)
		}
		if m.Essence() != c.DocumentContentType {
			t.Errorf("Extract(%q) essence %q, want %q", c.Input, m.Essence(), c.DocumentContentType)
		}
	}
}

func TestExtractFailsWithoutAUsableType(t *testing.T) {
	for _, in := range [][]string{nil, {""}, {"*/*"}, {"text/html garbage"}, {"html"}, {",,"}, {"text/"}} {
		if m, ok := Extract(in); ok {
			t.Errorf("Extract(%q) = %q, want failure", in, m.String())
		}
	}
}

func TestNoSniff(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want bool
	}{
		{nil, false},
		{[]string{"nosniff"}, true},
		{[]string{"NoSniff"}, true},
		{[]string{" nosniff "}, true},
		{[]string{"nosniff, foo"}, true},
		{[]string{"nosniff", "foo"}, true},
		{[]string{"foo", "nosniff"}, false},
		{[]string{"no-sniff"}, false},
		{[]string{""}, false},
		{[]string{`"nosniff"`}, false},
	} {
		if got := NoSniff(c.in); got != c.want {
			t.Errorf("NoSniff(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// FuzzParse checks that parsing never panics and that a serialised type
// parses back to itself (the standard's round trip).
func FuzzParse(f *testing.F) {
	for _, s := range []string{"text/html;charset=gbk", `text/html;x="a\"b";charset=utf-8`, "a/b;c", "text/html;;;charset=\"", "x/x;test=\"\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := Parse(s)
		if !ok {
			return
		}
		out := m.String()
		m2, ok := Parse(out)
		if !ok || m2.String() != out {
			t.Fatalf("Parse(%q) serialises to %q, which parses to %q (%v)", s, out, m2.String(), ok)
		}
		if _, ok := Extract([]string{out}); !ok && m.Essence() != "*/*" {
			t.Fatalf("Extract(%q) failed", out)
		}
	})
}
