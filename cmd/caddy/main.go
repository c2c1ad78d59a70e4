// Command caddy is Caddy with its standard modules and consentgate's
// cookie_consent handler, built the way xcaddy builds custom Caddy binaries.
//
//	go run ./cmd/caddy run            # the demo in ./Caddyfile
//	go build -o caddy ./cmd/caddy
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// Caddy's standard modules.
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	// consentgate, imported as xcaddy's --with line imports it.
	_ "github.com/consentgate/consentgate"
)

func main() {
	caddycmd.Main()
}
