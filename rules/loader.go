package rules

import "bytes"

// A loader is an inline script that adds a tracker's script to the page:
// it names the script's URL, e.g. "//contextual.media.net/nmedianet.js" or,
// in JSON that WordPress writes, "https:\/\/cdn.example\/x.js". Every
// vendor whose host the rules know (thousands, with the catalogue) is
// found this way without a signature of its own: ScanInline reports the
// vendor of each URL in a script whose path ends in ".js" or ".mjs" (a
// script) or ".gif" (a tracking pixel) and which a URL rule matches. URLs
// of other files (pages, photos, API endpoints) are not counted: scripts
// name those for many reasons.
const (
	maxLoaderHost = 253
	maxLoaderPath = 512
	// maxLoaderLen bounds a URL mention from its first '/' to the
	// delimiter after it: "\/\/" host "\/" path, path escapes included.
	maxLoaderLen = 4 + maxLoaderHost + 2*maxLoaderPath + 1
)

// scanLoaders calls found for the vendor of every script URL mentioned in
// body at or after from.
func (rs *Ruleset) scanLoaders(body []byte, from int, found func(*Vendor)) {
	for i := max(from, 0); i < len(body); {
		j := bytes.IndexByte(body[i:], '/')
		if j < 0 {
			return
		}
		p := i + j
		i = p + 1
		// A URL's "//" follows its scheme's ':' or opens a string;
		// anything else (a comment, a regular expression) is not one.
		q := p - 1
		if q >= 0 && body[q] == '\\' {
			q-- // "\/\/" in JSON
		}
		if q < 0 || !bytesContain(":\"'`", body[q]) {
			continue
		}
		var hostStart int
		switch {
		case p+1 < len(body) && body[p+1] == '/':
			hostStart = p + 2
		case p+2 < len(body) && body[p+1] == '\\' && body[p+2] == '/':
			hostStart = p + 3
		default:
			continue
		}
		if v := rs.loaderAt(body, hostStart); v != nil {
			found(v)
		}
	}
}

// loaderAt reads the host and path of a URL starting at body[start] and
// returns the vendor of a script URL a rule matches, or nil.
func (rs *Ruleset) loaderAt(body []byte, start int) *Vendor {
	var hostBuf [maxLoaderHost]byte
	var pathBuf [maxLoaderPath]byte
	host := hostBuf[:0]
	dot := false
	i := start
	for ; i < len(body); i++ {
		c := body[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			break
		}
		if len(host) == maxLoaderHost {
			return nil
		}
		dot = dot || c == '.'
		host = append(host, c)
	}
	if !dot || i >= len(body) {
		return nil
	}
	// The path starts with "/" or "\/".
	switch {
	case body[i] == '/':
	case body[i] == '\\' && i+1 < len(body) && body[i+1] == '/':
		i++
	default:
		return nil
	}
	path := pathBuf[:0]
	query := -1 // index of '?' in path
	for ; ; i++ {
		if i >= len(body) {
			return nil // the URL may go on: not complete yet
		}
		c := body[i]
		if c == '\\' && i+1 < len(body) && body[i+1] == '/' {
			i++
			c = '/'
		} else if c <= ' ' || c == '"' || c == '\'' || c == '`' || c == '<' || c == '>' || c == ')' || c == ';' || c == ',' || c == '+' || c == '\\' || c == '#' {
			break
		}
		if c == '?' && query < 0 {
			query = len(path)
		}
		if len(path) == maxLoaderPath {
			return nil
		}
		path = append(path, c)
	}
	file := path
	if query >= 0 {
		file = path[:query]
	}
	if !bytes.HasSuffix(file, []byte(".js")) && !bytes.HasSuffix(file, []byte(".mjs")) && !bytes.HasSuffix(file, []byte(".gif")) {
		return nil
	}
	return rs.MatchURL(host, path)
}

// hasHostRules reports whether any URL rule names a host.
func (rs *Ruleset) hasHostRules() bool { return len(rs.exactHosts) > 0 || len(rs.wildHosts) > 0 }

func bytesContain(s string, c byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return true
		}
	}
	return false
}
