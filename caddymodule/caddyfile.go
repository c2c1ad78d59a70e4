package caddymodule

import (
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"

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
//	    necessary       <url-pattern...>
//	    rules_file      <path...>
//	    no_default_rules
//	    strip           <category...>
//	    unknown_scripts allow|block
//	    report_only
//	    exclude         <path-pattern...>
//	    max_hold        <size>
//	}
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	if d.NextArg() {
		return d.ArgErr()
	}
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

		case "rule", "signature", "necessary":
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
			h.RulesFiles = append(h.RulesFiles, args...)

		case "no_default_rules":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.NoDefaultRules = true

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

		case "report_only":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.ReportOnly = true

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

		default:
			return d.Errf("unknown cookie_consent option %q", d.Val())
		}
	}
	return nil
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
		return r, d.Errf("%s needs at least one %s", kind, map[bool]string{true: "signature", false: "URL pattern"}[kind == "signature"])
	}
	if kind == "signature" {
		r.Inline = args
	} else {
		r.URLs = args
	}
	if _, err := rules.Compile(rules.AllSet, siteRules([]Rule{r})); err != nil {
		return r, d.Errf("%s: %v", kind, strings.TrimPrefix(err.Error(), `rules file 1, vendor 1 ("site-1"): `))
	}
	return r, nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*Handler)(nil)
