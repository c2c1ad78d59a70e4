package caddymodule

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"

	"github.com/consentgate/consentgate/banner"
)

// asset is a file the gateway serves under its reserved prefix.
type asset struct {
	body        []byte
	contentType string
	etag        string
	// encoded holds the body precompressed per content coding, each
	// with its own entity tag.
	encoded []encodedAsset
}

type encodedAsset struct {
	coding, etag string
	body         []byte
}

// newAssets indexes the banner's assets by name. Their names carry a hash
// of their content, so they are cached for a year.
func newAssets(as []banner.Asset) map[string]*asset {
	m := make(map[string]*asset, len(as))
	for _, a := range as {
		sum := sha256.Sum256(a.Body)
		tag := hex.EncodeToString(sum[:8])
		x := &asset{body: a.Body, contentType: a.ContentType, etag: `"` + tag + `"`}
		for _, coding := range []string{"br", "gzip"} { // in order of preference
			if b, ok := a.Encoded[coding]; ok {
				x.encoded = append(x.encoded, encodedAsset{coding: coding, etag: `"` + tag + "-" + coding + `"`, body: b})
			}
		}
		m[a.Name] = x
	}
	return m
}

// serve answers a request for a hashed asset.
func (a *asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	body, etag := a.body, a.etag
	if len(a.encoded) > 0 {
		h.Add("Vary", "Accept-Encoding")
		ae := r.Header.Get("Accept-Encoding")
		for _, e := range a.encoded {
			if acceptsCoding(ae, e.coding) {
				body, etag = e.body, e.etag
				h.Set("Content-Encoding", e.coding)
				break
			}
		}
	}
	h.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

// acceptsCoding reports whether an Accept-Encoding value accepts coding:
// named, or by "*", with a quality above zero.
func acceptsCoding(ae, coding string) bool {
	star := false
	for _, part := range strings.Split(ae, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != coding && name != "*" {
			continue
		}
		ok := true
		for _, p := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err != nil || q <= 0 {
					ok = false
				}
			}
		}
		if name == coding {
			return ok
		}
		star = ok
	}
	return star
}
