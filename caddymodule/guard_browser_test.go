package caddymodule

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/consentgate/consentgate/internal/browsertest"
	"github.com/consentgate/consentgate/internal/testenv"
)

// These tests drive the runtime guard in headless Chromium through the
// whole gateway: a real Caddy with cookie_consent in front of a site whose
// page loads a tag-manager-like container (classified statistics, as
// Google Tag Manager is) and a WordPress plugin's first-party script. Both
// inject marketing tags in every way a page can; the tracker hosts point
// at a loopback server that records every request.

// guardTrackerHosts are the hosts the container and the plugin load from.
var guardTrackerHosts = []string{
	"www.googletagmanager.com", "connect.facebook.net", "www.facebook.com", "snap.licdn.com", "px.ads.linkedin.com",
	"analytics.tiktok.com", "www.youtube.com", "www.googleadservices.com", "ct.pinterest.com", "static.ads-twitter.com",
	"analytics.twitter.com", "bat.bing.com",
}

// guardContainer is the tag manager's container: it injects a marketing
// tag in every way the guard intercepts.
const guardContainer = `(function () {
	var d = document, h = d.head, b = d.body, slot = d.getElementById('slot');
	var mark = function (n) { (window.__tm = window.__tm || []).push(n); };
	var s = d.createElement('script');
	s.src = 'https://connect.facebook.net/en_US/fbevents.js?via=property';
	s.onload = function () { mark('onload kept'); };
	h.appendChild(s);
	var s2 = d.createElement('script');
	s2.setAttribute('src', 'https://snap.licdn.com/li.lms-analytics/insight.min.js');
	h.insertBefore(s2, h.firstChild);
	var s3 = d.createElement('script');
	s3.src = 'https://analytics.tiktok.com/i18n/pixel/events.js';
	b.append(s3);
	var f = d.createElement('iframe');
	f.src = 'https://www.youtube.com/embed/prepend';
	slot.prepend(f);
	new Image().src = 'https://www.googleadservices.com/pagead/conversion/1/?via=image';
	var i = d.createElement('img');
	i.srcset = 'https://px.ads.linkedin.com/collect?via=srcset 1x';
	slot.before(i);
	var x = d.createElement('div');
	x.innerHTML = '<img src="https://www.facebook.com/tr?via=innerHTML">';
	b.appendChild(x);
	var y = d.createElement('span');
	b.appendChild(y);
	y.outerHTML = '<img src="https://www.facebook.com/tr?via=outerHTML">';
	b.insertAdjacentHTML('beforeend', '<iframe src="https://www.youtube.com/embed/adjacent"></iframe>');
	var p = d.createElement('picture'), so = d.createElement('source');
	so.srcset = 'https://ct.pinterest.com/v3/?via=source';
	p.appendChild(so);
	p.appendChild(d.createElement('img'));
	slot.after(p);
	var v = d.createElement('video');
	v.poster = 'https://static.ads-twitter.com/poster.png';
	v.src = 'https://static.ads-twitter.com/video.mp4';
	b.appendChild(v);
	var a = d.createElement('audio');
	a.preload = 'auto';
	a.src = 'https://analytics.twitter.com/audio.mp3';
	b.appendChild(a);
	var e = d.createElement('embed');
	e.src = 'https://www.facebook.com/plugins/embed';
	b.appendChild(e);
	var o = d.createElement('object');
	o.data = 'https://www.facebook.com/plugins/object';
	b.appendChild(o);
	['preload', 'modulepreload', 'stylesheet'].forEach(function (rel) {
		var l = d.createElement('link');
		l.rel = rel;
		if (rel === 'preload') { l.as = 'script'; }
		l.href = 'https://connect.facebook.net/link-' + rel + '.js';
		h.appendChild(l);
	});
	var li = d.createElement('link');
	li.rel = 'preload';
	li.as = 'image';
	li.imageSrcset = 'https://px.ads.linkedin.com/collect?via=imagesrcset 1x';
	h.appendChild(li);
	var inp = d.createElement('input');
	inp.type = 'image';
	inp.src = 'https://bat.bing.com/action/0?via=input';
	b.appendChild(inp);
	var im = d.createElement('img');
	b.appendChild(im);
	im.setAttribute('src', 'https://www.facebook.com/tr?via=setAttribute');
	var r = d.createRange();
	r.selectNode(b);
	b.appendChild(r.createContextualFragment('<img src="https://www.facebook.com/tr?via=fragment">'));
	var ia = d.createElement('img'), at = d.createAttribute('src');
	at.value = 'https://www.facebook.com/tr?via=attr';
	ia.setAttributeNode(at);
	b.appendChild(ia);
	var sd = d.createElement('iframe');
	sd.srcdoc = '<p>frame</p><img src="https://www.facebook.com/tr?via=srcdoc">';
	b.appendChild(sd);
	var hu = d.createElement('div');
	hu.setHTMLUnsafe('<img src="https://www.facebook.com/tr?via=setHTMLUnsafe">');
	b.appendChild(hu);
	try { navigator.sendBeacon('https://www.facebook.com/tr/?via=beacon', 'x'); } catch (err) {}
	fetch('https://www.facebook.com/tr/?via=fetch', {mode: 'no-cors'}).catch(function () {});
	var xh = new XMLHttpRequest();
	xh.open('GET', 'https://www.facebook.com/tr/?via=xhr');
	xh.send();
	try { new WebSocket('wss://connect.facebook.net/ws?via=container'); } catch (err) {}
	try { new EventSource('https://connect.facebook.net/es?via=container'); } catch (err) {}
	d.cookie = '_fbp=fb.1.container; path=/';
	d.cookie = '_gcl_au=1.1.container; path=/';
	mark('container');
})();
`

// guardPluginScript is a WordPress plugin's own script: first party,
// served as JavaScript, never rewritten. It runs while the page parses.
const guardPluginScript = `(function () {
	var s = document.createElement('script');
	s.async = true;
	s.src = 'https://connect.facebook.net/en_US/fbevents.js?via=plugin';
	document.head.appendChild(s);
	new Image().src = 'https://www.facebook.com/tr?id=1&ev=PageView&via=plugin';
	document.write('<script src="https://bat.bing.com/bat.js?via=write"></scr' + 'ipt><img src="https://www.facebook.com/tr?via=write">');
	document.cookie = '_fbp=fb.1.plugin; path=/';
	(window.__tm = window.__tm || []).push('plugin');
})();
`

// guardFbevents stands in for Meta's pixel: once it runs, it makes the
// requests and sets the cookie that the guard dropped before.
const guardFbevents = `(function () {
	(window.__ran = window.__ran || []).push('fbevents');
	document.cookie = '_fbp=fb.1.pixel; path=/';
	navigator.sendBeacon('https://www.facebook.com/tr/?via=beacon-after', 'x');
	fetch('https://www.facebook.com/tr/?via=fetch-after', {mode: 'no-cors'}).catch(function () {});
	var x = new XMLHttpRequest();
	x.open('GET', 'https://www.facebook.com/tr/?via=xhr-after');
	x.send();
	try { new WebSocket('wss://connect.facebook.net/ws?via=after'); } catch (e) {}
	try { new EventSource('https://connect.facebook.net/es?via=after'); } catch (e) {}
})();
`

// guardNonce is the CSP nonce of the strict-CSP test page.
const guardNonce = "Q1NQLXRlc3Qtbm9uY2U="

// guardCSPContainer is a container for the strict-CSP pages: only what
// their policies allow once accepted, so any violation is the gateway's.
const guardCSPContainer = `(function () {
	var s = document.createElement('script');
	s.src = 'https://connect.facebook.net/en_US/fbevents.js?via=csp';
	document.head.appendChild(s);
	new Image().src = 'https://www.facebook.com/tr?via=csp-image';
	(window.__tm = window.__tm || []).push('container');
})();
`

// guardCSPPage is a page under a strict policy: the container held by the
// rewrite, and with a nonce an inline pixel snippet (held, then restored
// with the page's nonce).
func guardCSPPage(nonceAttr string, inline bool) string {
	snippet := ""
	if inline {
		snippet = `<script` + nonceAttr + `>window.fbq = window.fbq || function () {}; fbq('init', '1'); window.inlineRan = true;</script>`
	}
	return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Strict</title>
<script async src="https://www.googletagmanager.com/gtm.js?id=GTM-CSP"` + nonceAttr + `></script>
</head><body><h1>Strict</h1>` + snippet + `<p>Welcome.</p></body></html>`
}

// guardRecorder serves the tracker stand-ins and records every request.
type guardRecorder struct {
	mu       sync.Mutex
	requests []string
}

func (s *guardRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Host+r.URL.RequestURI())
	s.mu.Unlock()
	js := func(src string) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = fmt.Fprint(w, src)
	}
	switch {
	case r.Host == "www.googletagmanager.com" && r.URL.Path == "/gtm.js" && r.URL.Query().Get("id") == "GTM-CSP":
		js(guardCSPContainer)
	case r.Host == "www.googletagmanager.com" && r.URL.Path == "/gtm.js":
		js(guardContainer)
	case r.Host == "connect.facebook.net" && r.URL.Path == "/en_US/fbevents.js":
		js(guardFbevents)
	case strings.HasSuffix(r.URL.Path, ".js"):
		js(fmt.Sprintf("(window.__ran = window.__ran || []).push(%q);", r.Host+r.URL.Path))
	case r.URL.Path == "/es":
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = fmt.Fprint(w, "retry: 600000\n\n")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *guardRecorder) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = nil
	return r
}

type guardRig struct {
	base, reportOnly, blockUnknown string
	trackers                       *guardRecorder
	browser                        context.Context
}

const guardPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Shop</title>
<script async src="https://www.googletagmanager.com/gtm.js?id=GTM-TEST"></script>
<script src="/wp-content/plugins/pixel/pixel.js"></script>
</head><body><h1>Shop</h1><div id="slot"></div><p>Welcome.</p></body></html>`

// guardFramesetPage is a frameset document whose script adds a frame that
// loads a tracker: a <frame> loads only inside a frameset.
const guardFramesetPage = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Frames</title>
<script src="/frameset.js"></script>
</head><frameset id="fs" cols="50%,50%"><frame src="/blank"></frameset></html>`

const guardFramesetScript = `document.addEventListener('DOMContentLoaded', function () {
	var f = document.createElement('frame');
	f.src = 'https://www.youtube.com/embed/frameset';
	document.getElementById('fs').appendChild(f);
	window.__frameAdded = true;
});`

func newGuardRig(t *testing.T) *guardRig {
	t.Helper()
	testenv.Chromium(t)
	trackers := &guardRecorder{}
	rec := httptest.NewServer(trackers)
	t.Cleanup(rec.Close)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/wp-content/plugins/pixel/pixel.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = fmt.Fprint(w, guardPluginScript)
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprint(w, guardPage)
		case "/frameset":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprint(w, guardFramesetPage)
		case "/frameset.js":
			w.Header().Set("Content-Type", "text/javascript")
			_, _ = fmt.Fprint(w, guardFramesetScript)
		case "/blank":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprint(w, "<!DOCTYPE html><title>blank</title>")
		case "/base/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = fmt.Fprint(w, strings.Replace(guardPage, "<head>", `<head><base href="https://cdn.elsewhere.example/assets/">`, 1))
		case "/csp-nonce":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", "script-src 'nonce-"+guardNonce+"' 'strict-dynamic'; style-src 'nonce-"+guardNonce+"'; base-uri 'none'")
			_, _ = fmt.Fprint(w, guardCSPPage(` nonce="`+guardNonce+`"`, true))
		case "/csp-self":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", "script-src 'self' https://www.googletagmanager.com https://connect.facebook.net; style-src 'self'")
			_, _ = fmt.Fprint(w, guardCSPPage("", false))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(site.Close)
	gport, rport, tport, bport := testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t), testenv.FreePort(t)
	var names []string
	for _, h := range guardTrackerHosts {
		names = append(names, fmt.Sprintf("https://%s:%d", h, tport))
	}
	upstream := strings.TrimPrefix(site.URL, "http://")
	startCaddyWith(t, "\tskip_install_trust\n\tauto_https disable_redirects", fmt.Sprintf(`
http://:%[1]d {
	bind 127.0.0.1
	cookie_consent {
		rate_limit off
		proof_log {
			dir %[3]s
		}
	}
	reverse_proxy %[4]s
}
http://:%[2]d {
	bind 127.0.0.1
	cookie_consent {
		report_only
		rate_limit off
		proof_log {
			dir %[3]s
		}
	}
	reverse_proxy %[4]s
}
http://:%[7]d {
	bind 127.0.0.1
	cookie_consent {
		unknown_scripts block
		rate_limit off
		proof_log {
			dir %[3]s
		}
	}
	reverse_proxy %[4]s
}
%[5]s {
	bind 127.0.0.1
	tls internal
	reverse_proxy %[6]s {
		header_up Host {host}
	}
}
`, gport, rport, filepath.Join(t.TempDir(), "prooflog"), upstream, strings.Join(names, ", "), strings.TrimPrefix(rec.URL, "http://"), bport))
	for _, p := range []int{gport, rport, tport, bport} {
		testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", p))
	}
	var rules []string
	for _, h := range guardTrackerHosts {
		rules = append(rules, fmt.Sprintf("MAP %s:443 127.0.0.1:%d", h, tport))
	}
	return &guardRig{
		base:         fmt.Sprintf("http://127.0.0.1:%d", gport),
		reportOnly:   fmt.Sprintf("http://127.0.0.1:%d", rport),
		blockUnknown: fmt.Sprintf("http://127.0.0.1:%d", bport),
		trackers:     trackers,
		browser:      browsertest.Start(t, browsertest.Options{HostRules: rules}),
	}
}

// trackerRequests lists what the browser asked tracker hosts for, from its
// own log, and checks the loopback server saw no more than that.
func (r *guardRig) trackerRequests(tb *browsertest.Tab, seen int) []string {
	var out []string
	for _, u := range tb.Requests()[seen:] {
		for _, h := range guardTrackerHosts {
			if strings.Contains(u, "://"+h+"/") {
				out = append(out, u)
			}
		}
	}
	return out
}

func marketingOnly(reqs []string) []string {
	var out []string
	for _, u := range reqs {
		if !strings.Contains(u, "www.googletagmanager.com/gtm.js") {
			out = append(out, u)
		}
	}
	return out
}

func evalString(tb *browsertest.Tab, expr string) string {
	tb.T.Helper()
	return browsertest.Eval[string](tb, expr)
}

func TestGuardInABrowser(t *testing.T) {
	r := newGuardRig(t)

	// What the container and the plugin inject, and the requests the
	// pixel makes once it runs: all of it must start after "accept all".
	wantAfter := []string{
		"connect.facebook.net/en_US/fbevents.js?via=property", "connect.facebook.net/en_US/fbevents.js?via=plugin",
		"snap.licdn.com/li.lms-analytics/insight.min.js", "analytics.tiktok.com/i18n/pixel/events.js",
		"www.youtube.com/embed/prepend", "www.youtube.com/embed/adjacent",
		"www.googleadservices.com/pagead/conversion/1/?via=image", "px.ads.linkedin.com/collect?via=srcset",
		"www.facebook.com/tr?via=innerHTML", "www.facebook.com/tr?via=outerHTML", "ct.pinterest.com/v3/?via=source",
		"static.ads-twitter.com/poster.png", "static.ads-twitter.com/video.mp4", "analytics.twitter.com/audio.mp3",
		"www.facebook.com/plugins/embed", "www.facebook.com/plugins/object",
		"connect.facebook.net/link-preload.js", "connect.facebook.net/link-modulepreload.js", "connect.facebook.net/link-stylesheet.js",
		"px.ads.linkedin.com/collect?via=imagesrcset", "bat.bing.com/action/0?via=input", "www.facebook.com/tr?via=setAttribute",
		"www.facebook.com/tr?via=fragment", "www.facebook.com/tr?via=attr", "www.facebook.com/tr?via=setHTMLUnsafe", "www.facebook.com/tr?id=1&ev=PageView&via=plugin",
		"bat.bing.com/bat.js?via=write", "www.facebook.com/tr?via=write",
		"www.facebook.com/tr/?via=beacon-after", "www.facebook.com/tr/?via=fetch-after", "www.facebook.com/tr/?via=xhr-after",
		"connect.facebook.net/ws?via=after", "connect.facebook.net/es?via=after",
	}

	t.Run("before a decision, with statistics only, then accept all", func(t *testing.T) {
		tb := browsertest.NewTab(t, r.browser)
		tb.Open(r.base + "/")
		tb.WaitFor("the plugin", `(window.__tm || []).indexOf('plugin') >= 0`)
		settle()
		if got := r.trackerRequests(tb, 0); len(got) != 0 {
			t.Errorf("tracker requests before a decision: %v", got)
		}
		if got := r.trackers.take(); len(got) != 0 {
			t.Errorf("the tracker server saw requests before a decision: %v", got)
		}
		if c := evalString(tb, `document.cookie`); strings.Contains(c, "_fbp") {
			t.Errorf("a refused cookie was set before a decision: %s", c)
		}
		if n := browsertest.Eval[int](tb, `document.querySelectorAll('[data-consent-category]').length`); n < 3 {
			t.Errorf("only %d held elements carry the attribute contract", n)
		}

		// Statistics only: the container runs and injects everything.
		tb.Do(chromedp.Evaluate[chromedp.Void](`window.sameDocument = true`))
		tb.Do(chromedp.Click(chromedp.CSS(gwSettings)))
		tb.WaitFor("the settings", settingsLoaded)
		tb.Do(chromedp.Click(chromedp.CSS(`#cg-cat-statistics`)), chromedp.Click(chromedp.CSS(gwSave)))
		tb.WaitFor("the container", `(window.__tm || []).indexOf('container') >= 0`)
		settle()
		seen := r.trackerRequests(tb, 0)
		if got := marketingOnly(seen); len(got) != 0 {
			t.Errorf("marketing requests with statistics only: %v", got)
		}
		if got := marketingOnly(r.trackers.take()); len(got) != 0 {
			t.Errorf("the tracker server saw marketing requests with statistics only: %v", got)
		}
		if c := evalString(tb, `document.cookie`); strings.Contains(c, "_fbp") || strings.Contains(c, "_gcl_au") {
			t.Errorf("a refused cookie was set with statistics only: %s", c)
		}

		// Accept all, in the settings: every held tag starts, no reload.
		n := len(tb.Requests())
		tb.Do(chromedp.Click(chromedp.CSS(`#consentgate .cg-toggle`)))
		tb.WaitFor("the settings", settingsLoaded)
		for _, c := range []string{"preferences", "marketing", "unclassified"} {
			tb.Do(chromedp.Click(chromedp.CSS(`#cg-cat-` + c)))
		}
		tb.Do(chromedp.Click(chromedp.CSS(gwSave)))
		tb.WaitFor("the pixel", `(window.__ran || []).indexOf('fbevents') >= 0`)
		deadline := time.Now().Add(10 * time.Second)
		var missing, server []string
		for {
			// The browser's log has no WebSocket handshakes: the
			// server's has.
			server = append(server, r.trackers.take()...)
			got := strings.Join(append(r.trackerRequests(tb, n), server...), " ")
			missing = missing[:0]
			for _, w := range wantAfter {
				if !strings.Contains(got, w) {
					missing = append(missing, w)
				}
			}
			if len(missing) == 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		if len(missing) > 0 {
			t.Errorf("after accepting all, never requested: %v", missing)
		}
		if evalString(tb, `String(window.sameDocument)`) != "true" {
			t.Error("the page reloaded")
		}
		if got := evalString(tb, `(window.__tm || []).join(' ')`); !strings.Contains(got, "onload kept") {
			t.Errorf("the container's onload handler did not run on the restored script (%s)", got)
		}
		if c := evalString(tb, `document.cookie`); !strings.Contains(c, "_fbp=fb.1.pixel") {
			t.Errorf("the pixel could not set its cookie once accepted: %q", c)
		}
	})

	t.Run("a withdrawal tightens the guard at once", func(t *testing.T) {
		tb := browsertest.NewTab(t, r.browser)
		tb.Open(r.base + "/")
		tb.Do(chromedp.Click(chromedp.CSS(gwAcceptAll)))
		tb.WaitFor("the pixel", `(window.__ran || []).indexOf('fbevents') >= 0`)
		settle()
		n := len(tb.Requests())
		// What the banner script tells the guard before it reloads on a
		// withdrawal; the reload itself is left out, to look in between.
		tb.Do(chromedp.Evaluate[chromedp.Void](`document.getElementById('consentgate').dispatchEvent(new CustomEvent('consentgate:consent', {detail: 'necessary statistics'}));
			new Image().src = 'https://www.facebook.com/tr?via=after-withdrawal';
			document.body.appendChild(document.createElement('iframe')).src = 'https://www.youtube.com/embed/after-withdrawal';
			document.cookie = '_gcl_au=after-withdrawal; path=/';`))
		settle()
		if got := r.trackerRequests(tb, n); len(got) != 0 {
			t.Errorf("requests after the withdrawal: %v", got)
		}
		if c := evalString(tb, `document.cookie`); strings.Contains(c, "after-withdrawal") {
			t.Errorf("a withdrawn cookie was set: %s", c)
		}
		r.trackers.take()
	})

	t.Run("the guard never breaks the page", func(t *testing.T) {
		tb := browsertest.NewTab(t, r.browser)
		tb.Open(r.base + "/")
		// First-party and unknown content behave as without the guard;
		// the page's own errors stay its own; a hostile value does not
		// throw from the guard.
		got := evalString(tb, `(function () {
			var out = [];
			var i = document.createElement('img');
			i.src = '/own.png';
			out.push(i.getAttribute('src'));
			var s = document.createElement('script');
			s.src = 'https://cdn.unknown.example/lib.js';
			out.push(s.getAttribute('src'));
			try { document.body.appendChild(null); } catch (e) { out.push(e.name); }
			var evil = {toString: function () { throw new Error('boom'); }};
			try { i.setAttribute('src', evil); } catch (e) { out.push('page:' + e.message); }
			document.cookie = 'own_pref=1; path=/';
			out.push(String(document.cookie.indexOf('own_pref=1') >= 0));
			var held = document.createElement('img');
			held.src = 'https://www.facebook.com/tr?via=contract';
			out.push(held.getAttribute('data-consent-src') + ' ' + held.getAttribute('data-consent-category') + ' ' + held.getAttribute('data-consent-vendor') + ' ' + held.hasAttribute('src'));
			return out.join('|');
		})()`)
		want := "/own.png|https://cdn.unknown.example/lib.js|TypeError|page:boom|false|https://www.facebook.com/tr?via=contract marketing meta-pixel false"
		if got != want {
			t.Errorf("got  %s\nwant %s", got, want)
		}
		r.trackers.take()
	})

	t.Run("unknown_scripts block holds unknown third-party scripts, not first-party ones", func(t *testing.T) {
		tb := browsertest.NewTab(t, r.browser)
		// The gateway sees the page as 127.0.0.1; a first-party script is
		// one on the page's own registrable domain.
		tb.Open(r.blockUnknown + "/")
		got := evalString(tb, `(function () {
			var out = [];
			[location.origin + '/own.js', 'https://cdn.unknown.example/lib.js', 'https://www.facebook.com/tr'].forEach(function (u) {
				var s = document.createElement('script');
				s.src = u;
				out.push(s.getAttribute('data-consent-category') || 'live');
				var i = document.createElement('img');
				i.src = u;
				out.push(i.getAttribute('data-consent-category') || 'live');
			});
			return out.join(' ');
		})()`)
		if want := "live live unclassified live marketing marketing"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
		r.trackers.take()
	})

	t.Run("report_only logs what it would hold and holds nothing", func(t *testing.T) {
		var mu sync.Mutex
		var logged, requests []string
		ctx, cancel := chromedp.NewContext(r.browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(func(ev any) {
			mu.Lock()
			defer mu.Unlock()
			switch e := ev.(type) {
			case *runtime.EventConsoleAPICalled:
				for _, a := range e.Args {
					logged = append(logged, string(a.Value))
				}
			case *network.EventRequestWillBeSent:
				requests = append(requests, e.Request.URL)
			}
		}))
		t.Cleanup(cancel)
		tctx, tcancel := context.WithTimeout(ctx, 90*time.Second)
		t.Cleanup(tcancel)
		tb := &browsertest.Tab{T: t, Ctx: tctx}
		tb.Do(chromedp.Navigate(r.reportOnly + "/"))
		tb.WaitFor("the pixel", `(window.__ran || []).indexOf('fbevents') >= 0`)
		settle()
		mu.Lock()
		reqs := strings.Join(requests, " ")
		mu.Unlock()
		for _, w := range []string{"connect.facebook.net/en_US/fbevents.js?via=plugin", "www.facebook.com/tr?id=1&ev=PageView&via=plugin"} {
			if !strings.Contains(reqs, w) {
				t.Errorf("report_only held %s", w)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if !slices.ContainsFunc(logged, func(s string) bool {
			return strings.Contains(s, "would hold <script src> from connect.facebook.net (marketing, meta-pixel)")
		}) {
			t.Errorf("report_only logged no would-hold line: %v", logged)
		}
		r.trackers.take()
	})
}

// TestGuardUnderStrictCSP: under script-src 'nonce-…' 'strict-dynamic' and
// under script-src 'self', the banner works, the trackers are held and
// restored, and Chromium reports no CSP violation.
func TestGuardUnderStrictCSP(t *testing.T) {
	r := newGuardRig(t)
	for _, tc := range []struct {
		path   string
		inline bool
	}{{"/csp-nonce", true}, {"/csp-self", false}} {
		t.Run(tc.path, func(t *testing.T) {
			tb := browsertest.NewTab(t, r.browser)
			if _, err := chromedp.Call(tb.Ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
				Source: `window.__csp = []; document.addEventListener('securitypolicyviolation', function (e) { window.__csp.push(e.effectiveDirective + ' ' + e.blockedURI); }, true);`,
			}); err != nil {
				t.Fatal(err)
			}
			tb.Open(r.base + tc.path)
			settle()
			if got := r.trackerRequests(tb, 0); len(got) != 0 {
				t.Errorf("tracker requests before a decision: %v", got)
			}
			if tc.inline && evalString(tb, `String(window.inlineRan)`) == "true" {
				t.Error("the inline pixel ran before a decision")
			}
			tb.Do(chromedp.Evaluate[chromedp.Void](`window.sameDocument = true`), chromedp.Click(chromedp.CSS(gwAcceptAll)))
			tb.WaitFor("the pixel", `(window.__ran || []).indexOf('fbevents') >= 0`)
			settle()
			reqs := strings.Join(r.trackerRequests(tb, 0), " ")
			for _, w := range []string{"www.googletagmanager.com/gtm.js?id=GTM-CSP", "connect.facebook.net/en_US/fbevents.js?via=csp", "www.facebook.com/tr?via=csp-image"} {
				if !strings.Contains(reqs, w) {
					t.Errorf("not restored: %s (requests: %s)", w, reqs)
				}
			}
			if tc.inline && evalString(tb, `String(window.inlineRan)`) != "true" {
				t.Error("the inline pixel was not restored")
			}
			if evalString(tb, `String(window.sameDocument)`) != "true" {
				t.Error("the page reloaded")
			}
			if got := evalString(tb, `window.__csp.join('; ')`); got != "" {
				t.Errorf("CSP violations: %s", got)
			}
			r.trackers.take()
		})
	}
}

// TestBannerAssetsIgnoreBase: a page's <base href> pointing elsewhere moves
// neither the banner's assets nor its endpoint (issue 13, item 11).
func TestBannerAssetsIgnoreBase(t *testing.T) {
	r := newGuardRig(t)
	tb := browsertest.NewTab(t, r.browser)
	tb.Open(r.base + "/base/")
	if got := evalString(tb, `getComputedStyle(document.querySelector('#consentgate .cg-banner')).position`); got != "fixed" {
		t.Errorf("the banner's stylesheet did not apply: position %q", got)
	}
	for _, u := range tb.Requests() {
		if strings.Contains(u, "cdn.elsewhere.example") && strings.Contains(u, "/.well-known/consent/") {
			t.Errorf("a banner asset was asked of the base's host: %s", u)
		}
	}
	tb.Do(chromedp.Click(chromedp.CSS(gwAcceptAll)))
	tb.WaitFor("the pixel", `(window.__ran || []).indexOf('fbevents') >= 0`)
	if got := evalString(tb, `document.querySelector('#consentgate').getAttribute('data-cg-decided')`); got != "true" {
		t.Errorf("the decision did not reach the endpoint: data-cg-decided=%q", got)
	}
	r.trackers.take()
}

// TestGuardHoldsAFrameInAFrameset: a <frame> a script adds to a frameset
// is held before a decision (the document has no body, so no banner), and
// loads once the visitor has accepted on another page.
func TestGuardHoldsAFrameInAFrameset(t *testing.T) {
	r := newGuardRig(t)
	tb := browsertest.NewTab(t, r.browser)
	tb.Do(chromedp.Navigate(r.base + "/frameset"))
	tb.WaitFor("the frame", `window.__frameAdded === true`)
	settle()
	if got := r.trackerRequests(tb, 0); len(got) != 0 {
		t.Errorf("tracker requests before a decision: %v", got)
	}
	if got := evalString(tb, `document.querySelectorAll('frame')[1].getAttribute('data-consent-category') || ''`); got != "marketing" {
		t.Errorf("the added frame carries data-consent-category %q, want marketing", got)
	}

	tb.Open(r.base + "/")
	tb.Do(chromedp.Click(chromedp.CSS(gwAcceptAll)))
	tb.WaitFor("the pixel", `(window.__ran || []).indexOf('fbevents') >= 0`)
	n := len(tb.Requests())
	tb.Do(chromedp.Navigate(r.base + "/frameset"))
	tb.WaitFor("the frame", `window.__frameAdded === true`)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(strings.Join(r.trackerRequests(tb, n), " "), "www.youtube.com/embed/frameset") {
		if time.Now().After(deadline) {
			t.Fatalf("after accepting all, the frame never loaded (requests: %v)", r.trackerRequests(tb, n))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
