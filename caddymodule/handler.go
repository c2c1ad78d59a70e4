// Package caddymodule is the Caddy adapter of consentgate: the
// cookie_consent HTTP handler, its Caddyfile directive and its subcommands.
// The work is done by the packages it wires together (rules, rewrite,
// consent, banner, prooflog, ipmask); this package turns Caddy's config and
// requests into calls to them.
package caddymodule

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/consentgate/consentgate/rewrite"
	"github.com/consentgate/consentgate/rules"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// DefaultPrefix is the reserved path prefix under which the gateway serves
// its banner assets and consent endpoint.
const DefaultPrefix = "/.well-known/consent/"

// Handler is the cookie_consent HTTP handler. It neutralises tracking
// elements in HTML responses until the visitor accepts their category,
// inserts the consent banner, and serves the banner's assets and the
// consent endpoint under a reserved path prefix.
//
// A bare `cookie_consent` is safe: every known tracker is neutralised and
// nothing is accepted until the visitor decides.
type Handler struct {
	// Prefix is the reserved path prefix for the gateway's own assets and
	// endpoints. It is matched against the original request URI, before
	// any rewrite. Default: /.well-known/consent/
	Prefix string `json:"prefix,omitempty"`

	// Categories lists the optional categories offered to visitors, in
	// banner order: any of statistics, preferences and marketing.
	// Necessary and unclassified always exist. Rules for a category left
	// out fall to unclassified. Default: all three.
	Categories []string `json:"categories,omitempty"`

	// Rules are the site's own rules. They take precedence over RulesFiles
	// and over the embedded default rules.
	Rules []Rule `json:"rules,omitempty"`

	// RulesFiles are paths of extra rules files, in the format of the
	// embedded defaults (see README), consulted after Rules.
	RulesFiles []string `json:"rules_files,omitempty"`

	// NoDefaultRules leaves out the embedded default rules.
	NoDefaultRules bool `json:"no_default_rules,omitempty"`

	// Strip lists categories whose elements are removed from pages instead
	// of being kept inert until accepted, e.g. for a category the site
	// never asks for.
	Strip []string `json:"strip,omitempty"`

	// UnknownScripts is the policy for third-party scripts that no rule
	// knows: "allow" (the default: they run, and are reported) or "block"
	// (they are unclassified until the visitor accepts that category).
	UnknownScripts string `json:"unknown_scripts,omitempty"`

	// ReportOnly changes nothing in responses: what would be neutralised is
	// logged and counted. Use it to onboard a site safely.
	ReportOnly bool `json:"report_only,omitempty"`

	// Exclude lists request paths (Caddy path matcher patterns, e.g.
	// /wp-admin/*) whose responses are not rewritten.
	Exclude []string `json:"exclude,omitempty"`

	// MaxHold is how many bytes of an inline script or noscript element
	// are held back and inspected for tracker signatures. Default 1 MiB.
	MaxHold int `json:"max_hold,omitempty"`

	ruleset       *rules.Ruleset
	rewriteConfig rewrite.Config
	enabled       rules.Set
	exclude       caddyhttp.MatchPath
	rewriters     *sync.Pool
	assets        *assetSet
	logger        *zap.Logger
}

// Rule is one of the site's own rules: patterns and signatures that put
// elements into a category.
type Rule struct {
	// Category is one of necessary, statistics, preferences, marketing or
	// unclassified.
	Category string `json:"category"`
	// Name is the vendor name shown in logs and the cookie declaration.
	Name string `json:"name,omitempty"`
	// URLs are URL patterns: host[/path], with "*." for subdomains and "*"
	// in the path for any run of characters (see README).
	URLs []string `json:"urls,omitempty"`
	// Inline are literal signatures of inline scripts.
	Inline []string `json:"inline,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.cookie_consent",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision compiles the rules and builds the banner assets. It opens no
// files for writing and contacts nothing, since `caddy validate` runs it.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if h.Prefix == "" {
		h.Prefix = DefaultPrefix
	}
	enabled, err := parseEnabled(h.Categories)
	if err != nil {
		return err
	}
	h.enabled = enabled
	files, err := h.ruleFiles()
	if err != nil {
		return err
	}
	if h.ruleset, err = rules.Compile(enabled, files...); err != nil {
		return fmt.Errorf("compiling rules: %w", err)
	}
	strip, err := parseCategoryList(h.Strip, "strip")
	if err != nil {
		return err
	}
	h.rewriteConfig = rewrite.Config{
		Rules:        h.ruleset,
		Strip:        strip,
		BlockUnknown: h.UnknownScripts == "block",
		ReportOnly:   h.ReportOnly,
		MaxHold:      h.MaxHold,
	}
	if len(h.Exclude) > 0 {
		h.exclude = caddyhttp.MatchPath(h.Exclude)
		if err := h.exclude.Provision(ctx); err != nil {
			return fmt.Errorf("exclude: %w", err)
		}
	}
	h.rewriters = &sync.Pool{New: func() any { return new(rewrite.Rewriter) }}
	if h.assets, err = newAssetSet(h.Prefix); err != nil {
		return fmt.Errorf("building banner assets: %w", err)
	}
	return nil
}

// ruleFiles returns the rules in order of precedence: the site's own, the
// extra files, the embedded defaults.
func (h *Handler) ruleFiles() ([]*rules.File, error) {
	var files []*rules.File
	if len(h.Rules) > 0 {
		files = append(files, siteRules(h.Rules))
	}
	for _, path := range h.RulesFiles {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("reading rules file: %w", err)
		}
		f, err := rules.ParseFile(data)
		if err != nil {
			return nil, fmt.Errorf("rules file %s: %w", path, err)
		}
		files = append(files, f)
	}
	if !h.NoDefaultRules {
		def, err := rules.DefaultFile()
		if err != nil {
			return nil, fmt.Errorf("embedded default rules: %w", err)
		}
		files = append(files, def)
	}
	return files, nil
}

// siteRules turns the site's rules into a rules file of their own.
func siteRules(rs []Rule) *rules.File {
	f := &rules.File{Format: rules.FileFormat}
	for i, r := range rs {
		name := r.Name
		if name == "" {
			name = "Site rule " + r.Category
		}
		f.Vendors = append(f.Vendors, rules.VendorSpec{
			ID:       fmt.Sprintf("site-%d", i+1),
			Name:     name,
			Category: r.Category,
			Docs:     []string{"Caddyfile"},
			URLs:     r.URLs,
			Inline:   r.Inline,
		})
	}
	return f
}

func parseEnabled(names []string) (rules.Set, error) {
	if len(names) == 0 {
		return rules.AllSet, nil
	}
	set := rules.SetOf(rules.Necessary, rules.Unclassified)
	for _, n := range names {
		c, err := rules.ParseCategory(n)
		if err != nil {
			return 0, fmt.Errorf("categories: %w", err)
		}
		set = set.With(c)
	}
	return set, nil
}

func parseCategoryList(names []string, what string) (rules.Set, error) {
	var set rules.Set
	for _, n := range names {
		c, err := rules.ParseCategory(n)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
		if c == rules.Necessary {
			return 0, fmt.Errorf("%s: necessary elements are never removed", what)
		}
		set = set.With(c)
	}
	return set, nil
}

// Validate checks the configuration beyond what Provision needed.
func (h *Handler) Validate() error {
	if !strings.HasPrefix(h.Prefix, "/") || !strings.HasSuffix(h.Prefix, "/") || len(h.Prefix) < 3 {
		return fmt.Errorf("prefix %q must start and end with a slash and name a folder, e.g. %q", h.Prefix, DefaultPrefix)
	}
	switch h.UnknownScripts {
	case "", "allow", "block":
	default:
		return fmt.Errorf("unknown_scripts %q: want allow or block", h.UnknownScripts)
	}
	if h.MaxHold < 0 {
		return fmt.Errorf("max_hold must not be negative")
	}
	for _, c := range h.Categories {
		if c == "necessary" || c == "unclassified" {
			return fmt.Errorf("categories: %s is always there; list only statistics, preferences and marketing", c)
		}
	}
	return nil
}

// ServeHTTP serves the reserved prefix itself and wraps everything else.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if rest, ok := h.reservedPath(r); ok {
		return h.serveReserved(w, r, rest)
	}
	v := h.newVisit(r)
	prepareUpstreamRequest(r, v)
	rw := &responseWriter{
		ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w},
		h:                     h,
		r:                     r,
		v:                     v,
	}
	// Close also runs when the next handler aborts with a panic, so a
	// decoder goroutine and pooled rewriter are always released.
	defer func() {
		if err := rw.Close(); err != nil {
			h.logger.Warn("finishing rewritten response", zap.Error(err), zap.String("path", r.URL.Path))
			if rw.decided && rw.rewriting {
				// The header is out: abort the stream so the client sees
				// it cut short, as reverse_proxy does on a broken body.
				panic(http.ErrAbortHandler)
			}
		}
	}()
	return next.ServeHTTP(rw, r)
}

// reservedPath reports whether the original request (before rewrites such
// as try_files) is under the reserved prefix, and the rest of its path.
func (h *Handler) reservedPath(r *http.Request) (string, bool) {
	path := r.URL.Path
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		path = orig.URL.Path
	}
	if strings.HasPrefix(path, h.Prefix) {
		return path[len(h.Prefix):], true
	}
	if path+"/" == h.Prefix {
		return "", true
	}
	return "", false
}

var errNotFound = errors.New("not found")

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
