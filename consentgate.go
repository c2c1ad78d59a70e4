// Package consentgate is a cookie-consent gateway for the web, as a Caddy v2
// module: the cookie_consent HTTP handler. Importing this package registers
// the module and its Caddyfile directive, as Caddy plug-ins do, so the usual
// build line works:
//
//	xcaddy build --with github.com/consentgate/consentgate
//
// The handler itself lives in the caddymodule package; the work is done by
// the packages it wires together (rules, rewrite, consent, banner, cookies,
// prooflog, ipmask).
package consentgate

import (
	// The cookie_consent handler, its Caddyfile directive and the
	// `caddy consent` subcommands register themselves in init.
	_ "github.com/consentgate/consentgate/caddymodule"
)
