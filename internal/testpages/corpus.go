package testpages

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// CorpusDir is ../shared/corpus/pages beside the repository: real pages
// with their original tags, kept out of the repository
// (../shared/corpus/README.md).
func CorpusDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "corpus", "pages")
}

// CorpusPage is one page of the corpus: its file name without .html, and
// its bytes.
type CorpusPage struct {
	Name string
	Body []byte
}

// ReadCorpus reads every page of CorpusDir, in file-name order; none when
// the corpus is not there.
func ReadCorpus() ([]CorpusPage, error) {
	files, err := filepath.Glob(filepath.Join(CorpusDir(), "*.html"))
	if err != nil {
		return nil, err
	}
	pages := make([]CorpusPage, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading a corpus page: %w", err)
		}
		pages = append(pages, CorpusPage{Name: strings.TrimSuffix(filepath.Base(f), ".html"), Body: b})
	}
	return pages, nil
}

// Corpus is ReadCorpus for tests: tb skips when there are no pages.
func Corpus(tb testing.TB) []CorpusPage {
	tb.Helper()
	pages, err := ReadCorpus()
	if err != nil {
		tb.Fatal(err)
	}
	if len(pages) == 0 {
		tb.Skipf("no corpus pages in %s", CorpusDir())
	}
	return pages
}
