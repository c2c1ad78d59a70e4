package rewrite

import (
	"testing"

	"github.com/consentgate/consentgate/internal/testpages"
	"github.com/consentgate/consentgate/rules"
)

// TestCorpusPagesChangeOnlyHeldElements rewrites the real pages of
// ../shared/corpus/pages (skipped when absent): every token but the
// attributes of held elements comes out as it went in, the tree builder
// and the tokenizer find nothing live, and with everything accepted the
// page is byte for byte the same.
func TestCorpusPagesChangeOnlyHeldElements(t *testing.T) {
	held := map[Element]int{}
	pages := testpages.Corpus(t)
	for _, p := range pages {
		in := p.Body
		t.Run(p.Name+".html", func(t *testing.T) {
			page := Page{Accepted: rules.OnlyNecessary, Host: "www.example.com"}
			out, rec := rewriteChunks(t, defaultConfig, page, string(in), 32<<10)
			for _, e := range rec.events {
				if e.Action == Neutralised {
					held[e.Element]++
				}
			}
			if !hasForeignContent(in) && followsXNet(in) {
				assertSameTokens(t, string(in), out)
				assertNothingLive(t, out)
			}
			if live := treeLiveTrackers(testRules, []byte(out), rules.OnlyNecessary); len(live) > 0 {
				t.Errorf("the tree builder finds live: %v", live)
			}
			all := page
			all.Accepted = rules.AllSet
			if same, _ := rewriteChunks(t, defaultConfig, all, string(in), 32<<10); same != string(in) {
				t.Errorf("with everything accepted the page changed")
			}
		})
	}
	t.Logf("held across %d pages: %v", len(pages), held)
}
