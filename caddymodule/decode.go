package caddymodule

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
)

// decodableEncodings are the content codings an upstream may use for HTML:
// the gateway decodes them to rewrite the page (and Caddy's encode handler,
// when configured, compresses the result for the client).
var decodableEncodings = map[string]func(io.Reader) (io.Reader, error){
	"gzip":   newGzipReader,
	"x-gzip": newGzipReader,
	"br":     func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil },
	"zstd": func(r io.Reader) (io.Reader, error) {
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true), zstd.WithDecoderMaxWindow(8<<20))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	},
	"deflate": newDeflateReader,
}

// newGzipReader reads the first gzip member only, as Chromium does: what
// follows its trailer (another member, or garbage) is ignored, not an
// error and not part of the page.
func newGzipReader(r io.Reader) (io.Reader, error) {
	z, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	z.Multistream(false)
	return z, nil
}

// newDeflateReader reads "deflate" as RFC 9110 defines it (zlib), and, as
// browsers do, the raw deflate streams that some servers send instead.
func newDeflateReader(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	head, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(head) == 2 && head[0]&0x0f == 8 && (uint16(head[0])<<8|uint16(head[1]))%31 == 0 {
		return zlib.NewReader(br)
	}
	return flate.NewReader(br), nil
}

// acceptableEncoding filters a request's Accept-Encoding to codings the
// gateway can decode, so that an upstream never sends HTML it cannot
// rewrite.
func acceptableEncoding(ae string) string {
	var keep []string
	for _, part := range strings.Split(ae, ",") {
		name, _, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if _, ok := decodableEncodings[name]; ok || name == "identity" {
			keep = append(keep, strings.TrimSpace(part))
		}
	}
	return strings.Join(keep, ", ")
}

// decodingWriter decodes a compressed body written to it and writes the
// decoded bytes to dst. The decompressors only pull from readers, so one
// runs in a goroutine fed by Write. Write returns only once the goroutine
// has consumed the bytes and written out everything they decode to, so dst
// is never used by two goroutines at once.
type decodingWriter struct {
	in     chan []byte
	status chan error // after each chunk: nil (wants more), errDecodeDone or a failure
	done   bool
	err    error
}

var errDecodeDone = errors.New("compressed stream ended")

func newDecodingWriter(open func(io.Reader) (io.Reader, error), dst io.Writer) *decodingWriter {
	d := &decodingWriter{in: make(chan []byte), status: make(chan error)}
	go d.run(open, dst)
	d.settle(<-d.status) // the decoder's first call for input, or its failure
	return d
}

func (d *decodingWriter) run(open func(io.Reader) (io.Reader, error), dst io.Writer) {
	stop := func(err error) {
		d.status <- err
		for range d.in { // the writer closes in once it saw a final status
		}
	}
	feed := &feedReader{d: d}
	dec, err := open(feed)
	if err != nil {
		stop(fmt.Errorf("reading compressed body: %w", err))
		return
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := dec.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				stop(werr)
				return
			}
		}
		if errors.Is(err, io.EOF) {
			if c, ok := dec.(io.Closer); ok {
				_ = c.Close()
			}
			stop(errDecodeDone) // bytes after the end of the stream are ignored, as browsers do
			return
		}
		if err != nil {
			stop(fmt.Errorf("decoding body: %w", err))
			return
		}
	}
}

// feedReader hands the decoder the chunks Write receives.
type feedReader struct {
	d   *decodingWriter
	cur []byte
	eof bool
}

func (f *feedReader) Read(p []byte) (int, error) {
	for len(f.cur) == 0 {
		if f.eof {
			return 0, io.EOF
		}
		f.d.status <- nil
		c, ok := <-f.d.in
		if !ok {
			f.eof = true
			return 0, io.EOF
		}
		f.cur = c
	}
	n := copy(p, f.cur)
	f.cur = f.cur[n:]
	return n, nil
}

func (d *decodingWriter) settle(st error) {
	if st == nil {
		return
	}
	d.done = true
	if !errors.Is(st, errDecodeDone) {
		d.err = st
	}
	close(d.in)
}

// Write feeds p to the decoder and returns once it is consumed.
func (d *decodingWriter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.done || len(p) == 0 {
		return len(p), nil // after the end of the stream: ignored, as browsers do
	}
	d.in <- p
	d.settle(<-d.status)
	if d.err != nil {
		return 0, d.err
	}
	return len(p), nil
}

// Close ends the input and waits for the decoder to write out the rest. A
// stream cut short is an error.
func (d *decodingWriter) Close() error {
	if !d.done {
		d.done = true
		close(d.in)
		if st := <-d.status; !errors.Is(st, errDecodeDone) {
			if st == nil {
				st = io.ErrUnexpectedEOF
			}
			d.err = st
		}
	}
	return d.err
}
