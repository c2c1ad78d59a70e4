package rewrite

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

// TestEveryURLThePageLoads covers each way an element makes the browser
// fetch a URL without a click (issue 13, class 4). Each input loads a
// tracker in a browser; the output must not, must stay restorable, and
// must not change when rewritten again.
func TestEveryURLThePageLoads(t *testing.T) {
	fb := "https://www.facebook.com/tr?id=1"
	yt := "https://www.youtube.com/embed/x"
	gtm := "https://www.googletagmanager.com/gtag/js?id=G-1"
	dataJS := "data:text/javascript;base64," + base64.StdEncoding.EncodeToString([]byte("fbq('init','1');"))
	tests := []struct {
		name, in, want, events string
	}{
		{"picture source srcset",
			`<picture><source srcset="` + fb + ` 1x, /a.png 2x"><img src="/a.png"></picture>`,
			`<picture><source data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-srcset="` + fb + ` 1x, /a.png 2x"><img src="/a.png"></picture>`,
			"neutralised media marketing meta-pixel"},
		{"video src and poster",
			`<video poster="` + fb + `" src="/v.mp4"></video>`,
			`<video data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-poster="` + fb + `" data-consent-src="/v.mp4"></video>`,
			"neutralised media marketing meta-pixel"},
		{"audio src", `<audio src="` + fb + `"></audio>`,
			`<audio data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-src="` + fb + `"></audio>`, "neutralised media marketing meta-pixel"},
		{"video source and track",
			`<video><source src="` + fb + `"><track src="` + fb + `"></video>`,
			`<video><source data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-src="` + fb + `"><track data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-src="` + fb + `"></video>`,
			"neutralised media marketing meta-pixel; neutralised media marketing meta-pixel"},
		{"input type=image", `<input type="IMAGE" src="` + fb + `">`,
			`<input data-consent-category="marketing" data-consent-vendor="meta-pixel" type="IMAGE" data-consent-src="` + fb + `">`, "neutralised input_image marketing meta-pixel"},
		{"input of another type loads nothing", `<input type="text" src="` + fb + `">`, `<input type="text" src="` + fb + `">`, ""},
		{"frame", `<frameset><frame src="` + yt + `"></frameset>`,
			`<frameset><frame data-consent-category="marketing" data-consent-vendor="youtube" data-consent-src="` + yt + `"></frameset>`, "neutralised frame marketing youtube"},
		{"image is img to the tree builder", `<image src="` + fb + `">`,
			`<image data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-src="` + fb + `">`, "neutralised img marketing meta-pixel"},
		{"link imagesrcset", `<link rel="preload" as="image" imagesrcset="` + fb + ` 1x">`,
			`<link data-consent-category="marketing" data-consent-vendor="meta-pixel" rel="preload" as="image" data-consent-imagesrcset="` + fb + ` 1x">`, "neutralised link marketing meta-pixel"},
		{"a ping", `<a href="/x" ping="/count ` + fb + `">x</a>`,
			`<a data-consent-category="marketing" data-consent-vendor="meta-pixel" href="/x" data-consent-ping="/count ` + fb + `">x</a>`, "neutralised ping marketing meta-pixel"},
		{"area ping", `<area ping="` + fb + `">`,
			`<area data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-ping="` + fb + `">`, "neutralised ping marketing meta-pixel"},
		{"meta refresh", `<meta http-equiv="Refresh" content="0; URL='` + fb + `'">`,
			`<meta data-consent-category="marketing" data-consent-vendor="meta-pixel" http-equiv="Refresh" data-consent-content="0; URL='` + fb + `'">`, "neutralised refresh marketing meta-pixel"},
		{"meta refresh to the site", `<meta http-equiv="refresh" content="5;url=/next">`, `<meta http-equiv="refresh" content="5;url=/next">`, ""},
		{"body background", `<body background="` + fb + `">`,
			`<body data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-background="` + fb + `">`, "neutralised background marketing meta-pixel"},
		{"td background", `<table><tr><td background="` + fb + `">x</td></tr></table>`,
			`<table><tr><td data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-background="` + fb + `">x</td></tr></table>`, "neutralised background marketing meta-pixel"},
		{"style attribute url()", `<div style="background:url(` + fb + `)">x</div>`,
			`<div data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-style="background:url(` + fb + `)">x</div>`, "neutralised css marketing meta-pixel"},
		{"style attribute with escapes and a comment", `<div style="background:u\72l( 'https://www.face\62 ook.com/tr' )/*x*/">x</div>`,
			`<div data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-style="background:u\72l( 'https://www.face\62 ook.com/tr' )/*x*/">x</div>`, "neutralised css marketing meta-pixel"},
		{"style attribute image-set()", `<p style='background-image:image-set("` + fb + `" 1x)'>`,
			`<p data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-style='background-image:image-set("` + fb + `" 1x)'>`, "neutralised css marketing meta-pixel"},
		{"style attribute on an image keeps the pixel hidden", `<img style="display:none" src="` + fb + `">`,
			`<img data-consent-category="marketing" data-consent-vendor="meta-pixel" style="display:none" data-consent-src="` + fb + `">`, "neutralised img marketing meta-pixel"},
		{"style sheet @import", `<style>@import url("https://fonts.googleapis.com/css?family=Roboto"); p{}</style>`,
			`<style type="text/plain" data-consent-category="preferences" data-consent-vendor="google-fonts" data-consent-sheet="@import url(&quot;https://fonts.googleapis.com/css?family=Roboto&quot;); p{}"></style>`, "neutralised css preferences google-fonts"},
		{"style sheet with a type keeps it", `<style type="text/css">p{background:url(` + fb + `)}</style>`,
			`<style type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-type="text/css" data-consent-sheet="p{background:url(` + strings.ReplaceAll(fb, "&", "&amp;") + `)}"></style>`, "neutralised css marketing meta-pixel"},
		{"a typed sheet is still preloaded", `<style type="text/plain">@import "` + fb + `";</style>`,
			`<style type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-type="text/plain" data-consent-sheet="@import &quot;` + strings.ReplaceAll(fb, "&", "&amp;") + `&quot;;"></style>`, "neutralised css marketing meta-pixel"},
		{"style sheet without trackers", `<style>p{background:url(/a.png)}</style>`, `<style>p{background:url(/a.png)}</style>`, ""},
		{"speculation rules", `<script type="speculationrules">{"prerender":[{"source":"list","urls":["` + yt + `"]}]}</script>`,
			`<script type="text/plain" data-consent-category="marketing" data-consent-vendor="youtube" data-consent-type="speculationrules">{"prerender":[{"source":"list","urls":["` + yt + `"]}]}</script>`, "neutralised speculation marketing youtube"},
		{"speculation rules for the site", `<script type="speculationrules">{"prefetch":[{"where":{"href_matches":"/*"}}]}</script>`,
			`<script type="speculationrules">{"prefetch":[{"where":{"href_matches":"/*"}}]}</script>`, ""},
		{"object data", `<object data="` + yt + `"></object>`,
			`<object data-consent-category="marketing" data-consent-vendor="youtube" data-consent-data="` + yt + `"></object>`, "neutralised object marketing youtube"},
		{"a data: script is read as its text", `<script src="` + dataJS + `"></script>`,
			`<script type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-src="` + dataJS + `"></script>`, "neutralised script_src marketing meta-pixel"},
		{"a data: frame", `<iframe src="data:text/html,%3Cscript%20src=` + gtm + `%3E%3C/script%3E"></iframe>`,
			`<iframe data-consent-category="statistics" data-consent-vendor="google-analytics" data-consent-src="data:text/html,%3Cscript%20src=` + gtm + `%3E%3C/script%3E"></iframe>`, "neutralised iframe statistics google-analytics"},
		{"a javascript: frame", `<iframe src="javascript:'<img src=` + fb + `>'"></iframe>`,
			`<iframe data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-src="javascript:'<img src=` + fb + `>'"></iframe>`, "neutralised iframe marketing meta-pixel"},
		{"a base on a tracker's host", `<base href="https://www.facebook.com/"><img src="tr?id=1">`,
			`<base data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-href="https://www.facebook.com/"><img src="tr?id=1">`, "neutralised base marketing meta-pixel"},
		{"a base on the site", `<base href="/blog/"><img src="a.png">`, `<base href="/blog/"><img src="a.png">`, ""},
		{"iframe srcdoc is rewritten inside",
			`<iframe srcdoc="<script src=&quot;` + gtm + `&quot;></script><p title='a&amp;b'>x</p>"></iframe>`,
			`<iframe srcdoc="<script type=&quot;text/plain&quot; data-consent-category=&quot;statistics&quot; data-consent-vendor=&quot;google-analytics&quot; data-consent-src=&quot;` + strings.ReplaceAll(gtm, "&", "&amp;") + `&quot;></script><p title='a&amp;b'>x</p>"></iframe>`,
			"neutralised iframe statistics google-analytics"},
		{"iframe srcdoc without trackers", `<iframe srcdoc="<p>x</p>"></iframe>`, `<iframe srcdoc="<p>x</p>"></iframe>`, ""},
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
			if live := liveTrackers(testRules, []byte(tt.in), rules.OnlyNecessary); tt.events != "" && len(live) == 0 {
				t.Errorf("the oracle sees no tracker in the input")
			}
			assertNothingLive(t, got)
			if twice, _ := rewriteChunks(t, defaultConfig, page, got, 0); twice != got {
				t.Errorf("rewriting twice differs:\nonce:  %s\ntwice: %s", got, twice)
			}
			all := page
			all.Accepted = rules.AllSet
			if same, _ := rewriteChunks(t, defaultConfig, all, tt.in, 0); same != tt.in {
				t.Errorf("with everything accepted the page changed: %s", same)
			}
		})
	}
}

// eventsOf lists the blocking events, without the unknown-third-party
// reports.
func eventsOf(rec *recorder) string {
	var keep []Event
	for _, e := range rec.events {
		if e.Action != UnknownThirdParty {
			keep = append(keep, e)
		}
	}
	return (&recorder{events: keep}).String()
}

func TestForEachCSSURL(t *testing.T) {
	for _, c := range []struct{ css, want string }{
		{`a{background:url(x.png)}`, "x.png"},
		{`a{background:URL( "y.png" )}`, "y.png"},
		{`@import 'z.css';`, "z.css"},
		{`@import url(z.css) screen;`, "z.css"},
		{`a{b:image-set("a.png" 1x, url(b.png) 2x)}`, "a.png|b.png"},
		{`a{b:u\72 l(c.png)}`, "c.png"},
		{`a{b:url(d\29 .png)}`, "d).png"},
		{`/* url(no.png) */ a{}`, ""},
		{`@import "str\
ing.png";`, "string.png"},
		{`a{content:"https://www.facebook.com/tr"}`, ""},
		{`a{b:url( "q.png" )}`, "q.png"},
		{`@import url("i.css") print; a{c:"no.png"}`, "i.css"},
		{`a{font-family:"Open Sans"}`, ""},
		{`a{b:ur/**/l(no.png)}`, ""},
	} {
		var got []string
		forEachCSSURL([]byte(c.css), func(u []byte) bool {
			got = append(got, string(u))
			return true
		})
		if strings.Join(got, "|") != c.want {
			t.Errorf("%s: got %q, want %q", c.css, got, c.want)
		}
	}
}

func TestRefreshURL(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"0; url=https://x.example/", "https://x.example/"},
		{"0;URL='/a b'", "/a b"},
		{"5, url = \"/q\"", "/q"},
		{".5; /direct", "/direct"},
		{"10", ""},
		{"x; url=/no", ""},
	} {
		got, _ := refreshURL([]byte(c.in))
		if string(got) != c.want {
			t.Errorf("refreshURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
