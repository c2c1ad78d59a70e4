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
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/consentgate/consentgate/banner"
	"github.com/consentgate/consentgate/consent"
	"github.com/consentgate/consentgate/cookies"
	"github.com/consentgate/consentgate/ipmask"
	"github.com/consentgate/consentgate/prooflog"
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

	// Services names services (vendor IDs of the rules, e.g. youtube) the
	// site uses, so the second layer lists them under their categories
	// from the start; the services the rules match on the site's pages
	// join them as the gateway sees them.
	Services []string `json:"services,omitempty"`

	// Rules are the site's own rules. They take precedence over RulesFiles
	// and over the embedded default rules.
	Rules []Rule `json:"rules,omitempty"`

	// RulesFiles are paths of extra rules files, in the format of the
	// embedded defaults (see README), consulted after Rules.
	RulesFiles []string `json:"rules_files,omitempty"`

	// NoDefaultRules leaves out the embedded default rules: the curated
	// rules and the generated catalogue.
	NoDefaultRules bool `json:"no_default_rules,omitempty"`

	// NoCatalogue leaves out the generated catalogue of tracker hosts and
	// cookies (third-party-web, Open Cookie Database) and keeps the
	// curated rules.
	NoCatalogue bool `json:"no_catalogue,omitempty"`

	// Strip lists categories whose elements are removed from pages instead
	// of being kept inert until accepted, e.g. for a category the site
	// never asks for.
	Strip []string `json:"strip,omitempty"`

	// UnknownScripts is the policy for third-party scripts that no rule
	// knows: "allow" (the default: they run, and are reported) or "block"
	// (they are unclassified until the visitor accepts that category).
	UnknownScripts string `json:"unknown_scripts,omitempty"`

	// ReportOnly changes nothing in responses: what would be neutralised is
	// logged and counted. Use it to onboard a site safely. The runtime
	// guard still goes into pages, where it logs (console.info) what it
	// would hold and holds nothing.
	ReportOnly bool `json:"report_only,omitempty"`

	// NoGuard leaves out the runtime guard: the script, first in every
	// page, that holds the trackers scripts add at run time (see README,
	// "Runtime guard"). Without it only the markup as sent is rewritten.
	NoGuard bool `json:"no_guard,omitempty"`

	// Exclude lists request paths (Caddy path matcher patterns, e.g.
	// /wp-admin/*) whose responses are not rewritten.
	Exclude []string `json:"exclude,omitempty"`

	// MaxHold is how many bytes of an inline script or noscript element
	// are held back and inspected for tracker signatures. Default 1 MiB.
	MaxHold int `json:"max_hold,omitempty"`

	// CookieName is the name of the consent cookie. Default: consentgate.
	CookieName string `json:"cookie_name,omitempty"`

	// CookieDomain, when set, is the consent cookie's Domain, so one
	// decision covers the subdomains, e.g. example.com.
	CookieDomain string `json:"cookie_domain,omitempty"`

	// Secret signs consent cookies (at least 32 bytes; placeholders such as
	// {env.CONSENTGATE_SECRET} work). When empty, a secret is generated once
	// and kept in Caddy's storage, so restarts and instances sharing the
	// storage agree.
	Secret string `json:"secret,omitempty"`

	// PreviousSecrets still verify cookies signed before a rotation.
	PreviousSecrets []string `json:"previous_secrets,omitempty"`

	// Lifetime is how long a decision accepting an optional category
	// holds. Default: 183 days (6 months).
	Lifetime caddy.Duration `json:"lifetime,omitempty"`

	// RejectLifetime is how long a decision accepting only the necessary
	// holds, after which the visitor is asked again. Default: Lifetime.
	RejectLifetime caddy.Duration `json:"reject_lifetime,omitempty"`

	// PolicyVersion names the current privacy policy; changing it asks
	// every visitor again. Default: "1".
	PolicyVersion string `json:"policy_version,omitempty"`

	// PolicyChange is the line the banner shows when it asks again after a
	// policy version change, saying what changed.
	PolicyChange string `json:"policy_change,omitempty"`

	// Controller names who processes the data; the banner says it. When
	// empty the banner says "this website".
	Controller string `json:"controller,omitempty"`

	// PolicyURL links the banner to the privacy statement.
	PolicyURL string `json:"policy_url,omitempty"`

	// Languages are the banner's languages, the default first; the
	// visitor's Accept-Language picks among them. Default: nl, en.
	Languages []string `json:"languages,omitempty"`

	// Texts override the banner's texts: language -> text key -> text (see
	// README for the keys).
	Texts map[string]map[string]string `json:"texts,omitempty"`

	// SettingsAnchor is the fragment that opens the banner's settings from
	// any link in the site, e.g. <a href="#cookie-settings">. Default:
	// cookie-settings.
	SettingsAnchor string `json:"settings_anchor,omitempty"`

	// ConsentMode emits Google Consent Mode v2 signals (basic mode: Google
	// tags stay blocked until consent; defaults denied, then updates).
	ConsentMode bool `json:"consent_mode,omitempty"`

	// RateLimit bounds consent decisions per masked client address:
	// decisions per minute and burst. Default 30 per minute, bursts of 10.
	// Set Off to disable (e.g. for load tests).
	RateLimit *RateLimit `json:"rate_limit,omitempty"`

	// ProofLog configures where decisions are recorded. Default: a file
	// log under Caddy's data directory.
	ProofLog *ProofLogConfig `json:"proof_log,omitempty"`

	// Analytics routes are requests the gateway treats as analytics
	// traffic: answered locally without consent, masked when forwarded.
	Analytics []AnalyticsRoute `json:"analytics,omitempty"`

	// RequestCookies says what happens to cookies of categories the
	// visitor has not accepted in the Cookie header sent upstream: "strip"
	// (the default: server-side code cannot read tracker IDs the visitor
	// refused) or "keep".
	RequestCookies string `json:"request_cookies,omitempty"`

	ruleset       *rules.Ruleset
	rewriteConfig rewrite.Config
	enabled       rules.Set
	exclude       caddyhttp.MatchPath
	rewriters     *sync.Pool
	assets        map[string]*asset
	banner        *banner.Banner
	secrets       *secretSource
	limiter       *decisionLimiter
	masker        ipmask.Masker
	sink          prooflog.Sink
	seen          *cookies.Seen
	siteServices  *siteServices
	declaration   *cookies.Declaration
	declLabels    map[string]cookies.Labels
	variants      *variantTable
	metrics       *metrics
	warnings      *rateLimitedWarnings
	offered       rules.Set // the categories a visitor can accept
	logger        *zap.Logger

	// historyLimiter and historyScans bound the visitors' history reads.
	historyLimiter *decisionLimiter
	historyScans   chan struct{}
}

// RateLimit bounds consent decisions per masked client address.
type RateLimit struct {
	// PerMinute decisions are allowed on average.
	PerMinute int `json:"per_minute,omitempty"`
	// Burst decisions may come at once.
	Burst int `json:"burst,omitempty"`
	// Off disables the limit.
	Off bool `json:"off,omitempty"`
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
	// Cookies are cookie names, or globs with "*" such as _shop_*.
	Cookies []string `json:"cookies,omitempty"`
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
// A configuration error names the site it is in (see siteOf).
func (h *Handler) Provision(ctx caddy.Context) error {
	if err := checkPlacement(ctx); err != nil {
		return err
	}
	self := configJSON(h)
	if err := h.provision(ctx); err != nil {
		if site := siteOf(ctx, self); site != "" {
			return fmt.Errorf("cookie_consent in %s: %w", site, err)
		}
		return err
	}
	return nil
}

func (h *Handler) provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	h.metrics = newMetrics(ctx.GetMetricsRegistry())
	h.warnings = newRateLimitedWarnings(time.Hour, 1000)
	if h.Prefix == "" {
		h.Prefix = DefaultPrefix
	}
	enabled, err := parseEnabled(h.Categories)
	if err != nil {
		return err
	}
	h.enabled = enabled
	if h.CookieName == "" {
		h.CookieName = DefaultCookieName
	}
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
	if err := h.provisionConsent(ctx); err != nil {
		return err
	}
	for i := range h.Analytics {
		if err := h.Analytics[i].provision(ctx); err != nil {
			return fmt.Errorf("analytics route %d: %w", i+1, err)
		}
	}
	return nil
}

// Defaults of the consent cookie.
const (
	DefaultCookieName    = "consentgate"
	DefaultLifetime      = 183 * 24 * time.Hour
	DefaultPolicyVersion = "1"
)

// provisionConsent sets up the banner, the consent cookie's keys, the rate
// limit and the proof sink.
func (h *Handler) provisionConsent(ctx caddy.Context) error {
	if h.CookieName == "" {
		h.CookieName = DefaultCookieName
	}
	if h.Lifetime == 0 {
		h.Lifetime = caddy.Duration(DefaultLifetime)
	}
	if h.PolicyVersion == "" {
		h.PolicyVersion = DefaultPolicyVersion
	}
	// The categories a visitor can accept: the enabled optional ones and
	// unclassified, in banner order.
	h.offered = h.enabled
	if err := checkConfiguredServices(h.ruleset, h.offered, h.Services); err != nil {
		return err
	}
	h.siteServices = newSiteServices(h.Services)
	h.historyLimiter = newDecisionLimiter(historyPerMinute, historyBurst, 100_000)
	h.historyScans = make(chan struct{}, historyConcurrent)
	var optional []rules.Category
	for _, c := range h.offered.Categories() {
		if c != rules.Necessary {
			optional = append(optional, c)
		}
	}
	guard, err := h.guardConfig()
	if err != nil {
		return err
	}
	h.banner, err = banner.New(banner.Config{
		Prefix:         h.Prefix,
		Categories:     optional,
		Languages:      h.Languages,
		Texts:          h.Texts,
		Controller:     h.Controller,
		PolicyURL:      h.PolicyURL,
		SettingsAnchor: h.SettingsAnchor,
		ConsentMode:    h.ConsentMode,
		PolicyChange:   h.PolicyChange,
		VendorNames:    banner.VendorNamesOf(h.ruleset),
		Guard:          guard,
	})
	if err != nil {
		return err
	}
	h.assets = newAssets(h.banner.Assets())
	h.variants = newVariantTable(h.banner.Languages(), h.PolicyVersion)

	repl := caddy.NewReplacer()
	h.secrets = &secretSource{
		storage: ctx.Storage(),
		template: consent.Codec{
			Lifetime:       time.Duration(h.Lifetime),
			RejectLifetime: time.Duration(h.RejectLifetime),
			PolicyVersion:  h.PolicyVersion,
		},
	}
	if h.Secret != "" {
		secret := repl.ReplaceKnown(h.Secret, "")
		if len(secret) < minSecretLen {
			return shortSecretError("secret", h.Secret, len(secret))
		}
		h.secrets.static = []byte(secret)
	}
	for i, p := range h.PreviousSecrets {
		secret := repl.ReplaceKnown(p, "")
		if len(secret) < minSecretLen {
			return shortSecretError(fmt.Sprintf("previous_secrets: secret %d", i+1), p, len(secret))
		}
		h.secrets.previous = append(h.secrets.previous, []byte(secret))
	}

	rl := h.RateLimit
	if rl == nil {
		rl = &RateLimit{}
	}
	if !rl.Off {
		perMinute, burst := rl.PerMinute, rl.Burst
		if perMinute == 0 {
			perMinute = 30
		}
		if burst == 0 {
			burst = 10
		}
		h.limiter = newDecisionLimiter(perMinute, burst, 100_000)
	}
	h.masker = ipmask.Masker{}
	if err := checkProofLogPlaceholders(h.ProofLog); err != nil {
		return err
	}
	if h.sink, err = h.newProofSink(ctx); err != nil {
		return err
	}
	h.seen = cookies.NewSeen(1000)
	h.declaration = &cookies.Declaration{
		Rules:      h.ruleset,
		Seen:       h.seen,
		Categories: h.offered.Categories(),
		Always:     []string{h.CookieName},
	}
	h.declLabels = make(map[string]cookies.Labels)
	for _, lang := range h.banner.Languages() {
		h.declLabels[lang] = h.declarationLabels(lang)
	}
	return nil
}

// Cleanup releases the proof sink (the file writer is shared with the
// config that replaces this one, and closes with the last user).
func (h *Handler) Cleanup() error {
	if h.sink != nil {
		return h.sink.Close()
	}
	return nil
}

// ruleFiles returns the rules in order of precedence: the gateway's own
// cookie, the site's rules, the extra files, the embedded defaults.
func (h *Handler) ruleFiles() ([]*rules.File, error) {
	files := []*rules.File{{Format: rules.FileFormat, Vendors: []rules.VendorSpec{{
		ID: "consentgate", Name: "consentgate", Category: "necessary", Docs: []string{"README.md"},
		Cookies: []rules.CookieSpec{{Name: h.CookieName, Purpose: "Remembers which cookie categories you accepted, so the banner is not shown again.", Lifetime: "6 months",
			Texts: map[string]rules.CookieText{"nl": {Purpose: "Onthoudt welke cookiecategorieën u hebt geaccepteerd, zodat de banner niet opnieuw verschijnt."}}}},
	}}}}
	if len(h.Rules) > 0 {
		files = append(files, siteRules(h.Rules))
	}
	for _, path := range h.RulesFiles {
		f, err := checkRulesFile(path)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if !h.NoDefaultRules {
		def, err := rules.DefaultFiles(!h.NoCatalogue)
		if err != nil {
			return nil, err
		}
		files = append(files, def...)
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
			Cookies:  cookieSpecs(r.Cookies),
		})
	}
	return f
}

func cookieSpecs(names []string) []rules.CookieSpec {
	var out []rules.CookieSpec
	for _, n := range names {
		out = append(out, rules.CookieSpec{Name: n, Purpose: "Classified by the site operator.",
			Texts: map[string]rules.CookieText{"nl": {Purpose: "Ingedeeld door de beheerder van de website."}}})
	}
	return out
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
	switch h.RequestCookies {
	case "", "strip", "keep":
	default:
		return fmt.Errorf("request_cookies %q: want strip or keep", h.RequestCookies)
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
	if len(h.Analytics) > 0 {
		a, err := h.analyticsRoute(r)
		if err != nil {
			return caddyhttp.Error(http.StatusInternalServerError, err)
		}
		if a != nil {
			if answered, err := h.serveAnalytics(w, r, a, v); answered || err != nil {
				return err
			}
		}
	}
	h.prepareUpstreamRequest(r, v)
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
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
