// Package testpages gives tests, benchmarks and load runs the demo site's
// real-world-like pages (testdata/site), and pages of any size made from
// them.
package testpages

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Dir returns the demo site's folder, testdata/site at the repository root.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "site")
}

// Load returns the file at name (slash-separated, relative to Dir).
func Load(name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(Dir(), filepath.FromSlash(name)))
	if err != nil {
		return nil, fmt.Errorf("loading test page: %w", err)
	}
	return b, nil
}

// Sized returns the home page grown to at least n bytes by repeating its
// list of post cards, the way a long archive page grows: the head, with its
// trackers, and the footer stay as they are.
func Sized(n int) ([]byte, error) {
	home, err := Load("index.html")
	if err != nil {
		return nil, err
	}
	open := []byte(`<ul class="columns-2 wp-block-post-template is-layout-grid">`)
	i := bytes.Index(home, open)
	j := bytes.Index(home, []byte("</ul>\n<nav class=\"wp-block-query-pagination"))
	if i < 0 || j < i {
		return nil, fmt.Errorf("index.html has no post list to repeat")
	}
	i += len(open)
	cards := home[i:j]
	out := make([]byte, 0, n+len(home))
	out = append(out, home[:j]...)
	for len(out)+len(home)-j < n {
		out = append(out, cards...)
	}
	return append(out, home[j:]...), nil
}
