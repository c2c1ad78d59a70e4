package ipmask

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
)

var (
	clientV4 = netip.MustParseAddr("198.51.100.23")
	clientV6 = netip.MustParseAddr("2001:db8:cafe:1::23")
)

var (
	gaParams     = ParamMasker{Names: []string{GA4Param, UniversalAnalyticsParam}}
	matomoParams = ParamMasker{Names: []string{MatomoParam}}
)

func ensuring(p ParamMasker) ParamMasker {
	p.Ensure = true
	return p
}

type paramCase struct {
	name    string
	p       ParamMasker
	in      string
	want    string
	changed bool
}

var queryCases = []paramCase{
	{"empty query stays empty", gaParams, "", "", false},
	{"query without IP parameters is untouched", gaParams,
		"v=2&tid=G-ABC123&cid=1.2&dl=https%3A%2F%2Fexample.com%2F%3Fa%3D1", "v=2&tid=G-ABC123&cid=1.2&dl=https%3A%2F%2Fexample.com%2F%3Fa%3D1", false},
	{"IPv4 value loses its last octet", gaParams,
		"v=2&_uip=203.0.113.77&en=page_view", "v=2&_uip=203.0.113.0&en=page_view", true},
	{"UA uip is masked too", gaParams,
		"v=1&uip=203.0.113.77", "v=1&uip=203.0.113.0", true},
	{"IPv6 value keeps its /48", gaParams,
		"_uip=2001:db8:1:2::1", "_uip=2001:db8:1::", true},
	{"percent-encoded IPv6 value is decoded before masking", gaParams,
		"a=1&_uip=2001%3Adb8%3A1%3A2%3A%3A1&b=2", "a=1&_uip=2001:db8:1::&b=2", true},
	{"mapped value comes out as IPv4", gaParams,
		"_uip=%3A%3Affff%3A203.0.113.77", "_uip=203.0.113.0", true},
	{"value with port and spaces is masked, not trusted", gaParams,
		"_uip=+203.0.113.77%3A8080+", "_uip=203.0.113.0", true},
	{"bracketed value with zone is masked", gaParams,
		"_uip=%5Bfe80%3A%3A1%25eth0%5D", "_uip=fe80::", true},
	{"repeated parameters are all masked", matomoParams,
		"cip=203.0.113.77&idsite=1&cip=192.0.2.200&cip=2001:db8:1:2::1", "cip=203.0.113.0&idsite=1&cip=192.0.2.0&cip=2001:db8:1::", true},
	{"garbage value becomes the masked client", matomoParams,
		"idsite=1&cip=not-an-ip&rec=1", "idsite=1&cip=198.51.100.0&rec=1", true},
	{"list of addresses is garbage", matomoParams,
		"cip=203.0.113.77%2C+192.0.2.1", "cip=198.51.100.0", true},
	{"empty value becomes the masked client", matomoParams,
		"cip=&rec=1", "cip=198.51.100.0&rec=1", true},
	{"bare name gets the masked client as value", matomoParams,
		"rec=1&cip", "rec=1&cip=198.51.100.0", true},
	{"overlong value becomes the masked client", matomoParams,
		"cip=203.0.113.77" + string(make([]byte, 200)), "cip=198.51.100.0", true},
	{"already masked value keeps its bytes", matomoParams,
		"cip=203.0.113.0&rec=1", "cip=203.0.113.0&rec=1", false},
	{"already masked encoded value keeps its bytes", gaParams,
		"_uip=2001%3Adb8%3A1%3A%3A", "_uip=2001%3Adb8%3A1%3A%3A", false},
	{"uppercase IPv6 is rewritten canonically", gaParams,
		"_uip=2001:DB8:1::", "_uip=2001:db8:1::", true},
	{"other parameters keep odd bytes exactly", matomoParams,
		"a=%zz&b=+&c&&d==;e&%E2%9C%93=%2B&cip=203.0.113.77&z=%7E~",
		"a=%zz&b=+&c&&d==;e&%E2%9C%93=%2B&cip=203.0.113.0&z=%7E~", true},
	{"separator other than ampersand is part of the value", matomoParams,
		"cip=203.0.113.77;x=1", "cip=198.51.100.0", true},
	{"names are case-sensitive", matomoParams, "CIP=203.0.113.77", "CIP=203.0.113.77", false},
	{"array names are not the parameter", matomoParams, "cip[]=203.0.113.77", "cip[]=203.0.113.77", false},
	{"longer names are not the parameter", matomoParams, "xcip=203.0.113.77&cipx=1", "xcip=203.0.113.77&cipx=1", false},
	{"no names means nothing to do", ParamMasker{}, "cip=203.0.113.77", "cip=203.0.113.77", false},
	{"empty names are ignored", ParamMasker{Names: []string{""}}, "=203.0.113.77", "=203.0.113.77", false},

	{"ensure appends to an empty query", ensuring(matomoParams), "", "cip=198.51.100.0", true},
	{"ensure appends with an ampersand", ensuring(matomoParams), "idsite=1&rec=1", "idsite=1&rec=1&cip=198.51.100.0", true},
	{"ensure reuses a trailing ampersand", ensuring(matomoParams), "idsite=1&", "idsite=1&cip=198.51.100.0", true},
	{"ensure appends the first name", ensuring(gaParams), "v=2", "v=2&_uip=198.51.100.0", true},
	{"ensure leaves a present parameter alone", ensuring(gaParams), "uip=203.0.113.0", "uip=203.0.113.0", false},
	{"ensure still masks a present parameter", ensuring(gaParams), "uip=203.0.113.9", "uip=203.0.113.0", true},
	{"ensure escapes the name", ensuring(ParamMasker{Names: []string{"my ip"}}), "a=1", "a=1&my+ip=198.51.100.0", true},
	{"ensure with empty first name does nothing", ensuring(ParamMasker{Names: []string{""}}), "a=1", "a=1", false},
}

func TestMaskQueryParams(t *testing.T) {
	for _, tc := range queryCases {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := tc.p.MaskQueryParams(tc.in, clientV4)
			if got != tc.want || changed != tc.changed {
				t.Errorf("MaskQueryParams(%q)\n got %q, %v\nwant %q, %v", tc.in, got, changed, tc.want, tc.changed)
			}
		})
	}
}

func TestMaskFormBodyMasksLikeAQuery(t *testing.T) {
	for _, tc := range queryCases {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := tc.p.MaskFormBody([]byte(tc.in), clientV4)
			if string(got) != tc.want || changed != tc.changed {
				t.Errorf("MaskFormBody(%q)\n got %q, %v\nwant %q, %v", tc.in, got, changed, tc.want, tc.changed)
			}
		})
	}
}

func TestMaskFormBodyReturnsItsInputWhenNothingChanges(t *testing.T) {
	body := []byte("v=2&tid=G-ABC123&_uip=203.0.113.0")
	got, changed := gaParams.MaskFormBody(body, clientV4)
	if changed || &got[0] != &body[0] {
		t.Fatalf("unchanged body was copied (changed=%v)", changed)
	}
	if got, changed := gaParams.MaskFormBody(nil, clientV4); got != nil || changed {
		t.Fatalf("MaskFormBody(nil) = %q, %v", got, changed)
	}
}

func TestParamNamesMatchAsPHPReadsThem(t *testing.T) {
	for _, tc := range []struct {
		p   ParamMasker
		key string
	}{
		{matomoParams, "%63ip"},      // encoded letter
		{matomoParams, "%63%69%70"},  // all encoded
		{matomoParams, "+cip"},       // leading space dropped
		{matomoParams, "%20%20cip"},  // leading spaces dropped
		{matomoParams, "cip%00junk"}, // NUL ends the name
		{gaParams, ".uip"},           // '.' is '_'
		{gaParams, "%2Euip"},
		{gaParams, "+.uip"},
	} {
		got, changed := tc.p.MaskQueryParams(tc.key+"=203.0.113.77", clientV4)
		if want := tc.key + "=203.0.113.0"; got != want || !changed {
			t.Errorf("%q: got %q, %v; want %q", tc.key, got, changed, want)
		}
	}
}

func TestMaskQueryParamsUsesMaskedClientOfEitherFamily(t *testing.T) {
	got, _ := matomoParams.MaskQueryParams("cip=x", clientV6)
	if got != "cip=2001:db8:cafe::" {
		t.Errorf("IPv6 client: got %q", got)
	}
	got, _ = matomoParams.MaskQueryParams("cip=x", netip.Addr{})
	if got != "cip=0.0.0.0" {
		t.Errorf("unknown client: got %q", got)
	}
	p := matomoParams
	p.Masker = mustMasker(t, 16, 32)
	got, _ = p.MaskQueryParams("cip=x&cip=203.0.113.77", clientV6)
	if got != "cip=2001:db8::&cip=203.0.0.0" {
		t.Errorf("/16,/32: got %q", got)
	}
}

func TestMaskQueryParamsIsIdempotent(t *testing.T) {
	for _, tc := range queryCases {
		once, _ := tc.p.MaskQueryParams(tc.in, clientV4)
		twice, changed := tc.p.MaskQueryParams(once, clientV4)
		if changed || twice != once {
			t.Errorf("%s: masking %q again gave %q, changed=%v", tc.name, once, twice, changed)
		}
	}
}

func TestMaskQueryParamsAllocatesNothingWhenNothingChanges(t *testing.T) {
	q := "v=2&tid=G-ABC123&gtm=45je4a20v9115437220za200&_p=1718022000000&cid=123456789.1718021999&dl=https%3A%2F%2Fwww.example.com%2F&en=page_view"
	if n := testing.AllocsPerRun(100, func() { gaParams.MaskQueryParams(q, clientV4) }); n != 0 {
		t.Errorf("query without IP parameters: %v allocations, want 0", n)
	}
	masked := q + "&_uip=203.0.113.0"
	if n := testing.AllocsPerRun(100, func() { gaParams.MaskQueryParams(masked, clientV4) }); n != 0 {
		t.Errorf("query with a masked IP parameter: %v allocations, want 0", n)
	}
	body := []byte(q)
	if n := testing.AllocsPerRun(100, func() { gaParams.MaskBatchBody(body, clientV4) }); n != 0 {
		t.Errorf("batch without IP parameters: %v allocations, want 0", n)
	}
}

func TestMaskBatchBody(t *testing.T) {
	for _, tc := range []paramCase{
		{"empty body stays empty", ensuring(gaParams), "", "", false},
		{"lines without IP parameters are untouched", gaParams,
			"v=1&t=pageview\nv=1&t=event\n", "v=1&t=pageview\nv=1&t=event\n", false},
		{"each line is masked", gaParams,
			"v=1&uip=203.0.113.77&t=pageview\nv=1&t=event&uip=192.0.2.9\n",
			"v=1&uip=203.0.113.0&t=pageview\nv=1&t=event&uip=192.0.2.0\n", true},
		{"CRLF endings are kept", gaParams,
			"uip=203.0.113.77\r\nuip=zz\r\n", "uip=203.0.113.0\r\nuip=198.51.100.0\r\n", true},
		{"last line without newline", gaParams,
			"a=1\nuip=2001:db8:1:2::1", "a=1\nuip=2001:db8:1::", true},
		{"carriage return is not part of the value", gaParams,
			"uip=203.0.113.0\r\n", "uip=203.0.113.0\r\n", false},
		{"ensure appends to every hit", ensuring(gaParams),
			"en=a\r\nen=b&_uip=203.0.113.77\nen=c\n",
			"en=a&_uip=198.51.100.0\r\nen=b&_uip=203.0.113.0\nen=c&_uip=198.51.100.0\n", true},
		{"lone carriage returns end lines too", gaParams,
			"v=1&uip=203.0.113.77\ruip=192.0.2.9", "v=1&uip=203.0.113.0\ruip=192.0.2.0", true},
		{"ensure skips empty lines", ensuring(gaParams),
			"\nen=a\n\r\n\n", "\nen=a&_uip=198.51.100.0\n\r\n\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed := tc.p.MaskBatchBody([]byte(tc.in), clientV4)
			if string(got) != tc.want || changed != tc.changed {
				t.Errorf("MaskBatchBody(%q)\n got %q, %v\nwant %q, %v", tc.in, got, changed, tc.want, tc.changed)
			}
		})
	}
}

func TestMaskQueryParamsIsSafeForConcurrentUse(t *testing.T) {
	p := ensuring(gaParams)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				q := fmt.Sprintf("g=%d&i=%d&_uip=203.0.113.%d", g, i, i%256)
				want := fmt.Sprintf("g=%d&i=%d&_uip=203.0.113.0", g, i)
				if got, _ := p.MaskQueryParams(q, clientV4); got != want {
					t.Errorf("got %q, want %q", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
}
