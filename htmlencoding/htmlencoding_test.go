package htmlencoding

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/consentgate/consentgate/mimesniff"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/unicode"
)

func TestEveryWHATWGLabel(t *testing.T) {
	n := 0
	for name, labels := range whatwgLabels {
		for _, l := range labels {
			n++
			for _, spelt := range []string{l, strings.ToUpper(l), " \t" + l + "\n"} {
				if got := Label(spelt); got != name && !(l == "replacement" && got == "") {
					t.Errorf("Label(%q) = %q, want %q", spelt, got, name)
				}
			}
		}
	}
	for _, l := range []string{"utf-32", "utf-7", "utf-16;", "x-unknown", ""} {
		if got := Label(l); got != "" {
			t.Errorf("Label(%q) = %q, want none: browsers ignore it", l, got)
		}
	}
	if n < 200 {
		t.Fatalf("only %d labels", n)
	}
}

func TestNeedsTranscoding(t *testing.T) {
	for name := range whatwgLabels {
		want := name == "utf-16be" || name == "utf-16le" || name == "iso-2022-jp" || name == "replacement"
		if NeedsTranscoding(name) != want {
			t.Errorf("NeedsTranscoding(%q) = %v", name, !want)
		}
	}
}

func TestDecide(t *testing.T) {
	pad := strings.Repeat(" ", PrescanLen)
	for _, c := range []struct {
		name   string
		first  string
		header string
		eof    bool
		want   string // "" for "hold more"
		bom    int
	}{
		{"UTF-8 BOM over a UTF-16 header", "\xef\xbb\xbf<html>", "utf-16le", false, "utf-8", 3},
		{"UTF-16LE BOM over a UTF-8 header", "\xff\xfe<\x00", "utf-8", false, "utf-16le", 2},
		{"UTF-16BE BOM, no header", "\xfe\xff\x00<", "", false, "utf-16be", 2},
		{"the start of a BOM waits", "\xef\xbb", "utf-8", false, "", 0},
		{"the start of a BOM at the end", "\xef\xbb", "utf-8", true, "utf-8", 0},
		{"header label", "<html>", "ucs-2", false, "utf-16le", 0},
		{"header label, upper case", "<html>", "UTF-8", false, "utf-8", 0},
		{"header label browsers ignore, then a meta", "<meta charset=iso-2022-jp>" + pad, "utf-32", false, "iso-2022-jp", 0},
		{"meta charset", "<meta charset=\"csiso2022jp\">" + pad, "", false, "iso-2022-jp", 0},
		{"meta http-equiv", "<meta http-equiv=Content-Type content=\"text/html; charset=iso-2022-kr\">" + pad, "", false, "replacement", 0},
		{"meta UTF-16 means UTF-8", "<meta charset=utf-16le>" + pad, "", false, "utf-8", 0},
		{"a meta waits for the prescan's bytes", "<html><head>", "", false, "", 0},
		{"a long head waits", "<head><title>" + pad, "", false, "", 0},
		{"a meta after the prescan's bytes, still in the head", "<head>" + pad + "<meta charset=iso-2022-jp>", "", false, "iso-2022-jp", 0},
		{"a meta after the prescan's bytes, the head ended", "<p>" + pad + "<meta charset=iso-2022-jp>", "", false, "windows-1252", 0},
		{"a meta in a script is no meta", "<script>'<meta charset=iso-2022-jp>'</script>" + pad + "<p>x", "", false, "windows-1252", 0},
		{"a meta cut short waits", "<head><meta charset=iso-20", "", false, "", 0},
		{"content without http-equiv", "<meta content='text/html; charset=iso-2022-jp'>" + pad + "<p>x", "", false, "windows-1252", 0},
		{"content charset quoted", "<meta http-equiv=content-type content='text/html; charset=\"iso-2022-jp\"'>" + pad, "", false, "iso-2022-jp", 0},
		{"a head that never ends is searched so far", "<head>" + strings.Repeat("<script>x</script>", MaxHeadScan/18+1), "", false, "windows-1252", 0},
		{"no meta, short document", "<p>hi</p>", "", true, "windows-1252", 0},
		{"undeclared UTF-8 bytes: windows-1252, as Chromium", "<p>\xc3\xa9</p>", "", true, "windows-1252", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			name, bom, ok := Decide([]byte(c.first), c.header, c.eof)
			if c.want == "" {
				if ok {
					t.Fatalf("decided %q, want to hold more", name)
				}
				return
			}
			if !ok || name != c.want || bom != c.bom {
				t.Fatalf("Decide = %q, %d, %v; want %q, %d", name, bom, ok, c.want, c.bom)
			}
		})
	}
}

func writeChunks(t testing.TB, in []byte, header string, n int) []byte {
	var out bytes.Buffer
	w := NewWriter(&out, header)
	for p := in; len(p) > 0; {
		k := len(p)
		if n > 0 {
			k = min(n, len(p))
		}
		if _, err := w.Write(p[:k]); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestWriterTranscodesWhatIsNotASCII(t *testing.T) {
	page := `<html><head></head><body><p>été</p><script src="https://www.googletagmanager.com/gtag/js"></script></body></html>`
	utf16le, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(page)
	utf16be, _ := unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewEncoder().String(page)
	jisPage := `<meta charset="iso-2022-jp"><p>日本語</p><script src="https://www.googletagmanager.com/gtag/js"></script>`
	jis, err := japanese.ISO2022JP.NewEncoder().String(jisPage)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, in, header, want string
	}{
		{"UTF-16LE by its BOM, the header saying UTF-8", utf16le, "utf-8", "\ufeff" + page},
		{"UTF-16BE by the header", utf16be, "utf-16be", "\ufeff" + page},
		{"ISO-2022-JP by a meta", jis, "", "\ufeff" + jisPage},
		{"the replacement encoding", "<p>x</p>", "hz-gb-2312", "\ufeff\ufffd"},
		{"UTF-8 passes as it is", "\xef\xbb\xbf" + page, "utf-16", "\xef\xbb\xbf" + page},
		{"windows-1252 passes as it is", "<p>\xe9t\xe9</p>", "", "<p>\xe9t\xe9</p>"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, n := range []int{0, 1, 7} {
				if got := string(writeChunks(t, []byte(c.in), c.header, n)); got != c.want {
					t.Errorf("in writes of %d: got %q, want %q", n, got, c.want)
				}
			}
		})
	}
}

// FuzzWriter checks that the output does not depend on how the document
// is cut into writes, and that a transcoded document comes out as valid
// UTF-8 behind a BOM.
func FuzzWriter(f *testing.F) {
	for _, s := range []string{"\xff\xfe<\x00p\x00>\x00", "\xfe\xff\x00<", "<meta charset=iso-2022-jp>\x1b$B$\"\x1b(B", "\xef\xbb\xbf<p>", "<p>"} {
		f.Add([]byte(s), "", uint8(3))
		f.Add([]byte(s), "utf-16le", uint8(1))
	}
	f.Fuzz(func(t *testing.T, in []byte, header string, n uint8) {
		whole := writeChunks(t, in, header, 0)
		if got := writeChunks(t, in, header, int(n)); !bytes.Equal(got, whole) {
			t.Fatalf("writes of %d give %q, whole %q", n, got, whole)
		}
		name, _, ok := Decide(in, header, true)
		if !ok {
			t.Fatal("not decided at the end")
		}
		if NeedsTranscoding(name) {
			if !bytes.HasPrefix(whole, utf8BOM) || !utf8.Valid(whole) {
				t.Fatalf("%s transcoded to %q", name, whole)
			}
		} else if !bytes.Equal(whole, in) {
			t.Fatalf("%s changed: %q", name, whole)
		}
	})
}

// headerCharset is the charset parameter of a Content-Type, as the
// gateway reads it (mimesniff.Parse keeps the first of duplicates).
func headerCharset(ct string) string {
	m, ok := mimesniff.Parse(ct)
	if !ok {
		return ""
	}
	cs, _ := m.Param("charset")
	return cs
}
