#!/usr/bin/env bash
# perf-round3.sh runs the rows of issue 15's table (performance, round
# three) once, against `metalplane serve` processes it starts on loopback,
# on SQLite and on PostgreSQL, and prints one line per figure: the row, the
# figure, the 1-minute load just before it, and the commands that measured
# it. docs/performance.md ("How to measure round three") explains the rows.
#
#   scripts/perf-round3.sh [flags] [ROW...]        (no ROW: every row)
#
# Flags (or the environment variable in brackets):
#   --metalplane PATH  built metalplane binary [METALPLANE, default ./metalplane]
#   --mploadgen PATH   built mploadgen binary [MPLOADGEN, default ./mploadgen]
#   --port N           first of the three loopback ports used [PORT, 18830]
#   --work DIR         scratch dir, emptied first [WORK, /tmp/perf-round3]
#   --pg-url URL       PostgreSQL server, no database [PG_URL,
#                      postgres://postgres:postgres@127.0.0.1:5432]
#   --db-prefix P      prefix of the databases created and dropped [DB_PREFIX, perf3_]
#   --duration D       length of each timed run [DURATION, 10s]
#   --hosts N          hosts of the catalog of the purchase rows [HOSTS, 120000]
#   --fill N           instances of the 100,000-instance rows [FILL, 100000]
#   --big-hosts N      hosts of the start-up rows' big catalog [BIG_HOSTS, 200000]
#   --instances N      instances of the "bought -> RUNNING" rows [INSTANCES, 1000]
#   --tries N          tries of the B-running-one rows, each on a new server [TRIES, 5]
#   --nice             run servers and load at nice 10 (a shared machine) [NICE=1]
#   --keep             keep the data dirs and databases [KEEP=1]
#
# Rows: noop, failover, and for B in sqlite and pg: B-create, B-create-sim0,
# B-running-batch (INSTANCES/100 x amount 100), B-running-single
# (INSTANCES x amount 1), B-running-one (TRIES tries, the median), B-100k
# (DescribeInstances, RSS and restart at FILL instances), B-rest (demo
# catalog: restart and RSS at rest), B-cold-big (fresh start and restart
# of a BIG_HOSTS catalog); pg
# only: pg-create-2rep, pg-running-2rep. Each row gets a fresh data dir and
# database: copies of a template made once per run (CREATE DATABASE ...
# TEMPLATE on PostgreSQL), so that the catalog is loaded once.
set -euo pipefail

METALPLANE=${METALPLANE:-./metalplane}
MPLOADGEN=${MPLOADGEN:-./mploadgen}
PORT=${PORT:-18830}
WORK=${WORK:-/tmp/perf-round3}
PG_URL=${PG_URL:-postgres://postgres:postgres@127.0.0.1:5432}
DB_PREFIX=${DB_PREFIX:-perf3_}
DURATION=${DURATION:-10s}
HOSTS=${HOSTS:-120000}
FILL=${FILL:-100000}
BIG_HOSTS=${BIG_HOSTS:-200000}
INSTANCES=${INSTANCES:-1000}
TRIES=${TRIES:-5}
NICE=${NICE:-}
KEEP=${KEEP:-}

ALL_ROWS=(noop
	sqlite-create sqlite-create-sim0 sqlite-running-batch sqlite-running-single sqlite-running-one sqlite-100k sqlite-rest sqlite-cold-big
	pg-create pg-create-sim0 pg-create-2rep pg-running-batch pg-running-single pg-running-2rep pg-running-one pg-100k pg-rest pg-cold-big
	failover)

rows=()
while (($#)); do
	case $1 in
	--metalplane) METALPLANE=$2; shift ;;
	--mploadgen) MPLOADGEN=$2; shift ;;
	--port) PORT=$2; shift ;;
	--work) WORK=$2; shift ;;
	--pg-url) PG_URL=$2; shift ;;
	--db-prefix) DB_PREFIX=$2; shift ;;
	--duration) DURATION=$2; shift ;;
	--hosts) HOSTS=$2; shift ;;
	--fill) FILL=$2; shift ;;
	--big-hosts) BIG_HOSTS=$2; shift ;;
	--instances) INSTANCES=$2; shift ;;
	--tries) TRIES=$2; shift ;;
	--nice) NICE=1 ;;
	--keep) KEEP=1 ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "perf-round3.sh: unknown flag $1" >&2; exit 2 ;;
	*) rows+=("$1") ;;
	esac
	shift
done
((${#rows[@]})) || rows=("${ALL_ROWS[@]}")
for row in "${rows[@]}"; do
	[[ " ${ALL_ROWS[*]} " == *" $row "* ]] || { echo "perf-round3.sh: unknown row $row (rows: ${ALL_ROWS[*]})" >&2; exit 2; }
done
METALPLANE=$(realpath "$METALPLANE")
MPLOADGEN=$(realpath "$MPLOADGEN")
REPO=$(cd "$(dirname "$0")/.." && pwd)
run=()
[[ -n $NICE ]] && run=(nice -n 10)

# One fixed demo key for every server and mploadgen (serve takes it from
# the environment), so that replicas and copies of a data dir agree.
export METALPLANE_ACCESS_KEY_ID=AKPERFROUND3DEMO01
export METALPLANE_ACCESS_KEY_SECRET=perf-round3-demo-secret-0123456789
unset METALPLANE_DATA_DIR METALPLANE_DATABASE
export PGOPTIONS='-c client_min_messages=warning' # no NOTICE of DROP ... IF EXISTS

# Servers listen on PORT and PORT+1 (a second replica), the no-op on PORT+2.
URL_A=http://127.0.0.1:$PORT
URL_B=http://127.0.0.1:$((PORT + 1))
NOOP_ADDR=127.0.0.1:$((PORT + 2))
# API rate limits off: the load generator is one access key from one address.
SERVE_FLAGS=(--rate-limit-key 0 --rate-limit-source 0 --log-level warn)

pids=()
dbs=()
cleanup() {
	local pid db
	for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
	if [[ -z $KEEP ]]; then
		for db in "${dbs[@]}"; do psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; done
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$WORK"
mkdir -p "$WORK"

load() { cut -d' ' -f1 /proc/loadavg; }

# row NAME FIGURE LOAD COMMANDS prints a result line.
row() { printf '%-26s | %-58s | load %-5s | %s\n' "$1" "$2" "$3" "$4"; }

# new_db NAME [TEMPLATE] creates database DB_PREFIX+NAME (dropped at the
# end) and sets $dsn to its URL.
new_db() {
	local db=${DB_PREFIX}${1//-/_}
	psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $db" >/dev/null
	psql -q "$PG_URL/postgres" -c "CREATE DATABASE $db${2:+ TEMPLATE ${DB_PREFIX}${2//-/_}}" >/dev/null
	dbs+=("$db")
	dsn=$PG_URL/$db
}

# serve URL DIR DSN ARGS... starts `metalplane serve` in the background (its
# PID in $server), waits for /healthz and sets $serve_cmd. DSN "" is SQLite.
serve() {
	local url=$1 dir=$2 dsn=$3
	shift 3
	local args=(serve --listen "${url#http://}" --data-dir "$dir" ${dsn:+--database "$dsn"} "${SERVE_FLAGS[@]}" "$@")
	serve_cmd="metalplane ${args[*]}"
	"${run[@]}" "$METALPLANE" "${args[@]}" >>"$dir.log" 2>&1 &
	server=$!
	pids+=("$server")
	"$MPLOADGEN" --endpoint "$url" --await-healthz 600s >/dev/null || { tail "$dir.log" >&2; return 1; }
}

# timed_serve is serve that also measures exec to the first /healthz
# answer, in $started_ms.
timed_serve() {
	local url=$1 dir=$2 dsn=$3
	shift 3
	local args=(serve --listen "${url#http://}" --data-dir "$dir" ${dsn:+--database "$dsn"} "${SERVE_FLAGS[@]}" "$@")
	serve_cmd="metalplane ${args[*]}"
	local t0
	t0=$(date +%s%N)
	"${run[@]}" "$METALPLANE" "${args[@]}" >>"$dir.log" 2>&1 &
	server=$!
	pids+=("$server")
	started_ms=$("$MPLOADGEN" --endpoint "$url" --await-healthz 600s --since-unix-nano "$t0" --poll-interval 1ms | awk '{print $4}') ||
		{ tail "$dir.log" >&2; return 1; }
}

stop() {
	local pid=$1
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

rss_mib() { awk '/^VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$1/status"; }

# loadgen ARGS... runs mploadgen, output in $out, command in $load_cmd.
loadgen() {
	load_cmd="mploadgen $*"
	out=$("${run[@]}" "$MPLOADGEN" "$@" 2>>"$WORK/mploadgen.log")
	# The failures a row counts, by code, for whoever reads the log.
	grep '^error' <<<"$out" | sed "s|^|$load_cmd: |" >>"$WORK/mploadgen.log" || true
}

# rate_figure sums up a CreateInstances or DescribeInstances run from
# mploadgen's lines "requests  N (OK ok, F failed)", "requests/s  R (ok: O)",
# "instances/s  I" and "latency  p50 A ms, p99 B ms, ...".
rate_figure() {
	awk '/^requests / {failed = $5} /^requests\/s/ {ok = $4; sub(/\)/, "", ok)} /^instances\/s/ {inst = $2}
		/^latency/ {p50 = $3; p99 = $6; sub(/,/, "", p99)}
		END {printf "%s ok/s%s, p50 %s ms, p99 %s ms, %s failed", ok, (inst != "" && inst != ok ? " (" inst " instances/s)" : ""), p50, p99, failed}' <<<"$out"
}
# ok_rate is the successful requests per second of the run in $out.
ok_rate() { awk '/^requests\/s/ {sub(/\)/, "", $4); print $4}' <<<"$out"; }
running_figure() { sed -n 's/^until RUNNING \([0-9.]*\) s.*(\(.*\))$/\1 s (\2)/p' <<<"$out"; }

# template BACKEND makes, once, the data dir (and database) every row of
# the backend copies: the HOSTS catalog loaded and the demo quota raised.
declare -A made
template() {
	local b=$1
	[[ -n ${made[$b]:-} ]] && return
	"$MPLOADGEN" --write-catalog "$WORK/bench.yaml" --hosts "$HOSTS"
	local dir=$WORK/tmpl-$b dsn=
	[[ $b == pg ]] && new_db tmpl
	serve "$URL_A" "$dir" "$dsn" --catalog "$WORK/bench.yaml" --no-workers
	"$METALPLANE" admin quota set --team demo --instances $((HOSTS + FILL)) --data-dir "$dir" ${dsn:+--database "$dsn"} >/dev/null
	stop "$server"
	made[$b]=1
}

# fresh BACKEND NAME sets $dir and $dsn to a new copy of the template.
fresh() {
	template "$1"
	dir=$WORK/$2
	cp -a "$WORK/tmpl-$1" "$dir"
	dsn=
	[[ $1 == pg ]] && new_db "$2" tmpl
	return 0
}

noop_rate=
of_noop() {
	[[ -n $noop_rate ]] && awk -v r="$1" -v n="$noop_rate" 'BEGIN {printf " = %.3f of the no-op", r / n}'
	return 0
}

# create_row BACKEND NAME SERVE-ARGS...: 16 clients, amount 1, DURATION.
create_row() {
	local b=$1 name=$2
	shift 2
	fresh "$b" "$name"
	serve "$URL_A" "$dir" "$dsn" --catalog "$WORK/bench.yaml" "$@"
	local l
	l=$(load)
	loadgen --endpoint "$URL_A" --data-dir "$dir" --duration "$DURATION" --concurrency 16 --amount 1
	row "$name" "$(rate_figure)$(of_noop "$(ok_rate)")" "$l" "$serve_cmd; $load_cmd"
	stop "$server"
}

# running_row BACKEND NAME REQUESTS AMOUNT [REPLICAS]: sim 0, 8 clients.
running_row() {
	local b=$1 name=$2 requests=$3 amount=$4 replicas=${5:-1}
	fresh "$b" "$name"
	local endpoint=$URL_A cmds
	if ((replicas == 2)); then
		cp -a "$dir" "$dir-b"
		serve "$URL_B" "$dir-b" "$dsn" --catalog "$WORK/bench.yaml" --sim-step-delay 0 --no-migrate --secret-key-file "$dir/secret.key"
		local other=$server
		cmds="$serve_cmd; "
		endpoint=$URL_A,$URL_B
	fi
	serve "$URL_A" "$dir" "$dsn" --catalog "$WORK/bench.yaml" --sim-step-delay 0
	cmds+="$serve_cmd; "
	local l
	l=$(load)
	# Polled every 20 ms: each poll asks for every unsettled instance, up
	# to ten requests of 100, and at 2 ms the answering took CPU from the
	# provisioning it measured (docs/performance.md, "The load generator
	# reads less"); 20 ms adds at most that much to a figure of about a
	# second. (The one instance of one_row is polled without pause.)
	loadgen --endpoint "$endpoint" --data-dir "$dir" --requests "$requests" --amount "$amount" --concurrency 8 \
		--until-running --poll-interval 20ms
	row "$name" "$(running_figure)" "$l" "$cmds$load_cmd"
	stop "$server"
	((replicas == 2)) && stop "$other"
	return 0
}

# one_row BACKEND NAME: one instance bought on an idle server and polled
# until RUNNING, TRIES times, each on a new copy of the template and a
# server started for it (the purchase 2 s after its start). One try moves
# by a factor of two from the next on this machine, so the figure is the
# median, with every try; a try that did not end RUNNING is named.
one_row() {
	local b=$1 name=$2 i l fig secs=() odd=()
	l=$(load)
	for ((i = 1; i <= TRIES; i++)); do
		fresh "$b" "$name-$i"
		serve "$URL_A" "$dir" "$dsn" --catalog "$WORK/bench.yaml" --sim-step-delay 0
		sleep 2
		loadgen --endpoint "$URL_A" --data-dir "$dir" --requests 1 --amount 1 --concurrency 1 --until-running --poll-interval 0ms
		fig=$(running_figure)
		secs+=("${fig%% s *}")
		[[ $fig == *"(1 RUNNING, 0 failed, 0 other)" ]] || odd+=("try $i: $fig")
		stop "$server"
		[[ -n $KEEP ]] || rm -rf "$dir"
	done
	fig=$(printf '%s\n' "${secs[@]}" | sort -n | awk '{v[NR] = $1 * 1000}
		END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "median %g ms of %d tries:", m, NR; for (i = 1; i <= NR; i++) printf " %g", v[i]; printf " ms"}')
	((${#odd[@]} == 0)) || fig+=" (${odd[*]})"
	row "$name" "$fig" "$l" "$serve_cmd; sleep 2; $load_cmd"
}

row_noop() {
	local args=(--noop-listen "$NOOP_ADDR")
	"${run[@]}" "$MPLOADGEN" "${args[@]}" 2>>"$WORK/mploadgen.log" &
	local noop=$!
	pids+=("$noop")
	sleep 0.5
	local l
	l=$(load)
	loadgen --endpoint "http://$NOOP_ADDR" --duration "$DURATION" --concurrency 16 --amount 1
	noop_rate=$(ok_rate)
	row noop "$(rate_figure)" "$l" "mploadgen ${args[*]} & $load_cmd"
	stop "$noop"
}

# row_100k BACKEND: FILL instances (workers off, so that provisioning does
# not run beside the reads), DescribeInstances, the RSS, then a restart.
row_100k() {
	local b=$1
	fresh "$b" "$b-100k"
	serve "$URL_A" "$dir" "$dsn" --catalog "$WORK/bench.yaml" --no-workers
	local cmd=$serve_cmd l
	l=$(load)
	loadgen --endpoint "$URL_A" --data-dir "$dir" --fill "$FILL" --concurrency 8 --action DescribeInstances --requests 1
	local fill_cmd=$load_cmd
	row "$b-fill-$FILL" "$(sed -n 's/^fill *//p' <<<"$out") (amount 100, 8 clients, workers off)" "$l" "$cmd; $fill_cmd"
	sleep 2
	l=$(load)
	loadgen --endpoint "$URL_A" --data-dir "$dir" --action DescribeInstances --filter-zone SEL-A --filter-status PENDING \
		--duration "$DURATION" --concurrency 8
	row "$b-describe-$FILL" "$(rate_figure)" "$l" "$cmd; $fill_cmd; $load_cmd"
	l=$(load)
	row "$b-rss-$FILL" "$(rss_mib "$server") VmRSS" "$l" "$cmd; $fill_cmd; grep VmRSS /proc/PID/status"
	stop "$server"
	l=$(load)
	timed_serve "$URL_A" "$dir" "$dsn" --catalog "$WORK/bench.yaml" --no-workers
	row "$b-start-$FILL" "$started_ms ms to the first /healthz answer" "$l" "restart: $serve_cmd"
	stop "$server"
}

# row_rest BACKEND: the demo catalog's restart on an existing data dir and
# the RSS at rest after it.
row_rest() {
	local b=$1 dir=$WORK/$1-rest dsn=
	[[ $b == pg ]] && new_db "$b-rest"
	serve "$URL_A" "$dir" "$dsn"
	stop "$server"
	local l
	l=$(load)
	timed_serve "$URL_A" "$dir" "$dsn"
	row "$b-start-demo" "$started_ms ms to the first /healthz answer" "$l" "restart: $serve_cmd"
	sleep 5
	l=$(load)
	row "$b-rss-rest" "$(rss_mib "$server") VmRSS, 5 s after the start" "$l" "$serve_cmd; grep VmRSS /proc/PID/status"
	stop "$server"
}

# row_cold_big BACKEND: a fresh data dir's first start with the BIG_HOSTS
# catalog, then a restart.
row_cold_big() {
	local b=$1 dir=$WORK/$1-cold-big dsn=
	[[ -f $WORK/big.yaml ]] || "$MPLOADGEN" --write-catalog "$WORK/big.yaml" --hosts "$BIG_HOSTS"
	[[ $b == pg ]] && new_db "$b-cold-big"
	local l
	l=$(load)
	timed_serve "$URL_A" "$dir" "$dsn" --catalog "$WORK/big.yaml"
	row "$b-start-fresh-$BIG_HOSTS" "$started_ms ms to the first /healthz answer" "$l" "$serve_cmd"
	stop "$server"
	l=$(load)
	timed_serve "$URL_A" "$dir" "$dsn" --catalog "$WORK/big.yaml"
	row "$b-start-$BIG_HOSTS" "$started_ms ms to the first /healthz answer" "$l" "restart: $serve_cmd"
	stop "$server"
}

row_failover() {
	local cmd="go test -count=1 -v -run 'TestTwoReplicasOnePostgres\$' ./cmd/metalplane/"
	local l
	l=$(load)
	local out resumed settled
	out=$(cd "$REPO" && "${run[@]}" go test -count=1 -v -run 'TestTwoReplicasOnePostgres$' ./cmd/metalplane/ 2>&1)
	resumed=$(sed -n "s/.*all moved on \([^ ]*\) after it.*/\1/p" <<<"$out")
	settled=$(sed -n "s/.*settled \([^ ]*\) after B's SIGKILL.*/\1/p" <<<"$out")
	row failover "${resumed:-?} from SIGKILL until every instance CREATING at the kill moved on; ${settled:-?} until the last instance settled" "$l" "(in $REPO) $cmd"
}

echo "perf-round3.sh: $(date -u +%FT%TZ), $(nproc) cores, source $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
row row figure "1-min" commands
for r in "${rows[@]}"; do
	case $r in
	noop) row_noop ;;
	failover) row_failover ;;
	*-create) create_row "${r%%-*}" "$r" ;;
	*-create-sim0) create_row "${r%%-*}" "$r" --sim-step-delay 0 ;;
	pg-create-2rep)
		fresh pg "$r"
		cp -a "$dir" "$dir-b"
		serve "$URL_B" "$dir-b" "$dsn" --catalog "$WORK/bench.yaml" --no-migrate --secret-key-file "$dir/secret.key"
		other=$server cmds="$serve_cmd; "
		serve "$URL_A" "$dir" "$dsn" --catalog "$WORK/bench.yaml"
		l=$(load)
		loadgen --endpoint "$URL_A,$URL_B" --data-dir "$dir" --duration "$DURATION" --concurrency 16 --amount 1
		row "$r" "$(rate_figure)$(of_noop "$(ok_rate)")" "$l" "$cmds$serve_cmd; $load_cmd"
		stop "$server"
		stop "$other"
		;;
	*-running-batch) running_row "${r%%-*}" "$r" $((INSTANCES / 100)) 100 ;;
	*-running-single) running_row "${r%%-*}" "$r" "$INSTANCES" 1 ;;
	pg-running-2rep) running_row pg "$r" "$INSTANCES" 1 2 ;;
	*-running-one) one_row "${r%%-*}" "$r" ;;
	*-100k) row_100k "${r%%-*}" ;;
	*-rest) row_rest "${r%%-*}" ;;
	*-cold-big) row_cold_big "${r%%-*}" ;;
	esac
done
