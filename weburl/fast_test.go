package weburl

import (
	"html"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/internal/testpages"
)

// calls records the (host, pathq) calls ForEachTarget makes, "|"-joined;
// stop ends the walk after that many calls (0: never).
func calls(each func(ref []byte, f func(host, pathq []byte) bool), ref string, stop int) string {
	var got []string
	each([]byte(ref), func(host, pathq []byte) bool {
		got = append(got, string(host)+" "+string(pathq))
		return len(got) != stop
	})
	return strings.Join(got, "|")
}

// sameAsReference holds ForEachTarget to the reference (the
// implementation before the fast forms and the single parse).
func sameAsReference(t *testing.T, host, ref string) {
	t.Helper()
	p, old := NewPage(host), NewPage(host)
	for _, stop := range []int{0, 1} {
		got := calls(p.ForEachTarget, ref, stop)
		want := calls(func(ref []byte, f func(host, pathq []byte) bool) { refForEachTarget(old, ref, f) }, ref, stop)
		if got != want {
			t.Fatalf("page %q, ref %q (stop %d): got %q, reference %q", host, ref, stop, got, want)
		}
	}
}

// leftToParser are TestFastForms's refs that the parser reads.
var leftToParser = map[string]bool{
	"https://a.example.net/\xff": true, "/\n./x": true, "https://XN--a.example.net/": true,
	"https://a.example.net/x\\y": true, "foo://a b/": true, "foo://a@b/": true, "foo://a:1/": true, "a b:c": true, "../x": true, "https://a.example.net/a/%2e%2E/b": true, "https://a.example.net/a/%2e/b": true,
	"/a/./b": true, "./../b": true, ".//b": true, "https:a.example.net/x": true, "foo://[x/": true, "foo:/x": true,
}

// TestFastForms are the forms the wider fast path reads, each as the
// parser reads it (and as the reference did, through the parser).
func TestFastForms(t *testing.T) {
	for _, c := range []struct{ ref, want string }{
		{"https://connect.facebook.net/en_US/sdk.js#xfbml=1&version=v2.5", "connect.facebook.net /en_US/sdk.js"},
		{"/wp-content/themes/x/icons.svg#icon-rss", "www.example.com /wp-content/themes/x/icons.svg"},
		{"/fonts/x.eot?#iefix", "www.example.com /fonts/x.eot?"}, // the reference's fast path
		{"https://fonts.googleapis.com/css?family=Fira%20Sans%3A500|Roboto", "fonts.googleapis.com /css?family=Fira%20Sans%3A500|Roboto"},
		{"https://ad.example.net/x?cb=%%CACHEBUSTER%%", "ad.example.net /x?cb=%%CACHEBUSTER%%"},
		{"https://a.example.net/%74r?x=%41", "a.example.net /%74r?x=%41|a.example.net /tr?x=A"},
		{"/%74r", "www.example.com /%74r|www.example.com /tr"},
		{"https://a.example.net/x.js?", "a.example.net /x.js"},
		{"https://a.example.net/x.js?#f", "a.example.net /x.js"},
		{"https://a.example.net#f", "a.example.net /"},
		{"//a.example.net/x?a?", "a.example.net /x?a?"},
		{"./dir/x.js", "www.example.com /dir/x.js"},
		{"./", "www.example.com /"},
		{"/x.php?", "www.example.com /x.php?"}, // the reference's fast path: as it stands
		{"/x%20y.php?", "www.example.com /x%20y.php"},
		{"", "www.example.com /"},
		{"about:blank", " "},
		{"javascript:void(0)", " "},
		{"mailto:a@b.c", " "},
		{"data:image/gif;base64,R0lGOD", " "},
		{"tel:+49 30 1234", " "},
		{"https://a.example.net/x y?a b'\"<>`{}", "a.example.net /x%20y?a%20b%27%22%3C%3E`{}"},
		{"https://a.example.net/`{}\"<>'|^", "a.example.net /%60%7B%7D%22%3C%3E'|^"},
		{"https://a.example.net/café?é=ü", "a.example.net /caf%C3%A9?%C3%A9=%C3%BC"},
		{"https://a.example.net/x.js \r\n", "a.example.net /x.js"},
		{"https://a.example.net/x.js#a b ", "a.example.net /x.js"},
		{"//pagead2.example.net/\r\npagead/js/x.js", "pagead2.example.net /pagead/js/x.js"},
		{"http://Twitter.COM/Kand_in_Sky", "twitter.com /Kand_in_Sky"},
		{"https://A.example.net", "a.example.net /"},
		{"https://a.example.net/%41 b", "a.example.net /%41%20b|a.example.net /A%20b"},
		{"/autores/Felipe Morales/ ", "www.example.com /autores/Felipe%20Morales/"},
		{"/x\ty", "www.example.com /xy"},
		{" https://a.example.net/tr?x=1 ", "a.example.net /tr?x=1"},
		{"\x01 /x y", "www.example.com /x%20y"},
		{"{{ data.avatar_url }}", "www.example.com /%7B%7B%20data.avatar_url%20%7D%7D"},
		{"' + avatarUrl + '", "www.example.com /'%20+%20avatarUrl%20+%20'"},
		{"a/b.html?u=%41", "www.example.com /a/b.html?u=%41|www.example.com /a/b.html?u=A"},
		{"<#= value.guid #>", "www.example.com /%3C"},
		{" \t", "www.example.com /"},
		{"whatsapp://send?text=a b", " "},
		{"android-app://com.example.news/x?id=1", " "},
		// left to the parser
		{"https://a.example.net/\xff", "a.example.net /%EF%BF%BD"},
		{"/\n./x", "www.example.com /x"},
		{"https://XN--a.example.net/", ""},
		{"https://a.example.net/x\\y", "a.example.net /x/y"},
		{"https://a.example.net/a/%2e%2E/b", "a.example.net /b"},
		{"https://a.example.net/a/%2e/b", "a.example.net /a/b"},
		{"/a/./b", "www.example.com /a/b"},
		{"./../b", "www.example.com /b"},
		{".//b", "www.example.com //b"},
		{"https:a.example.net/x", "www.example.com /a.example.net/x|a.example.net /x"},
		{"foo://[x/", ""},
		{"foo:/x", " "},
		{"foo://a b/", ""},
		{"foo://a@b/", " "},
		{"foo://a:1/", " "},
		{"a b:c", "www.example.com /a%20b:c"},
		{"../x", "www.example.com /x"},
	} {
		if got := calls(NewPage("www.example.com:8443").ForEachTarget, c.ref, 0); got != c.want {
			t.Errorf("%q: got %q, want %q", c.ref, got, c.want)
		}
		fast := !leftToParser[c.ref]
		if parsed := NewPage("www.example.com:8443").forEachTarget([]byte(c.ref), func(_, _ []byte) bool { return true }); parsed == fast {
			t.Errorf("%q: parsed %v", c.ref, parsed)
		}
		sameAsReference(t, "www.example.com:8443", c.ref)
	}
}

// TestOneParse: only an http(s) URL without "//" is read on both pages.
func TestOneParse(t *testing.T) {
	for ref, want := range map[string]bool{
		"https:x": true, "HTTP:x": true, " \x01h\ttTp:/x": true, "https:/\\x": true, "http:": true,
		"https://x": false, "ht\ntps:/\t/x": false, "ws:x": false, "httpss:x": false, "x": false, "/https:x": false, "": false,
	} {
		if got := pageSchemeMatters([]byte(ref)); got != want {
			t.Errorf("%q: %v, want %v", ref, got, want)
		}
	}
}

func TestPlainPageHost(t *testing.T) {
	for h, want := range map[string]bool{
		"www.example.com": true, "www.example.com:8443": true, "localhost:": true, "a-b.c": true,
		"WWW.example.com": false, "1.2.3.4": false, "a.0x1": false, "a..b": false, "a.b.": false,
		"a.b:65536": false, "a.b:x": false, "xn--a.b": false, "[::1]:80": false, "": false,
	} {
		if got := plainPageHost(h); got != want {
			t.Errorf("%q: %v, want %v", h, got, want)
		}
	}
}

// FuzzForEachTarget holds ForEachTarget to the reference: the same
// calls, in the same order, for any ref and page host.
//
//	go test ./weburl -run '^$' -fuzz '^FuzzForEachTarget$'
func FuzzForEachTarget(f *testing.F) {
	for _, s := range []string{"https://a.b/x#f", "/x%41?", "./x", "", "about:blank", "https:a.b", "//a.b/c?#", "javascript:x", "foo://x", "/a/%2e%2e/b", "https://a.b/?q=`{}|^\\"} {
		f.Add(s, "www.example.com")
	}
	f.Add("/x", "www.example.com:8443")
	f.Add("./x", "WWW.Example.com")
	f.Add("", "a.b:99999")
	f.Fuzz(func(t *testing.T, ref, host string) {
		sameAsReference(t, host, ref)
	})
}

var urlAttr = regexp.MustCompile(`(?i)\s(?:src|href|action|poster|data|formaction|background|data-src)\s*=\s*(?:"([^"]*)"|'([^']*)')`)

// corpusRefs are the URL attribute values of the corpus pages (unescaped).
func corpusRefs(tb testing.TB) []string {
	var refs []string
	for _, p := range testpages.Corpus(tb) {
		for _, m := range urlAttr.FindAllSubmatch(p.Body, -1) {
			v := m[1]
			if v == nil {
				v = m[2]
			}
			refs = append(refs, html.UnescapeString(string(v)))
		}
	}
	return refs
}

// TestForEachTargetCorpus holds ForEachTarget to the reference over the
// corpus's URL attributes and reports the share read without the parser
// (-v), before (the reference) and now.
func TestForEachTargetCorpus(t *testing.T) {
	refs := corpusRefs(t)
	p := NewPage("www.example.org")
	oldFast, newFast := 0, 0
	slow := map[string]int{}
	old := NewPage("www.example.org")
	for _, ref := range refs {
		sameAsReference(t, "www.example.org", ref)
		// One page for all refs: its parsed URLs must not change.
		got := calls(p.ForEachTarget, ref, 0)
		if want := calls(func(ref []byte, f func(host, pathq []byte) bool) { refForEachTarget(old, ref, f) }, ref, 0); got != want {
			t.Fatalf("ref %q on a page that read others: got %q, reference %q", ref, got, want)
		}
		if _, _, ok := refFastSplit([]byte(ref)); ok {
			oldFast++
		} else if _, ok := refFastRelative([]byte(ref)); ok {
			oldFast++
		}
		if !p.forEachTarget([]byte(ref), func(_, _ []byte) bool { return true }) {
			newFast++
		} else {
			slow[ref]++
		}
	}
	t.Logf("%d refs: fast path %.1f%% before, %.1f%% now", len(refs), 100*float64(oldFast)/float64(len(refs)), 100*float64(newFast)/float64(len(refs)))
	if testing.Verbose() && os.Getenv("SHOW_SLOW") != "" {
		for ref := range slow {
			t.Logf("slow: %q", ref)
		}
	}
}

// BenchmarkForEachTargetCorpus reads every URL attribute of the corpus
// once per op; ns/ref and allocs/ref are per URL.
func BenchmarkForEachTargetCorpus(b *testing.B) {
	refs := corpusRefs(b)
	bufs := make([][]byte, len(refs))
	for i, r := range refs {
		bufs[i] = []byte(r)
	}
	n := 0
	f := func(host, pathq []byte) bool { n += len(host); return true }
	for _, impl := range []string{"reference", "new"} {
		pass := func() {
			p := NewPage("www.example.org")
			for _, ref := range bufs {
				if impl == "new" {
					p.ForEachTarget(ref, f)
				} else {
					refForEachTarget(p, ref, f)
				}
			}
		}
		b.Run(impl, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				pass()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(bufs)), "ns/ref")
			b.ReportMetric(testing.AllocsPerRun(1, pass)/float64(len(bufs)), "allocs/ref")
		})
	}
}

// TestPageConcurrent reads slow-path refs on one page from several
// goroutines (run with -race): the page's parsed URLs are only read.
func TestPageConcurrent(t *testing.T) {
	p := NewPage("www.example.com")
	refs := []string{"https:a.example.net/x", "https://a.example.net/a/../b", "HTTPS://A.example.net/", "/a/./b", "foo://a b/"}
	want := make([]string, len(refs))
	for i, ref := range refs {
		want[i] = calls(func(ref []byte, f func(host, pathq []byte) bool) {
			refForEachTarget(NewPage("www.example.com"), ref, f)
		}, ref, 0)
	}
	done := make(chan string)
	for g := 0; g < 4; g++ {
		go func() {
			for n := 0; n < 50; n++ {
				for i, ref := range refs {
					if got := calls(p.ForEachTarget, ref, 0); got != want[i] {
						done <- ref + ": " + got
						return
					}
				}
			}
			done <- ""
		}()
	}
	for g := 0; g < 4; g++ {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}
