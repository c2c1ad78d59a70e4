package htmlencoding

import (
	"sync"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
)

// iso2022JPDecoder is the WHATWG Encoding standard's ISO-2022-JP decoder
// (§12.2.1). x/text's decoder departs from it where it matters here: after
// a lead byte it takes an escape byte as the trail, so "ESC ( B" no longer
// returns to ASCII and the rest of the page reads as kanji where a
// browser reads markup again. Its JIS X 0208 index is the one EUC-JP
// uses, read from x/text's EUC-JP decoder.
type iso2022JPDecoder struct {
	state, outState uint8
	lead            byte
	outFlag         bool
}

const (
	jpASCII uint8 = iota
	jpRoman
	jpKatakana
	jpLeadByte
	jpTrailByte
	jpEscapeStart
	jpEscape
)

var (
	jis0208Once  sync.Once
	jis0208Index [94 * 94]rune // 0: no code point
)

func jis0208(pointer int) rune {
	jis0208Once.Do(func() {
		dec := japanese.EUCJP.NewDecoder()
		for p := range jis0208Index {
			b := []byte{byte(p/94) + 0xA1, byte(p%94) + 0xA1}
			out, err := dec.Bytes(b)
			if err != nil {
				continue
			}
			if r, n := utf8.DecodeRune(out); n == len(out) && r != utf8.RuneError {
				jis0208Index[p] = r
			}
		}
	})
	if pointer < 0 || pointer >= len(jis0208Index) {
		return 0
	}
	return jis0208Index[pointer]
}

func (d *iso2022JPDecoder) Reset() { *d = iso2022JPDecoder{} }

// eof stands for the end of the stream in step.
const eof = -1

// step runs the decoder on one byte (or eof) and appends what it emits to
// out. It reports whether the byte was consumed; when not, it must be
// given again (the standard's "prepend").
func (d *iso2022JPDecoder) step(b int, out []rune) ([]rune, bool) {
	const errRune = utf8.RuneError
	switch d.state {
	case jpASCII, jpRoman:
		switch {
		case b == 0x1B:
			d.state = jpEscapeStart
		case b == eof:
		case d.state == jpRoman && b == 0x5C:
			d.outFlag = false
			out = append(out, 0xA5)
		case d.state == jpRoman && b == 0x7E:
			d.outFlag = false
			out = append(out, 0x203E)
		case b <= 0x7F && b != 0x0E && b != 0x0F:
			d.outFlag = false
			out = append(out, rune(b))
		default:
			d.outFlag = false
			out = append(out, errRune)
		}
	case jpKatakana:
		switch {
		case b == 0x1B:
			d.state = jpEscapeStart
		case b == eof:
		case b >= 0x21 && b <= 0x5F:
			d.outFlag = false
			out = append(out, 0xFF61-0x21+rune(b))
		default:
			d.outFlag = false
			out = append(out, errRune)
		}
	case jpLeadByte:
		switch {
		case b == 0x1B:
			d.state = jpEscapeStart
		case b == eof:
		case b >= 0x21 && b <= 0x7E:
			d.outFlag = false
			d.lead = byte(b)
			d.state = jpTrailByte
		default:
			d.outFlag = false
			out = append(out, errRune)
		}
	case jpTrailByte:
		switch {
		case b == 0x1B:
			d.state = jpEscapeStart
			out = append(out, errRune)
		case b >= 0x21 && b <= 0x7E:
			d.state = jpLeadByte
			if r := jis0208((int(d.lead)-0x21)*94 + b - 0x21); r != 0 {
				out = append(out, r)
			} else {
				out = append(out, errRune)
			}
		case b == eof:
			d.state = jpLeadByte
			return append(out, errRune), false
		default:
			d.state = jpLeadByte
			out = append(out, errRune)
		}
	case jpEscapeStart:
		if b == 0x24 || b == 0x28 {
			d.lead = byte(b)
			d.state = jpEscape
			break
		}
		d.outFlag = false
		d.state = d.outState
		return append(out, errRune), false
	case jpEscape:
		lead := d.lead
		d.lead = 0
		next, ok := uint8(0), true
		switch {
		case lead == 0x28 && b == 0x42:
			next = jpASCII
		case lead == 0x28 && b == 0x4A:
			next = jpRoman
		case lead == 0x28 && b == 0x49:
			next = jpKatakana
		case lead == 0x24 && (b == 0x40 || b == 0x42):
			next = jpLeadByte
		default:
			ok = false
		}
		if ok {
			d.state, d.outState = next, next
			if d.outFlag {
				out = append(out, errRune)
			}
			d.outFlag = true
			break
		}
		// Prepend lead and byte: both run again in the output state.
		// Chromium emits no second error when the byte is invalid there
		// (where the standard does); the browser is what the page meets.
		d.outFlag = false
		d.state = d.outState
		out = append(out, errRune)
		out, _ = d.step(int(lead), out)
		if b == eof {
			return out, false
		}
		n := len(out)
		out, _ = d.step(b, out)
		if len(out) == n+1 && out[n] == errRune {
			out = out[:n]
		}
		return out, true
	}
	return out, true
}

func (d *iso2022JPDecoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	var buf [4]rune
	emit := func(rs []rune) bool {
		need := 0
		for _, r := range rs {
			need += utf8.RuneLen(r)
		}
		if nDst+need > len(dst) {
			return false
		}
		for _, r := range rs {
			nDst += utf8.EncodeRune(dst[nDst:], r)
		}
		return true
	}
	for nSrc < len(src) {
		saved := *d
		out, consumed := d.step(int(src[nSrc]), buf[:0])
		if !emit(out) {
			*d = saved
			return nDst, nSrc, transform.ErrShortDst
		}
		if consumed {
			nSrc++
		}
	}
	if atEOF {
		for {
			saved := *d
			out, consumed := d.step(eof, buf[:0])
			if !emit(out) {
				*d = saved
				return nDst, nSrc, transform.ErrShortDst
			}
			if consumed {
				break
			}
		}
	}
	return nDst, nSrc, nil
}
