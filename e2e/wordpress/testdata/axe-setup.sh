#!/usr/bin/env bash
# Installs the axe-core accessibility engine (npm package, pinned) for the
# banner's accessibility test in e2e/wordpress/axe_test.go, and prints the
# environment the test reads, for eval:
#
#	eval "$(bash e2e/wordpress/testdata/axe-setup.sh)"
#	go test ./e2e/wordpress/ -run Accessibility -v
#
# What it changes on the machine: as root on Debian it installs Debian's npm
# package when npm is missing; it installs axe-core (pinned, no install
# scripts run) into $CONSENTGATE_AXE_DIR, default
# ~/.cache/consentgate/axe-core-<version>, where the test also looks when
# CONSENTGATE_AXE_JS is not set. It starts nothing. Idempotent: an install
# of the pinned version is kept.
set -euo pipefail

AXE_VERSION=4.14.1
dir=${CONSENTGATE_AXE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/consentgate/axe-core-$AXE_VERSION}
js=$dir/node_modules/axe-core/axe.min.js

log() { echo "axe setup: $*" >&2; }

installed_version() {
	[ -f "$dir/node_modules/axe-core/package.json" ] &&
		sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$dir/node_modules/axe-core/package.json" | head -n 1
}

if [ ! -s "$js" ] || [ "$(installed_version || true)" != "$AXE_VERSION" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
			log "installing npm"
			apt-get update -qq >&2
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >&2
		else
			log "npm is missing (apt-get install npm)"
			exit 1
		fi
	fi
	log "installing axe-core@$AXE_VERSION into $dir"
	mkdir -p "$dir"
	npm install --prefix "$dir" --no-audit --no-fund --ignore-scripts --save-exact "axe-core@$AXE_VERSION" >&2
fi
[ -s "$js" ] || { log "no $js after the install"; exit 1; }
[ "$(installed_version)" = "$AXE_VERSION" ] || { log "installed axe-core is $(installed_version), want $AXE_VERSION"; exit 1; }
log "axe-core $AXE_VERSION at $js"
echo "export CONSENTGATE_AXE_JS=$js"
