package htmlencoding

import (
	"fmt"
	"io"

	"golang.org/x/text/transform"
)

// utf8BOM goes in front of a transcoded document: a browser decodes a
// document that starts with it as UTF-8, whatever its Content-Type or
// <meta> say.
var utf8BOM = []byte("\xef\xbb\xbf")

// Writer passes an HTML document on to its destination unchanged when its
// encoding is ASCII-compatible, and transcoded to UTF-8 (behind a UTF-8
// BOM) when it is not. It holds the first bytes until they decide the
// encoding: at most PrescanLen, and only 3 when the Content-Type names a
// charset.
type Writer struct {
	dst           io.Writer
	headerCharset string
	held          []byte
	decided       bool
	name          string
	out           io.Writer // dst, or a transcoder in front of it
	tw            *transform.Writer
}

// NewWriter returns a Writer for a document whose Content-Type has the
// charset parameter headerCharset ("" for none).
func NewWriter(dst io.Writer, headerCharset string) *Writer {
	return &Writer{dst: dst, headerCharset: headerCharset}
}

// Encoding returns the name of the encoding the document was decided to
// be in, "" before that.
func (w *Writer) Encoding() string { return w.name }

// Transcoding reports whether the document is being transcoded.
func (w *Writer) Transcoding() bool { return w.tw != nil }

func (w *Writer) Write(p []byte) (int, error) {
	if w.decided {
		return w.out.Write(p)
	}
	buf := p // most writes decide at once: no copy then
	if len(w.held) > 0 {
		w.held = append(w.held, p...)
		buf = w.held
	}
	name, bomLen, ok := Decide(buf, w.headerCharset, false)
	if !ok {
		if len(w.held) == 0 {
			w.held = append(w.held, p...)
		}
		return len(p), nil
	}
	if err := w.start(name, bomLen, buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// start sets up the output for the encoding name and writes buf, the
// document's first bytes, on.
func (w *Writer) start(name string, bomLen int, buf []byte) error {
	w.decided, w.name, w.out = true, name, w.dst
	w.held = nil
	if NeedsTranscoding(name) {
		dec := decoder(name)
		if dec == nil {
			return fmt.Errorf("no decoder for %s", name)
		}
		if _, err := w.dst.Write(utf8BOM); err != nil {
			return err
		}
		w.tw = transform.NewWriter(w.dst, dec)
		w.out = w.tw
		buf = buf[bomLen:]
	}
	if len(buf) == 0 {
		return nil
	}
	_, err := w.out.Write(buf)
	return err
}

// Close writes out what is still held, decoding a trailing incomplete
// sequence as the standard does (to U+FFFD). It does not close the
// destination.
func (w *Writer) Close() error {
	if !w.decided {
		name, bomLen, _ := Decide(w.held, w.headerCharset, true)
		if err := w.start(name, bomLen, w.held); err != nil {
			return err
		}
	}
	if w.tw != nil {
		return w.tw.Close()
	}
	return nil
}
