package rewrite

import (
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

func TestFilterLinkHeader(t *testing.T) {
	tests := []struct {
		name, in, want string
		accepted       rules.Set
		changed        bool
	}{
		{"tracker preconnect dropped, own preload kept",
			`<https://www.googletagmanager.com>; rel=preconnect, </wp-content/style.css>; rel=preload; as=style`,
			`</wp-content/style.css>; rel=preload; as=style`, rules.OnlyNecessary, true},
		{"quoted rel with several values",
			`<https://fonts.gstatic.com>; rel="preconnect dns-prefetch"; crossorigin`,
			``, rules.OnlyNecessary, true},
		{"preload of a tracker script",
			`<https://connect.facebook.net/en_US/fbevents.js>; rel=preload; as=script`,
			``, rules.OnlyNecessary, true},
		{"accepted category keeps it",
			`<https://www.googletagmanager.com>; rel=preconnect`,
			`<https://www.googletagmanager.com>; rel=preconnect`, rules.SetOf(rules.Statistics), false},
		{"canonical and alternate links stay",
			`<https://www.facebook.com/tr>; rel=canonical, <https://fonts.googleapis.com/>; rel=alternate`,
			`<https://www.facebook.com/tr>; rel=canonical, <https://fonts.googleapis.com/>; rel=alternate`, rules.OnlyNecessary, false},
		{"commas inside URI and quotes",
			`</a,b.css>; rel=preload; title="x, y", <https://fonts.gstatic.com>; rel=preconnect`,
			`</a,b.css>; rel=preload; title="x, y"`, rules.OnlyNecessary, true},
		{"garbage is dropped rather than passed unchecked",
			`</ok.css>; rel=preload, garbage <https://fonts.gstatic.com>; rel=preconnect`,
			`</ok.css>; rel=preload`, rules.OnlyNecessary, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed := FilterLinkHeader(tt.in, "www.example.com", testRules, tt.accepted, nil)
			if got != tt.want || changed != tt.changed {
				t.Errorf("got %q (changed %v), want %q (changed %v)", got, changed, tt.want, tt.changed)
			}
		})
	}
}

func FuzzFilterLinkHeader(f *testing.F) {
	f.Add(`<https://www.googletagmanager.com>; rel=preconnect, </s.css>; rel=preload; as=style`)
	f.Add(`<a>;rel="pre\"connect", <b`)
	f.Fuzz(func(t *testing.T, in string) {
		out, _ := FilterLinkHeader(in, "www.example.com", testRules, rules.OnlyNecessary, nil)
		// Whatever is kept must itself pass unchanged: nothing blocked is left.
		again, changed := FilterLinkHeader(out, "www.example.com", testRules, rules.OnlyNecessary, nil)
		if changed && out != "" {
			t.Fatalf("filtering twice changed %q to %q", out, again)
		}
		if len(out) > len(in) {
			t.Fatalf("output %q longer than input %q", out, in)
		}
		if strings.Contains(out, "fonts.gstatic.com>; rel=preconnect") {
			t.Fatalf("blocked hint kept: %q", out)
		}
	})
}
