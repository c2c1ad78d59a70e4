package ipmask

import (
	"strings"
	"testing"
)

// ga4Query is a page_view hit as gtag.js sends it to /g/collect, with the
// IP override a server-side container adds.
const ga4Query = "v=2&tid=G-8WQ1ZK3X7P&gtm=45je5650v9181503233za200&_p=1718022000123&gcs=G111&gcd=13t3t3t3t5l1&npa=0&dma=1&tag_exp=101509157~102015666~103116026~103200004&cid=1093476012.1718021999&ul=de-de&sr=1920x1080&uaa=x86&uab=64&uafvl=Google%2520Chrome%3B125.0.6422.142%7CChromium%3B125.0.6422.142&uamb=0&uam=&uap=Windows&uapv=15.0.0&uaw=0&are=1&frm=0&pscdl=noapi&_eu=AAAI&_s=1&sid=1718021999&sct=3&seg=1&dl=https%3A%2F%2Fshop.example.com%2Fproducts%2Fwidget%3Fcolor%3Dblue&dr=https%3A%2F%2Fwww.google.com%2F&dt=Blue%20Widget%20%E2%80%93%20Example%20Shop&en=page_view&_fv=1&_nsi=1&_ss=1&_ee=1&tfd=1487&_uip=203.0.113.77"

const matomoBulk = `{"requests":[` +
	`"?idsite=1&rec=1&action_name=Home&url=https%3A%2F%2Fwww.example.com%2F&_id=0123456789abcdef&rand=41287&apiv=1&res=1920x1080&h=10&m=2&s=7&cip=203.0.113.77",` +
	`"?idsite=1&rec=1&action_name=Products&url=https%3A%2F%2Fwww.example.com%2Fproducts&_id=0123456789abcdef&rand=99173&apiv=1&res=1920x1080&h=10&m=2&s=31&cip=203.0.113.77",` +
	`"?idsite=1&rec=1&e_c=Video&e_a=Play&e_n=Intro&url=https%3A%2F%2Fwww.example.com%2Fproducts&_id=0123456789abcdef&rand=5512&apiv=1&cip=2001%3Adb8%3A1%3A2%3A%3A1"` +
	`],"token_auth":"0123456789abcdef0123456789abcdef"}`

func BenchmarkMaskRemoteAddr(b *testing.B) {
	var m Masker
	for _, in := range []string{"203.0.113.77:5555", "[2001:db8:1:2::1]:443"} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.MaskRemoteAddr(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMaskQuery(b *testing.B) {
	p := gaParams
	b.Run("with_uip", func(b *testing.B) {
		b.SetBytes(int64(len(ga4Query)))
		b.ReportAllocs()
		for b.Loop() {
			if _, changed := p.MaskQueryParams(ga4Query, clientV4); !changed {
				b.Fatal("nothing masked")
			}
		}
	})
	noUIP, _ := strings.CutSuffix(ga4Query, "&_uip=203.0.113.77")
	b.Run("without_uip", func(b *testing.B) {
		b.SetBytes(int64(len(noUIP)))
		b.ReportAllocs()
		for b.Loop() {
			if _, changed := p.MaskQueryParams(noUIP, clientV4); changed {
				b.Fatal("changed")
			}
		}
	})
	masked, _ := p.MaskQueryParams(ga4Query, clientV4)
	b.Run("already_masked", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p.MaskQueryParams(masked, clientV4)
		}
	})
	ensure := ensuring(p)
	b.Run("ensure", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ensure.MaskQueryParams(noUIP, clientV4)
		}
	})
}

func BenchmarkMaskBatchBody(b *testing.B) {
	body := []byte(strings.Repeat("v=1&tid=UA-1234-1&cid=555.1&t=event&ec=video&ea=play&el=intro&uip=203.0.113.77\n", 5))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		gaParams.MaskBatchBody(body, clientV4)
	}
}

func BenchmarkMaskMatomoBulk(b *testing.B) {
	body := []byte(matomoBulk)
	b.Run("three_hits", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := matomoParams.MaskMatomoBulkBody(body, clientV4); err != nil {
				b.Fatal(err)
			}
		}
	})
	masked, _, _ := matomoParams.MaskMatomoBulkBody(body, clientV4)
	b.Run("already_masked", func(b *testing.B) {
		b.SetBytes(int64(len(masked)))
		b.ReportAllocs()
		for b.Loop() {
			matomoParams.MaskMatomoBulkBody(masked, clientV4)
		}
	})
}
