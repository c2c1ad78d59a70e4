package scan

import (
	"net/url"
	"strings"

	"github.com/consentgate/consentgate/rules"
)

// classifier turns what a page loads into observations, using the rules
// and the start URL's site.
type classifier struct {
	rs        *rules.Ruleset
	startSite string
}

func newClassifier(rs *rules.Ruleset, start *url.URL) *classifier {
	return &classifier{rs: rs, startSite: site(start.Hostname())}
}

// thirdParty reports whether host belongs to another site than the start
// URL.
func (c *classifier) thirdParty(host string) bool {
	return site(host) != c.startSite
}

// resource classifies a request for u. It returns false for a first-party
// resource that no rule knows: only third parties, and first-party files a
// rule matches (a self-hosted matomo.js), are worth reporting.
func (c *classifier) resource(kind Kind, u *url.URL) (observation, bool) {
	raw := u.String()
	host, pathq := rules.SplitURL([]byte(raw), nil)
	var v *rules.Vendor
	if kind == KindPreconnect {
		v, _ = c.rs.MatchHost(host)
	} else {
		v = c.rs.MatchURL(host, pathq)
	}
	h := string(host)
	third := c.thirdParty(h)
	if !third && v == nil {
		return observation{}, false
	}
	if kind == KindPreconnect {
		raw = "" // only the host is meaningful
	}
	o := observation{kind: kind, vendor: v, host: h, url: truncate(raw, 512), thirdParty: third}
	if v != nil {
		o.category = v.Category
	}
	return o, true
}

// inline returns one observation per vendor whose inline signature occurs
// in the script body.
func (c *classifier) inline(body []byte) []observation {
	var out []observation
	seen := make(map[*rules.Vendor]bool)
	c.rs.ScanInline(body, 0, func(v *rules.Vendor) {
		if !seen[v] {
			seen[v] = true
			out = append(out, observation{kind: KindInlineScript, vendor: v, category: v.Category})
		}
	})
	return out
}

// cookie classifies a cookie by its name.
func (c *classifier) cookie(ck Cookie) observation {
	o := observation{kind: KindCookie, cookie: &ck, host: strings.TrimPrefix(ck.Domain, ".")}
	o.thirdParty = o.host != "" && c.thirdParty(o.host)
	if r := c.rs.MatchCookie(ck.Name); r != nil {
		o.vendor, o.category = r.Vendor, r.Category()
	}
	return o
}

// truncate shortens s to at most n bytes, at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
