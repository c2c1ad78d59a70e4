package rewrite

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

// TestDelayedScriptsOfPerformancePlugins covers the markup WordPress
// performance plugins leave for their loaders (issue 13, class 6): each
// is classified by its kept URL or its text, and comes out in the inert
// form the banner restores, out of the plugin loader's sight.
func TestDelayedScriptsOfPerformancePlugins(t *testing.T) {
	gtm := "https://www.googletagmanager.com/gtag/js?id=G-1"
	fbq := "!function(f){f.fbq=function(){}}(window);fbq('init','1');"
	b64 := "data:text/javascript;base64," + base64.StdEncoding.EncodeToString([]byte(fbq))
	tests := []struct{ name, in, want, events string }{
		{"WP Rocket, external",
			`<script type="rocketlazyloadscript" data-rocket-type="text/javascript" async data-rocket-src="` + gtm + `"></script>`,
			`<script type="text/plain" data-consent-category="statistics" data-consent-vendor="google-analytics" data-consent-type="text/javascript" data-consent-delayed-type="rocketlazyloadscript" data-rocket-type="text/javascript" async data-consent-src="` + gtm + `"></script>`,
			"neutralised script_src statistics google-analytics"},
		{"WP Rocket, inline",
			`<script type="rocketlazyloadscript">` + fbq + `</script>`,
			`<script type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-delayed-type="rocketlazyloadscript">` + fbq + `</script>`,
			"neutralised script_inline marketing meta-pixel"},
		{"WP Rocket with an empty kept URL and a src beside it: the src decides",
			`<script type="rocketlazyloadscript" data-src src="https://connect.facebook.net/en_US/fbevents.js"></script>`,
			`<script type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-delayed-type="rocketlazyloadscript" data-consent-delayed-src data-consent-src="https://connect.facebook.net/en_US/fbevents.js"></script>`,
			"neutralised script_src marketing meta-pixel"},
		{"LiteSpeed, external",
			`<script type="litespeed/javascript" data-src="` + gtm + `"></script>`,
			`<script type="text/plain" data-consent-category="statistics" data-consent-vendor="google-analytics" data-consent-delayed-type="litespeed/javascript" data-consent-src="` + gtm + `"></script>`,
			"neutralised script_src statistics google-analytics"},
		{"LiteSpeed, inline",
			`<script type="litespeed/javascript">` + fbq + `</script>`,
			`<script type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-delayed-type="litespeed/javascript">` + fbq + `</script>`,
			"neutralised script_inline marketing meta-pixel"},
		{"Perfmatters, type and src",
			`<script type="pmdelayedscript" data-perfmatters-type="text/javascript" data-cfasync="false" src="` + gtm + `"></script>`,
			`<script type="text/plain" data-consent-category="statistics" data-consent-vendor="google-analytics" data-consent-type="text/javascript" data-consent-delayed-type="pmdelayedscript" data-perfmatters-type="text/javascript" data-cfasync="false" data-consent-src="` + gtm + `"></script>`,
			"neutralised script_src statistics google-analytics"},
		{"Perfmatters, older attribute with inline text",
			`<script data-pmdelayedscript="` + b64 + `"></script>`,
			`<script type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-src="` + b64 + `"></script>`,
			"neutralised script_src marketing meta-pixel"},
		{"Flying Scripts",
			`<script data-type="lazy" data-src="` + gtm + `"></script>`,
			`<script type="text/plain" data-consent-category="statistics" data-consent-vendor="google-analytics" data-consent-delayed-data-type="lazy" data-consent-src="` + gtm + `"></script>`,
			"neutralised script_src statistics google-analytics"},
		{"Cloudflare Rocket Loader",
			`<script type="8f3a2c1b7d8e9f0a1b2c3d4e-text/javascript" src="` + gtm + `"></script>`,
			`<script type="text/plain" data-consent-category="statistics" data-consent-vendor="google-analytics" data-consent-type="text/javascript" data-consent-delayed-type="8f3a2c1b7d8e9f0a1b2c3d4e-text/javascript" data-consent-src="` + gtm + `"></script>`,
			"neutralised script_src statistics google-analytics"},
		{"Cloudflare Rocket Loader, inline",
			`<script type="8f3a2c1b7d8e9f0a1b2c3d4e-text/javascript">` + fbq + `</script>`,
			`<script type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-type="text/javascript" data-consent-delayed-type="8f3a2c1b7d8e9f0a1b2c3d4e-text/javascript">` + fbq + `</script>`,
			"neutralised script_inline marketing meta-pixel"},
		{"Autoptimize-style text/plain with data-src",
			`<script type="text/plain" data-src="` + gtm + `"></script>`,
			`<script type="text/plain" data-consent-category="statistics" data-consent-vendor="google-analytics" data-consent-delayed-type="text/plain" data-consent-src="` + gtm + `"></script>`,
			"neutralised script_src statistics google-analytics"},
		{"a delayed first-party script stays as it is",
			`<script type="rocketlazyloadscript" data-rocket-src="/wp-content/themes/x/app.js"></script>`,
			`<script type="rocketlazyloadscript" data-rocket-src="/wp-content/themes/x/app.js"></script>`, ""},
		{"a template is no delayed script",
			`<script type="text/template"><p>x</p></script>`, `<script type="text/template"><p>x</p></script>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := Page{Accepted: rules.OnlyNecessary, Host: "www.example.com"}
			got, rec := rewriteAll(t, defaultConfig, page, tt.in)
			if got != tt.want {
				t.Errorf("output\n got: %s\nwant: %s", got, tt.want)
			}
			if ev := eventsOf(rec); ev != tt.events {
				t.Errorf("events\n got: %s\nwant: %s", ev, tt.events)
			}
			if twice, _ := rewriteChunks(t, defaultConfig, page, got, 0); twice != got {
				t.Errorf("rewriting twice differs:\nonce:  %s\ntwice: %s", got, twice)
			}
			for _, marker := range []string{` type="rocketlazyloadscript"`, ` type="litespeed/javascript"`, ` type="pmdelayedscript"`, ` data-type="lazy"`, ` data-rocket-src`, ` data-src=`, ` type="8f3a`, ` data-pmdelayedscript`} {
				if tt.events != "" && strings.Contains(got, marker) {
					t.Errorf("a loader's marker %s is left: %s", marker, got)
				}
			}
			all := page
			all.Accepted = rules.AllSet
			if same, _ := rewriteChunks(t, defaultConfig, all, tt.in, 0); same != tt.in {
				t.Errorf("with everything accepted the page changed: %s", same)
			}
		})
	}
}
