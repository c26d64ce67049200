#!/usr/bin/env bash
# Times the first start of `metalplane serve` on a fresh data dir
# (docs/performance.md, "First start on a fresh data dir"): from exec to
# the first /healthz answer, RUNS times, each on a new data dir under
# SCRATCH and, with a PostgreSQL URL, a new database ${DB_PREFIX}N on that
# server (dropped and created again; DB_PREFIX defaults to fresh_start_). It prints the wall time, the
# server's CPU time at that moment and the 1-minute load before the start.
#
#   scripts/fresh-start.sh BIN CATALOG [POSTGRES_SERVER_URL]
#   e.g. scripts/fresh-start.sh ./metalplane big.yaml postgres://postgres:postgres@127.0.0.1:5432
#
# POSTGRES_SERVER_URL has no database name. PORT (default 18800), RUNS
# (default 3) and SCRATCH (default a new temporary directory) may be set.
set -euo pipefail
bin=$1 catalog=$2 pg=${3:-}
port=${PORT:-18800} runs=${RUNS:-3} prefix=${DB_PREFIX:-fresh_start_}
scratch=${SCRATCH:-$(mktemp -d)}
mkdir -p "$scratch"
if curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; then
	echo "port $port is in use" >&2
	exit 1
fi
for i in $(seq 1 "$runs"); do
	dir=$scratch/fresh-$i
	rm -rf "$dir"
	db=()
	if [ -n "$pg" ]; then
		psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS $prefix$i" -c "CREATE DATABASE $prefix$i" >/dev/null 2>&1
		db=(--database "$pg/$prefix$i")
	fi
	load=$(cut -d' ' -f1 /proc/loadavg)
	start=$(date +%s%N)
	"$bin" serve --catalog "$catalog" --data-dir "$dir" "${db[@]}" --listen "127.0.0.1:$port" >"$dir.log" 2>&1 &
	pid=$!
	until curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			cat "$dir.log" >&2
			exit 1
		fi
		sleep 0.005
	done
	end=$(date +%s%N)
	# utime + stime, in clock ticks of 10 ms
	cpu=$(awk '{print ($14 + $15) * 10}' "/proc/$pid/stat")
	echo "fresh start $i: $(((end - start) / 1000000)) ms, server CPU $cpu ms (1-minute load before: $load)"
	kill "$pid"
	wait "$pid" || true
done
