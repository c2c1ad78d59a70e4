package banner

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/andybalholm/brotli"
	"github.com/tdewolff/minify/v2"
	"github.com/tdewolff/minify/v2/css"
	"github.com/tdewolff/minify/v2/js"
)

//go:embed banner.css
var bannerCSS []byte

//go:embed banner.js
var bannerJS []byte

//go:embed consent-mode.js
var consentModeJS []byte

// Asset is a file the gateway serves under Config.Prefix.
type Asset struct {
	// Name is the file name relative to the prefix, carrying a hash of the
	// content, e.g. "banner.3f2a9c1b7e.js", so it can be cached forever.
	Name string
	// ContentType is the value of the Content-Type header.
	ContentType string
	// Body is the content. It must not be modified.
	Body []byte
	// Encoded holds Body compressed once, at New, by content coding
	// ("br", "gzip"), where that is smaller: the gateway serves them to
	// clients that accept them, whether or not the site compresses its
	// responses. They must not be modified.
	Encoded map[string][]byte
}

// precompress fills in a.Encoded: Brotli at its best quality and gzip at
// its best level, since it happens once.
func precompress(a *Asset) error {
	a.Encoded = make(map[string][]byte)
	var br bytes.Buffer
	// A window just large enough for the asset compresses it as well as
	// the default 4 MB one, without the ~96 MB the encoder allocates for
	// that window at best quality while the gateway starts.
	lgwin := 10
	for lgwin < 24 && 1<<lgwin-16 < len(a.Body) {
		lgwin++
	}
	bw := brotli.NewWriterOptions(&br, brotli.WriterOptions{Quality: brotli.BestCompression, LGWin: lgwin})
	if _, err := bw.Write(a.Body); err != nil {
		return fmt.Errorf("compressing %s: %w", a.Name, err)
	}
	if err := bw.Close(); err != nil {
		return fmt.Errorf("compressing %s: %w", a.Name, err)
	}
	var gz bytes.Buffer
	gw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return fmt.Errorf("compressing %s: %w", a.Name, err)
	}
	if _, err := gw.Write(a.Body); err != nil {
		return fmt.Errorf("compressing %s: %w", a.Name, err)
	}
	if err := gw.Close(); err != nil {
		return fmt.Errorf("compressing %s: %w", a.Name, err)
	}
	for coding, b := range map[string][]byte{"br": br.Bytes(), "gzip": gz.Bytes()} {
		if len(b) < len(a.Body) {
			a.Encoded[coding] = b
		}
	}
	return nil
}

const (
	contentTypeCSS = "text/css; charset=utf-8"
	contentTypeJS  = "text/javascript; charset=utf-8"
	// contentTypeHTML is the settings dialog's: a fragment, parsed into
	// the page by the script.
	contentTypeHTML = "text/html; charset=utf-8"
	// contentTypeJSON is the vendor names'.
	contentTypeJSON = "application/json; charset=utf-8"
)

// newMinifier returns the minifier of the assets. The script is plain
// ES2017, and the minified form must stay within it.
func newMinifier() *minify.M {
	m := minify.New()
	m.Add("text/css", &css.Minifier{})
	m.Add("text/javascript", &js.Minifier{Version: 2017})
	return m
}

// buildAsset minifies src and names it base.<hash>.ext.
func buildAsset(m *minify.M, base, ext, mediaType, contentType string, src []byte) (Asset, error) {
	var out bytes.Buffer
	if err := m.Minify(mediaType, &out, bytes.NewReader(src)); err != nil {
		return Asset{}, fmt.Errorf("minifying %s%s: %w", base, ext, err)
	}
	body := out.Bytes()
	if !isASCII(body) {
		return Asset{}, fmt.Errorf("%s%s is not ASCII-only", base, ext)
	}
	a := Asset{Name: hashedName(base, ext, body), ContentType: contentType, Body: body}
	if err := precompress(&a); err != nil {
		return Asset{}, err
	}
	return a, nil
}

// hashedName returns base.<first 10 hex digits of SHA-256(body)>.ext.
func hashedName(base, ext string, body []byte) string {
	sum := sha256.Sum256(body)
	return base + "." + hex.EncodeToString(sum[:5]) + ext
}

// isASCII reports whether b holds only ASCII bytes.
func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// appendASCII appends s to dst with every non-ASCII character written as a
// numeric character reference (é becomes &#233;), and invalid UTF-8 as
// &#65533;. It is only used on HTML text and attribute values, where
// character references are decoded.
func appendASCII(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		dst = append(dst, "&#"...)
		dst = strconv.AppendInt(dst, int64(r), 10)
		dst = append(dst, ';')
		i += size
	}
	return dst
}

// escapeAttr escapes s for a double-quoted attribute value, ASCII-only.
func escapeAttr(dst []byte, s string) []byte {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&#34;")
		case '\'':
			b.WriteString("&#39;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(c)
		}
	}
	return appendASCII(dst, b.String())
}
