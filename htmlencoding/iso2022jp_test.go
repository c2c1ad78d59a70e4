package htmlencoding

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
)

func decodeJP(t testing.TB, b []byte, chunk int) string {
	t.Helper()
	var out strings.Builder
	w := transform.NewWriter(&out, &encoding.Decoder{Transformer: new(iso2022JPDecoder)})
	for p := b; len(p) > 0; {
		n := len(p)
		if chunk > 0 {
			n = min(chunk, len(p))
		}
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

var jpCases = []string{
	"\x1b$B</script>\x1b(B\";x",
	"\x1b$B$3$s$K$A$O\x1b(Babc",
	"\x1b(J\\~\x1b(B\\~",
	"\x1b(I!_`\x1b(B",
	"\x1b$@\x1b(B",
	"\x1b$B\x1b(B\x1b(B",
	"\x1b",
	"\x1b$",
	"\x1b$B$",
	"\x1b$Z",
	"\x1b(Z",
	"\x0e\x0f\x80\xff",
	"\x1b$B\n\x1b(B",
	"\x1b$B!!\x1b$B!!",
}

func TestISO2022JPRoundTrip(t *testing.T) {
	text := "<p>日本語のテキスト、カタカナ</p><script>x()</script>"
	enc, err := japanese.ISO2022JP.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeJP(t, []byte(enc), 3); got != text {
		t.Fatalf("got %q", got)
	}
}

// FuzzISO2022JP checks that the decoder never fails, emits valid UTF-8
// and does not depend on how the input is cut into writes.
// TestISO2022JPAgainstChromium holds its output to Chromium's.
//
//	go test ./htmlencoding -run '^$' -fuzz FuzzISO2022JP
func FuzzISO2022JP(f *testing.F) {
	for _, c := range jpCases {
		f.Add([]byte(c), uint8(1))
	}
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		got := decodeJP(t, b, 0)
		if c := decodeJP(t, b, int(chunk)); c != got {
			t.Fatalf("writes of %d: %q, whole: %q", chunk, c, got)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8: %q", got)
		}
	})
}
