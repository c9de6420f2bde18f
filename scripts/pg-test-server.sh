#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the store tests and print its URL.
#
#   eval "$(scripts/pg-test-server.sh --export)"   # sets FOLLOWTHROUGH_TEST_POSTGRES_URL
#   scripts/pg-test-server.sh                      # prints postgresql+psycopg://...
#   scripts/pg-test-server.sh --stop               # stops it and removes the data dir
#
# Idempotent: a second call finds the running server and prints the same URL.
# Settings (environment): PG_BIN (dir with initdb/pg_ctl; default: the newest
# /usr/lib/postgresql/*/bin, else PATH), PG_PORT (54329), PG_DATA
# (${TMPDIR:-/tmp}/followthrough-pg-test), PG_DB (followthrough_test).
# When run as root the cluster is owned by the "postgres" user (initdb refuses root).
set -euo pipefail

PG_PORT="${PG_PORT:-54329}"
PG_DATA="${PG_DATA:-${TMPDIR:-/tmp}/followthrough-pg-test}"
PG_DB="${PG_DB:-followthrough_test}"
PG_USER="followthrough"

if [[ -z "${PG_BIN:-}" ]]; then
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -z "$PG_BIN" ]]; then
    PG_BIN="$(dirname "$(command -v pg_ctl 2>/dev/null || echo /nonexistent/pg_ctl)")"
  fi
fi
if [[ ! -x "$PG_BIN/pg_ctl" ]]; then
  echo "pg-test-server: pg_ctl not found (set PG_BIN to the PostgreSQL bin directory)" >&2
  exit 1
fi

# Run a command as the cluster owner: ourselves, or "postgres" when we are root.
as_owner() {
  if [[ "$(id -u)" == "0" ]]; then
    su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

url="postgresql+psycopg://${PG_USER}@127.0.0.1:${PG_PORT}/${PG_DB}"

if [[ "${1:-}" == "--stop" ]]; then
  if [[ -d "$PG_DATA" ]]; then
    as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_DATA"
  fi
  exit 0
fi

if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
  mkdir -p "$PG_DATA"
  if [[ "$(id -u)" == "0" ]]; then chown postgres "$PG_DATA"; fi
  chmod 700 "$PG_DATA"
  as_owner "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" --auth=trust -E UTF8 --locale=C >/dev/null
fi

if ! as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
  as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p ${PG_PORT} -k ${PG_DATA} -c fsync=off" start >/dev/null
fi

if ! as_owner "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname = '${PG_DB}'" | grep -q 1; then
  as_owner "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$PG_DB"
fi

if [[ "${1:-}" == "--export" ]]; then
  echo "export FOLLOWTHROUGH_TEST_POSTGRES_URL='${url}'"
else
  echo "$url"
fi
