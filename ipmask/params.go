package ipmask

import (
	"bytes"
	"net/netip"
	"net/url"
	"strings"
	"sync"
)

// Parameter names through which analytics vendors read a client address.
const (
	// UniversalAnalyticsParam is the IP override of Universal Analytics'
	// Measurement Protocol (/collect, /batch).
	UniversalAnalyticsParam = "uip"
	// GA4Param is the IP override Google Analytics 4 reads on /g/collect.
	GA4Param = "_uip"
	// MatomoParam is the IP override of Matomo's tracking API (matomo.php,
	// piwik.php). Matomo honours it only on requests with a token_auth.
	MatomoParam = "cip"
)

// maxValueLen bounds the decoded length of a parameter value that is
// parsed as an address. Longer values are garbage: no address in any
// accepted form (with zone and port) comes near it.
const maxValueLen = 128

// A ParamMasker masks the values of the parameters through which an
// analytics hit names a client address, in urlencoded parameter sets:
// query strings, form bodies, batch bodies and Matomo bulk bodies.
//
// A value that parses as an address ([ParseAddr]) is replaced by its
// masked form; one that does not, including an empty one, is replaced by
// the masked client address. Repeated parameters are all masked. Every
// byte outside the rewritten values stays as it was.
//
// The methods return whether they changed anything; when they did not,
// they return their input itself, not a copy, so the caller can skip
// rewriting the request. A ParamMasker is safe for concurrent use as long
// as its fields are not modified.
type ParamMasker struct {
	// Masker masks the addresses; the zero Masker uses the defaults.
	Masker Masker

	// Names are the parameters whose values are IP addresses, such as
	// GA4Param and UniversalAnalyticsParam for Google Analytics, or
	// MatomoParam. Names are matched after URL-decoding, PHP-style (see
	// the package documentation). Empty names are ignored.
	Names []string

	// Ensure appends Names[0]=<masked client address> to a parameter set
	// in which none of Names occurs.
	//
	// Set it when the gateway forwards hits from its own connection and
	// the vendor honours the parameter: without it the vendor locates
	// every visitor at the gateway's address (or at whatever address
	// headers claim). With it the vendor sees the masked client address,
	// coarse but right. Matomo honours cip only with a token_auth, so
	// ensure it only on such requests. When a request carries parameters
	// in both its query and its body (a GA4 /g/collect batch), ensuring
	// the query is enough.
	Ensure bool
}

// MaskQueryParams masks the named parameters in rawQuery, a raw URL query
// without the leading '?' (url.URL.RawQuery). client is the request's
// client address, masked or not; it replaces values that are not
// addresses. With Ensure, a query without any of Names, even an empty
// one, gets Names[0] appended. It reports whether it changed anything.
func (p ParamMasker) MaskQueryParams(rawQuery string, client netip.Addr) (string, bool) {
	s := splicer[string]{src: rawQuery, scratch: true}
	c := clientText{m: p.Masker, addr: client}
	maskParamSet(&p, &s, 0, len(rawQuery), &c)
	if !s.changed() {
		return rawQuery, false
	}
	masked := string(s.finish())
	s.release()
	return masked, true
}

// scratchBufs holds the buffers in which MaskQueryParams builds its result
// before copying it into a string.
var scratchBufs = sync.Pool{New: func() any { return new([]byte) }}

// maxScratch bounds the buffers kept for reuse.
const maxScratch = 64 << 10

// MaskFormBody masks the named parameters in an
// application/x-www-form-urlencoded body, exactly as MaskQueryParams does
// for a query. It returns body itself when nothing changed.
func (p ParamMasker) MaskFormBody(body []byte, client netip.Addr) ([]byte, bool) {
	s := splicer[[]byte]{src: body}
	c := clientText{m: p.Masker, addr: client}
	maskParamSet(&p, &s, 0, len(body), &c)
	if !s.changed() {
		return body, false
	}
	return s.finish(), true
}

// MaskBatchBody masks the named parameters in a Google Analytics batch
// body (Universal Analytics /batch, GA4 /g/collect with several events):
// one urlencoded parameter set per line. Lines end at "\n", "\r\n" or a
// lone "\r", whichever a vendor might split on. Each non-empty line is
// masked as MaskQueryParams masks a query, Ensure included; empty lines
// and line endings are left alone. It returns body itself when nothing
// changed.
func (p ParamMasker) MaskBatchBody(body []byte, client netip.Addr) ([]byte, bool) {
	s := splicer[[]byte]{src: body}
	c := clientText{m: p.Masker, addr: client}
	for i := 0; i < len(body); {
		j := i
		for j < len(body) && body[j] != '\n' && body[j] != '\r' {
			j++
		}
		if j > i {
			maskParamSet(&p, &s, i, j, &c)
		}
		i = j + 1
	}
	if !s.changed() {
		return body, false
	}
	return s.finish(), true
}

// maskParamSet masks the named parameters of the urlencoded parameter set
// s.src[start:end], splicing the changes into s.
func maskParamSet[T ~string | ~[]byte](p *ParamMasker, s *splicer[T], start, end int, c *clientText) {
	found := false
	for i, j := start, start; i < end; i = j + 1 {
		// The key runs to '=' or '&'. Keys are short: scan them by hand,
		// noting bytes that PHP would read differently.
		eq, plain := i, true
		for eq < end && s.src[eq] != '=' && s.src[eq] != '&' {
			switch s.src[eq] {
			case '%', '+', '.', ' ', 0:
				plain = false
			}
			eq++
		}
		j = eq
		if eq < end && s.src[eq] == '=' {
			j = end
			if k := indexByte(s.src[eq+1:end], '&'); k >= 0 {
				j = eq + 1 + k
			}
		}
		if plain && !plainKeyIsName(s.src[i:eq], p.Names) || !plain && !keyIsName(s.src[i:eq], p.Names) {
			continue
		}
		found = true
		if eq == j {
			// A bare name: give it a value.
			s.replace(j, j)
			s.out = append(s.out, '=')
			s.out = append(s.out, c.text()...)
			continue
		}
		v, fits := decodeValue(s.src[eq+1 : j])
		var buf [64]byte
		if repl, keep := p.Masker.maskValue(buf[:0], v, fits, c); !keep {
			s.replace(eq+1, j)
			s.out = append(s.out, repl...)
		}
	}
	if !found && p.Ensure && len(p.Names) > 0 && p.Names[0] != "" {
		s.replace(end, end)
		if end > start && s.src[end-1] != '&' {
			s.out = append(s.out, '&')
		}
		s.out = append(s.out, url.QueryEscape(p.Names[0])...)
		s.out = append(s.out, '=')
		s.out = append(s.out, c.text()...)
	}
}

// indexByte is strings.IndexByte or bytes.IndexByte, whichever fits.
func indexByte[T ~string | ~[]byte](s T, c byte) int {
	switch v := any(s).(type) {
	case string:
		return strings.IndexByte(v, c)
	case []byte:
		return bytes.IndexByte(v, c)
	}
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// plainKeyIsName is keyIsName for a key without escapes, '+', '.', ' '
// or NUL, which PHP reads as it is.
func plainKeyIsName[T ~string | ~[]byte](key T, names []string) bool {
	for _, name := range names {
		if len(name) != len(key) || name == "" {
			continue
		}
		i := 0
		for i < len(key) && key[i] == phpNameByte(name[i]) {
			i++
		}
		if i == len(key) {
			return true
		}
	}
	return false
}

// keyIsName reports whether key, a urlencoded parameter name, names one of
// names as PHP would read it: URL-decoded, leading spaces dropped, "." and
// " " read as "_", and cut at a decoded NUL.
func keyIsName[T ~string | ~[]byte](key T, names []string) bool {
	for _, name := range names {
		if name != "" && keyIs(key, name) {
			return true
		}
	}
	return false
}

func keyIs[T ~string | ~[]byte](key T, name string) bool {
	n := 0
	leading := true
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '+':
			c = ' '
		case c == '%' && i+2 < len(key) && isHex(key[i+1]) && isHex(key[i+2]):
			c = unhex(key[i+1])<<4 | unhex(key[i+2])
			i += 2
		}
		if c == 0 {
			break
		}
		if leading && c == ' ' {
			continue
		}
		leading = false
		if n >= len(name) || phpNameByte(c) != phpNameByte(name[n]) {
			return false
		}
		n++
	}
	return n == len(name)
}

// phpNameByte is c as PHP stores it in a variable name.
func phpNameByte(c byte) byte {
	if c == ' ' || c == '.' {
		return '_'
	}
	return c
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	default:
		return c - 'a' + 10
	}
}

// appendUnescaped appends the URL-decoded raw to dst ("+" is a space, and
// a "%" not followed by two hex digits stands for itself, as in PHP) and
// reports whether it fitted in dst's capacity.
func appendUnescaped[T ~string | ~[]byte](dst []byte, raw T) ([]byte, bool) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c == '+':
			c = ' '
		case c == '%' && i+2 < len(raw) && isHex(raw[i+1]) && isHex(raw[i+2]):
			c = unhex(raw[i+1])<<4 | unhex(raw[i+2])
			i += 2
		}
		if len(dst) == cap(dst) {
			return dst, false
		}
		dst = append(dst, c)
	}
	return dst, true
}

// decodeValue returns the URL-decoded raw, or fits = false when that is
// too long to be an address. A raw string that needs no decoding is
// returned as it is, without allocating.
func decodeValue[T ~string | ~[]byte](raw T) (v string, fits bool) {
	if str, ok := any(raw).(string); ok && !strings.ContainsAny(str, "%+") {
		return str, len(str) <= maxValueLen
	}
	var dec [maxValueLen]byte
	d, fits := appendUnescaped(dec[:0], raw)
	if !fits {
		return "", false
	}
	return string(d), true
}

// maskValue decides what becomes of v, the decoded value of an IP
// parameter; fits is false when v was too long to be an address. It
// returns keep when v already is the masked address as text, and
// otherwise the replacement, appended to dst.
func (m Masker) maskValue(dst []byte, v string, fits bool, c *clientText) (repl []byte, keep bool) {
	if fits {
		if a, err := ParseAddr(v); err == nil {
			t := m.MaskAddr(a).AppendTo(dst)
			if string(t) == v {
				return nil, true
			}
			return t, false
		}
	}
	return append(dst, c.text()...), false
}

// clientText is the masked client address as text, computed on first use.
type clientText struct {
	m    Masker
	addr netip.Addr
	buf  [64]byte
	n    int
	done bool
}

func (c *clientText) text() []byte {
	if !c.done {
		c.n = len(c.m.MaskAddr(c.addr).AppendTo(c.buf[:0]))
		c.done = true
	}
	return c.buf[:c.n]
}

// A splicer builds a copy of src with some byte ranges replaced. It
// allocates the copy on the first replacement only.
type splicer[T ~string | ~[]byte] struct {
	src  T
	out  []byte // nil until the first replacement
	last int    // src[:last] is accounted for in out
	// scratch makes out come from scratchBufs; the caller copies the
	// result and calls release.
	scratch bool
	pooled  *[]byte
}

// replace copies src up to i into out and skips src up to j; the caller
// then appends the replacement to out. Ranges come in increasing order.
func (s *splicer[T]) replace(i, j int) {
	if s.out == nil {
		if s.scratch {
			s.pooled = scratchBufs.Get().(*[]byte)
			s.out = (*s.pooled)[:0]
			if cap(s.out) < len(s.src)+64 {
				s.out = make([]byte, 0, max(len(s.src)+64, 1024))
			}
		} else {
			s.out = make([]byte, 0, len(s.src)+64)
		}
	}
	s.out = append(s.out, s.src[s.last:i]...)
	s.last = j
}

func (s *splicer[T]) changed() bool { return s.out != nil }

// finish returns the copy with the rest of src appended.
func (s *splicer[T]) finish() []byte {
	s.out = append(s.out, s.src[s.last:]...)
	return s.out
}

// release returns a scratch buffer to scratchBufs; out must no longer be
// used.
func (s *splicer[T]) release() {
	if s.pooled != nil && cap(s.out) <= maxScratch {
		*s.pooled = s.out[:0]
		scratchBufs.Put(s.pooled)
	}
	s.out, s.pooled = nil, nil
}
