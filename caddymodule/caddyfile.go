package caddymodule

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

	"github.com/consentgate/consentgate/consent"
	"github.com/consentgate/consentgate/prooflog"
	"github.com/consentgate/consentgate/rules"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("cookie_consent", parseCaddyfile)
	// Right after encode: encode wraps us (so our output is compressed, not
	// the upstream's), and we wrap templates, reverse_proxy, php_fastcgi
	// and file_server.
	httpcaddyfile.RegisterDirectiveOrder("cookie_consent", httpcaddyfile.After, "encode")
}

func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var cc Handler
	err := cc.UnmarshalCaddyfile(h.Dispenser)
	return &cc, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Patterns
// and signatures are checked here, where errors can name the line.
//
//	cookie_consent {
//	    prefix          <path>
//	    categories      <category...>
//	    rule            <category> <url-pattern...>
//	    signature       <category> <inline-signature...>
//	    cookie          <category> <cookie-name...>
//	    necessary       <url-pattern...>
//	    rules_file      <path...>
//	    no_default_rules
//	    no_catalogue
//	    strip           <category...>
//	    unknown_scripts allow|block
//	    request_cookies strip|keep
//	    report_only
//	    no_guard
//	    exclude         <path-pattern...>
//	    max_hold        <size>
//
//	    cookie_name     <name>
//	    cookie_domain   <domain>
//	    secret          <secret>
//	    previous_secrets <secret...>
//	    lifetime        <duration>
//	    reject_lifetime <duration>
//	    policy_version  <version>
//	    policy_change   <text>
//	    controller      <name>
//	    policy_url      <url>
//	    languages       <lang...>
//	    text            <lang> <key> <text>
//	    settings_anchor <id>
//	    consent_mode
//	    rate_limit      off | <per-minute> [<burst>]
//	    analytics [<path>...] {
//	        match           { <matchers> }
//	        category        <category>
//	        consent_free
//	        params          <name...>
//	        ensure
//	        ipv4_prefix     <bits>
//	        ipv6_prefix     <bits>
//	        max_body        <size>
//	    }
//	    proof_log {
//	        dir                 <path>
//	        postgres            <dsn>
//	        postgres_owner      <dsn>
//	        postgres_table      <name>
//	        checkpoint_every    <records>
//	        checkpoint_interval <duration>
//	        rotate_size         <size>
//	        no_daily_rotation
//	        retention           <duration>
//	        witness             <dir | postgres-dsn | http(s)-url>
//	        on_tamper           record | refuse
//	    }
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	// Where the languages and the first text line are, for the errors
	// only the whole block shows (see checkBannerTexts).
	var languagesAt, textAt string
	for d.NextBlock(0) {
		switch d.Val() {
		case "prefix":
			if !d.NextArg() {
				return d.ArgErr()
			}
			p := d.Val()
			if !strings.HasPrefix(p, "/") {
				return d.Errf("prefix %q must start with a slash", p)
			}
			if !strings.HasSuffix(p, "/") {
				p += "/"
			}
			h.Prefix = p
			if d.NextArg() {
				return d.ArgErr()
			}

		case "categories":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			for _, a := range args {
				c, err := rules.ParseCategory(a)
				if err != nil {
					return d.Errf("categories: %v", err)
				}
				if c == rules.Necessary || c == rules.Unclassified {
					return d.Errf("categories: %s is always there; list only statistics, preferences and marketing", c)
				}
				h.Categories = append(h.Categories, c.String())
			}

		case "services":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			for _, a := range args {
				if !consent.ValidServiceID(a) {
					return d.Errf("services: %q is not a vendor ID (lower case letters, digits, '-', '.' and '_')", a)
				}
				h.Services = append(h.Services, a)
			}

		case "rule", "signature", "necessary", "cookie":
			r, err := parseRuleLine(d)
			if err != nil {
				return err
			}
			h.Rules = append(h.Rules, r)

		case "rules_file":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			for _, path := range args {
				if _, err := checkRulesFile(path); err != nil {
					return d.Errf("%v", err)
				}
			}
			h.RulesFiles = append(h.RulesFiles, args...)

		case "no_default_rules":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.NoDefaultRules = true

		case "no_catalogue":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.NoCatalogue = true

		case "strip":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			if _, err := parseCategoryList(args, "strip"); err != nil {
				return d.Errf("%v", err)
			}
			h.Strip = append(h.Strip, args...)

		case "unknown_scripts":
			if !d.NextArg() {
				return d.ArgErr()
			}
			switch v := d.Val(); v {
			case "allow", "block":
				h.UnknownScripts = v
			default:
				return d.Errf("unknown_scripts %q: want allow (run and report them) or block (unclassified until accepted)", v)
			}
			if d.NextArg() {
				return d.ArgErr()
			}

		case "request_cookies":
			if !d.NextArg() {
				return d.ArgErr()
			}
			switch v := d.Val(); v {
			case "strip", "keep":
				h.RequestCookies = v
			default:
				return d.Errf("request_cookies %q: want strip (the default) or keep", v)
			}
			if d.NextArg() {
				return d.ArgErr()
			}

		case "report_only":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.ReportOnly = true

		case "no_guard":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.NoGuard = true

		case "exclude":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			for _, a := range args {
				if !strings.HasPrefix(a, "/") && !strings.HasPrefix(a, "*") {
					return d.Errf("exclude %q: a path pattern starts with / or *", a)
				}
			}
			h.Exclude = append(h.Exclude, args...)

		case "max_hold":
			if !d.NextArg() {
				return d.ArgErr()
			}
			n, err := humanize.ParseBytes(d.Val())
			if err != nil || n == 0 || n > 64<<20 {
				return d.Errf("max_hold %q: want a size between 1B and 64MiB, e.g. 1MiB", d.Val())
			}
			h.MaxHold = int(n)
			if d.NextArg() {
				return d.ArgErr()
			}

		case "cookie_name", "cookie_domain", "secret", "policy_version", "policy_change", "controller", "policy_url", "settings_anchor":
			opt := d.Val()
			if !d.NextArg() {
				return d.ArgErr()
			}
			val := d.Val()
			if d.NextArg() {
				return d.ArgErr()
			}
			if err := h.setStringOption(opt, val); err != nil {
				return d.Errf("%s: %v", opt, err)
			}

		case "previous_secrets":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			for i, secret := range args {
				if err := checkLiteralSecret(secret); err != nil {
					return d.Errf("previous_secrets: secret %d %v", i+1, err)
				}
			}
			h.PreviousSecrets = append(h.PreviousSecrets, args...)

		case "lifetime", "reject_lifetime":
			opt := d.Val()
			if !d.NextArg() {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(d.Val())
			if err != nil || dur <= 0 {
				return d.Errf("%s %q: want a positive duration such as 183d or 4380h", opt, d.Val())
			}
			if opt == "lifetime" {
				h.Lifetime = caddy.Duration(dur)
			} else {
				h.RejectLifetime = caddy.Duration(dur)
			}
			if d.NextArg() {
				return d.ArgErr()
			}

		case "languages":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.ArgErr()
			}
			h.Languages = append(h.Languages, args...)
			languagesAt = fmt.Sprintf("%s:%d", d.File(), d.Line())

		case "text":
			args := d.RemainingArgs()
			if len(args) != 3 {
				return d.Errf("text takes a language, a text key and the text, e.g. text nl title \"Cookies\"")
			}
			if err := checkTextKey(args[0], args[1]); err != nil {
				return d.Errf("%v", err)
			}
			if textAt == "" {
				textAt = fmt.Sprintf("%s:%d", d.File(), d.Line())
			}
			if h.Texts == nil {
				h.Texts = make(map[string]map[string]string)
			}
			if h.Texts[args[0]] == nil {
				h.Texts[args[0]] = make(map[string]string)
			}
			h.Texts[args[0]][args[1]] = args[2]

		case "consent_mode":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.ConsentMode = true

		case "rate_limit":
			args := d.RemainingArgs()
			switch {
			case len(args) == 1 && args[0] == "off":
				h.RateLimit = &RateLimit{Off: true}
			case len(args) == 1 || len(args) == 2:
				rl := &RateLimit{}
				n, err := strconv.Atoi(args[0])
				if err != nil || n <= 0 {
					return d.Errf("rate_limit %q: want off, or decisions per minute and an optional burst", args[0])
				}
				rl.PerMinute = n
				if len(args) == 2 {
					if rl.Burst, err = strconv.Atoi(args[1]); err != nil || rl.Burst <= 0 {
						return d.Errf("rate_limit burst %q: want a positive number", args[1])
					}
				}
				h.RateLimit = rl
			default:
				return d.ArgErr()
			}

		case "analytics":
			a, err := parseAnalytics(d)
			if err != nil {
				return err
			}
			h.Analytics = append(h.Analytics, a)

		case "proof_log":
			if d.NextArg() {
				return d.ArgErr()
			}
			pl, err := parseProofLog(d)
			if err != nil {
				return err
			}
			h.ProofLog = pl

		default:
			return d.Errf("unknown cookie_consent option %q", d.Val())
		}
	}
	if err := checkBannerTexts(h.Categories, h.Languages, h.Texts, h.PolicyChange); err != nil {
		at := languagesAt
		if at == "" || strings.HasPrefix(err.Error(), "texts") && textAt != "" {
			at = textAt
		}
		return fmt.Errorf("cookie_consent: %w, at %s", err, at)
	}
	return nil
}

// setStringOption sets one of the single-valued string options.
func (h *Handler) setStringOption(opt, val string) error {
	switch opt {
	case "cookie_name":
		if !validCookieName(val) {
			return fmt.Errorf("%q is not a cookie name (letters, digits and !#$%%&'*+-.^_`|~ only)", val)
		}
		h.CookieName = val
	case "cookie_domain":
		if strings.ContainsAny(val, " ;,/:") {
			return fmt.Errorf("%q is not a domain", val)
		}
		h.CookieDomain = strings.TrimPrefix(val, ".")
	case "secret":
		if err := checkLiteralSecret(val); err != nil {
			return err
		}
		h.Secret = val
	case "policy_version":
		if len(val) > consent.MaxPolicyVersionLen {
			return fmt.Errorf("at most %d bytes", consent.MaxPolicyVersionLen)
		}
		h.PolicyVersion = val
	case "policy_change":
		h.PolicyChange = val
	case "controller":
		h.Controller = val
	case "policy_url":
		h.PolicyURL = val
	case "settings_anchor":
		h.SettingsAnchor = val
	}
	return nil
}

// validCookieName reports whether s is a cookie name (an RFC 6265 token).
func validCookieName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// parseAnalytics reads "analytics [<path>...] { … }".
func parseAnalytics(d *caddyfile.Dispenser) (AnalyticsRoute, error) {
	var a AnalyticsRoute
	if paths := d.RemainingArgs(); len(paths) > 0 {
		raw, err := json.Marshal(caddyhttp.MatchPath(paths))
		if err != nil {
			return a, d.Errf("analytics paths: %v", err)
		}
		a.MatchRaw = append(a.MatchRaw, caddy.ModuleMap{"path": raw})
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		switch opt {
		case "match":
			set, err := caddyhttp.ParseCaddyfileNestedMatcherSet(d)
			if err != nil {
				return a, d.Errf("analytics match: %v", err)
			}
			a.MatchRaw = append(a.MatchRaw, set)
		case "consent_free", "ensure":
			if d.NextArg() {
				return a, d.ArgErr()
			}
			if opt == "ensure" {
				a.Ensure = true
			} else {
				a.ConsentFree = true
			}
		case "params":
			a.Params = d.RemainingArgs()
			if len(a.Params) == 0 {
				return a, d.ArgErr()
			}
		case "category", "ipv4_prefix", "ipv6_prefix", "max_body":
			if !d.NextArg() {
				return a, d.ArgErr()
			}
			val := d.Val()
			if d.NextArg() {
				return a, d.ArgErr()
			}
			switch opt {
			case "category":
				c, err := rules.ParseCategory(val)
				if err != nil {
					return a, d.Errf("analytics category: %v", err)
				}
				a.Category = c.String()
			case "ipv4_prefix", "ipv6_prefix":
				n, err := strconv.Atoi(val)
				limit := map[string]int{"ipv4_prefix": 32, "ipv6_prefix": 128}[opt]
				if err != nil || n < 0 || n > limit {
					return a, d.Errf("%s %q: want a prefix length from 0 to %d", opt, val, limit)
				}
				if opt == "ipv4_prefix" {
					a.IPv4Prefix = n
				} else {
					a.IPv6Prefix = n
				}
			case "max_body":
				n, err := humanize.ParseBytes(val)
				if err != nil || n == 0 {
					return a, d.Errf("max_body %q: want a size such as 64KiB", val)
				}
				a.MaxBody = int64(n)
			}
		default:
			return a, d.Errf("unknown analytics option %q", opt)
		}
	}
	if len(a.MatchRaw) == 0 {
		return a, d.Errf("analytics needs paths or a match block to say which requests are analytics traffic")
	}
	return a, nil
}

// parseProofLog reads a proof_log block.
func parseProofLog(d *caddyfile.Dispenser) (*ProofLogConfig, error) {
	pl := &ProofLogConfig{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if opt == "no_daily_rotation" {
			if d.NextArg() {
				return nil, d.ArgErr()
			}
			pl.NoDailyRotation = true
			continue
		}
		if !d.NextArg() {
			return nil, d.ArgErr()
		}
		val := d.Val()
		if d.NextArg() {
			return nil, d.ArgErr()
		}
		switch opt {
		case "dir":
			pl.Dir = val
		case "witness":
			// Placeholders ({env.…}) are checked once replaced, at provisioning.
			if !strings.Contains(val, "{") {
				if err := prooflog.CheckWitnessTarget(val); err != nil {
					return nil, d.Errf("proof_log %v", err)
				}
			}
			pl.Witnesses = append(pl.Witnesses, val)
		case "on_tamper":
			if val != prooflog.TamperRecord && val != prooflog.TamperRefuse {
				return nil, d.Errf("proof_log on_tamper %q: want %s (keep the lines, record a signed discontinuity and go on) or %s (do not open the log until an operator has looked)", val, prooflog.TamperRecord, prooflog.TamperRefuse)
			}
			pl.OnTamper = val
		case "postgres":
			pl.Postgres = val
		case "postgres_owner":
			pl.PostgresOwner = val
		case "postgres_table":
			pl.PostgresTable = val
		case "checkpoint_every":
			n, err := strconv.Atoi(val)
			if err != nil || n <= 0 {
				return nil, d.Errf("checkpoint_every %q: want a positive number of records", val)
			}
			pl.CheckpointEvery = n
		case "checkpoint_interval", "retention":
			dur, err := caddy.ParseDuration(val)
			if err != nil || dur <= 0 {
				return nil, d.Errf("%s %q: want a positive duration such as 10m or 548d", opt, val)
			}
			if opt == "retention" {
				pl.Retention = caddy.Duration(dur)
			} else {
				pl.CheckpointInterval = caddy.Duration(dur)
			}
		case "rotate_size":
			n, err := humanize.ParseBytes(val)
			if err != nil || n == 0 {
				return nil, d.Errf("rotate_size %q: want a size such as 64MiB", val)
			}
			pl.RotateSize = int64(n)
		default:
			return nil, d.Errf("unknown proof_log option %q", opt)
		}
	}
	if pl.Dir != "" && pl.Postgres != "" {
		return nil, d.Errf("proof_log: choose dir (a file log) or postgres, not both")
	}
	if pl.Postgres != "" && pl.OnTamper != "" {
		return nil, d.Errf("proof_log: on_tamper applies to the file log; a PostgreSQL log has no torn or damaged lines to recover")
	}
	return pl, nil
}

// parseRuleLine reads "rule <category> <pattern...>", "signature <category>
// <literal...>" or "necessary <pattern...>" and checks every pattern.
func parseRuleLine(d *caddyfile.Dispenser) (Rule, error) {
	kind := d.Val()
	var r Rule
	if kind == "necessary" {
		r.Category = "necessary"
	} else {
		if !d.NextArg() {
			return r, d.ArgErr()
		}
		c, err := rules.ParseCategory(d.Val())
		if err != nil {
			return r, d.Errf("%s: %v", kind, err)
		}
		r.Category = c.String()
	}
	args := d.RemainingArgs()
	if len(args) == 0 {
		noun := map[string]string{"rule": "URL pattern", "necessary": "URL pattern", "signature": "signature", "cookie": "cookie name"}[kind]
		return r, d.Errf("%s needs at least one %s", kind, noun)
	}
	switch kind {
	case "signature":
		r.Inline = args
	case "cookie":
		r.Cookies = args
	default:
		r.URLs = args
	}
	if _, err := rules.Compile(rules.AllSet, siteRules([]Rule{r})); err != nil {
		return r, d.Errf("%s: %v", kind, strings.TrimPrefix(err.Error(), `rules file 1, vendor 1 ("site-1"): `))
	}
	return r, nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
