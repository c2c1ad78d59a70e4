package ipmask

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// fuzzMaskers are the maskers the fuzz targets try, picked by a fuzzed byte.
var fuzzMaskers = []Masker{{}, {v4: 0, v6: 0, set: true}, {v4: 32, v6: 128, set: true}, {v4: 13, v6: 61, set: true}}

func fuzzMasker(pick byte) Masker { return fuzzMaskers[int(pick)%len(fuzzMaskers)] }

func fuzzClient(pick byte) netip.Addr {
	switch pick % 3 {
	case 0:
		return clientV4
	case 1:
		return clientV6
	}
	return netip.Addr{}
}

// isMasked reports whether text is an address as MaskAddr writes it.
func isMasked(m Masker, text string) bool {
	a, err := netip.ParseAddr(text)
	return err == nil && m.MaskAddr(a) == a && a.String() == text
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{
		"203.0.113.77", "203.0.113.77:5555", "[2001:db8:1:2::1]:443", "[2001:db8::1]", "fe80::1%eth0",
		"::ffff:203.0.113.77", " 2001:db8::1 ", "garbage", "", "[::1]:", "1.2.3.4:99999", "2002:cb00:714d::1",
		"64:ff9b::1.2.3.4", "[fe80::1%25en0]:1", "::", ":80",
	} {
		f.Add(s, byte(0))
	}
	f.Fuzz(func(t *testing.T, s string, pick byte) {
		m := fuzzMasker(pick)
		a, err := ParseAddr(s)
		host := m.MaskHost(s)
		remote, rerr := m.MaskRemoteAddr(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidAddr) || !errors.Is(rerr, ErrInvalidAddr) {
				t.Fatalf("errors %v / %v do not wrap ErrInvalidAddr", err, rerr)
			}
			if host != netip.IPv4Unspecified() || remote != "0.0.0.0" {
				t.Fatalf("garbage %q gave %v and %q, want 0.0.0.0", s, host, remote)
			}
		} else {
			masked := m.MaskAddr(a)
			if host != masked || m.MaskAddr(masked) != masked || masked.Zone() != "" || masked.Is4In6() {
				t.Fatalf("%q: MaskAddr %v, MaskHost %v, again %v", s, masked, host, m.MaskAddr(masked))
			}
			back, perr := ParseAddr(remote)
			if rerr != nil || perr != nil || back != masked {
				t.Fatalf("%q: MaskRemoteAddr = %q, %v, which parses back to %v, %v; want %v", s, remote, rerr, back, perr, masked)
			}
			if again, _ := m.MaskRemoteAddr(remote); again != remote {
				t.Fatalf("MaskRemoteAddr(%q) = %q, not idempotent", remote, again)
			}
			if a.Is4() || a.Is4In6() {
				if maskBits(a.Unmap(), m.IPv4Bits()) != masked {
					t.Fatalf("%q: masked to %v, want %v", s, masked, maskBits(a.Unmap(), m.IPv4Bits()))
				}
			} else if !sixToFour.Contains(a) && !nat64.Contains(a) && maskBits(a, m.IPv6Bits()) != masked {
				t.Fatalf("%q: masked to %v, want %v", s, masked, maskBits(a, m.IPv6Bits()))
			}
		}
		// Whatever the standard library reads as an address, so does ParseAddr.
		trimmed := strings.TrimSpace(s)
		if std, err := netip.ParseAddr(trimmed); err == nil && std != a {
			t.Fatalf("%q: ParseAddr = %v, netip.ParseAddr = %v", s, a, std)
		}
		if h, p, err := net.SplitHostPort(trimmed); err == nil && validPort(p) {
			if std, err := netip.ParseAddr(h); err == nil && std != a {
				t.Fatalf("%q: ParseAddr = %v, net.SplitHostPort and netip.ParseAddr = %v", s, a, std)
			}
		}
	})
}

// checkParamSet checks one masked parameter set against its original:
// every segment that is not an IP parameter is unchanged, and every IP
// parameter holds the masked address of what it held, or the masked
// client address when that was not an address.
func checkParamSet(t *testing.T, p *ParamMasker, client netip.Addr, in, out string) {
	t.Helper()
	ins := strings.Split(in, "&")
	outs := strings.Split(out, "&")
	if in == "" {
		ins = nil
	}
	if out == "" {
		outs = nil
	}
	if len(outs) < len(ins) {
		t.Fatalf("%q became %q: segments lost", in, out)
	}
	found := false
	for i, o := range outs {
		if i >= len(ins) {
			// Appended by Ensure.
			if i != len(outs)-1 || found || !p.Ensure {
				t.Fatalf("%q became %q: unexpected segment %q", in, out, o)
			}
		}
		key, value, hasValue := strings.Cut(o, "=")
		if !keyIsName(key, p.Names) {
			if i < len(ins) && o != ins[i] {
				t.Fatalf("%q became %q: segment %q changed to %q", in, out, ins[i], o)
			}
			if exact, err := url.QueryUnescape(key); err == nil && exact != "" && contains(p.Names, exact) {
				t.Fatalf("key %q is %q but was not taken for a name", key, exact)
			}
			continue
		}
		found = true
		text, err := url.QueryUnescape(value)
		if !hasValue || err != nil || !isMasked(p.Masker, text) {
			t.Fatalf("%q became %q: %q does not hold a masked address", in, out, o)
		}
		want := p.Masker.MaskAddr(client)
		if i < len(ins) {
			_, orig, _ := strings.Cut(ins[i], "=")
			var dec [maxValueLen]byte
			if v, fits := appendUnescaped(dec[:0], orig); fits {
				if a, err := ParseAddr(string(v)); err == nil {
					want = p.Masker.MaskAddr(a)
				}
			}
		}
		if text != want.String() {
			t.Fatalf("%q became %q: %q holds %s, want %s", in, out, o, text, want)
		}
	}
	if p.Ensure && !found && len(p.Names) > 0 {
		t.Fatalf("%q became %q: Ensure added nothing", in, out)
	}
}

func contains(names []string, s string) bool {
	for _, n := range names {
		if n == s {
			return true
		}
	}
	return false
}

func FuzzMaskQuery(f *testing.F) {
	for _, s := range []string{
		"", "v=2&_uip=203.0.113.77&en=page_view", "_uip=2001%3Adb8%3A%3A1&_uip=&uip", "cip=%5B%3A%3A1%5D%3A80&&cip",
		"a=%zz&b=+&c&&d==;e", "%63ip=203.0.113.77", "+cip=1.2.3.4", "cip%00x=1.2.3.4", "uip=1.2.3.4\r\nuip=5.6.7.8\n",
		"cip=::ffff:1.2.3.4", "cip=2002:cb00:714d::1&",
	} {
		f.Add(s, byte(0), byte(0), false)
	}
	f.Fuzz(func(t *testing.T, q string, pickMasker, pickClient byte, ensure bool) {
		p := &ParamMasker{Masker: fuzzMasker(pickMasker), Names: []string{"cip", "_uip", "uip"}, Ensure: ensure}
		client := fuzzClient(pickClient)
		out, changed := p.MaskQueryParams(q, client)
		if changed != (out != q) {
			t.Fatalf("%q became %q but changed = %v", q, out, changed)
		}
		checkParamSet(t, p, client, q, out)
		if again, changed := p.MaskQueryParams(out, client); changed || again != out {
			t.Fatalf("masking %q again gave %q, changed=%v", out, again, changed)
		}
		if form, _ := p.MaskFormBody([]byte(q), client); string(form) != out {
			t.Fatalf("form body %q became %q, query became %q", q, form, out)
		}

		batch, _ := p.MaskBatchBody([]byte(q), client)
		// Line endings stay where they were; every line is a parameter set.
		toLF := strings.NewReplacer("\r", "\n")
		ins := strings.Split(toLF.Replace(q), "\n")
		outs := strings.Split(toLF.Replace(string(batch)), "\n")
		if len(ins) != len(outs) || strings.Count(q, "\r") != bytes.Count(batch, []byte("\r")) {
			t.Fatalf("batch %q became %q: line endings changed", q, batch)
		}
		for i := range ins {
			if ins[i] == "" && outs[i] != "" {
				t.Fatalf("batch %q became %q: empty line %d grew", q, batch, i)
			}
			if ins[i] != "" {
				checkParamSet(t, p, client, ins[i], outs[i])
			}
		}
		if again, changed := p.MaskBatchBody(batch, client); changed || !bytes.Equal(again, batch) {
			t.Fatalf("masking batch %q again gave %q", batch, again)
		}
	})
}

func FuzzMaskMatomoBulk(f *testing.F) {
	for _, s := range []string{
		`{"requests":["?idsite=1&rec=1&cip=203.0.113.77","?idsite=2"],"token_auth":"abc"}`,
		`{"requests":[{"idsite":1,"cip":"2001:db8:1:2::1"},{"cip":7},{}],"x":{"requests":["?cip=1.2.3.4"]}}`,
		`{"req\u0075ests":["?a=\u0026cip=1.2.3.4#x","https://h/m.php?cip=1.2.3.4"],"requests":[]}`,
		"{\"requests\":[\"?cip=1.2.3.4\r\n\"]}\x00", `[]`, `{`, `{"requests":"?cip=1.2.3.4"}`,
	} {
		f.Add([]byte(s), byte(0), byte(0), false)
	}
	f.Fuzz(func(t *testing.T, body []byte, pickMasker, pickClient byte, ensure bool) {
		p := &ParamMasker{Masker: fuzzMasker(pickMasker), Names: []string{"cip"}, Ensure: ensure}
		client := fuzzClient(pickClient)
		orig := bytes.Clone(body)
		out, changed, err := p.MaskMatomoBulkBody(body, client)
		if !bytes.Equal(body, orig) {
			t.Fatal("the input was modified")
		}
		if err != nil {
			if out != nil || changed {
				t.Fatalf("error %v with result %q, %v", err, out, changed)
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("%q became invalid JSON %q", body, out)
		}
		if !changed && !bytes.Equal(out, body) {
			t.Fatalf("%q became %q but changed = false", body, out)
		}
		if again, changed, err := p.MaskMatomoBulkBody(out, client); err != nil || changed || !bytes.Equal(again, out) {
			t.Fatalf("masking %q again gave %q, %v, %v", out, again, changed, err)
		}
		checkBulkHits(t, p, out)
		// Members other than requests are kept.
		var before, after map[string]json.RawMessage
		if json.Unmarshal(sanitizeLikeMatomo(body), &before) == nil {
			if err := json.Unmarshal(out, &after); err != nil {
				t.Fatalf("%q: %v", out, err)
			}
			for k, v := range before {
				if k != "requests" && !jsonEqual(v, after[k]) {
					t.Fatalf("member %q changed from %s to %s", k, v, after[k])
				}
			}
		}
	})
}

func jsonEqual(a, b json.RawMessage) bool {
	var ca, cb bytes.Buffer
	return json.Compact(&ca, a) == nil && json.Compact(&cb, b) == nil && bytes.Equal(ca.Bytes(), cb.Bytes())
}

// checkBulkHits walks out with encoding/json and checks that every IP
// parameter of every hit holds a masked address.
func checkBulkHits(t *testing.T, p *ParamMasker, out []byte) {
	t.Helper()
	var top []struct {
		key string
		raw json.RawMessage
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%q: not an object", out)
	}
	for dec.More() {
		k, err := dec.Token()
		var raw json.RawMessage
		if err != nil || dec.Decode(&raw) != nil {
			t.Fatalf("%q: %v", out, err)
		}
		top = append(top, struct {
			key string
			raw json.RawMessage
		}{k.(string), raw})
	}
	for _, m := range top {
		var hits []json.RawMessage
		if m.key != "requests" || json.Unmarshal(m.raw, &hits) != nil {
			continue
		}
		for _, h := range hits {
			var s string
			var obj map[string]json.RawMessage
			switch {
			case json.Unmarshal(h, &s) == nil:
				qs, qe := queryBounds(s)
				for _, seg := range strings.Split(s[qs:qe], "&") {
					key, value, _ := strings.Cut(seg, "=")
					if !keyIsName(key, p.Names) {
						continue
					}
					if text, err := url.QueryUnescape(value); err != nil || !isMasked(p.Masker, text) {
						t.Fatalf("%q: hit %q has %q", out, s, seg)
					}
				}
			case json.Unmarshal(h, &obj) == nil:
				for k, v := range obj {
					if !keyIsName(k, p.Names) {
						continue
					}
					if json.Unmarshal(v, &s) != nil || !isMasked(p.Masker, s) {
						t.Fatalf("%q: hit %s has %s: %s", out, h, k, v)
					}
				}
			}
		}
	}
}
