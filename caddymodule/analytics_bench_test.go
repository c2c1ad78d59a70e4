package caddymodule

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// BenchmarkAnalyticsMaskRequest measures what masking adds to an analytics
// request: a GA4 /g/collect hit with _uip in its ~600-byte query and the
// forwarding headers a client may send (target: under 2 µs).
//
//	go test ./caddymodule -run '^$' -bench AnalyticsMask -benchmem
func BenchmarkAnalyticsMaskRequest(b *testing.B) {
	a := &AnalyticsRoute{Ensure: true}
	a.MatchRaw = nil
	if err := a.provisionMasking(); err != nil {
		b.Fatal(err)
	}
	q := url.Values{
		"v": {"2"}, "tid": {"G-DEMO12345"}, "gtm": {"45je4b20v9102477387za200"}, "_p": {"1700000000000"},
		"gcd": {"13l3l3l3l1"}, "npa": {"0"}, "dma": {"0"}, "cid": {"1234567890.1700000000"}, "ul": {"nl-nl"},
		"sr": {"1920x1080"}, "uaa": {"x86"}, "uab": {"64"}, "uafvl": {"Chromium;131.0.6778.85|Not_A%20Brand;24.0.0.0"},
		"uamb": {"0"}, "uam": {""}, "uap": {"Linux"}, "uapv": {"6.1.0"}, "uaw": {"0"}, "are": {"1"}, "frm": {"0"},
		"pscdl": {"noapi"}, "_eu": {"AAI"}, "_s": {"1"}, "sid": {"1700000000"}, "sct": {"1"}, "seg": {"0"},
		"dl": {"https://www.korenschoof.example/zuurdesem-voor-beginners/"}, "dr": {"https://www.google.com/"},
		"dt": {"Zuurdesem voor beginners"}, "en": {"page_view"}, "_fv": {"1"}, "_ss": {"1"}, "tfd": {"1234"},
		"_uip": {"203.0.113.77"},
	}.Encode()
	ctx := context.WithValue(context.Background(), caddyhttp.VarsCtxKey, map[string]any{})
	r, _ := http.NewRequestWithContext(ctx, "GET", "/g/collect?"+q, nil)
	xff := []string{"203.0.113.77"}
	b.ReportAllocs()
	for b.Loop() {
		// Put back what the previous round masked.
		r.URL.RawQuery = q
		r.RemoteAddr = "203.0.113.77:51234"
		r.Header["X-Forwarded-For"] = xff
		caddyhttp.SetVar(ctx, caddyhttp.ClientIPVarKey, "203.0.113.77")
		if err := a.maskRequest(r); err != nil {
			b.Fatal(err)
		}
	}
}
