#!/usr/bin/env bash
# Checks configs/systemd/caddy.service with `systemd-analyze verify`, as
# systemd would load it. The unit runs /usr/local/bin/caddy, which a build
# machine does not have, so the check runs a copy that points at a caddy
# built from this checkout. Any warning fails the check (verify itself exits
# 0 on unknown keys and bad values). Without systemd-analyze it skips with a
# message. Installs and starts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "systemd check: skipped, systemd-analyze is not installed (Debian: apt-get install systemd)" >&2
	exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/caddy" ./cmd/caddy
sed "s|/usr/local/bin/caddy|$work/caddy|g" configs/systemd/caddy.service >"$work/caddy.service"
if ! out=$(systemd-analyze verify "$work/caddy.service" 2>&1) || [ -n "$out" ]; then
	echo "systemd check: configs/systemd/caddy.service does not verify:" >&2
	echo "$out" | sed "s|$work/|configs/systemd/|g" >&2
	exit 1
fi
echo "systemd check: configs/systemd/caddy.service verifies" >&2
