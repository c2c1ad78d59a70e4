package scan

import (
	"net"
	"net/url"
	"path"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// normalize returns a copy of u in the form the crawl compares URLs in:
// lower-case scheme and host, no default port, no userinfo or fragment, and
// "/" for an empty path. Two links to the same page normalise the same.
func normalize(u *url.URL) *url.URL {
	n := *u
	n.Scheme = strings.ToLower(n.Scheme)
	n.User = nil
	n.Fragment, n.RawFragment = "", ""
	host := strings.TrimSuffix(strings.ToLower(n.Hostname()), ".")
	port := n.Port()
	if port == "" || n.Scheme == "http" && port == "80" || n.Scheme == "https" && port == "443" {
		port = ""
	}
	if strings.Contains(host, ":") { // IPv6
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	n.Host = host
	if n.Path == "" && n.Opaque == "" {
		n.Path, n.RawPath = "/", ""
	}
	n.ForceQuery = false
	return &n
}

// resolve resolves ref against base and returns it normalised, or nil when
// it is not an http(s) URL (mailto:, javascript:, data:, a malformed
// reference...).
func resolve(base *url.URL, ref string) *url.URL {
	ref = strings.TrimSpace(ref)
	if ref == "" || strings.HasPrefix(ref, "#") {
		return nil
	}
	r, err := url.Parse(ref)
	if err != nil {
		return nil
	}
	u := base.ResolveReference(r)
	if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" {
		return nil
	}
	return normalize(u)
}

// sameOrigin reports whether a and b, both normalised, have the same scheme,
// host and port.
func sameOrigin(a, b *url.URL) bool {
	return a.Scheme == b.Scheme && a.Host == b.Host
}

// site returns the registrable domain of host ("www.example.co.uk" ->
// "example.co.uk"), or the host itself for IP addresses, single-label hosts
// and public suffixes. Two hosts of the same site are first party to each
// other.
func site(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" || net.ParseIP(host) != nil {
		return host
	}
	s, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return host
	}
	return s
}

// nonHTMLExt lists file extensions whose links the crawl does not fetch:
// they are never HTML pages.
var nonHTMLExt = map[string]bool{
	".pdf": true, ".zip": true, ".gz": true, ".tgz": true, ".rar": true, ".7z": true,
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".webp": true, ".avif": true, ".svg": true, ".ico": true, ".bmp": true, ".tif": true, ".tiff": true,
	".mp3": true, ".mp4": true, ".m4a": true, ".mov": true, ".avi": true, ".webm": true, ".ogg": true, ".wav": true,
	".css": true, ".js": true, ".mjs": true, ".json": true, ".xml": true, ".rss": true, ".atom": true, ".txt": true, ".csv": true,
	".doc": true, ".docx": true, ".xls": true, ".xlsx": true, ".ppt": true, ".pptx": true, ".odt": true, ".ods": true,
	".woff": true, ".woff2": true, ".ttf": true, ".otf": true, ".eot": true,
	".exe": true, ".dmg": true, ".apk": true, ".iso": true,
}

// looksNonHTML reports whether u's path ends in an extension that is never
// an HTML page.
func looksNonHTML(u *url.URL) bool {
	return nonHTMLExt[strings.ToLower(path.Ext(u.Path))]
}

// shortURL shows u relative to the start origin when it is on it, for the
// table.
func shortURL(start *url.URL, u string) string {
	if start == nil {
		return u
	}
	prefix := start.Scheme + "://" + start.Host
	if rest, ok := strings.CutPrefix(u, prefix); ok && (rest == "" || rest[0] == '/' || rest[0] == '?') {
		if rest == "" {
			return "/"
		}
		return rest
	}
	return u
}
