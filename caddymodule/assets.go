package caddymodule

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"strconv"
)

// asset is a file the gateway serves under its reserved prefix.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

// assetSet holds the banner's assets, addressed by a name that carries a
// hash of their content, so they can be cached for a year.
type assetSet struct {
	byName   map[string]*asset
	headTags []byte // inserted before </head>
}

const (
	bannerCSS = `#consentgate-banner{position:fixed;left:0;right:0;bottom:0;z-index:2147483000}`
	bannerJS  = `document.documentElement.dataset.consentgate="1";`
)

func newAssetSet(prefix string) (*assetSet, error) {
	s := &assetSet{byName: make(map[string]*asset)}
	css := s.add("banner", ".css", "text/css; charset=utf-8", []byte(bannerCSS))
	js := s.add("banner", ".js", "text/javascript; charset=utf-8", []byte(bannerJS))
	s.headTags = []byte(fmt.Sprintf(`<link rel="stylesheet" href="%s"><script src="%s" defer></script>`,
		html.EscapeString(prefix+css), html.EscapeString(prefix+js)))
	return s, nil
}

// add stores an asset and returns its hashed name, e.g. banner.1a2b3c4d5e.css.
func (s *assetSet) add(base, ext, contentType string, body []byte) string {
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:5])
	name := base + "." + hash + ext
	s.byName[name] = &asset{body: body, contentType: contentType, etag: `"` + hash + `"`}
	return name
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
