package banner

import (
	"strconv"
	"strings"
)

// MaxRecipientNames is how many recipients the first layer names before
// "and N more", which links to the second layer.
const MaxRecipientNames = 6

// Recipients is the first layer's line naming who receives the data: the
// services the site uses, grouped by category ("Google Analytics, Hotjar;
// Meta, YouTube"), rendered once per language. Build it with
// Banner.Recipients and pass it in State.
type Recipients struct {
	html map[string][]byte // language tag -> the paragraph
}

// Recipients renders the recipients line in every language from the
// names of the services, one group per category in banner order. Empty
// groups are left out; with no names at all it returns nil (no line).
func (b *Banner) Recipients(groups [][]string) *Recipients {
	var kept [][]string
	total := 0
	for _, g := range groups {
		var names []string
		for _, n := range g {
			if checkText(n) == nil && strings.TrimSpace(n) != "" {
				names = append(names, n)
			}
		}
		if len(names) > 0 {
			kept = append(kept, names)
			total += len(names)
		}
	}
	if total == 0 {
		return nil
	}
	r := &Recipients{html: make(map[string][]byte, len(b.langs))}
	for _, l := range b.langs {
		r.html[l.tag] = b.recipientsLine(l, kept, total)
	}
	return r
}

func (b *Banner) recipientsLine(l *language, groups [][]string, total int) []byte {
	var names []byte
	shown := 0
	for _, g := range groups {
		if shown >= MaxRecipientNames {
			break
		}
		if shown > 0 {
			names = append(names, "; "...)
		}
		for i, n := range g {
			if shown >= MaxRecipientNames {
				break
			}
			if i > 0 {
				names = append(names, ", "...)
			}
			names = escapeAttr(names, n)
			shown++
		}
	}
	if more := total - shown; more > 0 {
		names = append(names, ' ')
		// To the settings page (the script opens the dialog instead);
		// the page's return path is filled in per request.
		names = append(names, `<a class="cg-link" href="`...)
		names = escapeAttr(names, b.cfg.Prefix+"consent?view=settings&return=")
		names = append(names, returnQuerySentinel...)
		names = append(names, `" data-cg-open="">`...)
		names = escapeAttr(names, strings.ReplaceAll(l.shown[KeyRecipientsMore], "{n}", strconv.Itoa(more)))
		names = append(names, `</a>`...)
	}
	before, after, _ := strings.Cut(l.shown[KeyRecipients], "{recipients}")
	out := []byte(`<p class="cg-text cg-recipients">`)
	out = escapeAttr(out, before)
	out = append(out, names...)
	out = escapeAttr(out, after)
	return append(out, `</p>`...)
}

// line returns the paragraph in lang (the default language's when lang is
// not offered).
func (r *Recipients) line(b *Banner, lang string) []byte {
	if r == nil {
		return nil
	}
	return r.html[b.lang(lang).tag]
}
