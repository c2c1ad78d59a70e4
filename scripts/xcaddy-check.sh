#!/usr/bin/env bash
# Builds Caddy the way Caddy users build plug-ins, with xcaddy and this
# checkout, and checks that the result has the cookie_consent handler:
#
#	xcaddy build <caddy version> --with github.com/consentgate/consentgate=<this checkout>
#	caddy list-modules   # must list http.handlers.cookie_consent
#
# xcaddy is a Go module (github.com/caddyserver/xcaddy, pinned below) run with
# `go run`; it needs the Go module proxy. It installs nothing and starts
# nothing; the build goes to a temporary directory that is removed at exit.
set -euo pipefail
cd "$(dirname "$0")/.."

XCADDY=github.com/caddyserver/xcaddy/cmd/xcaddy@v0.4.5
caddy_version=$(go list -m -f '{{.Version}}' github.com/caddyserver/caddy/v2)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# xcaddy asks the module proxy for the plug-in's latest version before the
# local replacement takes over; Go falls back to the replacement only when
# the proxy says "not found". Some proxies and mirrors answer "forbidden" for
# modules they do not carry, so an empty file proxy behind a "|" (fall back
# on any error) gives Go the "not found" it needs.
mkdir -p "$work/noproxy"
proxy=$(go env GOPROXY)
proxy=${proxy%,direct}
proxy=${proxy%|direct}
case "$proxy" in
off | direct | "") ;;
*) export GOPROXY="$proxy|file://$work/noproxy" ;;
esac

echo "xcaddy: building Caddy $caddy_version with github.com/consentgate/consentgate=$PWD" >&2
# xcaddy builds in its own temporary module; XCADDY_SKIP_CLEANUP=0 removes it.
go run "$XCADDY" build "$caddy_version" \
	--with "github.com/consentgate/consentgate=$PWD" \
	--output "$work/caddy" >&2

if ! "$work/caddy" list-modules | grep -qx 'http.handlers.cookie_consent'; then
	echo "xcaddy: the built caddy does not list http.handlers.cookie_consent" >&2
	exit 1
fi
echo "xcaddy: ok, $("$work/caddy" version | head -n 1) lists http.handlers.cookie_consent" >&2
