package rules

import (
	"bytes"
	"testing"
)

func FuzzSplitURL(f *testing.F) {
	for _, s := range []string{"https://www.googletagmanager.com/gtag/js?id=G-1", "//a.b/c", "/rel", "HTTP://A.B:80", "https://[::1]:8080/x", "javascript:alert(1)", "https:\\\\a\\b", " https://u:p@h.com#frag"} {
		f.Add(s)
	}
	rs := defaultRules(f)
	f.Fuzz(func(t *testing.T, u string) {
		host, pathq := SplitURL([]byte(u), nil)
		if hasUpper(host) {
			t.Fatalf("host %q not lower-cased", host)
		}
		if bytes.ContainsAny(host, "/\\?#@") {
			t.Fatalf("host %q holds a delimiter", host)
		}
		_ = rs.MatchURL(host, pathq)
		_, _ = rs.MatchHost(host)
	})
}

func FuzzParseFile(f *testing.F) {
	f.Add(defaultJSON)
	f.Add([]byte(`{"format":1,"vendors":[{"id":"a","category":"marketing","urls":["*.a.com/x*y"],"inline":["abc("],"cookies":[{"name":"_a*"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := ParseFile(data)
		if err != nil {
			return
		}
		rs, err := Compile(AllSet, file)
		if err != nil {
			t.Fatalf("ParseFile accepted a file Compile rejects: %v", err)
		}
		for _, v := range rs.Vendors() {
			for _, c := range v.Cookies {
				if rs.MatchCookie(c.Pattern) == nil && !bytes.Contains([]byte(c.Pattern), []byte("*")) {
					t.Fatalf("cookie %q does not match its own rule", c.Pattern)
				}
			}
		}
	})
}

func FuzzGlob(f *testing.F) {
	f.Add("_ga_*", "_ga_X")
	f.Add("a*b*c", "axxbyyc")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		full := globFull(pattern, s)
		var segs [][]byte
		for _, seg := range bytes.Split([]byte(pattern), []byte("*")) {
			segs = append(segs, seg)
		}
		if full && !globPrefix(segs, []byte(s)) {
			t.Fatalf("%q matches all of %q but not a prefix", pattern, s)
		}
		if globFull(pattern+"*", s) != globPrefix(segs, []byte(s)) {
			t.Fatalf("globPrefix(%q, %q) disagrees with globFull(pattern+\"*\")", pattern, s)
		}
	})
}
