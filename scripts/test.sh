#!/usr/bin/env bash
# Runs every test of consentgate. On a Debian machine as root it first
# installs what the browser, database and WordPress tests need (chromium,
# postgresql; WordPress, MariaDB and PHP-FPM; axe-core from npm) and starts
# the servers; elsewhere those tests skip with a message saying what is
# missing (under CI=true they fail instead).
#
#   scripts/test.sh                 # everything
#   scripts/test.sh ./rewrite/...   # only some packages (go test arguments)
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "installing ${need[*]} for the browser and database tests" >&2
		apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
	else
		echo "note: ${need[*]} missing and cannot be installed here; those tests will skip" >&2
	fi
fi

if command -v pg_ctlcluster >/dev/null 2>&1 && [ -z "${CONSENTGATE_TEST_PG_DSN:-}" ] && [ "$(id -u)" = 0 ]; then
	eval "$(bash scripts/pg-setup.sh)"
	export CONSENTGATE_TEST_PG_DSN CONSENTGATE_TEST_PG_RESTART
fi

# The WordPress end-to-end test and the accessibility check (axe-core) need
# a WordPress (Debian's packages, MariaDB, PHP-FPM) and axe-core from npm.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	[ -n "${CONSENTGATE_WP_ROOT:-}" ] || { wp_env=$(bash e2e/wordpress/testdata/setup.sh); eval "$wp_env"; }
	[ -n "${CONSENTGATE_AXE_JS:-}" ] || { axe_env=$(bash e2e/wordpress/testdata/axe-setup.sh); eval "$axe_env"; }
fi

if [ $# -eq 0 ]; then
	set -- ./...
fi
exec go test -count=1 -timeout 30m "$@"
