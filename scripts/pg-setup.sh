#!/usr/bin/env bash
# Starts a local PostgreSQL (Debian's packaged cluster) for the prooflog
# tests and prints the environment they read, for eval:
#
#   eval "$(bash scripts/pg-setup.sh)"
#
# Installs the postgresql package when it is missing (needs root and the
# Debian package registry). Idempotent: a running cluster is reused.
set -euo pipefail

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$ver main"; then
	pg_createcluster "$ver" main >&2
fi
port=$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" {print $3}')
status=$(pg_lsclusters -h | awk -v v="$ver" '$1 == v && $2 == "main" {print $4}')
if [ "$status" != "online" ]; then
	pg_ctlcluster "$ver" main start >&2
fi
for _ in $(seq 1 30); do
	pg_isready -q -h 127.0.0.1 -p "$port" && break
	sleep 1
done
pg_isready -h 127.0.0.1 -p "$port" >&2

# Password login over TCP (pg_hba's default for 127.0.0.1 is scram-sha-256).
su postgres -c "psql -q -p $port -c \"ALTER USER postgres PASSWORD 'consentgate'\"" >&2

echo "export CONSENTGATE_TEST_PG_DSN='postgres://postgres:consentgate@127.0.0.1:$port/postgres'"
echo "export CONSENTGATE_TEST_PG_RESTART='pg_ctlcluster $ver main restart'"
