package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/consentgate/consentgate/rules"
)

var update = flag.Bool("update", false, "rewrite testdata/want.json")

func buildFixture(t *testing.T) []byte {
	t.Helper()
	ed, err := os.ReadFile("testdata/entities.json")
	if err != nil {
		t.Fatal(err)
	}
	cd, err := os.ReadFile("testdata/ocd.csv")
	if err != nil {
		t.Fatal(err)
	}
	es, err := ParseEntities(ed)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ParseCookies(cd)
	if err != nil {
		t.Fatal(err)
	}
	f, rep, err := Build(es, rows, &rules.Catalogue{Generator: "test", Sources: []rules.Source{{Name: "fixture", URL: "testdata", Integrity: "sha256-0", License: "MIT"}}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entities != 9 || rep.InfraEntities != 1 || rep.Duplicates != 1 || len(rep.SkippedNames) != 3 {
		t.Errorf("report %+v", rep)
	}
	out, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGeneratorFixture: a small fixture in, the expected catalogue out,
// byte for byte, every time.
func TestGeneratorFixture(t *testing.T) {
	got := buildFixture(t)
	for i := 0; i < 5; i++ {
		if again := buildFixture(t); !bytes.Equal(again, got) {
			t.Fatal("two runs on the same input give different bytes")
		}
	}
	if *update {
		if err := os.WriteFile("testdata/want.json", got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/want.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("catalogue differs from testdata/want.json (go test -update to accept):\n%s", got)
	}
	f, err := rules.ParseFile(got)
	if err != nil {
		t.Fatalf("the generated catalogue does not parse: %v", err)
	}
	rs, err := rules.Compile(rules.AllSet, f)
	if err != nil {
		t.Fatal(err)
	}
	for url, want := range map[string]string{
		"https://x.acme-ads.example/a.js":         "acme-ads marketing",
		"https://px.acme-tracking.example/p":      "acme-ads marketing",
		"https://y.acme-ads2.example/b.js":        "acme-ads-2 marketing",
		"https://count.example/c.js":              "counter statistics",
		"https://eu.tags.example/t.js":            "tags-inc statistics",
		"https://w.chatty.example/widget":         "chatty preferences",
		"https://www.tube.example/embed/1":        "tube marketing",
		"https://connect.facebook.example/sdk":    "meta-pixel marketing",
		"https://px.ads.linkedin.example/collect": "linkedin-insight marketing", // two entities, one alias: one vendor
		"https://platform.linkedin.example/in.js": "linkedin-insight marketing",
		"https://x.bigcdn.example/lib.js":         "",
	} {
		got := ""
		if v := rs.MatchURL(rules.SplitURL([]byte(url), nil)); v != nil {
			got = v.ID + " " + v.Category.String()
		}
		if got != want {
			t.Errorf("%s: %q, want %q", url, got, want)
		}
	}
	for name, want := range map[string]string{
		"acme_id":     "acme-ads marketing",             // joined to the entity: "AcmeAds" and "Acme Ads"
		"acme_pref_x": "acme-ads preferences",           // wildcard row: a prefix, with its own category
		"shared":      "third-co marketing",             // listed twice: the stricter category wins
		"csrf_tok":    "framework-foundation necessary", // no platform: the data controller names it
		"sess_abc":    "necessary-co necessary",
		"theme_dark":  "prefs-co preferences",
		"_session_id": "", // the two-letter wildcard row "_s" is too broad to keep
		"q":           "", // so is a one-letter name
		"qq":          "short-co statistics",
	} {
		got := ""
		if c := rs.MatchCookie(name); c != nil {
			got = c.Vendor.ID + " " + c.Category().String()
		}
		if got != want {
			t.Errorf("cookie %s: %q, want %q", name, got, want)
		}
	}
	if c := rs.MatchCookie("acme_id"); c == nil || !c.ThirdParty || c.Purpose != "Identifies the visitor." {
		t.Errorf("acme_id = %+v: want third party, the purpose on one line", c)
	}
}

// TestCategoryMapping is the mapping README documents.
func TestCategoryMapping(t *testing.T) {
	want := map[string]string{
		"ad": "marketing", "social": "marketing", "marketing": "marketing", "video": "marketing",
		"analytics": "statistics", "tag-manager": "statistics", "customer-success": "preferences",
		"cdn": "", "hosting": "", "utility": "", "library": "", "consent-provider": "", "other": "", "content": "",
	}
	if len(hostCategories) != len(want) {
		t.Errorf("hostCategories has %d entries, want %d", len(hostCategories), len(want))
	}
	for k, v := range want {
		if got, ok := hostCategories[k]; !ok || got != v {
			t.Errorf("third-party-web %q -> %q, want %q", k, got, v)
		}
	}
	wantOCD := map[string]string{"Marketing": "marketing", "Analytics": "statistics", "Functional": "preferences", "Personalization": "preferences", "Security": "necessary", "Necessary": "necessary"}
	if len(cookieCategories) != len(wantOCD) {
		t.Errorf("cookieCategories has %d entries, want %d", len(cookieCategories), len(wantOCD))
	}
	for k, v := range wantOCD {
		if got := cookieCategories[k]; got != v {
			t.Errorf("Open Cookie Database %q -> %q, want %q", k, got, v)
		}
	}
}

func TestBuildRefusesWhatNeedsReview(t *testing.T) {
	_, _, err := Build([]Entity{{Name: "New", Category: "quantum", Domains: []string{"q.example"}}}, nil, &rules.Catalogue{})
	if err == nil || !strings.Contains(err.Error(), `"quantum"`) {
		t.Errorf("unknown third-party-web category: %v", err)
	}
	_, _, err = Build(nil, []CookieRow{{Name: "x", Category: "Spooky"}}, &rules.Catalogue{})
	if err == nil || !strings.Contains(err.Error(), `"Spooky"`) {
		t.Errorf("unknown OCD category: %v", err)
	}
	_, _, err = Build([]Entity{
		{Name: "Ads", Category: "ad", Domains: []string{"*.ads.example"}},
		{Name: "Their CDN", Category: "cdn", Domains: []string{"static.ads.example"}},
	}, nil, &rules.Catalogue{})
	if err == nil || !strings.Contains(err.Error(), "static.ads.example (Their CDN) under *.ads.example (Ads)") {
		t.Errorf("infrastructure host under a tracker's wildcard: %v", err)
	}
}

// TestAliasesNameCuratedVendors: every alias points at a vendor of
// rules/default.json, or the catalogue would invent a vendor instead of
// joining one.
func TestAliasesNameCuratedVendors(t *testing.T) {
	def, err := rules.DefaultFile()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, v := range def.Vendors {
		ids[v.ID] = true
	}
	for name, id := range aliases {
		if !ids[id] {
			t.Errorf("alias %q -> %q: no such curated vendor", name, id)
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{"Google/Doubleclick Ads": "google-doubleclick-ads", "[24]7": "24-7", "  Ünïcode  Co ": "n-code-co", "!!!": "vendor", "33Across": "33across"} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIntegrityAndUntar(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range map[string]string{"package/dist/entities.json": "[]", "package/LICENSE": "MIT"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	tgz := buf.Bytes()
	sum := sha512.Sum512(tgz)
	sri := "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
	if err := checkIntegrity(tgz, sri); err != nil {
		t.Fatal(err)
	}
	if err := checkIntegrity(append(tgz, 0), sri); err == nil {
		t.Fatal("a changed tarball passed the integrity check")
	}
	files, err := untar(tgz, "package/dist/entities.json", "package/LICENSE")
	if err != nil || string(files["package/LICENSE"]) != "MIT" {
		t.Fatalf("untar: %v %q", err, files)
	}
	if _, err := untar(tgz, "package/missing"); err == nil {
		t.Fatal("a missing file was not reported")
	}
}

// TestCommittedCatalogueMatchesThePins: the committed catalogue records
// the inputs the generator pins, and the local Open Cookie Database copy,
// when present, is the pinned one (so go generate reproduces the file).
func TestCommittedCatalogueMatchesThePins(t *testing.T) {
	data, err := os.ReadFile("../../catalogue.json")
	if err != nil {
		t.Fatal(err)
	}
	var f rules.File
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if f.Catalogue == nil || len(f.Catalogue.Sources) != 2 ||
		f.Catalogue.Sources[0].Version != tpwVersion || f.Catalogue.Sources[0].Integrity != tpwIntegrity ||
		f.Catalogue.Sources[1].Integrity != "sha256-"+ocdSHA256 {
		t.Fatalf("catalogue sources %+v do not match the generator's pins", f.Catalogue)
	}
	csv, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "shared", "data", "open-cookie-database", "open-cookie-database.csv"))
	if err != nil {
		t.Skipf("no local Open Cookie Database: %v", err)
	}
	sum := sha256.Sum256(csv)
	if hex.EncodeToString(sum[:]) != ocdSHA256 {
		t.Errorf("the local Open Cookie Database is not the pinned one")
	}
	notices, err := os.ReadFile("../../../THIRD_PARTY_NOTICES")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{tpwIntegrity, ocdSHA256, "The MIT License", "Apache License", "Patrick Hulce"} {
		if !bytes.Contains(notices, []byte(want)) {
			t.Errorf("THIRD_PARTY_NOTICES lacks %q", want)
		}
	}
}

// FuzzParseCookies: the CSV reader rejects or reads any input without
// panicking, and Build turns what it reads into a catalogue that compiles.
func FuzzParseCookies(f *testing.F) {
	seed, err := os.ReadFile("testdata/ocd.csv")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(strings.Join(ocdColumns, ",") + "\n1,P,Marketing,a*b,,d,r,c,u,1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ParseCookies(data)
		if err != nil {
			return
		}
		file, _, err := Build(nil, rows, &rules.Catalogue{})
		if err != nil {
			return // an unmapped category
		}
		if _, err := rules.Compile(rules.AllSet, file); err != nil {
			t.Fatalf("Build made a catalogue that does not compile: %v", err)
		}
	})
}
