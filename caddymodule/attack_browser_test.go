package caddymodule

import (
	"context"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/text/encoding/unicode"

	"github.com/consentgate/consentgate/internal/browsertest"
	"github.com/consentgate/consentgate/internal/testenv"
)

// attackPage is a page that loads a tracker in Chromium when served
// directly, by markup, headers or encodings a naive rewriter misreads.
type attackPage struct {
	name    string
	headers []string // raw header lines
	chunks  []string // body pieces (see rawUpstream)
	// check, when set, must be true through the gateway (that the page
	// still works, not only that nothing loaded).
	check string
}

// trackerLoaded is the expression that tells, in the page, whether a
// tracker's inline code ran; requests to tracker hosts are recorded by the
// stand-ins.
const trackerLoaded = `!!(window.__trackers && window.__trackers.length) || typeof window.fbq === 'function'`

// inlinePixel is the Meta pixel's inline snippet, cut to what identifies
// it: the rules hold inline scripts calling fbq(.
const inlinePixel = `window.fbq=function(){};fbq('init','1');`

func utf16LE(s string) string {
	b, _ := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().String(s)
	return b
}

// attackPages holds one page per class of issue 13 that the gateway
// closes; each must load its tracker when served directly.
var attackPages = []attackPage{
	{name: "no Content-Type, header flushed first",
		chunks: []string{"", "<!DOCTYPE html><script src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script>"}},
	{name: "unknown/unknown", headers: []string{"Content-Type: unknown/unknown"},
		chunks: []string{"<html><script src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script>"}},
	{name: "text/plain, text/html", headers: []string{"Content-Type: text/plain, text/html"},
		chunks: []string{"<script src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script>"}},
	{name: "two Content-Type headers", headers: []string{"Content-Type: text/plain", "Content-Type: text/html"},
		chunks: []string{"<script src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script>"}},
	{name: "garbage Content-Type, sniffed", headers: []string{"Content-Type: text/html garbage"},
		chunks: []string{"\v<html><script src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script>"}},
	{name: "UTF-16 by its BOM under a UTF-8 header", headers: []string{"Content-Type: text/html; charset=utf-8"},
		chunks: []string{utf16LE("<html><body><script src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script></body></html>")}},
	{name: "UTF-16 by the label unicodefeff", headers: []string{"Content-Type: text/html; charset=unicodefeff"},
		chunks: []string{utf16LE("<html><body><script src=\"https://www.googletagmanager.com/gtag/js?id=G-1\"></script></body></html>")[2:]}},
	{name: "ISO-2022-JP by a meta hides an end tag", headers: []string{"Content-Type: text/html"},
		chunks: []string{"<html><head><meta charset=\"iso-2022-jp\"></head><body><script>var s=\"\x1b$B</script>\x1b(B\";" + inlinePixel + "</script></body></html>"}},
	{name: "ISO-2022-JP by a meta past 1024 bytes", headers: []string{"Content-Type: text/html"},
		chunks: []string{"<html><head><title>" + strings.Repeat("x", 1100) + "</title><meta charset=\"iso-2022-jp\"></head><body><script>var s=\"\x1b$B</script>\x1b(B\";" + inlinePixel + "</script></body></html>"}},
	// Class 4: every URL a page loads without a click.
	page4("picture source srcset", `<picture><source srcset="https://www.facebook.com/tr?id=1"><img src="/a.png"></picture>`),
	page4("video poster", `<video poster="https://www.facebook.com/tr?id=1"></video>`),
	page4("audio src", `<audio src="https://www.facebook.com/tr?id=1" preload="auto"></audio>`),
	page4("input type=image", `<input type="image" src="https://www.facebook.com/tr?id=1">`),
	page4("image tag", `<image src="https://www.facebook.com/tr?id=1">`),
	page4("body background", `<body background="https://www.facebook.com/tr?id=1"><p>x</p></body>`),
	page4("style attribute", `<div style="width:10px;height:10px;background:url('https://www.facebook.com/tr?id=1')"></div>`),
	page4("style sheet @import", `<style>@import url("https://fonts.googleapis.com/css?family=Roboto");</style><p>x</p>`),
	page4("link preload imagesrcset", `<link rel="preload" as="image" imagesrcset="https://www.facebook.com/tr?id=1 1x">`),
	page4("frame", `<frameset><frame src="https://www.youtube.com/embed/x"></frameset>`),
	page4("data: frame", `<iframe src="data:text/html,%3Cscript%20src=%22https://www.googletagmanager.com/gtag/js?id=G-1%22%3E%3C/script%3E"></iframe>`),
	page4("srcdoc", `<iframe srcdoc="<script src=&quot;https://www.googletagmanager.com/gtag/js?id=G-1&quot;></script>"></iframe>`),
	page4("data: script", `<script src="data:text/javascript,window.fbq=function(){};fbq('init','1')"></script>`),
	page4("base on a tracker host", `<base href="https://www.facebook.com/"><img src="tr?id=1">`),
	// Class 5: URLs read as the WHATWG URL parser reads them.
	page4("fullwidth host", `<script src="https://ｗｗｗ．ｇｏｏｇｌｅｔａｇｍａｎａｇｅｒ．ｃｏｍ/gtag/js?id=G-1"></script>`),
	page4("ideographic full stops", `<script src="https://www。googletagmanager。com/gtag/js?id=G-1"></script>`),
	page4("percent-encoded host", `<script src="https://www.%67oogletagmanager.com/gtag/js?id=G-1"></script>`),
	page4("tab and newline in the URL", "<script src=\"ht\ttps://www.google\ntagmanager.com/gtag/js?id=G-1\"></script>"),
	page4("backslashes", `<script src="https:\\www.googletagmanager.com\gtag/js?id=G-1"></script>`),
	page4("http:host on an http page", `<script src="https:www.googletagmanager.com/gtag/js?id=G-1"></script>`),
	page4("soft hyphen in the host", `<script src="https://www.google&shy;tagmanager.com/gtag/js?id=G-1"></script>`),
	// Class 7: an XHTML page stays well-formed, with the banner in it.
	{name: "XHTML page", headers: []string{"Content-Type: application/xhtml+xml"},
		chunks: []string{`<?xml version="1.0" encoding="UTF-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title><script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></head><body><p>x</p></body></html>`},
		check:  `!document.querySelector('parsererror') && !!document.getElementById('consentgate')`},
	// Class 6: scripts a performance plugin delays, started by a loader
	// like the plugin's (these stand-ins are first-party and run).
	page4("WP Rocket delayed script", `<script type="rocketlazyloadscript" data-rocket-src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>`+delayLoader),
	page4("LiteSpeed delayed script", `<script type="litespeed/javascript" data-src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>`+delayLoader),
	page4("Rocket Loader script", `<script type="8f3a2c1b7d8e9f0a1b2c3d4e-text/javascript" src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>`+delayLoader),
	// Class 3: foreign content.
	page4("svg style hides a breakout img", `<svg><style><img src="https://www.facebook.com/tr?id=1"></style></svg>`),
	page4("svg script href", `<svg><script href="https://www.googletagmanager.com/gtag/js?id=G-1"></script></svg>`),
	page4("svg image href", `<svg><image href="https://www.facebook.com/tr?id=1" width="1" height="1"/></svg>`),
	page4("svg script text", `<svg><script>window.fbq=function(){};f&#98;q('init','1')</script></svg>`),
	page4("meta refresh", `<meta http-equiv="refresh" content="0;url=https://www.facebook.com/tr?id=1">`),
}

// delayLoader starts delayed scripts as the plugins' loaders do: a new
// script element with the kept URL, for each marker it knows.
const delayLoader = `<script src="/delay-loader.js"></script>`

func page4(name, body string) attackPage {
	return attackPage{name: name, headers: []string{"Content-Type: text/html; charset=utf-8"}, chunks: []string{"<!DOCTYPE html>" + body}}
}

// TestAttackPagesInABrowser loads each attack page in headless Chromium,
// first straight from the origin (the tracker must load: the attack is
// real), then through the gateway (nothing may load before a decision).
func TestAttackPagesInABrowser(t *testing.T) {
	up := startRawUpstream(t)
	gateway, trackers, browser := standInGateway(t, up.addr, "flush_interval -1")

	var lastTab *browsertest.Tab
	// load opens u and watches for a tracker: until one shows (at most
	// 10 s), or for wait when wait is set (through the gateway: as long
	// as the tracker took to show served directly, and more).
	load := func(t *testing.T, u string, wait time.Duration) (bool, []string, time.Duration) {
		tab := browsertest.NewTab(t, browser)
		lastTab = tab
		trackers.take()
		start := time.Now()
		if err := chromedp.Do(tab.Ctx, chromedp.Navigate(u)); err != nil {
			t.Fatalf("navigating to %s: %v", u, err)
		}
		var ran bool
		var reqs []string
		for {
			time.Sleep(100 * time.Millisecond)
			// A meta refresh may be navigating: an error counts as not yet.
			ok, err := chromedp.Run(tab.Ctx, chromedp.Evaluate[bool](trackerLoaded))
			ran = ran || err == nil && ok
			reqs = append(reqs, trackers.take()...)
			elapsed := time.Since(start)
			if wait == 0 && (ran || len(reqs) > 0) || wait == 0 && elapsed > 10*time.Second || wait > 0 && elapsed > wait {
				return ran, reqs, elapsed
			}
		}
	}
	up.add("/delay-loader.js", rawCase{headers: []string{"Content-Type: text/javascript"}, chunks: []string{`
document.querySelectorAll('script[type="rocketlazyloadscript"],script[type="litespeed/javascript"],script[type$="-text/javascript"]').forEach(function (o) {
	var s = document.createElement('script');
	s.src = o.getAttribute('data-rocket-src') || o.getAttribute('data-src') || o.getAttribute('src');
	document.head.appendChild(s);
});`}})
	for i, p := range attackPages {
		path := fmt.Sprintf("/attack/%d", i)
		up.add(path, rawCase{headers: p.headers, chunks: p.chunks})
		t.Run(p.name, func(t *testing.T) {
			ran, reqs, took := load(t, "http://"+up.addr+path, 0)
			if !ran && len(reqs) == 0 {
				t.Fatalf("served directly, the page loads no tracker: not an attack")
			}
			ran, reqs, _ = load(t, gateway+path, max(3*took, time.Second))
			if ran || len(reqs) > 0 {
				t.Errorf("through the gateway a tracker loaded: ran %v, requests %q", ran, reqs)
			}
			if p.check != "" {
				if ok := browsertest.Eval[bool](lastTab, p.check); !ok {
					t.Errorf("through the gateway, %s is false", p.check)
				}
			}
		})
	}
}

// standInGateway starts a bare cookie_consent in front of upstream (a
// loopback address; proxyOptions go into its reverse_proxy block), the
// tracker stand-ins behind the real tracker host names, and Chromium with
// those names mapped to loopback. It returns the gateway's base URL.
func standInGateway(t *testing.T, upstream, proxyOptions string) (string, *trackerStandIns, context.Context) {
	t.Helper()
	testenv.Chromium(t)
	trackers := &trackerStandIns{}
	gport, tport := testenv.FreePort(t), testenv.FreePort(t)
	var names, hostRules []string
	for _, h := range trackerHosts {
		names = append(names, fmt.Sprintf("https://%s:%d", h, tport))
		hostRules = append(hostRules, fmt.Sprintf("MAP %s:443 127.0.0.1:%d", h, tport))
	}
	rec := startStandInServer(t, trackers)
	startCaddyWith(t, "\tskip_install_trust\n\tauto_https disable_redirects", fmt.Sprintf(`
http://:%[1]d {
	bind 127.0.0.1
	cookie_consent {
		rate_limit off
		proof_log {
			dir %[2]s
		}
	}
	reverse_proxy %[3]s {
		%[6]s
	}
}
%[4]s {
	bind 127.0.0.1
	tls internal
	reverse_proxy %[5]s {
		header_up Host {host}
	}
}
`, gport, filepath.Join(t.TempDir(), "prooflog"), upstream, strings.Join(names, ", "), rec, proxyOptions))
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", gport))
	testenv.WaitListening(t, fmt.Sprintf("127.0.0.1:%d", tport))
	browser := browsertest.Start(t, browsertest.Options{HostRules: hostRules})
	return fmt.Sprintf("http://127.0.0.1:%d", gport), trackers, browser
}

// startStandInServer serves the tracker stand-ins on loopback and returns
// their address.
func startStandInServer(t *testing.T, s *trackerStandIns) string {
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}
