#!/usr/bin/env bash
# Starts a local PostgreSQL (Debian's packaged cluster) for the proof log
# tests and prints the environment they read, for eval:
#
#   eval "$(bash scripts/pg-setup.sh)"
#
# What it changes on the machine, and nothing more:
#   - installs the postgresql package when it is missing (root, apt-get);
#   - creates the newest version's "main" cluster if there is none, and
#     starts it (listening on localhost only, Debian's default);
#   - creates a second cluster of that version, "consentgate_restart", used
#     only by the test that restarts the server under load, so that restart
#     never cuts off the other packages' tests running at the same time;
#   - in both clusters, creates the role consentgate_test (LOGIN, CREATEROLE:
#     the tests create a restricted serving role to prove it needs only
#     INSERT and SELECT) and the database consentgate_test it owns; the
#     role's password is random, made once and kept in
#     /var/lib/postgresql/consentgate_test.password (root only), so runs in
#     parallel agree on it. The postgres superuser and its password are not
#     touched.
#
# It prints CONSENTGATE_TEST_PG_DSN (that role and database in "main", over
# TCP on 127.0.0.1), CONSENTGATE_TEST_PG_RESTART_DSN (the same in
# "consentgate_restart") and CONSENTGATE_TEST_PG_RESTART (the command that
# restarts consentgate_restart). Idempotent: running clusters, the role and
# the database are reused. Everything else it says goes to standard error.
# To remove what it made:
#
#   su postgres -c "dropdb consentgate_test && dropuser consentgate_test"
#   pg_dropcluster --stop <version> consentgate_restart
#   rm /var/lib/postgresql/consentgate_test.password
set -euo pipefail

ROLE=consentgate_test
DB=consentgate_test

if [ "$(id -u)" != 0 ]; then
	echo "pg-setup: must run as root (it runs psql as the postgres user)" >&2
	exit 1
fi

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
	echo "pg-setup: installing postgresql" >&2
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

ver=$(ls /usr/lib/postgresql | sort -V | tail -n 1)

# start_cluster NAME: creates the cluster when missing, starts it, waits
# until it accepts connections, and prints its port.
start_cluster() {
	local name=$1 port status
	if ! pg_lsclusters -h | awk '{print $1, $2}' | grep -qx "$ver $name"; then
		echo "pg-setup: creating the PostgreSQL $ver cluster $name" >&2
		pg_createcluster "$ver" "$name" >&2
	fi
	port=$(pg_lsclusters -h | awk -v v="$ver" -v n="$name" '$1 == v && $2 == n {print $3}')
	status=$(pg_lsclusters -h | awk -v v="$ver" -v n="$name" '$1 == v && $2 == n {print $4}')
	if [ "$status" != "online" ]; then
		echo "pg-setup: starting PostgreSQL $ver $name on port $port" >&2
		pg_ctlcluster "$ver" "$name" start >&2
	fi
	for _ in $(seq 1 30); do
		pg_isready -q -h 127.0.0.1 -p "$port" && break
		sleep 1
	done
	pg_isready -h 127.0.0.1 -p "$port" >&2
	echo "$port"
}

# A password login over TCP (pg_hba's default for 127.0.0.1 is
# scram-sha-256), for the dedicated role only. The password is hex, so it
# needs no quoting in SQL or in the DSN.
pwfile=/var/lib/postgresql/consentgate_test.password
if [ ! -s "$pwfile" ]; then
	(umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$pwfile.tmp" && mv "$pwfile.tmp" "$pwfile")
fi
password=$(cat "$pwfile")

# role_and_db PORT: the dedicated role and database in the cluster on PORT.
role_and_db() {
	local port=$1
	su postgres -c "psql -v ON_ERROR_STOP=1 -q -p $port -d postgres" >&2 <<SQL
DO \$\$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE') THEN
		CREATE ROLE $ROLE LOGIN CREATEROLE;
	END IF;
END
\$\$;
ALTER ROLE $ROLE LOGIN CREATEROLE NOSUPERUSER NOCREATEDB PASSWORD '$password';
SQL
	if ! su postgres -c "psql -p $port -d postgres -tAc \"SELECT 1 FROM pg_database WHERE datname = '$DB'\"" | grep -qx 1; then
		echo "pg-setup: creating the database $DB owned by $ROLE on port $port" >&2
		su postgres -c "createdb -p $port -O $ROLE $DB" >&2
	fi
}

port=$(start_cluster main)
role_and_db "$port"
rport=$(start_cluster consentgate_restart)
role_and_db "$rport"

echo "export CONSENTGATE_TEST_PG_DSN='postgres://$ROLE:$password@127.0.0.1:$port/$DB'"
echo "export CONSENTGATE_TEST_PG_RESTART_DSN='postgres://$ROLE:$password@127.0.0.1:$rport/$DB'"
echo "export CONSENTGATE_TEST_PG_RESTART='pg_ctlcluster $ver consentgate_restart restart'"
