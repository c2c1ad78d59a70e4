package ipmask_test

import (
	"fmt"
	"net/netip"

	"github.com/consentgate/consentgate/ipmask"
)

func ExampleMasker_MaskRemoteAddr() {
	var m ipmask.Masker // /24 and /48
	for _, remote := range []string{"203.0.113.77:5555", "[2001:db8:1:2::1]:443", "[::ffff:203.0.113.77]:80"} {
		masked, err := m.MaskRemoteAddr(remote)
		fmt.Println(masked, err)
	}
	// Output:
	// 203.0.113.0:5555 <nil>
	// [2001:db8:1::]:443 <nil>
	// 203.0.113.0:80 <nil>
}

func ExampleMasker_MaskHost() {
	var m ipmask.Masker
	fmt.Println(m.MaskHost(" 203.0.113.77 "))
	fmt.Println(m.MaskHost("fe80::1%eth0"))
	fmt.Println(m.MaskHost("unknown")) // garbage never passes through
	// Output:
	// 203.0.113.0
	// fe80::
	// 0.0.0.0
}

func ExampleNewMasker() {
	m, err := ipmask.NewMasker(16, 32)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.MaskAddr(netip.MustParseAddr("203.0.113.77")))
	_, err = ipmask.NewMasker(33, 48)
	fmt.Println(err)
	// Output:
	// 203.0.0.0
	// IPv4 prefix length 33 out of range: want 0 to 32
}

func ExampleParamMasker_MaskQueryParams() {
	ga := ipmask.ParamMasker{Names: []string{ipmask.GA4Param, ipmask.UniversalAnalyticsParam}}
	client := netip.MustParseAddr("198.51.100.23")

	q, changed := ga.MaskQueryParams("v=2&tid=G-XYZ&_uip=2001%3Adb8%3A1%3A2%3A%3A1&en=page_view", client)
	fmt.Println(q, changed)
	q, changed = ga.MaskQueryParams("v=2&_uip=unknown", client)
	fmt.Println(q, changed)
	q, changed = ga.MaskQueryParams("v=2&tid=G-XYZ", client)
	fmt.Println(q, changed)

	ga.Ensure = true
	q, changed = ga.MaskQueryParams("v=2&tid=G-XYZ", client)
	fmt.Println(q, changed)
	// Output:
	// v=2&tid=G-XYZ&_uip=2001:db8:1::&en=page_view true
	// v=2&_uip=198.51.100.0 true
	// v=2&tid=G-XYZ false
	// v=2&tid=G-XYZ&_uip=198.51.100.0 true
}

func ExampleParamMasker_MaskMatomoBulkBody() {
	matomo := ipmask.ParamMasker{Names: []string{ipmask.MatomoParam}}
	body := []byte(`{"requests":["?idsite=1&rec=1&cip=203.0.113.77",{"idsite":1,"cip":"2001:db8:1:2::1"}],"token_auth":"abc"}`)
	masked, changed, err := matomo.MaskMatomoBulkBody(body, netip.MustParseAddr("198.51.100.23"))
	fmt.Printf("%s %v %v\n", masked, changed, err)
	// Output:
	// {"requests":["?idsite=1&rec=1&cip=203.0.113.0",{"idsite":1,"cip":"2001:db8:1::"}],"token_auth":"abc"} true <nil>
}
