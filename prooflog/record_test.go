package prooflog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestRecordValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Record)
		wantErr string
	}{
		{"a complete record is valid", func(*Record) {}, ""},
		{"texts hash is filled from the texts", func(r *Record) { r.TextsHash = "" }, ""},
		{"an empty consent ID is refused", func(r *Record) { r.ConsentID = "" }, "consent ID is empty"},
		{"an unknown method is refused", func(r *Record) { r.Method = "clicked" }, "unknown method"},
		{"no categories is refused", func(r *Record) { r.Categories = nil }, "no categories"},
		{"a duplicate category is refused", func(r *Record) {
			r.Categories = append(r.Categories, Category{Name: "marketing"})
		}, "duplicate category"},
		{"a path with a query string is refused", func(r *Record) { r.Path = "/a?utm=1" }, "query string"},
		{"texts that do not match the hash are refused", func(r *Record) { r.TextsHash = strings.Repeat("a", 64) }, "does not match"},
		{"a malformed texts hash is refused", func(r *Record) { r.Texts = nil; r.TextsHash = "abc" }, "64 lowercase hex"},
		{"an overlong origin is refused", func(r *Record) { r.Origin = strings.Repeat("x", 5000) }, "origin"},
		{"any operator-defined category name is fine", func(r *Record) {
			r.Categories = Categories{{Name: "functional", Granted: true}}
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testRecord(1)
			r.TextsHash = testTexts.Hash()
			tc.edit(r)
			err := r.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if r.TextsHash == "" {
					t.Fatal("TextsHash not filled")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestCategoriesKeepTheirOrderInJSON(t *testing.T) {
	in := Categories{{"necessary", true}, {"statistics", false}, {"marketing", true}, {"a\"b<", false}}
	b, err := marshalNoEscape(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"necessary":true,"statistics":false,"marketing":true,"a\"b<":false}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
	var out Categories
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("round trip lost categories: %v", out)
	}
	for i := range in {
		if in[i] != out[i] {
			t.Fatalf("round trip changed %v to %v", in[i], out[i])
		}
	}
	for _, bad := range []string{`[]`, `{"a":1}`, `{"a":true,"a":false}`, `{"a":true`} {
		if err := json.Unmarshal([]byte(bad), &out); err == nil {
			t.Errorf("Unmarshal(%s) succeeded, want an error", bad)
		}
	}
}

func TestTextsHashIsTheDocumentedNetstringEncoding(t *testing.T) {
	tx := &Texts{Language: "en", Strings: map[string]string{"title": "Cookies", "accept": "OK"}}
	// Keys in byte order: accept, title.
	canon := "20:consentgate-texts-v1,2:en,6:accept,2:OK,5:title,7:Cookies,"
	sum := sha256.Sum256([]byte(canon))
	if got, want := tx.Hash(), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("Hash = %s, want %s (sha256 of %q)", got, want, canon)
	}
	other := &Texts{Language: "de", Strings: tx.Strings}
	if other.Hash() == tx.Hash() {
		t.Fatal("the language is not part of the hash")
	}
	shifted := &Texts{Language: "en", Strings: map[string]string{"title": "Cookies", "accep": "tOK"}}
	if shifted.Hash() == tx.Hash() {
		t.Fatal("moving bytes between key and value keeps the hash")
	}
}

func TestTimesAreUTCWithMilliseconds(t *testing.T) {
	loc := time.FixedZone("CET", 3600)
	got := formatTime(time.Date(2026, 11, 24, 11, 0, 0, 123456789, loc))
	if want := "2026-11-24T10:00:00.123Z"; got != want {
		t.Fatalf("formatTime = %s, want %s", got, want)
	}
	for _, bad := range []string{"2026-11-24T10:00:00Z", "2026-11-24T11:00:00.123+01:00", "yesterday"} {
		if _, err := parseTime(bad); err == nil {
			t.Errorf("parseTime(%q) succeeded", bad)
		}
	}
}
