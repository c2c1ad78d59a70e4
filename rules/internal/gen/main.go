// Command gen writes rules/catalogue.json, the generated tier of the
// gateway's tracker knowledge, and THIRD_PARTY_NOTICES, from two sources
// under permissive licences:
//
//   - third-party-web (MIT), the npm package, at the version and integrity
//     pinned below: its dist/entities.json names ~2,100 third parties with
//     a category and their domains;
//   - the Open Cookie Database (Apache-2.0), a CSV of cookie names with a
//     category, purpose and retention, read from a local copy whose
//     sha256 is pinned below.
//
// Run it with `go generate ./rules` (or `go run ./rules/internal/gen`).
// It fails rather than write anything when an input does not match its
// pin; to refresh, change the pins, run it, and review the diff.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/consentgate/consentgate/rules"
)

// The pinned inputs.
const (
	tpwVersion   = "0.30.0"
	tpwPackage   = "third-party-web@" + tpwVersion // fetched with the ordinary npm client: npm pack
	tpwIntegrity = "sha512-p+PfyL5U0ediGzvwPzMSdD9MnC8rHW6nWJJVLIQvqN7RsSqfaZ+7n4c9GILqH36EYR0eXB9CzAeCRnKFr/9uJg=="
	tpwHome      = "https://github.com/patrickhulce/third-party-web"

	ocdSHA256 = "0a8d78901ae55d859e34f7cc760262819af4c764b4f9bc3bbdeea2296e31f156"
	ocdHome   = "https://github.com/jkwakman/Open-Cookie-Database"
)

// maxTarball bounds the download.
const maxTarball = 64 << 20

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	tarball := fs.String("tpw", "", "third-party-web tarball to read instead of fetching it with `npm pack "+tpwPackage+"` (its integrity is checked all the same)")
	ocd := fs.String("ocd", filepath.Join(root, "..", "shared", "data", "open-cookie-database", "open-cookie-database.csv"), "Open Cookie Database CSV; its LICENSE is read from the same directory")
	ocdPin := fs.String("ocd-sha256", ocdSHA256, "expected sha256 of the CSV")
	out := fs.String("out", filepath.Join(root, "rules", "catalogue.json"), "catalogue to write")
	notices := fs.String("notices", filepath.Join(root, "THIRD_PARTY_NOTICES"), "licence and attribution file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}

	tgz, err := readTarball(*tarball)
	if err != nil {
		return err
	}
	if err := checkIntegrity(tgz, tpwIntegrity); err != nil {
		return fmt.Errorf("third-party-web %s: %w", tpwVersion, err)
	}
	files, err := untar(tgz, "package/dist/entities.json", "package/LICENSE")
	if err != nil {
		return fmt.Errorf("third-party-web tarball: %w", err)
	}
	entities, err := ParseEntities(files["package/dist/entities.json"])
	if err != nil {
		return err
	}

	csvData, err := os.ReadFile(*ocd)
	if err != nil {
		return fmt.Errorf("reading the Open Cookie Database (set -ocd): %w", err)
	}
	sum := sha256.Sum256(csvData)
	if got := hex.EncodeToString(sum[:]); got != *ocdPin {
		return fmt.Errorf("%s has sha256 %s, the pin is %s: review the new data, then update ocdSHA256", *ocd, got, *ocdPin)
	}
	ocdLicense, err := os.ReadFile(filepath.Join(filepath.Dir(*ocd), "LICENSE"))
	if err != nil {
		return fmt.Errorf("reading the Open Cookie Database licence: %w", err)
	}
	rows, err := ParseCookies(csvData)
	if err != nil {
		return err
	}

	cat := &rules.Catalogue{
		Generator: "go generate ./rules",
		Sources: []rules.Source{
			{Name: "third-party-web", Version: tpwVersion, URL: "npm:" + tpwPackage, Integrity: tpwIntegrity, License: "MIT"},
			{Name: "Open Cookie Database", URL: ocdHome, Integrity: "sha256-" + *ocdPin, License: "Apache-2.0"},
		},
	}
	f, rep, err := Build(entities, rows, cat)
	if err != nil {
		return err
	}
	data, err := Encode(f)
	if err != nil {
		return err
	}
	if _, err := rules.ParseFile(data); err != nil {
		return fmt.Errorf("the generated catalogue does not compile: %w", err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(*notices, Notices(cat, files["package/LICENSE"], ocdLicense), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: %d tracker entities with %d hosts (%d infrastructure entities left out); %d cookie rules (%d duplicate rows merged, %d names skipped: %q); %d vendors, %d with cookies only\n",
		rep.Entities, rep.Hosts, rep.InfraEntities, rep.Cookies, rep.Duplicates, len(rep.SkippedNames), rep.SkippedNames, len(f.Vendors), rep.CookieVendors)
	return nil
}

// moduleRoot finds the directory holding go.mod, from the working
// directory up, so the defaults work from the repository root (go run)
// and from rules/ (go generate).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

func readTarball(path string) ([]byte, error) {
	if path == "" {
		// npm pack fetches the package tarball from whatever registry npm is
		// configured for and writes it unchanged; its bytes are then checked
		// against the pinned integrity like a local file's.
		dir, err := os.MkdirTemp("", "consentgate-gen-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "pack", tpwPackage, "--pack-destination", dir, "--silent")
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("npm pack %s (or pass -tpw <tarball>): %w", tpwPackage, err)
		}
		name := strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(name, '\n'); i >= 0 {
			name = name[i+1:]
		}
		path = filepath.Join(dir, filepath.Base(name))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the third-party-web tarball: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxTarball+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(data) > maxTarball {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, maxTarball)
	}
	return data, nil
}

// checkIntegrity checks data against a Subresource Integrity string as
// npm records it ("sha512-<base64>").
func checkIntegrity(data []byte, sri string) error {
	want, ok := strings.CutPrefix(sri, "sha512-")
	if !ok {
		return fmt.Errorf("integrity %q is not sha512", sri)
	}
	sum := sha512.Sum512(data)
	if got := base64.StdEncoding.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("integrity mismatch: got sha512-%s, pinned %s", got, sri)
	}
	return nil
}

// untar returns the named files of a gzipped tar archive; each must exist.
func untar(tgz []byte, names ...string) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, err
	}
	want := make(map[string]bool)
	for _, n := range names {
		want[n] = true
	}
	out := make(map[string][]byte)
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if !want[h.Name] || h.Typeflag != tar.TypeReg {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxTarball))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		out[h.Name] = data
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("%s is missing", n)
		}
	}
	return out, nil
}

// Notices renders THIRD_PARTY_NOTICES: what the catalogue holds from each
// source, where the source is, and its licence in full.
func Notices(cat *rules.Catalogue, tpwLicense, ocdLicense []byte) []byte {
	var b strings.Builder
	b.WriteString(`THIRD-PARTY NOTICES

consentgate's generated tracker catalogue, rules/catalogue.json, is built
by rules/internal/gen (go generate ./rules) from the data below. The
curated rules in rules/default.json are written by the consentgate authors
from vendors' own documentation and contain no third-party data.
This file is generated with the catalogue: do not edit it by hand.

`)
	for i, s := range cat.Sources {
		fmt.Fprintf(&b, "%d. %s", i+1, s.Name)
		if s.Version != "" {
			fmt.Fprintf(&b, " %s", s.Version)
		}
		b.WriteString("\n")
		switch s.Name {
		case "third-party-web":
			fmt.Fprintf(&b, "   %s\n   Used: dist/entities.json (entity names, categories and domains),\n   for the catalogue's hosts and vendor names.\n   Changed: categories mapped to consentgate's; infrastructure entities\n   left out; some entities joined to curated vendors.\n", tpwHome)
		case "Open Cookie Database":
			fmt.Fprintf(&b, "   %s\n   Used: open-cookie-database.csv (cookie names, platforms, categories,\n   descriptions, retention periods, privacy portals), for the catalogue's\n   cookies.\n   Changed: this is a modified form of the data: categories mapped to\n   consentgate's, wildcard rows turned into name patterns, duplicate names\n   merged, rows too broad to attribute left out, white space folded.\n", ocdHome)
		}
		fmt.Fprintf(&b, "   Retrieved from: %s\n   Integrity: %s\n   Licence: %s, reproduced below.\n\n", s.URL, s.Integrity, s.License)
	}
	for _, l := range []struct {
		name string
		text []byte
	}{{"third-party-web (MIT)", tpwLicense}, {"Open Cookie Database (Apache-2.0)", ocdLicense}} {
		fmt.Fprintf(&b, "---------------------------------------------------------------------------\nLicence of %s\n---------------------------------------------------------------------------\n\n", l.name)
		b.WriteString(strings.TrimRight(string(l.text), "\n"))
		b.WriteString("\n\n")
	}
	return []byte(b.String())
}
