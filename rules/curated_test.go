package rules

import (
	"strings"
	"testing"
)

// TestCuratedVendorTags: real tag URLs and snippets, as each vendor's
// documentation gives them, are classified by the curated tier alone.
func TestCuratedVendorTags(t *testing.T) {
	rs := defaultRules(t)
	urls := []struct {
		url, vendor string
	}{
		// Criteo: publisher tag and OneTag.
		{"https://static.criteo.net/js/ld/publishertag.js", "criteo"},
		{"https://static.criteo.net/js/ld/ld.js?a=12345", "criteo"},
		{"https://gum.criteo.com/syncframe?origin=publishertag", "criteo"},
		{"https://bidder.criteo.com/cdb?ptv=1", "criteo"},
		// Google AdSense, Ad Manager (GPT), safeframes, adservice.
		{"https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js?client=ca-pub-1234", "google-ads"},
		{"https://securepubads.g.doubleclick.net/tag/js/gpt.js", "google-ads"},
		{"https://www.googletagservices.com/tag/js/gpt.js", "google-ads"},
		{"https://3f1c0c5c2b8a1e4c6d7f8a9b0c1d2e3f.safeframe.googlesyndication.com/safeframe/1-0-40/html/container.html", "google-ads"},
		{"https://tpc.googlesyndication.com/sodar/sodar2.js", "google-ads"},
		{"https://adservice.google.com/adsid/integrator.js?domain=example.com", "google-ads"},
		{"https://ep1.adtrafficquality.google/getconfig/sodar?sv=200", "google-ads"},
		{"https://googleads.g.doubleclick.net/pagead/ads?client=ca-pub-1", "google-ads"},
		// Taboola: publisher loader and pixel.
		{"https://cdn.taboola.com/libtrc/example-publisher/loader.js", "taboola"},
		{"https://cdn.taboola.com/libtrc/unip/1234567/tfa.js", "taboola"},
		{"https://trc.taboola.com/1234567/log/3/unip?en=page_view", "taboola"},
		{"https://images.taboolasyndication.com/taboola/image/fetch/x.jpg", "taboola"},
		// Outbrain: widget and Amplify pixel.
		{"https://widgets.outbrain.com/outbrain.js", "outbrain"},
		{"https://amplify.outbrain.com/cp/obtp.js", "outbrain"},
		{"https://tr.outbrain.com/unifiedPixel?marketerId=x", "outbrain"},
		// Quantcast Measure.
		{"https://secure.quantserve.com/quant.js", "quantcast"},
		{"https://pixel.quantserve.com/pixel/p-abc.gif?labels=x", "quantcast"},
		// Comscore.
		{"https://sb.scorecardresearch.com/beacon.js", "comscore"},
		{"https://sb.scorecardresearch.com/p?c1=2&c2=123456&cv=2.0&cj=1", "comscore"},
		// Chartbeat.
		{"https://static.chartbeat.com/js/chartbeat.js", "chartbeat"},
		{"https://static.chartbeat.com/js/chartbeat_mab.js", "chartbeat"},
		{"https://ping.chartbeat.net/ping?h=example.com", "chartbeat"},
		// Snap Pixel.
		{"https://sc-static.net/scevent.min.js", "snap-pixel"},
		{"https://tr.snapchat.com/p", "snap-pixel"},
		// Reddit Pixel.
		{"https://www.redditstatic.com/ads/pixel.js", "reddit-pixel"},
		{"https://alb.reddit.com/rp.gif?ts=1&id=t2_abc&event=PageVisit", "reddit-pixel"},
		// Yandex Metrica, and its noscript pixel.
		{"https://mc.yandex.ru/metrika/tag.js", "yandex-metrica"},
		{"https://mc.yandex.ru/watch/12345678", "yandex-metrica"},
		{"https://mc.yandex.com/metrika/tag.js", "yandex-metrica"},
		// Amazon ads: Transparent Ad Marketplace and Associates.
		{"https://c.amazon-adsystem.com/aax2/apstag.js", "amazon-ads"},
		{"https://aax.amazon-adsystem.com/e/dtb/bid", "amazon-ads"},
		{"https://ws-eu.amazon-adsystem.com/widgets/q?ServiceVersion=20070822", "amazon-ads"},
		// Cloudflare Web Analytics: the beacon and its first-party endpoint.
		{"https://static.cloudflareinsights.com/beacon.min.js", "cloudflare-web-analytics"},
		{"https://static.cloudflareinsights.com/beacon.min.js/vcd15cbe7772f49c399c6a5babf22c1241717689176015", "cloudflare-web-analytics"},
		{"https://cloudflareinsights.com/cdn-cgi/rum", "cloudflare-web-analytics"},
		{"/cdn-cgi/rum?", "cloudflare-web-analytics"},
		// New Relic browser agent.
		{"https://js-agent.newrelic.com/nr-spa-1.250.0.min.js", "new-relic-browser"},
		{"https://bam.nr-data.net/1/abc?a=1", "new-relic-browser"},
		{"https://bam.eu01.nr-data.net/1/abc?a=1", "new-relic-browser"},
		// Plausible: hosted, and proxied under the site's own host.
		{"https://plausible.io/js/script.js", "plausible"},
		{"https://plausible.io/js/script.outbound-links.js", "plausible"},
		{"https://plausible.io/api/event", "plausible"},
		{"/js/plausible.js", "plausible"},
		// Umami: cloud and self-hosted.
		{"https://cloud.umami.is/script.js", "umami"},
		{"https://stats.example.org/umami.js", "umami"},
		{"https://www.assoc-amazon.de/s/link-enhancer?tag=x-21&o=3", "amazon-ads"},
		// Awin: the advertiser MasterTag and sale pixel, the publisher tools.
		{"https://www.dwin1.com/12345.js", "awin"},
		{"https://www.awin1.com/sread.img?tt=ns&tv=2&merchant=12345", "awin"},
		{"https://www.dwin2.com/pub.123.min.js", "awin"},
		{"https://ads.themoneytizer.com/s/gen.js?type=2", "the-moneytizer"},
		{"https://htlbid.com/v3/example.com/htlbid.js", "htl-bid"},
		// Gemius.
		{"https://gahu.hit.gemius.pl/xgemius.js", "gemius"},
		// Not these.
		{"https://www.criteo.example/publishertag.js", ""},
		{"https://example.com/js/script.js", ""},
		{"https://www.google.com/recaptcha/api.js", ""},
	}
	for _, tt := range urls {
		v := rs.MatchURL(SplitURL([]byte(tt.url), nil))
		got := ""
		if v != nil {
			got = v.ID
		}
		if got != tt.vendor {
			t.Errorf("MatchURL(%q) = %q, want %q", tt.url, got, tt.vendor)
		}
	}

	snippets := []struct {
		name, body, vendor string
	}{
		{"criteo onetag", `window.criteo_q = window.criteo_q || []; window.criteo_q.push({ event: "setAccount", account: 1234 }, { event: "viewHome" });`, "criteo"},
		{"criteo publisher tag", `window.Criteo = window.Criteo || {}; window.Criteo.events = window.Criteo.events || []; Criteo.events.push(function() { Criteo.DisplayAcknowledgement(); });`, "criteo"},
		{"adsense unit", `(adsbygoogle = window.adsbygoogle || []).push({});`, "google-ads"},
		{"gpt slot", `window.googletag = window.googletag || {cmd: []}; googletag.cmd.push(function() { googletag.defineSlot('/6355419/Travel', [728, 90], 'div-1').addService(googletag.pubads()); googletag.enableServices(); });`, "google-ads"},
		{"taboola loader", `window._taboola = window._taboola || []; _taboola.push({article:'auto'}); !function (e, f, u, i) { if (!document.getElementById(i)){ e.async = 1; e.src = u; e.id = i; f.parentNode.insertBefore(e, f); } }(document.createElement('script'), document.getElementsByTagName('script')[0], '//cdn.taboola.com/libtrc/publisher/loader.js', 'tb_loader_script');`, "taboola"},
		{"taboola pixel", `window._tfa = window._tfa || []; window._tfa.push({notify: 'event', name: 'page_view', id: 1234567});`, "taboola"},
		{"outbrain pixel", `!function(_window, _document) { var OB_ADV_ID = '00abc'; if (_window.obApi) { return; } var api = _window.obApi = function() { api.queue.push(arguments); }; }(window, document); obApi('track', 'PAGE_VIEW');`, "outbrain"},
		{"quantcast", `var _qevents = _qevents || []; (function() { var elem = document.createElement('script'); elem.src = (document.location.protocol == "https:" ? "https://secure" : "http://edge") + ".quantserve.com/quant.js"; })(); _qevents.push({ qacct:"p-abc" });`, "quantcast"},
		{"comscore", `var _comscore = _comscore || []; _comscore.push({ c1: "2", c2: "123456" }); (function() { var s = document.createElement("script"); s.src = "https://sb.scorecardresearch.com/cs/123456/beacon.js"; })();`, "comscore"},
		{"chartbeat", `(function() { var _sf_async_config = window._sf_async_config = (window._sf_async_config || {}); _sf_async_config.uid = 12345; _sf_async_config.domain = 'example.com'; })();`, "chartbeat"},
		{"snap pixel", `(function(e,t,n){if(e.snaptr)return;var a=e.snaptr=function(){a.handleRequest?a.handleRequest.apply(a,arguments):a.queue.push(arguments)};a.queue=[];})(window,document,'https://sc-static.net/scevent.min.js'); snaptr('init', 'abc', {}); snaptr('track', 'PAGE_VIEW');`, "snap-pixel"},
		{"reddit pixel", `!function(w,d){if(!w.rdt){var p=w.rdt=function(){p.sendEvent?p.sendEvent.apply(p,arguments):p.callQueue.push(arguments)};p.callQueue=[];var t=d.createElement("script");t.src="https://www.redditstatic.com/ads/pixel.js",t.async=!0;}}(window,document);rdt('init','a2_abc');rdt('track', 'PageVisit');`, "reddit-pixel"},
		{"yandex metrica", `(function(m,e,t,r,i,k,a){m[i]=m[i]||function(){(m[i].a=m[i].a||[]).push(arguments)}; m[i].l=1*new Date();})(window, document, "script", "https://mc.yandex.ru/metrika/tag.js", "ym"); ym(12345678, "init", { clickmap:true, trackLinks:true });`, "yandex-metrica"},
		{"amazon apstag", `!function(a9,a,p,s,t,A,g){if(a[a9])return;}("apstag",window,document,"script","//c.amazon-adsystem.com/aax2/apstag.js"); apstag.init({ pubID: 'abc', adServer: 'googletag' });`, "amazon-ads"},
		{"new relic", `;window.NREUM||(NREUM={});NREUM.init={privacy:{cookies_enabled:true}};`, "new-relic-browser"},
		{"plausible queue", `window.plausible = window.plausible || function() { (window.plausible.q = window.plausible.q || []).push(arguments) }`, "plausible"},
		{"umami event", `document.getElementById('signup').addEventListener('click', function () { umami.track('Signup button'); });`, "umami"},
		{"gemius", `var pp_gemius_identifier = 'abc'; function gemius_pending(i) { window[i] = window[i] || function() {}; }; (function(d,t) { var gt=d.createElement(t); gt.setAttribute('src','https://gahu.hit.gemius.pl/xgemius.js'); })(document,'script');`, "gemius"},
		{"awin conversion tag", `var AWIN = AWIN || {}; AWIN.Tracking = AWIN.Tracking || {}; AWIN.Tracking.Sale = {}; AWIN.Tracking.Sale.amount = "1.00";`, "awin"},
		{"htl bid", `window.htlbid = window.htlbid || {}; htlbid.cmd = htlbid.cmd || []; htlbid.cmd.push(function() { htlbid.layout('universal'); });`, "htl-bid"},
		{"wordpress.com stats pixel", `new Image().src = document.location.protocol + "//pixel.wp.com/g.gif?v=wpcom-no-pv&crypt=abc";`, "jetpack-stats"},
	}
	for _, tt := range snippets {
		var got []string
		rs.ScanInline([]byte(tt.body), 0, func(v *Vendor) { got = append(got, v.ID) })
		if len(got) == 0 || got[0] != tt.vendor {
			t.Errorf("%s: vendors %q, want %s first", tt.name, strings.Join(got, " "), tt.vendor)
		}
	}
}

// TestCuratedVendorCookies: the documented first-party cookies of the
// curated additions.
func TestCuratedVendorCookies(t *testing.T) {
	rs := defaultRules(t)
	for name, vendor := range map[string]string{
		"cto_bundle": "criteo", "cto_bidid": "criteo", "cto_tld_test": "criteo",
		"__gads": "google-ads", "__gpi": "google-ads",
		"trc_cookie_storage": "taboola", "__qca": "quantcast", "_scor_uid": "comscore",
		"_cb": "chartbeat", "_cb_svref": "chartbeat", "_chartbeat2": "chartbeat",
		"_scid": "snap-pixel", "_sctr": "snap-pixel", "_rdt_uuid": "reddit-pixel",
		"_ym_uid": "yandex-metrica", "_ym_d": "yandex-metrica", "_ym_isad": "yandex-metrica", "_ym_visorc": "yandex-metrica",
		"__gfp_64b": "gemius", "_aw_m_12345": "awin",
	} {
		c := rs.MatchCookie(name)
		if c == nil || c.Vendor.ID != vendor {
			t.Errorf("MatchCookie(%q) = %v, want %s", name, c, vendor)
		}
	}
}
