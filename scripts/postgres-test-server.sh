#!/usr/bin/env bash
# Starts a private PostgreSQL server for the test suite on 127.0.0.1 (Debian's postgresql package), creates the
# test role and database, and prints the Npgsql connection string the tests read from $CUSTODIAN_TEST_POSTGRES.
# Idempotent: a server already running in the directory is reused. Runs as root (CI) or as the postgres user.
# Usage: scripts/postgres-test-server.sh [DIR] [PORT]   (defaults: /tmp/custodian-test-pg, 55432)
#        scripts/postgres-test-server.sh stop [DIR]       stops it (scripts/test.sh does, when it started it)
set -euo pipefail
action=start
if [ "${1:-}" = stop ]; then action=stop; shift; fi
dir="${1:-/tmp/custodian-test-pg}"
port="${2:-55432}"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "PostgreSQL is not installed (apt-get install -y postgresql)." >&2
  exit 1
fi

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "$action" = stop ]; then
  if as_postgres "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    as_postgres "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
  fi
  exit 0
fi

if [ ! -f "$dir/PG_VERSION" ]; then
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
  chmod 700 "$dir"
  as_postgres "$bin/initdb" -D "$dir" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
fi

if ! as_postgres "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
  # fsync stays on: the suite's durability claims hold on PostgreSQL as on SQLite.
  as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200" start >/dev/null
fi

psql() { as_postgres "$bin/psql" -h "$dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
if [ "$(psql -c "SELECT 1 FROM pg_roles WHERE rolname = 'custodian_test'")" != 1 ]; then
  psql -c "CREATE ROLE custodian_test LOGIN CREATEDB PASSWORD 'custodian-test'"
fi
if [ "$(psql -c "SELECT 1 FROM pg_database WHERE datname = 'custodian_test'")" != 1 ]; then
  psql -c "CREATE DATABASE custodian_test OWNER custodian_test"
fi
echo "Host=127.0.0.1;Port=$port;Username=custodian_test;Password=custodian-test;Database=custodian_test"
