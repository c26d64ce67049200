#!/usr/bin/env bash
# Brings this Debian machine's PostgreSQL to the state the tests expect:
# the cluster running and postgres://postgres:postgres@127.0.0.1:5432 working.
# Safe to run again. Needs root (or the postgres OS user) and Debian's
# postgresql package (pg_ctlcluster).
set -euo pipefail

version=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1 || true)
if [ -z "$version" ]; then
  echo "postgres-up: PostgreSQL is not installed (apt-get install postgresql)" >&2
  exit 1
fi
cluster=main

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else su postgres -s /bin/bash -c "$(printf '%q ' "$@")"; fi
}

if ! pg_lsclusters -h 2>/dev/null | awk '{print $1, $2}' | grep -q "^$version $cluster$"; then
  pg_createcluster "$version" "$cluster"
fi
if ! pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1==v && $2==c {print $4}' | grep -q online; then
  pg_ctlcluster "$version" "$cluster" start
fi
for _ in $(seq 1 50); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 0.2
done
as_postgres psql -q -c "ALTER USER postgres PASSWORD 'postgres';"
# The tests create one database per test and run several servers at once,
# each with its own connection pool: allow more than the default 100.
if [ "$(as_postgres psql -tAq -c 'show max_connections')" -lt 400 ]; then
  as_postgres psql -q -c "ALTER SYSTEM SET max_connections = 400;"
  pg_ctlcluster "$version" "$cluster" restart
  for _ in $(seq 1 50); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 0.2
  done
fi
echo "postgres-up: PostgreSQL $version is up at postgres://postgres:postgres@127.0.0.1:5432/postgres"
