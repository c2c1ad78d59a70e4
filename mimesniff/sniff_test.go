package mimesniff

import (
	"strings"
	"testing"
)

func TestSniffHTML(t *testing.T) {
	long := strings.Repeat(" ", SniffLen)
	for _, c := range []struct {
		name string
		in   string
		eof  bool
		want Sniffed
	}{
		{"doctype", "<!DOCTYPE html><p>", false, SniffedHTML},
		{"doctype lower, after white space", "\r\n\t\f <!doctype html>", false, SniffedHTML},
		{"script first", "<SCRIPT>x</SCRIPT>", false, SniffedHTML},
		{"comment needs a space or >", "<!-- x -->", false, SniffedHTML},
		{"comment run on", "<!--x-->", true, SniffedOther},
		{"a tag", "<a href=x>", false, SniffedHTML},
		{"b tag", "<b>", false, SniffedHTML},
		{"br", "<br>", false, SniffedHTML},
		{"p", "<p >", false, SniffedHTML},
		{"pre is not a pattern", "<pre>x", true, SniffedOther},
		{"tag name runs on", "<html5>", true, SniffedOther},
		{"tag split by the end of the bytes", "<ht", false, NeedMore},
		{"tag split at the end of the body", "<ht", true, SniffedOther},
		{"only white space so far", "   ", false, NeedMore},
		{"only white space", "   ", true, SniffedOther},
		{"vertical tab is white space to Chromium", "\v<html>", false, SniffedHTML},
		{"BOM first", "\xef\xbb\xbf<html>", false, SniffedOther},
		{"text", "hello <html>", false, SniffedOther},
		{"xml", "<?xml version='1.0'?><html xmlns='http://www.w3.org/1999/xhtml'>", false, SniffedXML},
		{"beyond the sniffed bytes", long + "<html>", false, SniffedOther},
		{"ends at the last sniffed byte", long[:SniffLen-6] + "<html>", false, SniffedHTML},
		{"its end beyond the sniffed bytes", long[:SniffLen-5] + "<html>", false, SniffedOther},
		{"cut short in the sniffed bytes", long[:SniffLen-7] + "<html", false, NeedMore},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := SniffHTML([]byte(c.in), c.eof); got != c.want {
				t.Errorf("SniffHTML(%q, %v) = %v, want %v", c.in, c.eof, got, c.want)
			}
		})
	}
}

func TestForNavigation(t *testing.T) {
	for _, c := range []struct {
		ct, xcto []string
		want     Navigation
		essence  string
	}{
		{nil, nil, Sniff, ""},
		{[]string{""}, nil, Sniff, ""},
		{[]string{"text/html"}, nil, Render, "text/html"},
		{[]string{"application/unknown"}, nil, Sniff, ""},
		{[]string{"unknown/unknown"}, nil, Sniff, ""},
		{[]string{"*/*"}, nil, Sniff, ""},
		{[]string{"html"}, nil, Sniff, ""},
		{[]string{"text/html, text/html; charset=utf-8"}, nil, Render, "text/html"},
		{[]string{"text/plain, text/html"}, nil, Render, "text/html"},
		{[]string{"text/html", "text/plain"}, nil, Render, "text/plain"},
		{nil, []string{"nosniff"}, Render, "text/plain"},
		{[]string{"unknown/unknown"}, []string{"nosniff"}, Render, "text/plain"},
	} {
		m, nav := ForNavigation(c.ct, c.xcto)
		if nav != c.want || nav == Render && m.Essence() != c.essence {
			t.Errorf("ForNavigation(%q, %q) = %q, %v; want %q, %v", c.ct, c.xcto, m.Essence(), nav, c.essence, c.want)
		}
	}
}

// FuzzSniffHTML checks that the answer does not depend on how the body
// arrives: once a prefix decides, the whole body decides the same, and
// NeedMore is only given for short prefixes.
func FuzzSniffHTML(f *testing.F) {
	for _, s := range []string{"<html>", "  <!DOCTYPE HTML>", "<?xml", "<!-- ", "<b", "\n\n<p>x", "text"} {
		f.Add(s, uint16(3))
	}
	f.Fuzz(func(t *testing.T, s string, cut uint16) {
		b := []byte(s)
		whole := SniffHTML(b, true)
		if whole == NeedMore {
			t.Fatalf("SniffHTML(%q, eof) = NeedMore", s)
		}
		k := int(cut) % (len(b) + 1)
		part := SniffHTML(b[:k], false)
		if part == NeedMore && k >= SniffLen {
			t.Fatalf("NeedMore after %d bytes", k)
		}
		if part != NeedMore && part != whole {
			t.Fatalf("prefix %q says %v, whole %q says %v", b[:k], part, s, whole)
		}
	})
}
