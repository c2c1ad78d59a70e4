package caddymodule

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"

	"github.com/consentgate/consentgate/banner"
)

// asset is a file the gateway serves under its reserved prefix.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// newAssets indexes the banner's assets by name. Their names carry a hash
// of their content, so they are cached for a year.
func newAssets(as []banner.Asset) map[string]*asset {
	m := make(map[string]*asset, len(as))
	for _, a := range as {
		sum := sha256.Sum256(a.Body)
		m[a.Name] = &asset{body: a.Body, contentType: a.ContentType, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	return m
}

// serve answers a request for a hashed asset.
func (a *asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", a.etag)
	h.Set("X-Content-Type-Options", "nosniff")
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(a.body)
}
