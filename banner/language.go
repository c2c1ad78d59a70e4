package banner

import (
	"slices"
	"strconv"
	"strings"
)

// Language returns the language to show: override (e.g. from a query
// parameter or cookie) when it matches an offered language, else the best
// match of the Accept-Language header, else the default (the first
// offered). A range matches an offered tag exactly, after dropping its
// last subtags ("nl-BE" finds "nl"), or by its primary language alone
// ("en" and "en-US" find "en-gb"). Ranges are tried by falling quality;
// "*" picks the default, and ranges with q=0 are ignored.
func (b *Banner) Language(acceptLanguage, override string) string {
	if l := b.match(override); l != nil {
		return l.tag
	}
	for _, r := range parseAcceptLanguage(acceptLanguage) {
		if r == "*" {
			break
		}
		if l := b.match(r); l != nil {
			return l.tag
		}
	}
	return b.langs[0].tag
}

// match returns the offered language a language range selects, or nil.
func (b *Banner) match(r string) *language {
	r = strings.ToLower(strings.TrimSpace(r))
	if r == "" || r == "*" || len(r) > 64 {
		return nil
	}
	for t := r; ; {
		if l, ok := b.byTag[t]; ok {
			return l
		}
		i := strings.LastIndexByte(t, '-')
		if i < 0 {
			break
		}
		t = t[:i]
		if len(t) > 2 && t[len(t)-2] == '-' { // drop a singleton with it (RFC 4647 lookup)
			t = t[:len(t)-2]
		}
	}
	primary, _, _ := strings.Cut(r, "-")
	for _, l := range b.langs {
		if strings.HasPrefix(l.tag, primary+"-") {
			return l
		}
	}
	return nil
}

// Bounds on the Accept-Language header, which comes from the client.
const (
	maxAcceptLanguage = 4096
	maxRanges         = 32
)

// parseAcceptLanguage returns the ranges of an Accept-Language header with
// q > 0, best first; equal qualities keep their order.
func parseAcceptLanguage(h string) []string {
	if len(h) > maxAcceptLanguage {
		h = h[:maxAcceptLanguage]
	}
	type rq struct {
		r string
		q float64
	}
	var rs []rq
	for part := range strings.SplitSeq(h, ",") {
		if len(rs) == maxRanges {
			break
		}
		r, params, _ := strings.Cut(part, ";")
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				f = 0
			}
			q = f
		}
		if q > 0 {
			rs = append(rs, rq{r, q})
		}
	}
	slices.SortStableFunc(rs, func(a, b rq) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	out := make([]string, len(rs))
	for i, x := range rs {
		out[i] = x.r
	}
	return out
}
