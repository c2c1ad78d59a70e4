#!/usr/bin/env bash
# Runs the tests of consentgate: `go test` on the packages given (default:
# all), after setting up what those packages' tests need.
#
#   scripts/test.sh                                  # everything
#   scripts/test.sh ./rewrite/...                    # only some packages
#   scripts/test.sh -run Conformance ./caddymodule   # go test arguments
#   CONSENTGATE_TEST_SETUP=none scripts/test.sh      # install and start nothing
#
# What it installs and starts, only as root on Debian (apt-get), and only
# for the packages whose tests need it:
#   - browser tests (banner, caddymodule, scan, mimesniff, htmlencoding, e2e):
#     the chromium package;
#   - the load test's short run (cmd/loadtest): the wrk package;
#   - the runtime guard's matcher test (banner) and the URL parser's oracle
#     (weburl): the nodejs package;
#   - proof log database tests (prooflog, caddymodule): the postgresql
#     package; it starts the main cluster and a second one,
#     consentgate_restart, that only the restart test restarts (both
#     localhost only), and creates the role and database consentgate_test in
#     each (scripts/pg-setup.sh says exactly what);
#   - the WordPress end-to-end and accessibility tests (e2e/wordpress): the
#     wordpress, php-fpm, php-mysql, php-cli, mariadb-server and
#     mariadb-client packages (wordpress pulls in apache2, installed but never
#     started), then starts MariaDB and PHP-FPM, creates the database and
#     user consentgate_wp and installs a WordPress site with a must-use
#     plugin (e2e/wordpress/testdata/setup.sh);
#   - the accessibility tests (e2e/wordpress and the banner's settings
#     dialog and page): npm (Debian package) with axe-core 4.14.1 in
#     ~/.cache/consentgate (e2e/wordpress/testdata/axe-setup.sh).
# It prints this plan before it changes anything. Servers it starts keep
# running afterwards. Without root or apt-get, or with
# CONSENTGATE_TEST_SETUP=none, it changes nothing and those tests skip with a
# message saying what is missing (under CI=true they fail instead).
# Settings already in the environment are used as they are:
# CONSENTGATE_TEST_PG_DSN, CONSENTGATE_WP_ROOT, CONSENTGATE_AXE_JS.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -eq 0 ]; then
	set -- ./...
fi

# The packages asked for (arguments that name packages, not go test flags),
# and what their tests need.
pkgs=()
for a in "$@"; do
	case "$a" in
	./* | ../* | all | github.com/*) pkgs+=("$a") ;;
	esac
done
[ ${#pkgs[@]} -gt 0 ] || pkgs=(./...)
test_files=$(go list -e -f '{{$d := .Dir}}{{range .TestGoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .XTestGoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}' "${pkgs[@]}")
uses() { [ -n "$test_files" ] && echo "$test_files" | xargs grep -lE "$1" >/dev/null 2>&1; }
need_chromium=false need_pg=false need_wp=false need_wrk=false need_node=false need_axe=false
uses 'testenv\.Chromium|browsertest\.' && need_chromium=true
uses 'LookPath\("wrk"\)' && need_wrk=true
uses 'LookPath\("node"\)' && need_node=true
uses 'testenv\.Postgres' && need_pg=true
echo "$test_files" | grep -q '/e2e/wordpress/' && need_wp=true
uses 'CONSENTGATE_AXE_JS' && need_axe=true
$need_wp && need_axe=true

can_setup=false
if [ "${CONSENTGATE_TEST_SETUP:-}" != none ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	can_setup=true
fi

plan=()
$need_chromium && ! command -v chromium >/dev/null 2>&1 && plan+=("install chromium (apt-get)")
$need_wrk && ! command -v wrk >/dev/null 2>&1 && plan+=("install wrk (apt-get)")
$need_node && ! command -v node >/dev/null 2>&1 && plan+=("install nodejs (apt-get): the runtime guard's matcher and the URL parser are checked against it")
if $need_pg && [ -z "${CONSENTGATE_TEST_PG_DSN:-}" ]; then
	plan+=("install postgresql if missing, start its main cluster and a second one (consentgate_restart) for the restart test, create the role and database consentgate_test in both (scripts/pg-setup.sh)")
fi
if $need_wp; then
	[ -n "${CONSENTGATE_WP_ROOT:-}" ] || plan+=("install WordPress, MariaDB, PHP-FPM (apt-get), start MariaDB and PHP-FPM, create the database consentgate_wp and a WordPress site (e2e/wordpress/testdata/setup.sh)")
fi
if $need_axe && [ -z "${CONSENTGATE_AXE_JS:-}" ]; then
	plan+=("install npm if missing and axe-core 4.14.1 into ~/.cache/consentgate (e2e/wordpress/testdata/axe-setup.sh)")
fi
if [ ${#plan[@]} -gt 0 ]; then
	if $can_setup; then
		echo "test.sh: before the tests, this machine gets:" >&2
	else
		why="it needs root and apt-get"
		[ "${CONSENTGATE_TEST_SETUP:-}" != none ] || why="CONSENTGATE_TEST_SETUP=none"
		echo "test.sh: not setting up ($why), so the tests that need these skip:" >&2
	fi
	for p in "${plan[@]}"; do
		echo "  - $p" >&2
	done
fi

# apt_install PACKAGE COMMAND: installs PACKAGE unless COMMAND is on PATH.
apt_updated=false
apt_install() {
	command -v "$2" >/dev/null 2>&1 && return 0
	echo "test.sh: installing $1" >&2
	$apt_updated || { apt-get update -qq >&2 && apt_updated=true; }
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$1" >&2
}

if $can_setup; then
	$need_chromium && apt_install chromium chromium
	$need_wrk && apt_install wrk wrk
	$need_node && apt_install nodejs node
	if $need_pg && [ -z "${CONSENTGATE_TEST_PG_DSN:-}" ]; then
		eval "$(bash scripts/pg-setup.sh)"
		export CONSENTGATE_TEST_PG_DSN CONSENTGATE_TEST_PG_RESTART_DSN CONSENTGATE_TEST_PG_RESTART
	fi
	if $need_wp; then
		[ -n "${CONSENTGATE_WP_ROOT:-}" ] || { wp_env=$(bash e2e/wordpress/testdata/setup.sh); eval "$wp_env"; }
	fi
	if $need_axe && [ -z "${CONSENTGATE_AXE_JS:-}" ]; then
		axe_env=$(bash e2e/wordpress/testdata/axe-setup.sh)
		eval "$axe_env"
	fi
fi

exec go test -count=1 -timeout 30m "$@"
