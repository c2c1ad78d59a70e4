package browsertest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/consentgate/consentgate/internal/testenv"
)

// AxeVersion is the axe-core version e2e/wordpress/testdata/axe-setup.sh
// pins; a test fails when another version ran.
const AxeVersion = "4.14.1"

// AxeTags are the rule sets run: WCAG 2.0, 2.1 and 2.2, levels A and AA.
var AxeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"}

// AxeJS reads axe.min.js: CONSENTGATE_AXE_JS, or where axe-setup.sh puts
// it by default; skips (fails under CI=true) without it.
func AxeJS(t *testing.T) []byte {
	t.Helper()
	p := os.Getenv("CONSENTGATE_AXE_JS")
	if p == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if home, err := os.UserHomeDir(); cache == "" && err == nil {
			cache = filepath.Join(home, ".cache")
		}
		p = filepath.Join(cache, "consentgate", "axe-core-"+AxeVersion, "node_modules", "axe-core", "axe.min.js")
	}
	src, err := os.ReadFile(p)
	if err != nil {
		testenv.Missing(t, fmt.Sprintf(`the accessibility test needs axe-core: eval "$(bash e2e/wordpress/testdata/axe-setup.sh)" (sets CONSENTGATE_AXE_JS); %v`, err))
	}
	return src
}

// AxeResult is what the page hands back from axe.run.
type AxeResult struct {
	Version    string         `json:"version"`
	Violations []AxeViolation `json:"violations"`
	Incomplete []AxeViolation `json:"incomplete"`
	Passes     []string       `json:"passes"`
}

// AxeViolation is one rule that failed (or needs review) on some nodes.
type AxeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	HelpURL string `json:"helpUrl"`
	Nodes   []struct {
		Target  string `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

func (v AxeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s\n    %s", v.ID, v.Impact, v.Help, v.HelpURL)
	for _, n := range v.Nodes {
		fmt.Fprintf(&b, "\n    at %s: %.300s", n.Target, n.HTML)
		if n.Summary != "" {
			fmt.Fprintf(&b, "\n      %s", strings.ReplaceAll(n.Summary, "\n", "\n      "))
		}
	}
	return b.String()
}

// RunAxe injects axe-core into the page (once) and runs it on the banner
// root with the WCAG 2 A/AA rules.
func RunAxe(tb *Tab, src []byte) AxeResult {
	tb.T.Helper()
	if !Eval[bool](tb, `typeof window.axe === 'object'`) {
		tb.Do(chromedp.Evaluate[chromedp.Void](string(src)))
	}
	tags, _ := json.Marshal(AxeTags)
	return Eval[AxeResult](tb, `axe.run({include: [['#consentgate']]}, {
		runOnly: {type: 'tag', values: `+string(tags)+`},
		resultTypes: ['violations', 'incomplete']
	}).then(function (r) {
		function list(vs) {
			return vs.map(function (v) {
				return {id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl, nodes: v.nodes.map(function (n) {
					return {target: n.target.join(' '), html: n.html, summary: n.failureSummary || ''};
				})};
			});
		}
		return {version: axe.version, violations: list(r.violations), incomplete: list(r.incomplete), passes: r.passes.map(function (p) { return p.id; })};
	})`, chromedp.EvalAwaitPromise)
}

// CheckAxe fails on a serious or critical violation, or on a run of
// another axe-core version or that passed no rule, and logs every other
// finding.
func CheckAxe(t *testing.T, what string, r AxeResult) {
	t.Helper()
	if r.Version != AxeVersion {
		t.Errorf("axe-core %s ran, want %s (e2e/wordpress/testdata/axe-setup.sh pins it)", r.Version, AxeVersion)
	}
	if len(r.Passes) == 0 {
		t.Errorf("%s: axe passed no rule: did it find #consentgate?", what)
	}
	var bad []string
	for _, v := range r.Violations {
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, v.String())
		}
	}
	if len(bad) > 0 {
		var all []string
		for _, v := range r.Violations {
			all = append(all, v.String())
		}
		t.Errorf("%s: %d serious or critical accessibility violations; all %d violations:\n  %s", what, len(bad), len(r.Violations), strings.Join(all, "\n  "))
		return
	}
	for _, v := range r.Violations {
		t.Logf("%s: minor violation: %s", what, v)
	}
	for _, v := range r.Incomplete {
		t.Logf("%s: needs review: %s", what, v)
	}
	t.Logf("%s: axe-core %s, %d rules passed (%s), no serious or critical violation", what, r.Version, len(r.Passes), strings.Join(r.Passes, " "))
}
