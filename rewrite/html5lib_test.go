package rewrite

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
	"golang.org/x/net/html"
)

// The html5lib tree-construction tests are the standard's own test vectors
// for how a browser builds a document: every odd corner of the tree builder
// (misnested tags, foster parenting, templates, foreign content, framesets,
// noscript) in about 1,800 small documents. Their inputs carry no trackers,
// so the rewriter must hand each one back byte for byte, the inserted hooks
// aside, and the banner it inserts must land where a browser puts it into
// <body>.
//
// The inputs are read from the copy golang.org/x/net ships in its module
// (html/testdata/html5lib-tests: for x/net v0.62.0 the tree-construction
// files of html5lib-tests commit 9fb614afaa42ce8787840f057b32084308e76549;
// MIT-style licence, quoted in the README beside them), so they come pinned
// by go.mod and go.sum and nothing is vendored here. Fragment tests are
// read as documents, as the gateway reads every response.

// html5libInput is one #data section of a tree-construction .dat file.
type html5libInput struct {
	id   string // file#index, index counting from 0 within the file
	data string
}

// html5libDir returns the tree-construction directory of the x/net module
// the build uses.
func html5libDir(t testing.TB) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/net")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("locating golang.org/x/net (go list -m): %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "html", "testdata", "html5lib-tests", "tree-construction")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the html5lib tree-construction tests are missing from golang.org/x/net: %v", err)
	}
	return dir
}

// loadHTML5lib reads every #data input of the tree-construction tests.
func loadHTML5lib(t testing.TB) []html5libInput {
	t.Helper()
	dir := html5libDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.dat"))
	if err != nil {
		t.Fatal(err)
	}
	scripted, _ := filepath.Glob(filepath.Join(dir, "scripted", "*.dat"))
	files = append(files, scripted...)
	var inputs []html5libInput
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name, _ := filepath.Rel(dir, f)
		in, err := parseDat(filepath.ToSlash(name), string(b))
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, in...)
	}
	if len(inputs) < 1500 {
		t.Fatalf("only %d html5lib inputs found in %s", len(inputs), dir)
	}
	return inputs
}

// parseDat splits a .dat file into its tests. A test starts with a "#data"
// line; its input runs up to the newline before the "#errors" line.
func parseDat(name, s string) ([]html5libInput, error) {
	var out []html5libInput
	for i, sec := range strings.Split("\n"+s, "\n#data\n")[1:] {
		data, _, ok := strings.Cut(sec, "\n#errors\n")
		if strings.HasPrefix(sec, "#errors\n") {
			data, ok = "", true
		}
		if !ok {
			return nil, fmt.Errorf("%s test %d: no #errors line", name, i)
		}
		out = append(out, html5libInput{id: fmt.Sprintf("%s#%d", name, i), data: data})
	}
	return out, nil
}

// The hooks as the gateway inserts them (banner.Guard, HeadStart,
// AppendBodyStart; HeadEnd is empty there too), each marked with a
// data-cg-hook attribute so it can be found in the output and in the tree.
var (
	hookGuard     = `<script src="/.well-known/consent/guard.js" data-cg-hook="guard"></script>`
	hookHeadStart = `<script src="/.well-known/consent/consent-mode.js" data-cg-decided="false" data-cg-accepted="necessary" data-cg-hook="head-start"></script>` +
		`<link rel="stylesheet" href="/.well-known/consent/banner.css" data-cg-hook="head-start"><script src="/.well-known/consent/banner.js" defer data-cg-hook="head-start"></script>`
	hookBody = `<div id="consentgate" class="cg-banner" data-cg-hook="body-start" role="region"><p>Cookies</p><button type="button">Accept</button></div>`
)

func html5libPage(accepted rules.Set) Page {
	return Page{
		Accepted:  accepted,
		Host:      "www.example.com",
		Guard:     []byte(hookGuard),
		HeadStart: []byte(hookHeadStart),
		BodyStart: []byte(hookBody),
	}
}

// hookPlace says where removeHooks found a hook.
type hookPlace int

const (
	hookAbsent hookPlace = iota // not inserted
	hookInside                  // inside the page: after <head>, <body> or before a tag
	hookAtEnd                   // appended after the page's last byte
)

// removeHooks takes each hook out of out where the rewriter put it: the
// guard and head start together, then the body hook, each at most once.
// It returns the rest and where each went.
func removeHooks(out string) (rest string, head, body hookPlace, err error) {
	at := [2]int{-1, -1}
	for i, h := range []string{hookGuard + hookHeadStart, hookBody} {
		switch n := strings.Count(out, h); n {
		case 0:
			continue
		case 1:
		default:
			return "", 0, 0, fmt.Errorf("hook inserted %d times: %.40s", n, h)
		}
		at[i] = strings.Index(out, h)
		out = out[:at[i]] + out[at[i]+len(h):]
	}
	if strings.Contains(out, "data-cg-hook") {
		return "", 0, 0, fmt.Errorf("a hook is inserted in part or in pieces")
	}
	if at[0] >= 0 && at[1] >= 0 && at[1] < at[0] {
		return "", 0, 0, fmt.Errorf("the body hook comes before the head hooks")
	}
	place := func(i int) hookPlace {
		switch {
		case i < 0:
			return hookAbsent
		case i == len(out):
			return hookAtEnd
		}
		return hookInside
	}
	return out, place(at[0]), place(at[1]), nil
}

// html5libHeld lists the inputs in which the default rules hold something
// when nothing is accepted, with the events expected (see heldEvents). The
// test fails when an input not listed here holds anything, or a listed one
// holds something else: nothing is skipped silently. No html5lib input
// names a tracker today.
var html5libHeld = map[string]string{}

// TestHTML5libRoundTrip puts every html5lib tree-construction input through
// the rewriter with the gateway's hooks, with nothing and with everything
// accepted, whole and cut into 1-byte, 3-byte and random chunks:
//   - the output is the input byte for byte plus the hooks, and does not
//     depend on the chunks;
//   - in the tree x/net/html builds from the output, the guard is a script
//     that runs before the page's scripts, and the body hook is intact,
//     inside <body> (not in <head>, a <template>, a <noscript>, foreign
//     content), where it stands in the source (not foster-parented out of
//     a table), and leaves the rest of the tree as it was.
//
// Documents without a <body> tag, where the rewriter appends the banner
// after the last byte, are reported in a subtest of their own.
func TestHTML5libRoundTrip(t *testing.T) {
	inputs := loadHTML5lib(t)
	rng := rand.New(rand.NewPCG(13, 5))
	var guards, bodies int
	var framesets []string // see framesetAfterContent
	for _, in := range inputs {
		if strings.Contains(in.data, "data-cg-hook") {
			t.Fatalf("%s: the input contains the hook marker", in.id)
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("%s: %s\ninput: %q", in.id, fmt.Sprintf(format, args...), in.data)
		}
		for _, acc := range []rules.Set{rules.OnlyNecessary, rules.AllSet} {
			consent := "no consent"
			if acc == rules.AllSet {
				consent = "all accepted"
			}
			page := html5libPage(acc)
			out, rec := rewriteChunks(t, defaultConfig, page, in.data, 0)
			for _, n := range []int{1, 3} {
				if got, _ := rewriteChunks(t, defaultConfig, page, in.data, n); got != out {
					fail("%s: chunks of %d bytes give another output:\nwhole:  %q\nchunks: %q", consent, n, out, got)
				}
			}
			if got := rewriteRandomChunks(t, page, in.data, rng); got != out {
				fail("%s: random chunks give another output:\nwhole:  %q\nchunks: %q", consent, out, got)
			}
			events := heldEvents(rec)
			if acc == rules.AllSet && events != "" {
				fail("with everything accepted the rewriter held %q", events)
				continue
			}
			if acc == rules.OnlyNecessary {
				if want := html5libHeld[in.id]; events != want {
					fail("held %q, want %q (html5libHeld)", events, want)
				}
				if events != "" {
					continue // changed on purpose; checked with everything accepted
				}
			}
			rest, head, body, err := removeHooks(out)
			if err != nil {
				fail("%s: %v\noutput: %q", consent, err, out)
				continue
			}
			if rest != in.data {
				fail("%s: the output is not the input plus the hooks:\noutput:        %q\nwithout hooks: %q", consent, out, rest)
				continue
			}
			if acc != rules.AllSet {
				continue // the same hooks in the same places: checked once
			}
			check := func(what string, msg string) {
				switch {
				case msg == "":
				case what == "body hook" && framesetAfterContent(in.data):
					framesets = append(framesets, in.id)
				default:
					fail("%s: %s\noutput: %q", what, msg, out)
				}
			}
			if head != hookAbsent {
				guards++
				check("guard", checkGuard(out))
			}
			if body != hookAbsent {
				bodies++
				check("body hook", checkBodyHook(in.data, out))
			}
		}
	}
	t.Logf("%d html5lib inputs; the tree builder checked %d guards and %d body hooks", len(inputs), guards, bodies)
	if len(framesets) > 0 {
		t.Logf("%d documents put a <frameset> after body content: the banner's buttons make the tree builder ignore it (%s)",
			len(framesets), strings.Join(framesets, ", "))
	}
}

// framesetAfterContent reports whether doc is a frameset document whose
// <frameset> comes after content that opened the body yet left the
// tree builder's frameset-ok flag set (text of NULs, an empty <p>, <div>,
// <svg>, a hidden input): the frameset replaces that body. A stream cannot
// know a frameset is coming, and the banner inserted where the body opened
// holds buttons, which clear the flag. Real frameset pages put <frameset>
// right after the head; these malformed ones are the one place where the
// banner changes the page's tree.
func framesetAfterContent(doc string) bool {
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		return false
	}
	for n := range root.Descendants() {
		if n.Type == html.ElementNode && n.Data == "frameset" && n.Parent != nil && n.Parent.Data == "html" {
			z := html.NewTokenizer(strings.NewReader(doc))
			for {
				switch z.Next() {
				case html.ErrorToken:
					return false
				case html.StartTagToken, html.SelfClosingTagToken:
					name, _ := z.TagName()
					switch string(name) {
					case "frameset":
						return false // nothing opened the body before it
					case "html", "head", "body", "meta", "link", "title", "style", "script", "base", "noscript", "template":
					default:
						return true
					}
				case html.TextToken:
					if strings.Trim(string(z.Raw()), " \t\n\f\r") != "" {
						return true
					}
				}
			}
		}
	}
	return false
}

// FuzzHTML5libRoundTrip starts from the html5lib inputs and checks, on
// whatever the fuzzer makes of them, that the rewriter with the gateway's
// hooks changes nothing but what it holds: with everything accepted, and
// with nothing accepted where nothing is held, the output is the input plus
// the hooks, whatever the chunks.
//
// Run: go test ./rewrite -run '^$' -fuzz '^FuzzHTML5libRoundTrip$' -fuzztime 60s
func FuzzHTML5libRoundTrip(f *testing.F) {
	// TestHTML5libRoundTrip already checks the inputs themselves: seed
	// only a fuzzing run.
	if fz := flag.Lookup("test.fuzz"); fz != nil && fz.Value.String() != "" {
		for _, in := range loadHTML5lib(f) {
			f.Add(in.data)
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		if strings.Contains(in, "data-cg-hook") {
			return
		}
		rng := rand.New(rand.NewPCG(uint64(len(in)), 16))
		for _, acc := range []rules.Set{rules.OnlyNecessary, rules.AllSet} {
			page := html5libPage(acc)
			out, rec := rewriteChunks(t, defaultConfig, page, in, 0)
			for _, n := range []int{1, 3} {
				if got, _ := rewriteChunks(t, defaultConfig, page, in, n); got != out {
					t.Fatalf("accepted %v: chunks of %d bytes give another output:\nwhole:  %q\nchunks: %q", acc, n, out, got)
				}
			}
			if got := rewriteRandomChunks(t, page, in, rng); got != out {
				t.Fatalf("accepted %v: random chunks give another output:\nwhole:  %q\nchunks: %q", acc, out, got)
			}
			events := heldEvents(rec)
			if events != "" {
				if acc == rules.AllSet {
					t.Fatalf("with everything accepted the rewriter held %q\nin: %q", events, in)
				}
				continue
			}
			rest, _, _, err := removeHooks(out)
			if err != nil {
				t.Fatalf("accepted %v: %v\nin:  %q\nout: %q", acc, err, in, out)
			}
			if rest != in {
				t.Fatalf("accepted %v: the output is not the input plus the hooks:\nin:            %q\nout:           %q\nwithout hooks: %q", acc, in, out, rest)
			}
		}
	})
}

// rewriteRandomChunks rewrites in cut at random places.
func rewriteRandomChunks(t testing.TB, page Page, in string, rng *rand.Rand) string {
	t.Helper()
	var out bytes.Buffer
	rw := New(&out, defaultConfig, page)
	for data := []byte(in); len(data) > 0; {
		k := min(1+rng.IntN(16), len(data))
		if _, err := rw.Write(data[:k]); err != nil {
			t.Fatal(err)
		}
		data = data[k:]
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// heldEvents lists the events that changed the page.
func heldEvents(rec *recorder) string {
	var parts []string
	for _, e := range rec.events {
		if e.Action != Neutralised && e.Action != Stripped {
			continue
		}
		s := e.Action.String() + " " + e.Element.String()
		if e.Vendor != nil {
			s += " " + e.Vendor.ID
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// checkBodyHook parses out as a browser with scripting does and returns
// what is wrong with where the body hook landed, or "":
//   - it must be an HTML element (not text inside a noscript, textarea or
//     script, not dropped) inside <body>, and outside <head>, <template>,
//     <noscript> and foreign content;
//   - it must land where it stands in the source: parsed up to its end, it
//     is the last node of the tree (a table's foster parenting would put it
//     before the table);
//   - without it the tree is the input's tree.
func checkBodyHook(in, out string) string {
	doc, err := html.Parse(strings.NewReader(out))
	if err != nil {
		return "html.Parse: " + err.Error()
	}
	hooks := findHooks(doc, "body-start")
	if len(hooks) != 1 {
		return fmt.Sprintf("the tree builder made %d body hook elements, want 1", len(hooks))
	}
	h := hooks[0]
	inBody := false
	for p := h.Parent; p != nil; p = p.Parent {
		if p.Type != html.ElementNode {
			continue
		}
		if p.Namespace != "" {
			return "the body hook is in foreign content <" + p.Namespace + " " + p.Data + ">"
		}
		switch p.Data {
		case "head", "template", "noscript":
			return "the body hook is inside <" + p.Data + ">"
		case "body":
			inBody = true
		}
	}
	if !inBody {
		return "the body hook is not inside <body>"
	}
	if got := dumpTree(wrap(h)); got != bannerTree {
		return fmt.Sprintf("the tree builder tore the banner apart:\n%s", dumpTree(h.Parent))
	}
	// Parsed up to the hook's end, the hook must be the last node in
	// document order: the tree builder put it where it stands in the
	// source. The one exception is a comment after </body> or </html>,
	// which goes to <html> or the document while later content still goes
	// into <body>.
	end := strings.Index(out, hookBody) + len(hookBody)
	prefix, err := html.Parse(strings.NewReader(out[:end]))
	if err != nil {
		return "html.Parse: " + err.Error()
	}
	ph := findHooks(prefix, "body-start")
	if len(ph) != 1 {
		return "parsed up to its end, the tree has no body hook"
	}
	if after := nodeAfter(ph[0]); after != nil && !(after.Type == html.CommentNode && (after.Parent.Type == html.DocumentNode || after.Parent.Data == "html")) {
		how := ""
		if after.Type == html.ElementNode && after.Data == "table" {
			how = " (foster parenting)"
		}
		return fmt.Sprintf("the tree builder put the body hook before %s, which came earlier in the source%s:\n%s", describeNode(after), how, dumpTree(prefix))
	}
	want, err := html.Parse(strings.NewReader(in))
	if err != nil {
		return "html.Parse: " + err.Error()
	}
	for _, name := range []string{"guard", "head-start", "body-start"} {
		for _, n := range findHooks(doc, name) {
			n.Parent.RemoveChild(n)
		}
	}
	if a, b := dumpTree(want), dumpTree(doc); a != b {
		return fmt.Sprintf("the body hook changes the rest of the tree:\nwithout it:\n%s\nwith it (hook removed):\n%s", a, b)
	}
	return ""
}

// checkGuard parses out as a browser with scripting does and returns what
// is wrong with the guard, or "": it must be a script element the browser
// runs (HTML, not in a <template>, not text) and run before any of the
// page's scripts. The document is parsed up to the guard's end tag, where
// the browser runs it: what the tree builder does later (a <frameset>
// replacing the body it was in) cannot undo that.
func checkGuard(out string) string {
	end := strings.Index(out, hookGuard) + len(hookGuard)
	doc, err := html.Parse(strings.NewReader(out[:end]))
	if err != nil {
		return "html.Parse: " + err.Error()
	}
	g := findHooks(doc, "guard")
	if len(g) != 1 {
		return fmt.Sprintf("the tree builder made %d guard elements, want 1", len(g))
	}
	for p := g[0].Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && (p.Namespace != "" || p.Data == "template") {
			return "the guard is inside <" + strings.TrimSpace(p.Namespace+" "+p.Data) + ">"
		}
	}
	for n := range doc.Descendants() {
		if n == g[0] {
			break
		}
		if n.Type == html.ElementNode && n.Data == "script" {
			return "a page script comes before the guard"
		}
	}
	return ""
}

// bannerTree is the body hook's tree where nothing disturbs it.
var bannerTree = func() string {
	doc, err := html.Parse(strings.NewReader("<!DOCTYPE html><body>" + hookBody))
	if err != nil {
		panic(err)
	}
	return dumpTree(wrap(findHooks(doc, "body-start")[0]))
}()

// wrap returns a document node holding a copy of n's subtree, to dump it.
func wrap(n *html.Node) *html.Node {
	doc := &html.Node{Type: html.DocumentNode}
	doc.AppendChild(clone(n))
	return doc
}

func clone(n *html.Node) *html.Node {
	c := &html.Node{Type: n.Type, DataAtom: n.DataAtom, Data: n.Data, Namespace: n.Namespace, Attr: n.Attr}
	for k := n.FirstChild; k != nil; k = k.NextSibling {
		c.AppendChild(clone(k))
	}
	return c
}

// findHooks returns the elements marked data-cg-hook=name.
func findHooks(n *html.Node, name string) []*html.Node {
	var found []*html.Node
	for d := range n.Descendants() {
		if d.Type != html.ElementNode {
			continue
		}
		for _, a := range d.Attr {
			if a.Key == "data-cg-hook" && a.Val == name {
				found = append(found, d)
			}
		}
	}
	return found
}

// nodeAfter returns the node after n's subtree in document order, or nil.
func nodeAfter(n *html.Node) *html.Node {
	for ; n != nil; n = n.Parent {
		if n.NextSibling != nil {
			return n.NextSibling
		}
	}
	return nil
}

func describeNode(n *html.Node) string {
	switch n.Type {
	case html.ElementNode:
		return "<" + n.Data + ">"
	case html.TextNode:
		return fmt.Sprintf("text %q", n.Data)
	default:
		return fmt.Sprintf("node %q", n.Data)
	}
}

// dumpTree writes the tree in the html5lib test format.
func dumpTree(n *html.Node) string {
	var b strings.Builder
	var walk func(n *html.Node, depth int)
	walk = func(n *html.Node, depth int) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.WriteString("| " + strings.Repeat("  ", depth))
			switch c.Type {
			case html.ElementNode:
				name := c.Data
				if c.Namespace != "" {
					name = c.Namespace + " " + name
				}
				b.WriteString("<" + name + ">\n")
				attrs := slices.Clone(c.Attr)
				slices.SortFunc(attrs, func(x, y html.Attribute) int { return strings.Compare(x.Namespace+x.Key, y.Namespace+y.Key) })
				for _, a := range attrs {
					k := a.Key
					if a.Namespace != "" {
						k = a.Namespace + " " + k
					}
					fmt.Fprintf(&b, "| %s%s=%q\n", strings.Repeat("  ", depth+1), k, a.Val)
				}
			case html.TextNode:
				// Text the hooks split comes back as one node.
				text := c.Data
				for c.NextSibling != nil && c.NextSibling.Type == html.TextNode {
					c = c.NextSibling
					text += c.Data
				}
				fmt.Fprintf(&b, "%q\n", text)
			case html.CommentNode:
				fmt.Fprintf(&b, "<!-- %s -->\n", c.Data)
			case html.DoctypeNode:
				fmt.Fprintf(&b, "<!DOCTYPE %s>\n", c.Data)
			}
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}
