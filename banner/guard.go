package banner

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tdewolff/minify/v2"

	"github.com/consentgate/consentgate/rules"
)

//go:embed guard.js
var guardJS []byte

// GuardConfig configures the runtime guard: the script that goes first in
// every page and holds the trackers that scripts add at run time (see
// guard.js).
type GuardConfig struct {
	// Table is the compiled rules, from rules.GuardTable. Required.
	Table []byte
	// ReportOnly makes the guard log what it would hold (console.info)
	// and hold nothing.
	ReportOnly bool
	// BlockUnknown holds third-party scripts that no rule knows as
	// unclassified, as the rewrite does with unknown_scripts block;
	// State.Site tells first from third party.
	BlockUnknown bool
}

// GuardBudget is the most the guard asset (script and table) may weigh
// compressed, in bytes: it blocks rendering on a visitor's first visit.
const GuardBudget = 30 << 10

// The placeholders in guard.js that buildGuard fills in.
var (
	guardTablePlaceholder   = []byte("CG_TABLE")
	guardOptionsPlaceholder = []byte("CG_OPTIONS")
)

// buildGuard minifies guard.js and fills in the table and options.
func buildGuard(m *minify.M, g *GuardConfig) (Asset, error) {
	if !json.Valid(g.Table) || len(g.Table) == 0 || g.Table[0] != '{' {
		return Asset{}, fmt.Errorf("guard: the table is not a JSON object (want rules.GuardTable's output)")
	}
	min, err := m.Bytes("text/javascript", guardJS)
	if err != nil {
		return Asset{}, fmt.Errorf("minifying guard.js: %w", err)
	}
	opts, err := json.Marshal(struct {
		ReportOnly   bool `json:"reportOnly"`
		BlockUnknown bool `json:"blockUnknown"`
	}{g.ReportOnly, g.BlockUnknown})
	if err != nil {
		return Asset{}, fmt.Errorf("guard options: %w", err)
	}
	// The table goes in as a string for JSON.parse, which V8 reads faster
	// than the same object written as a literal.
	table := []byte("JSON.parse('" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(string(asciiJSON(g.Table))) + "')")
	for _, p := range []struct{ name, value []byte }{{guardTablePlaceholder, table}, {guardOptionsPlaceholder, opts}} {
		if n := bytes.Count(min, p.name); n != 1 {
			return Asset{}, fmt.Errorf("guard.js holds %s %d times after minifying, want once", p.name, n)
		}
		min = bytes.Replace(min, p.name, p.value, 1)
	}
	if !isASCII(min) {
		return Asset{}, fmt.Errorf("guard.js is not ASCII-only")
	}
	a := Asset{Name: hashedName("guard", ".js", min), ContentType: contentTypeJS, Body: min}
	if err := precompress(&a); err != nil {
		return Asset{}, err
	}
	return a, nil
}

// asciiJSON writes every non-ASCII character of a JSON text as a \u
// escape, so the asset stays ASCII whatever the rules hold.
func asciiJSON(j []byte) []byte {
	if isASCII(j) {
		return j
	}
	var out []byte
	for _, r := range string(j) {
		if r < 0x80 {
			out = append(out, byte(r))
			continue
		}
		if r > 0xffff {
			r -= 0x10000
			out = fmt.Appendf(out, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			continue
		}
		out = fmt.Appendf(out, `\u%04x`, r)
	}
	return out
}

// buildGuardTags prepares the guard's tag for every accepted set.
func (b *Banner) buildGuardTags(name string) {
	for s := range rules.AllSet + 1 {
		b.guardTags[s] = b.appendGuardTag(nil, name, State{Accepted: s})
	}
	b.guardName = name
}

func (b *Banner) appendGuardTag(dst []byte, name string, s State) []byte {
	dst = append(dst, `<script src="`...)
	dst = escapeAttr(dst, b.cfg.Prefix+name)
	dst = append(dst, `" data-cg-accepted="`...)
	dst = append(dst, s.Accepted.With(rules.Necessary).String()...)
	for _, id := range s.Services {
		// "+id": a service accepted one by one (IDs are [a-z0-9._-]).
		dst = append(dst, " +"...)
		dst = escapeAttr(dst, id)
	}
	dst = append(dst, '"')
	if s.Site != "" && b.cfg.Guard.BlockUnknown {
		dst = append(dst, ` data-cg-site="`...)
		dst = escapeAttr(dst, s.Site)
		dst = append(dst, '"')
	}
	dst = appendNonce(dst, s.Nonce)
	return append(dst, `></script>`...)
}

// Guard returns the runtime guard's tag for the visitor in s: an external,
// render-blocking script under the prefix that the rewrite puts first in
// the page, carrying the accepted categories; nil without Config.Guard.
// The result must not be modified.
func (b *Banner) Guard(s State) []byte {
	if b.cfg.Guard == nil {
		return nil
	}
	if s.Nonce == "" && len(s.Services) == 0 && (s.Site == "" || !b.cfg.Guard.BlockUnknown) {
		return b.guardTags[s.Accepted&rules.AllSet]
	}
	return b.appendGuardTag(nil, b.guardName, s)
}

// appendNonce adds a nonce attribute when there is one.
func appendNonce(dst []byte, nonce string) []byte {
	if nonce == "" {
		return dst
	}
	dst = append(dst, ` nonce="`...)
	dst = escapeAttr(dst, nonce)
	return append(dst, '"')
}
