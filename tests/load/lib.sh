# shellcheck shell=bash
#
# tests/load/lib.sh — shared helpers of the benchmark scripts in tests/load/.
#
# Source it from a bash script that runs with `set -euo pipefail`:
#
#     . "$(dirname "$0")/lib.sh"
#     load_init                  # tools, build, temp dir, cleanup trap
#     load_pg_start              # throwaway PostgreSQL 15 cluster
#     load_server_start          # createdb + migrate + registrar serve
#     load_wrk healthz /healthz
#     load_signin && load_wrk me /api/v1/me "Authorization: Bearer $LOAD_TOKEN"
#     load_pgbench courses_sql "select registrar.courses_list(50, null);"
#     load_report
#     load_ratio "courses/healthz" courses healthz
#
# Everything started here (cluster, server) is stopped by the EXIT trap,
# also on Ctrl-C and on failure. The cluster runs PostgreSQL's default
# durability settings (fsync, synchronous_commit and full_page_writes on):
# the figures are those of a real configuration, not of a tuned-down one.
#
# Settings, all from the environment:
#   BENCH_CONNECTIONS  concurrent connections, for wrk and pgbench alike (32)
#   BENCH_THREADS      wrk threads and pgbench -j (2)
#   BENCH_DURATION     seconds per measurement (10)
#   BENCH_WARMUP       seconds of unrecorded load before each wrk run (2)
#   BENCH_BUILD_DIR    meson build directory holding `registrar` (build)
#   BENCH_LOG_LEVEL    the server's REGISTRAR_LOG_LEVEL (info, as deployed)
#   BENCH_SERVER_ARGS  extra arguments for `registrar serve` (e.g. --threads 2)
#   BENCH_KEEP         1 keeps the temporary directory (logs) after the run

LOAD_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LOAD_PG_BIN=/usr/lib/postgresql/15/bin

BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-32}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_DURATION=${BENCH_DURATION:-10}
BENCH_WARMUP=${BENCH_WARMUP:-2}
BENCH_BUILD_DIR=${BENCH_BUILD_DIR:-$LOAD_ROOT/build}
BENCH_LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
BENCH_SERVER_ARGS=${BENCH_SERVER_ARGS:-}
BENCH_KEEP=${BENCH_KEEP:-0}

LOAD_TMP=
LOAD_PG_DATA=
LOAD_PG_PORT=
LOAD_PG_STARTED=0
LOAD_DB_NAME=registrar_bench
LOAD_DB_URL=
LOAD_SERVER_PID=
# More server processes on the same database (load_server_another).
LOAD_EXTRA_PIDS=()
LOAD_SERVER_URL=
LOAD_SECRET_KEY=
LOAD_BIN=
LOAD_TOKEN=

# Results, one entry per measurement, in the order they ran.
LOAD_NAMES=()
declare -A LOAD_RPS=() LOAD_P50=() LOAD_P99=() LOAD_KIND=()

load_log()
{
    printf 'bench: %s\n' "$*" >&2
}

load_die()
{
    printf 'bench: error: %s\n' "$*" >&2
    exit 1
}

# Run a command as the postgres user when we are root (PostgreSQL refuses
# to run as root), as ourselves otherwise.
load_as_pg()
{
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Check for wrk, pgbench, curl and PostgreSQL 15; install what is missing
# from Debian's packages (root only), saying what is installed.
load_require_tools()
{
    local missing=()
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    command -v curl >/dev/null 2>&1 || missing+=(curl)
    [ -x "$LOAD_PG_BIN/postgres" ] && [ -x "$LOAD_PG_BIN/pgbench" ] || missing+=(postgresql-15)
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        load_die "missing: ${missing[*]} (install them: apt-get install ${missing[*]})"
    fi
    load_log "installing ${missing[*]} from Debian's packages"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Build the server when needed (ninja is a no-op on an up-to-date build) and
# say what kind of build is being measured: a debug or sanitizer build is
# several times slower, and its figures mean little.
load_build()
{
    if [ ! -f "$BENCH_BUILD_DIR/build.ninja" ]; then
        load_log "configuring $BENCH_BUILD_DIR (release)"
        meson setup "$BENCH_BUILD_DIR" "$LOAD_ROOT" --buildtype=release >/dev/null
    fi
    local log
    if ! log=$(ninja -C "$BENCH_BUILD_DIR" -j2 2>&1); then
        printf '%s\n' "$log" | tail -n 20 >&2
        load_die "build failed: ninja -C $BENCH_BUILD_DIR"
    fi
    LOAD_BIN=$BENCH_BUILD_DIR/registrar
    [ -x "$LOAD_BIN" ] || load_die "no server binary at $LOAD_BIN"

    local opts buildtype sanitize
    opts=$(meson introspect "$BENCH_BUILD_DIR" --buildoptions 2>/dev/null || true)
    buildtype=$(printf '%s' "$opts" | python3 -c 'import json,sys
o={x["name"]: x["value"] for x in json.load(sys.stdin)}
print(o.get("buildtype","?"), o.get("b_sanitize","none"))' 2>/dev/null || echo "? ?")
    sanitize=${buildtype#* }
    buildtype=${buildtype%% *}
    load_log "binary $LOAD_BIN (buildtype=$buildtype, b_sanitize=$sanitize)"
    if [ "$buildtype" != release ] || [ "$sanitize" != none ]; then
        load_log "warning: not a plain release build; use BENCH_BUILD_DIR=build-bench for one"
    fi
}

load_cleanup()
{
    local rc=$?
    trap - EXIT INT TERM
    local pid
    for pid in "${LOAD_EXTRA_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$LOAD_SERVER_PID" ] && kill -0 "$LOAD_SERVER_PID" 2>/dev/null; then
        kill -TERM "$LOAD_SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$LOAD_SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$LOAD_SERVER_PID" 2>/dev/null; then
            load_log "server did not stop within 10 s; killing it"
            kill -KILL "$LOAD_SERVER_PID" 2>/dev/null || true
        fi
        wait "$LOAD_SERVER_PID" 2>/dev/null || true
    fi
    if [ "$LOAD_PG_STARTED" -eq 1 ]; then
        load_as_pg "$LOAD_PG_BIN/pg_ctl" -D "$LOAD_PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [ -n "$LOAD_TMP" ] && [ -d "$LOAD_TMP" ]; then
        if [ "$BENCH_KEEP" = 1 ] || [ "$rc" -ne 0 ]; then
            load_log "logs kept in $LOAD_TMP"
        else
            rm -rf "$LOAD_TMP"
        fi
    fi
    exit "$rc"
}

# Tools, build, a private temporary directory and the cleanup trap.
load_init()
{
    load_require_tools
    load_build
    LOAD_TMP=$(mktemp -d /tmp/registrar-bench.XXXXXX)
    chmod 755 "$LOAD_TMP"
    trap load_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# A TCP port nothing listens on now (there is a race with other programs
# between this check and the bind; the callers fail loudly if they lose it).
load_free_port()
{
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    load_die "no free TCP port found"
}

# Start a throwaway PostgreSQL 15 cluster on a random port, listening on
# 127.0.0.1 and on a socket in the temporary directory, with trust auth
# for the local superuser `postgres`.
load_pg_start()
{
    LOAD_PG_DATA=$LOAD_TMP/pg
    LOAD_PG_PORT=$(load_free_port)
    mkdir -p "$LOAD_PG_DATA"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$LOAD_PG_DATA"
    fi
    load_as_pg "$LOAD_PG_BIN/initdb" -D "$LOAD_PG_DATA" -U postgres --auth=trust \
        -E UTF8 --locale=C.UTF-8 >"$LOAD_TMP/initdb.log" 2>&1 \
        || load_die "initdb failed; see $LOAD_TMP/initdb.log"
    # max_connections leaves room for pgbench's clients beside the server's
    # pool; everything else is PostgreSQL's default, durability included.
    local max_conn=$((BENCH_CONNECTIONS + 64))
    load_as_pg "$LOAD_PG_BIN/pg_ctl" -D "$LOAD_PG_DATA" -w -t 60 \
        -l "$LOAD_PG_DATA/server.log" \
        -o "-p $LOAD_PG_PORT -c listen_addresses=127.0.0.1 -k $LOAD_PG_DATA -c max_connections=$max_conn" \
        start >/dev/null || load_die "PostgreSQL did not start; see $LOAD_PG_DATA/server.log"
    LOAD_PG_STARTED=1
    load_log "PostgreSQL $("$LOAD_PG_BIN/postgres" -V | awk '{print $3}') on 127.0.0.1:$LOAD_PG_PORT" \
        "(fsync=$(load_psql -Atc 'show fsync'), synchronous_commit=$(load_psql -Atc 'show synchronous_commit'))"
}

# psql as the superuser against the bench database (or another with -d).
load_psql()
{
    "$LOAD_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$LOAD_PG_PORT" -U postgres "$@"
}

load_random_hex()
{
    od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

# Create the bench database, apply the migrations with `registrar migrate`,
# start `registrar serve` on a free port with a random secret key, and wait
# until /readyz answers 200 (at most 30 s).
load_server_start()
{
    load_psql -d postgres -c "create database $LOAD_DB_NAME" >/dev/null
    LOAD_DB_URL="postgresql://postgres@127.0.0.1:$LOAD_PG_PORT/$LOAD_DB_NAME"
    REGISTRAR_DATABASE_URL=$LOAD_DB_URL "$LOAD_BIN" migrate >"$LOAD_TMP/migrate.log" 2>&1 \
        || load_die "registrar migrate failed; see $LOAD_TMP/migrate.log"

    # Kept for benches that make session tokens themselves (bench-rush).
    LOAD_SECRET_KEY=${LOAD_SECRET_KEY:-$(load_random_hex 32)}
    LOAD_WEBHOOK_SECRET=${LOAD_WEBHOOK_SECRET:-$(load_random_hex 32)}
    # For benches that read the server's own counters (load_metric).
    LOAD_METRICS_TOKEN=${LOAD_METRICS_TOKEN:-$(load_random_hex 32)}
    load_server_process "$LOAD_TMP/server.log"
    LOAD_SERVER_PID=$LOAD_PROCESS_PID
    LOAD_SERVER_URL=$LOAD_PROCESS_URL
}

# One more server process on the same database, with the same secrets, on
# a port of its own: LOAD_SERVER2_URL, its log $LOAD_TMP/server2.log.
load_server_another()
{
    load_server_process "$LOAD_TMP/server2.log"
    LOAD_EXTRA_PIDS+=("$LOAD_PROCESS_PID")
    LOAD_SERVER2_URL=$LOAD_PROCESS_URL
}

# Starts `registrar serve` logging to $1 and waits for readyz:
# LOAD_PROCESS_PID, LOAD_PROCESS_URL.
load_server_process()
{
    local log=$1 port url pid
    port=$(load_free_port)
    url="http://127.0.0.1:$port"
    # shellcheck disable=SC2086 # BENCH_SERVER_ARGS is a list of words
    env REGISTRAR_DATABASE_URL="$LOAD_DB_URL" \
        REGISTRAR_SECRET_KEY="$LOAD_SECRET_KEY" \
        REGISTRAR_WEBHOOK_SECRET="$LOAD_WEBHOOK_SECRET" \
        REGISTRAR_METRICS_TOKEN="$LOAD_METRICS_TOKEN" \
        REGISTRAR_LOG_LEVEL="$BENCH_LOG_LEVEL" \
        REGISTRAR_ADMIN_LISTEN="${BENCH_ADMIN_LISTEN:-off}" \
        REGISTRAR_WEB_ROOT="$LOAD_ROOT/web" \
        "$LOAD_BIN" serve --listen "127.0.0.1:$port" $BENCH_SERVER_ARGS \
        >"$log" 2>&1 &
    pid=$!

    local code
    for _ in $(seq 1 300); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$log" >&2 || true
            load_die "the server exited during start-up; see $log"
        fi
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url/readyz" || true)
        if [ "$code" = 200 ]; then
            load_log "server pid $pid ready at $url (log level $BENCH_LOG_LEVEL)"
            LOAD_PROCESS_PID=$pid
            LOAD_PROCESS_URL=$url
            return 0
        fi
        sleep 0.1
    done
    load_die "the server was not ready within 30 s; see $log"
}

# load_metric URL NAME: the server's counter NAME (summed over its label
# sets) from GET URL/metrics, 0 when it has none yet.
load_metric()
{
    curl -sf -H "Authorization: Bearer $LOAD_METRICS_TOKEN" "$1/metrics" \
        | awk -v n="$2" '$1 == n || index($1, n "{") == 1 { s += $2 } END { printf "%d\n", s }'
}

load_signin()
{
    local email password code
    email="bench-$(load_random_hex 6)@example.org"
    password=$(load_random_hex 16)
    code=$(curl -s -o "$LOAD_TMP/account.json" -w '%{http_code}' \
        -H 'Content-Type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"$password\",\"full_name\":\"Bench Learner\",\"profession\":\"physician\"}" \
        "$LOAD_SERVER_URL/api/v1/accounts" || true)
    if [ "$code" != 201 ]; then
        load_log "no account for signed-in requests (POST /api/v1/accounts answered $code)"
        return 1
    fi
    code=$(curl -s -o "$LOAD_TMP/session.json" -w '%{http_code}' \
        -H 'Content-Type: application/json' \
        -d "{\"email\":\"$email\",\"password\":\"$password\"}" \
        "$LOAD_SERVER_URL/api/v1/auth/sessions" || true)
    if [ "$code" != 201 ]; then
        load_log "cannot sign in (POST /api/v1/auth/sessions answered $code)"
        return 1
    fi
    LOAD_TOKEN=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["token"])' \
        "$LOAD_TMP/session.json")
    [ -n "$LOAD_TOKEN" ]
}

# Milliseconds from one of wrk's latency figures: 812.00us, 1.25ms, 2.01s.
load_wrk_ms()
{
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000
        else if (v ~ /ms$/) n *= 1
        else if (v ~ /m$/) n *= 60000
        else if (v ~ /s$/) n *= 1000
        printf "%.3f", n
    }'
}

load_record()
{
    LOAD_NAMES+=("$1")
    LOAD_KIND[$1]=$2
    LOAD_RPS[$1]=$3
    LOAD_P50[$1]=$4
    LOAD_P99[$1]=$5
}

# load_wrk NAME PATH [HEADER...]
# GET PATH on the server with wrk at BENCH_CONNECTIONS connections, after
# BENCH_WARMUP seconds of unrecorded load; each HEADER ("Name: value") is
# sent with every request. Records requests/s and the 50th and 99th latency
# percentiles of wrk --latency. A run with socket errors or with any
# non-2xx/3xx answer fails: the rate of error pages is no figure.
load_wrk()
{
    local name=$1 path=$2
    shift 2
    local url=$LOAD_SERVER_URL$path out=$LOAD_TMP/wrk-$name.txt
    local h code
    local -a curl_headers=() wrk_headers=()
    for h in "$@"; do
        curl_headers+=(-H "$h")
        wrk_headers+=(-H "$h")
    done
    code=$(curl -s -o /dev/null -w '%{http_code}' "${curl_headers[@]}" "$url" || true)
    [ "$code" = 200 ] || load_die "GET $path answers $code, not 200"

    if [ "$BENCH_WARMUP" -gt 0 ]; then
        wrk -t "$BENCH_THREADS" -c "$BENCH_CONNECTIONS" -d "${BENCH_WARMUP}s" "${wrk_headers[@]}" "$url" >/dev/null
    fi
    load_log "wrk $name: GET $path, ${BENCH_CONNECTIONS} connections, ${BENCH_THREADS} threads, ${BENCH_DURATION} s"
    wrk -t "$BENCH_THREADS" -c "$BENCH_CONNECTIONS" -d "${BENCH_DURATION}s" --latency \
        "${wrk_headers[@]}" "$url" >"$out"

    if grep -q 'Non-2xx or 3xx responses' "$out" || grep -q 'Socket errors' "$out"; then
        cat "$out" >&2
        load_die "wrk $name: errors during the run (see above)"
    fi
    local rps p50 p99
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    p50=$(awk '$1 == "50%" { print $2 }' "$out")
    p99=$(awk '$1 == "99%" { print $2 }' "$out")
    if [ -z "$rps" ] || [ -z "$p50" ] || [ -z "$p99" ]; then
        cat "$out" >&2
        load_die "cannot read wrk's output"
    fi
    local what="wrk GET $path"
    for h in "$@"; do
        what+=" +${h%%:*}"
    done
    load_record "$name" "$what" "$rps" "$(load_wrk_ms "$p50")" "$(load_wrk_ms "$p99")"
}

# load_pgbench NAME SQL
# Runs SQL (one statement, as its own transaction) with pgbench against the
# bench database: -n -M prepared (the server prepares its statements too),
# BENCH_CONNECTIONS clients, BENCH_THREADS threads, BENCH_DURATION seconds.
# pgbench reports only an average latency, so the percentiles come from its
# per-transaction log (-l), whose third field is the latency in µs.
load_pgbench()
{
    local name=$1 sql=$2
    local script=$LOAD_TMP/pgbench-$name.sql logdir=$LOAD_TMP/pgbench-$name
    local out=$LOAD_TMP/pgbench-$name.txt
    printf '%s\n' "$sql" >"$script"
    mkdir -p "$logdir"
    load_psql -d "$LOAD_DB_NAME" -f "$script" >/dev/null || load_die "pgbench $name: the SQL fails: $sql"

    load_log "pgbench $name: $sql, ${BENCH_CONNECTIONS} clients, ${BENCH_THREADS} threads, ${BENCH_DURATION} s"
    (cd "$logdir" && "$LOAD_PG_BIN/pgbench" -n -M prepared -c "$BENCH_CONNECTIONS" \
        -j "$BENCH_THREADS" -T "$BENCH_DURATION" -f "$script" -l --log-prefix=tx \
        -h 127.0.0.1 -p "$LOAD_PG_PORT" -U postgres "$LOAD_DB_NAME") >"$out" 2>&1 \
        || { cat "$out" >&2; load_die "pgbench $name failed"; }

    local tps failed pct
    tps=$(awk '/^tps = / { print $3 }' "$out")
    failed=$(awk '/^number of failed transactions:/ { print $5 }' "$out")
    if [ -z "$tps" ]; then
        cat "$out" >&2
        load_die "cannot read pgbench's output"
    fi
    if [ -n "$failed" ] && [ "$failed" != 0 ]; then
        cat "$out" >&2
        load_die "pgbench $name: $failed failed transactions"
    fi
    # Nearest-rank percentiles over every transaction's latency.
    pct=$(cat "$logdir"/tx.* | awk '{ print $3 }' | sort -n | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "- -"; exit }
            i50 = int(NR * 0.50); if (i50 < NR * 0.50) i50++
            i99 = int(NR * 0.99); if (i99 < NR * 0.99) i99++
            printf "%.3f %.3f\n", v[i50] / 1000, v[i99] / 1000
        }')
    [ "$BENCH_KEEP" = 1 ] || rm -rf "$logdir"
    load_record "$name" "pgbench: $sql" "$tps" "${pct% *}" "${pct#* }"
}

# The table of every measurement so far.
load_report()
{
    local name
    printf '\n%-14s %12s %10s %10s  %s\n' name "req/s" "p50 ms" "p99 ms" what
    for name in "${LOAD_NAMES[@]}"; do
        printf '%-14s %12.0f %10.3f %10.3f  %s\n' "$name" "${LOAD_RPS[$name]}" \
            "${LOAD_P50[$name]}" "${LOAD_P99[$name]}" "${LOAD_KIND[$name]}"
    done
}

# load_ratio LABEL A B: A's requests/s over B's.
load_ratio()
{
    local label=$1 a=$2 b=$3
    if [ -z "${LOAD_RPS[$a]:-}" ] || [ -z "${LOAD_RPS[$b]:-}" ]; then
        return 0
    fi
    awk -v l="$label" -v a="${LOAD_RPS[$a]}" -v b="${LOAD_RPS[$b]}" \
        'BEGIN { printf "%-28s %6.2f  (%.0f / %.0f req/s)\n", l, (b > 0 ? a / b : 0), a, b }'
}

# One line describing the machine, for the figures to be read against.
load_machine()
{
    local cpu
    cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
    printf 'machine: %s cores, %s, %s\n' "$(nproc)" "${cpu:-unknown CPU}" "$(uname -sr)"
}
