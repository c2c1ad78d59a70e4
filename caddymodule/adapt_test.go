package caddymodule

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

var updateAdapt = flag.Bool("update-adapt", false, "rewrite the expected JSON of testdata/caddyfile_adapt/*.caddyfiletest")

// TestCaddyfileAdapt checks Caddyfiles against the JSON they adapt to, in
// the *.caddyfiletest format of Caddy's own tests: the Caddyfile, a line of
// dashes, the expected JSON. Regenerate with -update-adapt and review the
// diff.
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "caddyfile_adapt", "*.caddyfiletest"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no adapt tests: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			caddyfile, want, ok := strings.Cut(string(data), "----------\n")
			if !ok {
				t.Fatalf("%s has no line of dashes", f)
			}
			got, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, got, "", "\t"); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			if *updateAdapt {
				if err := os.WriteFile(f, []byte(caddyfile+"----------\n"+pretty.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if pretty.String() != want {
				t.Errorf("adapted JSON differs from %s (rerun with -update-adapt and review):\n%s", f, pretty.String())
			}
		})
	}
}
