#!/usr/bin/env bash
# The project's test command (`make test`, also run by CI through .ci/run):
# gofmt check, go vet, then the race-enabled tests of every package on SQLite
# and, when it is reachable, PostgreSQL. Extra arguments go to `go test`.
#
# PostgreSQL is looked for at METALPLANE_TEST_POSTGRES_URL (default
# postgres://postgres:postgres@127.0.0.1:5432/postgres; scripts/postgres-up.sh
# sets that up on Debian). When it is down the PostgreSQL half of the tests is
# skipped, and this script says so loudly; with
# METALPLANE_TEST_REQUIRE_POSTGRES=1 (CI) it fails instead. The same goes
# for the IPMI simulator (METALPLANE_TEST_REQUIRE_HARDWARE=1).
set -euo pipefail
cd "$(dirname "$0")/.."

pg_url=${METALPLANE_TEST_POSTGRES_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}
export METALPLANE_TEST_POSTGRES_URL=$pg_url

echo "==> gofmt -l ."
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
  echo "These files are not gofmt-formatted (run gofmt -w on them):" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "==> go vet ./..."
go vet ./...

# postgres_reachable reports whether something answers at the URL: with
# pg_isready when installed, else with a plain TCP connect to host:port.
postgres_reachable() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -t 3 -d "$pg_url"
    return
  fi
  local hostport host port
  hostport=${pg_url#*://}
  hostport=${hostport#*@}
  hostport=${hostport%%/*}
  hostport=${hostport%%\?*}
  host=${hostport%:*}
  port=${hostport##*:}
  [ "$host" = "$hostport" ] && port=5432
  host=${host#[}
  host=${host%]}
  timeout 3 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
}

redacted_url=$(printf '%s' "$pg_url" | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#')
pg_warning() {
  cat >&2 <<WARN

##########################################################################
##                                                                      ##
##   WARNING: PostgreSQL IS NOT REACHABLE - ITS TESTS ARE SKIPPED       ##
##                                                                      ##
##########################################################################
   Looked for: $redacted_url
   Only the SQLite half of the test suite ran. To run both:
     sudo scripts/postgres-up.sh    (Debian: starts the local cluster)
   or point METALPLANE_TEST_POSTGRES_URL at a server you may create
   databases on, then run make test again.
##########################################################################

WARN
}

if postgres_reachable; then
  echo "==> PostgreSQL reachable at $redacted_url: testing SQLite and PostgreSQL"
else
  if [ "${METALPLANE_TEST_REQUIRE_POSTGRES:-}" = 1 ]; then
    echo "PostgreSQL at $redacted_url is required (METALPLANE_TEST_REQUIRE_POSTGRES=1) but not reachable" >&2
    exit 1
  fi
  pg_warning
  pg_missing=1
fi

# The IPMI driver tests start OpenIPMI's ipmi_sim and check with ipmitool,
# the console's browser tests drive chromium (scripts/install-test-deps.sh
# installs all three); without them they skip, or fail with
# METALPLANE_TEST_REQUIRE_HARDWARE=1 (CI).
hw_missing=$(for bin in ipmi_sim ipmitool chromium; do command -v "$bin" >/dev/null 2>&1 || printf '%s ' "$bin"; done)
hw_warning() {
  cat >&2 <<WARN

##########################################################################
##   WARNING: ${hw_missing}NOT INSTALLED - THE IPMI OR BROWSER TESTS ARE SKIPPED
##   Install them with: sudo scripts/install-test-deps.sh
##########################################################################

WARN
}
if [ -n "$hw_missing" ]; then
  if [ "${METALPLANE_TEST_REQUIRE_HARDWARE:-}" = 1 ]; then
    echo "${hw_missing}required (METALPLANE_TEST_REQUIRE_HARDWARE=1) but not installed: run scripts/install-test-deps.sh" >&2
    exit 1
  fi
  hw_warning
fi

# Repeat the warnings after the test output, where they will be seen.
trap 'if [ -n "${pg_missing:-}" ]; then pg_warning; fi; if [ -n "$hw_missing" ]; then hw_warning; fi' EXIT

echo "==> go test -race -count=1 -timeout 60m ./... $*"
go test -race -count=1 -timeout 60m ./... "$@"
