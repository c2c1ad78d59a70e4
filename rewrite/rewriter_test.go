package rewrite

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

var testRules = func() *rules.Ruleset {
	f, err := rules.DefaultFile()
	if err != nil {
		panic(err)
	}
	rs, err := rules.Compile(rules.AllSet, f)
	if err != nil {
		panic(err)
	}
	return rs
}()

type recorder struct{ events []Event }

func (r *recorder) Observe(e Event) { r.events = append(r.events, e) }

func (r *recorder) String() string {
	var parts []string
	for _, e := range r.events {
		s := e.Action.String() + " " + e.Element.String() + " " + e.Category.String()
		if e.Vendor != nil {
			s += " " + e.Vendor.ID
		}
		if e.Host != "" {
			s += " " + e.Host
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// rewriteChunks rewrites in with the input cut into chunks of at most n
// bytes (n <= 0: one Write).
func rewriteChunks(t testing.TB, cfg *Config, page Page, in string, n int) (string, *recorder) {
	t.Helper()
	var out bytes.Buffer
	rec := &recorder{}
	page.Observer = rec
	rw := New(&out, cfg, page)
	data := []byte(in)
	if n <= 0 {
		n = len(data) + 1
	}
	for len(data) > 0 {
		k := min(n, len(data))
		if _, err := rw.Write(data[:k]); err != nil {
			t.Fatal(err)
		}
		data = data[k:]
	}
	if err := rw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.String(), rec
}

// rewriteAll rewrites in whole, byte by byte and in random chunks, and fails
// unless every way gives the same output.
func rewriteAll(t testing.TB, cfg *Config, page Page, in string) (string, *recorder) {
	t.Helper()
	want, rec := rewriteChunks(t, cfg, page, in, 0)
	for _, n := range []int{1, 2, 3, 7, 64} {
		if got, _ := rewriteChunks(t, cfg, page, in, n); got != want {
			t.Fatalf("output differs when written in chunks of %d bytes:\nwhole:  %s\nchunks: %s", n, want, got)
		}
	}
	return want, rec
}

var defaultConfig = &Config{Rules: testRules}

const (
	inertGA = `<script type="text/plain" data-consent-category="statistics" data-consent-vendor="google-analytics" async data-consent-src="https://www.googletagmanager.com/gtag/js?id=G-ABC123"></script>`
	gtagJS  = `<script async src="https://www.googletagmanager.com/gtag/js?id=G-ABC123"></script>`
	gtagCfg = "<script>\n  window.dataLayer = window.dataLayer || [];\n  function gtag(){dataLayer.push(arguments);}\n  gtag('js', new Date());\n  gtag('config', 'G-ABC123');\n</script>"
)

func TestRewrite(t *testing.T) {
	none := rules.OnlyNecessary
	stats := rules.SetOf(rules.Statistics)
	tests := []struct {
		name     string
		in       string
		accepted rules.Set
		cfg      *Config
		want     string
		events   string
	}{
		{
			name:   "gtag.js is held until statistics",
			in:     gtagJS,
			want:   inertGA,
			events: "neutralised script_src statistics google-analytics",
		},
		{
			name:     "gtag.js passes untouched once statistics is accepted",
			in:       gtagJS,
			accepted: stats,
			want:     gtagJS,
		},
		{
			name:   "gtag inline config is held until statistics",
			in:     gtagCfg,
			want:   `<script type="text/plain" data-consent-category="statistics" data-consent-vendor="google-analytics">` + gtagCfg[len("<script>"):],
			events: "neutralised script_inline statistics google-analytics",
		},
		{
			name:     "gtag inline config passes once statistics is accepted",
			in:       gtagCfg,
			accepted: stats,
			want:     gtagCfg,
		},
		{
			name:   "a script's own type is kept for restoring",
			in:     `<script type="text/javascript" src="https://connect.facebook.net/en_US/fbevents.js"></script>`,
			want:   `<script type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-type="text/javascript" data-consent-src="https://connect.facebook.net/en_US/fbevents.js"></script>`,
			events: "neutralised script_src marketing meta-pixel",
		},
		{
			name:   "a module tracker script is held too",
			in:     `<script type=module src=//static.hotjar.com/c/x.js></script>`,
			want:   `<script type="text/plain" data-consent-category="statistics" data-consent-vendor="hotjar" data-consent-type=module data-consent-src=//static.hotjar.com/c/x.js></script>`,
			events: "neutralised script_src statistics hotjar",
		},
		{
			name:   "GTM noscript iframe is held",
			in:     `<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-XXXX" height="0" width="0" style="display:none;visibility:hidden"></iframe></noscript>`,
			want:   `<noscript><iframe data-consent-category="statistics" data-consent-vendor="google-tag-manager" data-consent-src="https://www.googletagmanager.com/ns.html?id=GTM-XXXX" height="0" width="0" style="display:none;visibility:hidden"></iframe></noscript>`,
			events: "neutralised iframe statistics google-tag-manager",
		},
		{
			name:   "Meta pixel noscript img is held",
			in:     `<noscript><img height="1" width="1" style="display:none" src="https://www.facebook.com/tr?id=1&ev=PageView&noscript=1"/></noscript>`,
			want:   `<noscript><img data-consent-category="marketing" data-consent-vendor="meta-pixel" height="1" width="1" style="display:none" data-consent-src="https://www.facebook.com/tr?id=1&ev=PageView&noscript=1"/></noscript>`,
			events: "neutralised img marketing meta-pixel",
		},
		{
			name: "noscript without trackers passes byte for byte",
			in:   `<noscript><style>.js-only{display:none}</style><img src="/pixel.gif" alt=x></noscript>`,
			want: `<noscript><style>.js-only{display:none}</style><img src="/pixel.gif" alt=x></noscript>`,
		},
		{
			name:   "YouTube embed keeps its size and gets a vendor for the placeholder",
			in:     `<iframe width="560" height="315" src="https://www.youtube.com/embed/dQw4w9WgXcQ" title="YouTube video player" allowfullscreen></iframe>`,
			want:   `<iframe data-consent-category="marketing" data-consent-vendor="youtube" width="560" height="315" data-consent-src="https://www.youtube.com/embed/dQw4w9WgXcQ" title="YouTube video player" allowfullscreen></iframe>`,
			events: "neutralised iframe marketing youtube",
		},
		{
			name:   "Gravatar img loses src and srcset",
			in:     `<img alt='' src='https://secure.gravatar.com/avatar/abc?s=60&#038;d=mm&#038;r=g' srcset='https://secure.gravatar.com/avatar/abc?s=120&#038;d=mm&#038;r=g 2x' class='avatar' height='60' width='60' loading='lazy'/>`,
			want:   `<img data-consent-category="preferences" data-consent-vendor="gravatar" alt='' data-consent-src='https://secure.gravatar.com/avatar/abc?s=60&#038;d=mm&#038;r=g' data-consent-srcset='https://secure.gravatar.com/avatar/abc?s=120&#038;d=mm&#038;r=g 2x' class='avatar' height='60' width='60' loading='lazy'/>`,
			events: "neutralised img preferences gravatar",
		},
		{
			name:   "a tracker only in srcset is found",
			in:     `<img src="/local.png" srcset="/local@2x.png 2x, https://0.gravatar.com/avatar/a?s=3 3x">`,
			want:   `<img data-consent-category="preferences" data-consent-vendor="gravatar" data-consent-src="/local.png" data-consent-srcset="/local@2x.png 2x, https://0.gravatar.com/avatar/a?s=3 3x">`,
			events: "neutralised img preferences gravatar",
		},
		{
			name:   "Google Fonts stylesheet and preconnect are held",
			in:     `<link rel="preconnect" href="https://fonts.gstatic.com" crossorigin><link rel='stylesheet' id='fonts-css' href='https://fonts.googleapis.com/css?family=Open+Sans&#038;display=swap' media='all' />`,
			want:   `<link data-consent-category="preferences" data-consent-vendor="google-fonts" rel="preconnect" data-consent-href="https://fonts.gstatic.com" crossorigin><link data-consent-category="preferences" data-consent-vendor="google-fonts" rel='stylesheet' id='fonts-css' data-consent-href='https://fonts.googleapis.com/css?family=Open+Sans&#038;display=swap' media='all' />`,
			events: "neutralised link preferences google-fonts; neutralised link preferences google-fonts",
		},
		{
			name:     "a preconnect passes once any vendor of its host is accepted",
			in:       `<link rel="preconnect" href="https://www.googletagmanager.com">`,
			accepted: stats,
			want:     `<link rel="preconnect" href="https://www.googletagmanager.com">`,
		},
		{
			name:   "dns-prefetch and preload of tracker hosts are held",
			in:     `<link rel='dns-prefetch' href='//s.w.org' /><link rel="preload" as="script" href="https://www.googletagmanager.com/gtm.js?id=GTM-1">`,
			want:   `<link data-consent-category="preferences" data-consent-vendor="wordpress-emoji" rel='dns-prefetch' data-consent-href='//s.w.org' /><link data-consent-category="statistics" data-consent-vendor="google-tag-manager" rel="preload" as="script" data-consent-href="https://www.googletagmanager.com/gtm.js?id=GTM-1">`,
			events: "neutralised link preferences wordpress-emoji; neutralised link statistics google-tag-manager",
		},
		{
			name: "links that fetch nothing pass",
			in:   `<link rel="canonical" href="https://www.facebook.com/tr"><link rel="alternate" href="https://fonts.googleapis.com/">`,
			want: `<link rel="canonical" href="https://www.facebook.com/tr"><link rel="alternate" href="https://fonts.googleapis.com/">`,
		},
		{
			name:   "embed and object lose their source",
			in:     `<embed src="https://www.youtube.com/embed/x" type="video/mp4"><object data="https://player.vimeo.com/video/1"><param name=a value=b></object>`,
			want:   `<embed data-consent-category="marketing" data-consent-vendor="youtube" data-consent-src="https://www.youtube.com/embed/x" type="video/mp4"><object data-consent-category="statistics" data-consent-vendor="vimeo" data-consent-data="https://player.vimeo.com/video/1"><param name=a value=b></object>`,
			events: "neutralised embed marketing youtube; neutralised object statistics vimeo",
		},
		{
			name: "JSON-LD, templates and non-tracker modules pass byte for byte",
			in:   `<script type="application/ld+json">{"@context":"https://schema.org","url":"https://www.facebook.com/tr","x":"gtag("}</script><script type="text/template" id="t"><img src="https://secure.gravatar.com/avatar/x"></script><script type="module" src="/app.js"></script><script type="module">import "/x.js";</script>`,
			want: `<script type="application/ld+json">{"@context":"https://schema.org","url":"https://www.facebook.com/tr","x":"gtag("}</script><script type="text/template" id="t"><img src="https://secure.gravatar.com/avatar/x"></script><script type="module" src="/app.js"></script><script type="module">import "/x.js";</script>`,
		},
		{
			name: "scripts containing markup and end-tag lookalikes stay whole",
			in:   `<script>document.write("<\/script><div>"); var s = "</scr" + "ipt>"; if (a</b) {} var x = "</SCRIPTX>";</script><p>after</p>`,
			want: `<script>document.write("<\/script><div>"); var s = "</scr" + "ipt>"; if (a</b) {} var x = "</SCRIPTX>";</script><p>after</p>`,
		},
		{
			name:   "a signature after an end-tag lookalike is still inside the script",
			in:     `<script>var s = "</scriptx>"; fbq('track','PageView');</script>`,
			want:   `<script type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel">var s = "</scriptx>"; fbq('track','PageView');</script>`,
			events: "neutralised script_inline marketing meta-pixel",
		},
		{
			name:   "a double-escaped script end does not end the script",
			in:     `<script><!--<script></script>fbq('init','1');--></script><p>x</p>`,
			want:   `<script type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel"><!--<script></script>fbq('init','1');--></script><p>x</p>`,
			events: "neutralised script_inline marketing meta-pixel",
		},
		{
			name:   "escaped script text that is not a tag stays escaped (as browsers do)",
			in:     `<script><!--<1<script></script>fbq('init','1')</script>`,
			want:   `<script type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel"><!--<1<script></script>fbq('init','1')</script>`,
			events: "neutralised script_inline marketing meta-pixel",
		},
		{
			name: "trackers inside comments, style, textarea and title are text",
			in:   `<!-- <script src="https://connect.facebook.net/x.js"></script> --><style>/*<script src="https://connect.facebook.net/x.js">*/</style><textarea><img src="https://www.facebook.com/tr"></textarea><title><iframe src="https://www.youtube.com/embed/x"></title>`,
			want: `<!-- <script src="https://connect.facebook.net/x.js"></script> --><style>/*<script src="https://connect.facebook.net/x.js">*/</style><textarea><img src="https://www.facebook.com/tr"></textarea><title><iframe src="https://www.youtube.com/embed/x"></title>`,
		},
		{
			name:   "odd comments end where browsers end them, CDATA is a bogus comment in HTML",
			in:     `<!--><img src="https://www.facebook.com/tr"><!---><!-- a --!><!-- b -- >still comment--><![CDATA[<img src="https://www.facebook.com/tr">]]>`,
			want:   `<!--><img data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-src="https://www.facebook.com/tr"><!---><!-- a --!><!-- b -- >still comment--><![CDATA[<img src="https://www.facebook.com/tr">]]>`,
			events: "neutralised img marketing meta-pixel",
		},
		{
			name:   "uppercase tags and attributes",
			in:     `<SCRIPT SRC="https://www.googletagmanager.com/gtag/js?id=G-1" ASYNC></SCRIPT>`,
			want:   `<SCRIPT type="text/plain" data-consent-category="statistics" data-consent-vendor="google-analytics" data-consent-src="https://www.googletagmanager.com/gtag/js?id=G-1" ASYNC></SCRIPT>`,
			events: "neutralised script_src statistics google-analytics",
		},
		{
			name:   "the first of duplicate attributes decides, all of them move",
			in:     `<script src="https://www.googletagmanager.com/gtag/js?id=G-1" src="/ok.js"></script><script src="/ok.js" src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>`,
			want:   `<script type="text/plain" data-consent-category="statistics" data-consent-vendor="google-analytics" data-consent-src="https://www.googletagmanager.com/gtag/js?id=G-1" data-consent-src="/ok.js"></script><script src="/ok.js" src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>`,
			events: "neutralised script_src statistics google-analytics",
		},
		{
			name:   "unquoted attributes and a slash",
			in:     `<img src=https://www.facebook.com/tr?id=1 alt=a/>`,
			want:   `<img data-consent-category="marketing" data-consent-vendor="meta-pixel" data-consent-src=https://www.facebook.com/tr?id=1 alt=a/>`,
			events: "neutralised img marketing meta-pixel",
		},
		{
			name:   "a quoted > inside an attribute does not end the tag",
			in:     `<img alt="a > b" src="https://www.facebook.com/tr"><p title='x>y'>ok</p>`,
			want:   `<img data-consent-category="marketing" data-consent-vendor="meta-pixel" alt="a > b" data-consent-src="https://www.facebook.com/tr"><p title='x>y'>ok</p>`,
			events: "neutralised img marketing meta-pixel",
		},
		{
			name: "unclosed tags and stray brackets pass",
			in:   `<p>a < b <div <3 </ > </> <a href="x">x<img src="https://www.facebook.com/tr`,
			want: `<p>a < b <div <3 </ > </> <a href="x">x<img src="https://www.facebook.com/tr`,
		},
		{
			name:   "an unclosed tracker script at the end is still made inert",
			in:     `<script>fbq('init','1');`,
			want:   `<script type="text/plain" data-consent-category="marketing" data-consent-vendor="meta-pixel">fbq('init','1');`,
			events: "neutralised script_inline marketing meta-pixel",
		},
		{
			name:   "operator-marked elements are respected",
			in:     `<script type="text/plain" data-consent-category="statistics">plausible()</script><script data-consent-category="marketing" src="/ads.js"></script><iframe data-consent-category="preferences" src="/widget"></iframe><script data-consent-category="necessary" src="https://www.googletagmanager.com/gtag/js"></script>`,
			want:   `<script type="text/plain" data-consent-category="statistics">plausible()</script><script type="text/plain" data-consent-category="marketing" data-consent-src="/ads.js"></script><iframe data-consent-category="preferences" data-consent-src="/widget"></iframe><script data-consent-category="necessary" src="https://www.googletagmanager.com/gtag/js"></script>`,
			events: "neutralised script_src marketing; neutralised iframe preferences",
		},
		{
			name:     "a script with two vendors needs both categories",
			in:       `<script>gtag('config','G-1'); fbq('track','PageView');</script>`,
			accepted: stats,
			want:     `<script type="text/plain" data-consent-category="statistics marketing" data-consent-vendor="google-analytics">gtag('config','G-1'); fbq('track','PageView');</script>`,
			events:   "neutralised script_inline marketing google-analytics",
		},
		{
			name:   "strip removes the element entirely",
			in:     `<p>a</p>` + gtagJS + gtagCfg + `<iframe src="https://www.youtube.com/embed/x">fallback</iframe><img src="https://www.facebook.com/tr"><p>b</p>`,
			cfg:    &Config{Rules: testRules, Strip: rules.SetOf(rules.Statistics, rules.Marketing)},
			want:   `<p>a</p><p>b</p>`,
			events: "stripped script_src statistics google-analytics; stripped script_inline statistics google-analytics; stripped iframe marketing youtube; stripped img marketing meta-pixel",
		},
		{
			name:   "report-only changes nothing and reports everything",
			in:     `<html><head>` + gtagJS + `</head><body><iframe src="https://www.youtube.com/embed/x"></iframe></body></html>`,
			cfg:    &Config{Rules: testRules, ReportOnly: true, Strip: rules.SetOf(rules.Marketing)},
			want:   `<html><head>` + gtagJS + `</head><body><iframe src="https://www.youtube.com/embed/x"></iframe></body></html>`,
			events: "would_neutralise script_src statistics google-analytics; would_strip iframe marketing youtube",
		},
		{
			name:   "unknown third-party scripts run and are reported by default",
			in:     `<script src="https://cdn.example-widgets.net/w.js"></script><script src="https://static.example.com/own.js"></script><script src="/own.js"></script>`,
			want:   `<script src="https://cdn.example-widgets.net/w.js"></script><script src="https://static.example.com/own.js"></script><script src="/own.js"></script>`,
			events: "unknown_third_party script_src unclassified cdn.example-widgets.net",
		},
		{
			name:   "unknown third-party scripts are unclassified with the block policy",
			in:     `<script src="https://cdn.example-widgets.net/w.js"></script><script src="https://static.example.com/own.js"></script>`,
			cfg:    &Config{Rules: testRules, BlockUnknown: true},
			want:   `<script type="text/plain" data-consent-category="unclassified" data-consent-src="https://cdn.example-widgets.net/w.js"></script><script src="https://static.example.com/own.js"></script>`,
			events: "unknown_third_party script_src unclassified cdn.example-widgets.net; neutralised script_src unclassified",
		},
		{
			name:   "declared charset bytes pass untouched",
			in:     "<meta charset=\"windows-1252\"><p>caf\xe9 \x93quoted\x94</p><img src=\"https://www.facebook.com/tr\" alt=\"na\xefve\">",
			want:   "<meta charset=\"windows-1252\"><p>caf\xe9 \x93quoted\x94</p><img data-consent-category=\"marketing\" data-consent-vendor=\"meta-pixel\" data-consent-src=\"https://www.facebook.com/tr\" alt=\"na\xefve\">",
			events: "neutralised img marketing meta-pixel",
		},
		{
			name: "plaintext ends scanning",
			in:   `<plaintext><script src="https://www.googletagmanager.com/gtag/js"></script>`,
			want: `<plaintext><script src="https://www.googletagmanager.com/gtag/js"></script>`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg == nil {
				cfg = defaultConfig
			}
			acc := tt.accepted
			if acc == 0 {
				acc = none
			}
			got, rec := rewriteAll(t, cfg, Page{Accepted: acc, Host: "www.example.com"}, tt.in)
			if got != tt.want {
				t.Errorf("output\n got: %s\nwant: %s", got, tt.want)
			}
			if rec.String() != tt.events {
				t.Errorf("events\n got: %s\nwant: %s", rec, tt.events)
			}
			again, _ := rewriteChunks(t, cfg, Page{Accepted: acc, Host: "www.example.com"}, got, 0)
			if again != got && !cfg.ReportOnly {
				t.Errorf("rewriting twice differs from once:\nonce:  %s\ntwice: %s", got, again)
			}
		})
	}
}

func TestEveryVendorSnippetIsNeutralised(t *testing.T) {
	snippets := map[string]string{
		"google-analytics":      gtagJS + gtagCfg,
		"google-tag-manager":    `<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src='https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);})(window,document,'script','dataLayer','GTM-XXXX');</script>`,
		"hotjar":                `<script>(function(h,o,t,j,a,r){h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};h._hjSettings={hjid:1,hjsv:6};a=o.getElementsByTagName('head')[0];r=o.createElement('script');r.async=1;r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;a.appendChild(r);})(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');</script>`,
		"microsoft-clarity":     `<script type="text/javascript">(function(c,l,a,r,i,t,y){c[a]=c[a]||function(){(c[a].q=c[a].q||[]).push(arguments)};t=l.createElement(r);t.async=1;t.src="https://www.clarity.ms/tag/"+i;y=l.getElementsByTagName(r)[0];y.parentNode.insertBefore(t,y);})(window, document, "clarity", "script", "abcdef");</script>`,
		"matomo":                `<script>var _paq = window._paq = window._paq || [];_paq.push(['trackPageView']);_paq.push(['enableLinkTracking']);(function() {var u="https://example.matomo.cloud/";_paq.push(['setTrackerUrl', u+'matomo.php']);_paq.push(['setSiteId', '1']);var d=document, g=d.createElement('script'), s=d.getElementsByTagName('script')[0];g.async=true; g.src='https://cdn.matomo.cloud/example.matomo.cloud/matomo.js'; s.parentNode.insertBefore(g,s);})();</script><noscript><p><img referrerpolicy="no-referrer-when-downgrade" src="https://stats.example.org/matomo.php?idsite=1&amp;rec=1" style="border:0;" alt="" /></p></noscript>`,
		"meta-pixel":            `<script>!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?n.callMethod.apply(n,arguments):n.queue.push(arguments)};if(!f._fbq)f._fbq=n;n.push=n;n.loaded=!0;n.version='2.0';n.queue=[];t=b.createElement(e);t.async=!0;t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}(window, document,'script','https://connect.facebook.net/en_US/fbevents.js');fbq('init', '123');fbq('track', 'PageView');</script><noscript><img height="1" width="1" style="display:none" src="https://www.facebook.com/tr?id=123&ev=PageView&noscript=1"/></noscript>`,
		"linkedin-insight":      `<script type="text/javascript">_linkedin_partner_id = "1";window._linkedin_data_partner_ids = window._linkedin_data_partner_ids || [];window._linkedin_data_partner_ids.push(_linkedin_partner_id);</script><script type="text/javascript">(function(l) {var s = document.getElementsByTagName("script")[0];var b = document.createElement("script");b.type = "text/javascript";b.async = true;b.src = "https://snap.licdn.com/li.lms-analytics/insight.min.js";s.parentNode.insertBefore(b, s);})(window.lintrk);</script><noscript><img height="1" width="1" style="display:none;" alt="" src="https://px.ads.linkedin.com/collect/?pid=1&fmt=gif" /></noscript>`,
		"tiktok-pixel":          `<script>!function (w, d, t) {w.TiktokAnalyticsObject=t;var ttq=w[t]=w[t]||[];ttq.load=function(e,n){var r="https://analytics.tiktok.com/i18n/pixel/events.js";};ttq.load('ABC');ttq.page();}(window, document, 'ttq');</script>`,
		"google-ads":            `<script async src="https://www.googletagmanager.com/gtag/js?id=AW-123"></script><script async src="https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js?client=ca-pub-1" crossorigin="anonymous"></script><script>(adsbygoogle = window.adsbygoogle || []).push({});</script>`,
		"microsoft-advertising": `<script>(function(w,d,t,r,u){var f,n,i;w[u]=w[u]||[],f=function(){var o={ti:"1"};o.q=w[u],w[u]=new UET(o),w[u].push("pageLoad")},n=d.createElement(t),n.src=r,n.async=1;i=d.getElementsByTagName(t)[0],i.parentNode.insertBefore(n,i)})(window,document,"script","//bat.bing.com/bat.js","uetq");</script>`,
		"pinterest-tag":         `<script>!function(e){if(!window.pintrk){window.pintrk=function(){window.pintrk.queue.push(Array.prototype.slice.call(arguments))};var n=window.pintrk;n.queue=[],n.version="3.0";var t=document.createElement("script");t.async=!0,t.src=e;var r=document.getElementsByTagName("script")[0];r.parentNode.insertBefore(t,r)}}("https://s.pinimg.com/ct/core.js");pintrk('load', '1');pintrk('page');</script><noscript><img height="1" width="1" style="display:none;" alt="" src="https://ct.pinterest.com/v3/?event=init&tid=1&noscript=1" /></noscript>`,
		"x-twitter":             `<script>!function(e,t,n,s,u,a){e.twq||(s=e.twq=function(){s.exe?s.exe.apply(s,arguments):s.queue.push(arguments);},s.version='1.1',s.queue=[],u=t.createElement(n),u.async=!0,u.src='https://static.ads-twitter.com/uwt.js',a=t.getElementsByTagName(n)[0],a.parentNode.insertBefore(u,a))}(window,document,'script');twq('config','abc');</script>`,
		"hubspot":               `<script type="text/javascript" id="hs-script-loader" async defer src="//js.hs-scripts.com/123.js"></script>`,
		"youtube":               `<iframe width="560" height="315" src="https://www.youtube-nocookie.com/embed/x" frameborder="0" allowfullscreen></iframe>`,
		"vimeo":                 `<iframe src="https://player.vimeo.com/video/76979871?h=8272103f6e" width="640" height="360" frameborder="0" allow="autoplay; fullscreen; picture-in-picture" allowfullscreen></iframe>`,
		"google-maps":           `<iframe src="https://www.google.com/maps/embed?pb=!1m18!1m12" width="600" height="450" style="border:0;" allowfullscreen="" loading="lazy" referrerpolicy="no-referrer-when-downgrade"></iframe>`,
		"google-fonts":          `<link rel="preconnect" href="https://fonts.googleapis.com"><link rel="preconnect" href="https://fonts.gstatic.com" crossorigin><link href="https://fonts.googleapis.com/css2?family=Roboto&display=swap" rel="stylesheet">`,
		"gravatar":              `<img alt='' src='https://secure.gravatar.com/avatar/abc?s=32&#038;d=mm&#038;r=g' class='avatar avatar-32 photo' height='32' width='32' />`,
		"wordpress-emoji":       `<link rel='dns-prefetch' href='//s.w.org' /><script type="text/javascript">window._wpemojiSettings = {"baseUrl":"https:\/\/s.w.org\/images\/core\/emoji\/15.0.3\/72x72\/","ext":".png"};</script>`,
		"jetpack-stats":         `<script src='https://stats.wp.com/e-202647.js' defer></script><script>_stq = window._stq || [];_stq.push([ "view", {v:'ext',blog:'1'} ]);</script>`,
	}
	for vendor, snippet := range snippets {
		t.Run(vendor, func(t *testing.T) {
			got, rec := rewriteAll(t, defaultConfig, Page{Accepted: rules.OnlyNecessary, Host: "www.example.com"}, snippet)
			if len(rec.events) == 0 {
				t.Fatalf("nothing neutralised in %s", snippet)
			}
			for _, e := range rec.events {
				if e.Action != Neutralised {
					t.Errorf("event %v", e)
				}
				if e.Vendor == nil || e.Vendor.ID != vendor {
					t.Errorf("event for vendor %v, want %s", e.Vendor, vendor)
				}
			}
			assertNothingLive(t, got)
			all, _ := rewriteAll(t, defaultConfig, Page{Accepted: rules.AllSet, Host: "www.example.com"}, snippet)
			if all != snippet {
				t.Errorf("with everything accepted the snippet changed:\n got: %s\nwant: %s", all, snippet)
			}
		})
	}
}

// assertNothingLive fails if out, tokenised as a browser would, still has an
// element the default rules would block.
func assertNothingLive(t testing.TB, out string) {
	t.Helper()
	if live := liveTrackers(testRules, []byte(out), rules.OnlyNecessary); len(live) > 0 {
		t.Fatalf("still live after rewriting: %s\nin: %s", strings.Join(live, ", "), out)
	}
}

func TestInsertionPoints(t *testing.T) {
	page := Page{
		Accepted:  rules.OnlyNecessary,
		Guard:     []byte(`<!--G-->`),
		HeadStart: []byte(`<!--HS-->`),
		HeadEnd:   []byte(`<!--HE-->`),
		BodyStart: []byte(`<!--BS-->`),
	}
	reportOnly := &Config{Rules: testRules, ReportOnly: true}
	tests := []struct {
		name, in, want string
		cfg            *Config
	}{
		{"whole document", `<!DOCTYPE html><html><head><title>x</title></head><body class="home"><p>x</p></body></html>`,
			`<!DOCTYPE html><html><head><!--G--><!--HS--><title>x</title><!--HE--></head><body class="home"><!--BS--><p>x</p></body></html>`, nil},
		{"head start goes before the first script when there is no head tag", `<!doctype html><script src="/a.js"></script><p>x</p>`,
			`<!doctype html><!--G--><!--HS--><script src="/a.js"></script><!--HE--><!--BS--><p>x</p>`, nil},
		{"no head: hooks right after body", `<html><body><p>x</p></body></html>`,
			`<html><body><!--G--><!--HS--><!--HE--><!--BS--><p>x</p></body></html>`, nil},
		{"no head and no body: the guard before the first element, the banner where the body opens", `<!DOCTYPE html><title>x</title><p>x`,
			`<!DOCTYPE html><!--G--><!--HS--><title>x</title><!--HE--><!--BS--><p>x`, nil},
		{"text opens the body", "<!DOCTYPE html><head><title>x</title>\n hello <p>",
			"<!DOCTYPE html><head><!--G--><!--HS--><title>x</title>\n <!--HE--><!--BS-->hello <p>", nil},
		{"</body>, </html> and </br> open the body", `<!DOCTYPE html><head></head></br><p>x`,
			`<!DOCTYPE html><head><!--G--><!--HS--><!--HE--></head><!--BS--></br><p>x`, nil},
		{"a body tag in a template is not the body", `<!DOCTYPE html><head><template><body><p>t</template></head><body>x`,
			`<!DOCTYPE html><head><!--G--><!--HS--><template><body><p>t</template><!--HE--></head><body><!--BS-->x`, nil},
		{"a body tag after a table is ignored: the table opened the body", `<!DOCTYPE html><table><body><tr><td>x`,
			`<!DOCTYPE html><!--G--><!--HS--><!--HE--><!--BS--><table><body><tr><td>x`, nil},
		{"a body tag in foreign content: the svg opened the body", `<!DOCTYPE html><svg><foreignObject><body>x`,
			`<!DOCTYPE html><!--G--><!--HS--><!--HE--><!--BS--><svg><foreignObject><body>x`, nil},
		{"an open button: the banner goes before it", `<!DOCTYPE html><p><button><body>x`,
			`<!DOCTYPE html><!--G--><!--HS--><!--HE--><!--BS--><p><button><body>x`, nil},
		{"the end inside a script: nothing at the end", `<!DOCTYPE html><script>var a`,
			`<!DOCTYPE html><!--G--><!--HS--><script>var a`, nil},
		{"the end inside a comment: nothing at the end", `<!DOCTYPE html><!-- x`,
			`<!DOCTYPE html><!-- x`, nil},
		{"the end inside a tag: nothing at the end", `<!DOCTYPE html><script></script `,
			`<!DOCTYPE html><!--G--><!--HS--><script></script `, nil},
		{"a document that ends in its head: the banner at the end", `<!DOCTYPE html><title>x</title>`,
			`<!DOCTYPE html><!--G--><!--HS--><title>x</title><!--HE--><!--BS-->`, nil},
		{"a frameset document gets no banner", `<!DOCTYPE html><head><title>x</title></head><frameset><frame src="/a"></frameset>`,
			`<!DOCTYPE html><head><!--G--><!--HS--><title>x</title><!--HE--></head><frameset><frame src="/a"></frameset>`, nil},
		{"text before the doctype (a PHP warning): the banner after the body tag", "Warning: x<!DOCTYPE html><html><head></head><body><p>x",
			"Warning: x<!DOCTYPE html><html><head><!--G--><!--HS--><!--HE--></head><body><!--BS--><p>x", nil},
		{"a base before head comes after the guard and head start", `<!DOCTYPE html><html><base href="https://cdn.example/"><head><img src="/a.png"></head><body>`,
			`<!DOCTYPE html><html><!--G--><!--HS--><base href="https://cdn.example/"><head><!--HE--><!--BS--><img src="/a.png"></head><body>`, nil},
		{"a fragment gets no hooks", `<li class="item"><a href="/x">x</a></li><script src="/a.js"></script>`,
			`<li class="item"><a href="/x">x</a></li><script src="/a.js"></script>`, nil},
		{"tags inside scripts and comments are not insertion points", `<html><head><script>var s="</head><body>";</script><!-- </head> --></head><BODY><p>x</p>`,
			`<html><head><!--G--><!--HS--><script>var s="</head><body>";</script><!-- </head> --><!--HE--></head><BODY><!--BS--><p>x</p>`, nil},
		{"only the first body counts", `<html><body><body><p>x</p>`,
			`<html><body><!--G--><!--HS--><!--HE--><!--BS--><body><p>x</p>`, nil},
		{"report-only: the guard alone", `<!DOCTYPE html><html><head><title>x</title></head><body><p>x</p></body></html>`,
			`<!DOCTYPE html><html><head><!--G--><title>x</title></head><body><p>x</p></body></html>`, reportOnly},
		{"report-only without head", `<!DOCTYPE html><img src="https://www.facebook.com/tr"><p>x`,
			`<!DOCTYPE html><!--G--><img src="https://www.facebook.com/tr"><p>x`, reportOnly},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg == nil {
				cfg = defaultConfig
			}
			got, _ := rewriteAll(t, cfg, page, tt.in)
			if got != tt.want {
				t.Errorf("\n got: %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestDeclarationFillsPlaceholderOnce(t *testing.T) {
	page := Page{Accepted: rules.OnlyNecessary, Declaration: func() []byte { return []byte(`<table><tr><td>_ga</td></tr></table>`) }}
	in := `<h2>Cookies</h2><div data-consent-declaration class="decl"></div><section data-consent-declaration data-consent-filled></section>`
	want := `<h2>Cookies</h2><div data-consent-filled data-consent-declaration class="decl"><table><tr><td>_ga</td></tr></table></div><section data-consent-declaration data-consent-filled></section>`
	got, _ := rewriteAll(t, defaultConfig, page, in)
	if got != want {
		t.Fatalf("\n got: %s\nwant: %s", got, want)
	}
	if again, _ := rewriteAll(t, defaultConfig, page, got); again != got {
		t.Fatalf("filled twice:\n%s", again)
	}
}

func TestLargeInlineScriptIsDecidedOnItsFirstPart(t *testing.T) {
	cfg := &Config{Rules: testRules, MaxHold: 1024}
	big := "<script>fbq('init','1');" + strings.Repeat("var a=1;\n", 400) + "</script><p>after</p>"
	got, rec := rewriteAll(t, cfg, Page{Accepted: rules.OnlyNecessary}, big)
	if !strings.HasPrefix(got, `<script type="text/plain" data-consent-category="marketing"`) || !strings.HasSuffix(got, "</script><p>after</p>") {
		t.Fatalf("large tracker script not neutralised whole: %.200s ... %s", got, got[len(got)-40:])
	}
	if !strings.Contains(rec.String(), "uninspected script_inline") {
		t.Errorf("no uninspected event: %s", rec)
	}
	late := "<script>" + strings.Repeat("var a=1;\n", 400) + "fbq('init','1');</script>"
	got, _ = rewriteAll(t, cfg, Page{Accepted: rules.OnlyNecessary}, late)
	if got != late {
		t.Fatalf("a signature beyond the hold limit should not change the decided start tag")
	}
}

func TestRandomChunkingGivesTheSameOutput(t *testing.T) {
	page := loadPage(t, "index.html")
	want, _ := rewriteChunks(t, defaultConfig, Page{Accepted: rules.OnlyNecessary, Host: "demo.example"}, page, 0)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		var out bytes.Buffer
		rw := New(&out, defaultConfig, Page{Accepted: rules.OnlyNecessary, Host: "demo.example"})
		data := []byte(page)
		for len(data) > 0 {
			k := min(1+rng.IntN(300), len(data))
			if _, err := rw.Write(data[:k]); err != nil {
				t.Fatal(err)
			}
			data = data[k:]
		}
		if err := rw.Close(); err != nil {
			t.Fatal(err)
		}
		if out.String() != want {
			t.Fatalf("round %d: random chunking changed the output", i)
		}
	}
}

type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.n <= 0 {
		return 0, fmt.Errorf("client went away")
	}
	w.n--
	return len(p), nil
}

func TestWriteErrorsStick(t *testing.T) {
	rw := New(&failingWriter{n: 0}, defaultConfig, Page{})
	if _, err := rw.Write([]byte(strings.Repeat("<p>x</p>", 10000))); err == nil {
		t.Fatal("write error lost")
	}
	if _, err := rw.Write([]byte("<p>")); err == nil {
		t.Fatal("write after an error succeeded")
	}
	if err := rw.Close(); err == nil {
		t.Fatal("close after an error succeeded")
	}
}
