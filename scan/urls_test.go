package scan

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
)

func TestResolveNormalisesLinksSoEachPageHasOneForm(t *testing.T) {
	base, _ := url.Parse("https://Example.COM:443/dir/page?x=1")
	tests := []struct {
		ref, want string
	}{
		{"other", "https://example.com/dir/other"},
		{"/a#frag", "https://example.com/a"},
		{"../up", "https://example.com/up"},
		{"https://EXAMPLE.com:443", "https://example.com/"},
		{"http://example.com:80/p", "http://example.com/p"},
		{"http://example.com:8080/p", "http://example.com:8080/p"},
		{"//cdn.example.net/x.js", "https://cdn.example.net/x.js"},
		{"https://user:pw@example.com/p", "https://example.com/p"},
		{"?q=2", "https://example.com/dir/page?q=2"},
		{"  /spaced  ", "https://example.com/spaced"},
		{"https://example.com./p", "https://example.com/p"},
		{"", ""},
		{"#top", ""},
		{"mailto:a@example.com", ""},
		{"javascript:void(0)", ""},
		{"tel:+31", ""},
		{"data:text/html,hi", ""},
		{"ftp://example.com/f", ""},
		{"http://[::1", ""},
		{"http://", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got := ""
			if u := resolve(base, tt.ref); u != nil {
				got = u.String()
			}
			if got != tt.want {
				t.Errorf("resolve(%q) = %q, want %q", tt.ref, got, tt.want)
			}
		})
	}
}

func TestSiteComparesRegistrableDomains(t *testing.T) {
	tests := []struct {
		host, want string
	}{
		{"www.example.com", "example.com"},
		{"a.b.example.co.uk", "example.co.uk"},
		{"WWW.Example.COM.", "example.com"},
		{"cdn.unknown-tracker.test", "unknown-tracker.test"},
		{"127.0.0.1", "127.0.0.1"},
		{"[::1]", "::1"},
		{"localhost", "localhost"},
		{"co.uk", "co.uk"},
		{"foo.github.io", "foo.github.io"},
	}
	for _, tt := range tests {
		if got := site(tt.host); got != tt.want {
			t.Errorf("site(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
}

func TestParseSetCookieKeepsAttributesNeverTheValue(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		line string
		ok   bool
		want Cookie
	}{
		{"host-only session", "sid=" + secret + "; Path=/; HttpOnly", true,
			Cookie{Name: "sid", Domain: "www.example.com", HostOnly: true, Path: "/", Session: true, HTTPOnly: true, Source: "set-cookie"}},
		{"domain and max-age", "_ga=" + secret + "; Domain=.example.com; Max-Age=63072000; Secure; SameSite=None", true,
			Cookie{Name: "_ga", Domain: ".example.com", Secure: true, SameSite: "None", Source: "set-cookie"}},
		{"expires", "pref=" + secret + "; Expires=Wed, 01 Jan 2031 00:00:00 GMT; SameSite=Strict", true,
			Cookie{Name: "pref", Domain: "www.example.com", HostOnly: true, Expires: "2031-01-01T00:00:00Z", SameSite: "Strict", Source: "set-cookie"}},
		{"deleted by max-age", "old=; Max-Age=0", false, Cookie{}},
		{"deleted by a past expiry", "old=; Expires=Thu, 01 Jan 1970 00:00:00 GMT", false, Cookie{}},
		{"invalid but named", "we{rd=" + secret, true, Cookie{Name: "we{rd", Domain: "www.example.com", HostOnly: true, Session: true, Source: "set-cookie"}},
		{"nameless", "=" + secret, false, Cookie{}},
		{"garbage", "\x00\x01", false, Cookie{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseSetCookie(tt.line, "www.example.com", now)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if got.MaxAge != nil {
				if *got.MaxAge != 63072000 {
					t.Errorf("max-age %d", *got.MaxAge)
				}
				got.MaxAge = nil
			}
			if got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			if strings.Contains(got.Name+got.Domain+got.Path+got.Expires, secret) {
				t.Error("the value leaked into the attributes")
			}
		})
	}
}

func TestBrowserCookieKeepsAttributesNeverTheValue(t *testing.T) {
	c := browserCookie(&network.Cookie{Name: "js_pref", Value: secret, Domain: "site.test", Path: "/", Expires: 1767225600, SameSite: network.CookieSameSiteLax})
	want := Cookie{Name: "js_pref", Domain: "site.test", HostOnly: true, Path: "/", Expires: "2026-01-01T00:00:00Z", SameSite: "Lax", Source: "browser"}
	if c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
	if c := browserCookie(&network.Cookie{Name: "s", Domain: ".site.test", Session: true, Expires: -1}); c.HostOnly || !c.Session || c.Expires != "" {
		t.Errorf("domain session cookie = %+v", c)
	}
}

func TestKindOfMapsRequestTypes(t *testing.T) {
	tests := map[network.ResourceType]Kind{
		network.ResourceTypeScript:      KindScript,
		network.ResourceTypeImage:       KindImage,
		network.ResourceTypeXHR:         KindXHR,
		network.ResourceTypeFetch:       KindXHR,
		network.ResourceTypeEventSource: KindXHR,
		network.ResourceTypeDocument:    KindIframe,
		network.ResourceTypeStylesheet:  KindStylesheet,
		network.ResourceTypeFont:        KindFont,
		network.ResourceTypePing:        KindBeacon,
		network.ResourceTypeMedia:       KindMedia,
		network.ResourceTypeManifest:    KindOther,
	}
	for typ, want := range tests {
		if got := kindOf(typ); got != want {
			t.Errorf("kindOf(%s) = %s, want %s", typ, got, want)
		}
	}
}

func TestHumanSeconds(t *testing.T) {
	for s, want := range map[int]string{63072000: "2 years", 86400: "1 day", 7776000: "90 days", 5400: "90 minutes", 61: "61 seconds"} {
		if got := humanSeconds(s); got != want {
			t.Errorf("humanSeconds(%d) = %q, want %q", s, got, want)
		}
	}
}
