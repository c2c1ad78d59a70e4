package ipmask

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestMaskMatomoBulkBody(t *testing.T) {
	for _, tc := range []paramCase{
		{"body without requests is untouched", matomoParams,
			`{"token_auth":"abc"}`, `{"token_auth":"abc"}`, false},
		{"requests without IP parameters are untouched", matomoParams,
			`{"requests":["?idsite=1&rec=1","?idsite=2&rec=1"],"token_auth":"abc"}`,
			`{"requests":["?idsite=1&rec=1","?idsite=2&rec=1"],"token_auth":"abc"}`, false},
		{"query strings are masked", matomoParams,
			`{"requests":["?idsite=1&rec=1&cip=203.0.113.77","?idsite=1&cip=2001%3Adb8%3A1%3A2%3A%3A1"],"token_auth":"abc"}`,
			`{"requests":["?idsite=1&rec=1&cip=203.0.113.0","?idsite=1&cip=2001:db8:1::"],"token_auth":"abc"}`, true},
		{"query strings without a question mark are masked", matomoParams,
			`{"requests":["idsite=1&cip=203.0.113.77"]}`, `{"requests":["idsite=1&cip=203.0.113.0"]}`, true},
		{"whole URLs are masked in their query only", matomoParams,
			`{"requests":["https://m.example/matomo.php?cip=203.0.113.77#cip=x"]}`,
			`{"requests":["https://m.example/matomo.php?cip=203.0.113.0#cip=x"]}`, true},
		{"garbage becomes the masked client", matomoParams,
			`{"requests":["?cip=bogus"]}`, `{"requests":["?cip=198.51.100.0"]}`, true},
		{"formatting and other members are kept byte for byte", matomoParams,
			"{\n  \"token_auth\" : \"a\\\"b\",\n  \"x\": {\"requests\": [\"?cip=203.0.113.77\"]},\n  \"requests\" : [ \"?cip=203.0.113.77\" ,\n 7, null, [\"?cip=203.0.113.77\"] ],\n  \"n\": [1.5e3, true, {}]\n}\n",
			"{\n  \"token_auth\" : \"a\\\"b\",\n  \"x\": {\"requests\": [\"?cip=203.0.113.77\"]},\n  \"requests\" : [ \"?cip=203.0.113.0\" ,\n 7, null, [\"?cip=203.0.113.77\"] ],\n  \"n\": [1.5e3, true, {}]\n}\n", true},
		{"strings with escapes are decoded and re-encoded", matomoParams,
			`{"requests":["?idsite=1\u0026cip=203.0.113.77\u0026url=http:\/\/x\/\"q\""]}`,
			`{"requests":["?idsite=1&cip=203.0.113.0&url=http://x/\"q\""]}`, true},
		{"an escaped name is still the parameter", matomoParams,
			`{"requests":["?\u0063ip=203.0.113.77"]}`, `{"requests":["?cip=203.0.113.0"]}`, true},
		{"escaped strings that need nothing are untouched", matomoParams,
			`{"requests":["?idsite=1\u0026rec=1"]}`, `{"requests":["?idsite=1\u0026rec=1"]}`, false},
		{"an escaped requests key is still the requests", matomoParams,
			`{"req\u0075ests":["?cip=203.0.113.77"]}`, `{"req\u0075ests":["?cip=203.0.113.0"]}`, true},
		{"every requests member is masked", matomoParams,
			`{"requests":["?cip=203.0.113.77"],"requests":["?cip=192.0.2.77"]}`,
			`{"requests":["?cip=203.0.113.0"],"requests":["?cip=192.0.2.0"]}`, true},
		{"object hits are masked", matomoParams,
			`{"requests":[{"idsite":1,"cip":"203.0.113.77"},{"cip":"2001:db8:1:2::1","rec":1}]}`,
			`{"requests":[{"idsite":1,"cip":"203.0.113.0"},{"cip":"2001:db8:1::","rec":1}]}`, true},
		{"object members are not URL-decoded", matomoParams,
			`{"requests":[{"cip":"203.0.113.77%20"}]}`, `{"requests":[{"cip":"198.51.100.0"}]}`, true},
		{"non-string object members become the masked client", matomoParams,
			`{"requests":[{"cip":3405803853},{"cip":["203.0.113.77"]},{"cip":{"a":"203.0.113.77"}},{"cip":null}]}`,
			`{"requests":[{"cip":"198.51.100.0"},{"cip":"198.51.100.0"},{"cip":"198.51.100.0"},{"cip":"198.51.100.0"}]}`, true},
		{"escaped object members are masked", matomoParams,
			`{"requests":[{"\u0063ip":"203.0.113.77\u0000"}]}`, `{"requests":[{"\u0063ip":"198.51.100.0"}]}`, true},
		{"already masked object members are untouched", matomoParams,
			`{"requests":[{"cip":"203.0.113.0"}]}`, `{"requests":[{"cip":"203.0.113.0"}]}`, false},
		{"empty requests", ensuring(matomoParams), `{"requests":[]}`, `{"requests":[]}`, false},
		{"requests that is not an array is left alone", ensuring(matomoParams),
			`{"requests":"?cip=203.0.113.77"}`, `{"requests":"?cip=203.0.113.77"}`, false},
		{"ensure appends to every hit", ensuring(matomoParams),
			`{"requests":["?idsite=1","?idsite=1&cip=203.0.113.77","",{"idsite":1},{ },{"cip":"x"}]}`,
			`{"requests":["?idsite=1&cip=198.51.100.0","?idsite=1&cip=203.0.113.0","cip=198.51.100.0",{"idsite":1,"cip":"198.51.100.0"},{ "cip":"198.51.100.0"},{"cip":"198.51.100.0"}]}`, true},
		{"ensure appends before the fragment", ensuring(matomoParams),
			`{"requests":["/matomo.php?idsite=1#top"]}`, `{"requests":["/matomo.php?idsite=1&cip=198.51.100.0#top"]}`, true},
		{"ensure in an escaped string", ensuring(matomoParams),
			`{"requests":["?a=\u00e9"]}`, `{"requests":["?a=é&cip=198.51.100.0"]}`, true},
		{"line breaks are removed as Matomo does", matomoParams,
			"\x00 {\"requests\":[\"?idsite=1&\r\ncip=203.0.113.77\"]}\n\x0b",
			`{"requests":["?idsite=1&cip=203.0.113.0"]}`, true},
		{"line breaks are removed even when nothing else changes", matomoParams,
			"{\"requests\":[\"?idsite=1\n\"]}", `{"requests":["?idsite=1"]}`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changed, err := tc.p.MaskMatomoBulkBody([]byte(tc.in), clientV4)
			if err != nil || string(got) != tc.want || changed != tc.changed {
				t.Fatalf("MaskMatomoBulkBody(%s)\n got %s, %v, %v\nwant %s, %v", tc.in, got, changed, err, tc.want, tc.changed)
			}
			if !json.Valid(got) {
				t.Fatalf("result is not valid JSON: %s", got)
			}
			again, changed, err := tc.p.MaskMatomoBulkBody(got, clientV4)
			if err != nil || changed || string(again) != string(got) {
				t.Fatalf("masking again changed %s to %s (%v, %v)", got, again, changed, err)
			}
		})
	}
}

func TestMaskMatomoBulkBodyRejectsWhatIsNotABulkObject(t *testing.T) {
	for _, in := range []string{
		``, `   `, `{`, `{"requests":["?cip=203.0.113.77"]`, `{"requests":["?cip=203.0.113.77"]}x`,
		`{"requests":["?cip=203.0.113.77` + "\t" + `"]}`, `[{"requests":[]}]`, `"requests"`, `null`, `1`,
		"\xef\xbb\xbf{}", `{'requests':['?cip=203.0.113.77']}`,
	} {
		got, changed, err := matomoParams.MaskMatomoBulkBody([]byte(in), clientV4)
		if err == nil || got != nil || changed {
			t.Errorf("MaskMatomoBulkBody(%q) = %q, %v, %v; want nil and an error", in, got, changed, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "masking Matomo bulk body: ") || strings.Contains(err.Error(), "203.0.113") {
			t.Errorf("MaskMatomoBulkBody(%q) error %q: want context and no address", in, err)
		}
	}
	_, _, err := matomoParams.MaskMatomoBulkBody([]byte(`[]`), clientV4)
	if !errors.Is(err, errNotObject) {
		t.Errorf("array body: error %v, want errNotObject", err)
	}
	var syntax *json.SyntaxError
	_, _, err = matomoParams.MaskMatomoBulkBody([]byte(`{`), clientV4)
	if !errors.As(err, &syntax) {
		t.Errorf("truncated body: error %v, want a wrapped *json.SyntaxError", err)
	}
}

func TestMaskMatomoBulkBodyReturnsItsInputWhenNothingChanges(t *testing.T) {
	body := []byte(`{"requests":["?idsite=1&rec=1&cip=203.0.113.0",{"cip":"2001:db8:1::"}],"token_auth":"abc"}`)
	got, changed, err := matomoParams.MaskMatomoBulkBody(body, clientV4)
	if err != nil || changed || &got[0] != &body[0] {
		t.Fatalf("unchanged body was copied (changed=%v, err=%v)", changed, err)
	}
}
