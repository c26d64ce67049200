#!/usr/bin/env bash
# Runs every Go fuzz target of the repository for a short time each (CI
# calls it; issue 11). Targets are found by their `func FuzzXxx(` line, so a
# new one is run without editing this script. A failure stops the run; Go
# has written the failing input under testdata/fuzz/<FuzzXxx>/ beside the
# test, and committing that file makes it a regression seed that plain
# `go test` runs from then on.
#
#   scripts/fuzz.sh              every target, FUZZTIME each (default 10s)
#   FUZZTIME=2m scripts/fuzz.sh  longer runs
#   scripts/fuzz.sh FuzzParseMoney   only the targets whose name matches
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-10s}
filter=${1:-}

targets=$(grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(' . |
  sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]+)\($#\1 \2#' | sort -u)
if [ -z "$targets" ]; then
  echo "no fuzz targets found" >&2
  exit 1
fi

ran=0
while read -r dir name; do
  if [ -n "$filter" ] && [[ $name != *"$filter"* ]]; then
    continue
  fi
  echo "==> $name in $dir for $fuzztime"
  # -run '^$' skips the package's ordinary tests; the target's seeds still
  # run first, as the baseline of the fuzzing.
  go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$dir"
  ran=$((ran + 1))
done <<<"$targets"

if [ "$ran" -eq 0 ]; then
  echo "no fuzz target matches $filter" >&2
  exit 1
fi
echo "fuzzed $ran targets for $fuzztime each"
