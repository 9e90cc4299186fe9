#!/usr/bin/env bash
# Warden scale check (issue 7): login and refresh latency and server RSS with 1,000,000 accounts
# and 1,000,000 sessions, next to a 1,000-account database in the same run, on SQLite and on
# PostgreSQL. A benchmark, not a test: prints a markdown table (also bench/results/scale-latest.md).
#
#   bench/scale.sh
#   SKIP_BUILD=1 BIG_N=100000 BACKENDS=sqlite bench/scale.sh       # quicker, partial
#
# Per backend, for each size (SMALL_N, BIG_N):
# 1. fresh database (SQLite file in a temp dir / a new PostgreSQL schema); Warden started once
#    (migrations), ONE template account registered and logged in through the API (real Argon2id
#    PHC hash and a real session row), Warden stopped;
# 2. bulk seeding straight into the tables, not through the API (1M Argon2 hashes would take
#    hours): N accounts scale-0..scale-{N-1} copying the template row (same hash, so the same
#    password), one session per account, one refresh_tokens row per session with a random hash
#    (bench/scale_seed.py for SQLite, bench/scale_seed_pg.sql for PostgreSQL).
# Then ROUNDS measurement rounds, the two sizes interleaved (small big, big small, ...), each a
# fresh Warden start on the seeded database: RSS idle; 66 accounts registered + logged in through
# the API (bench/client.py) for the refresh chains; logins of 64 seeded accounts (bench/login.lua,
# 16 connections, DURATION s); chained refreshes (bench/refresh.lua, 64 connections, DURATION s);
# VmRSS and VmHWM (peak) after the runs; Warden stopped.
# bench/scale_report.py prints the table (medians over the rounds) and the PASS/FAIL lines
# (p50/p99 at BIG_N within 25% of SMALL_N; RSS at BIG_N under 100 MB).
# Everything started here is stopped on exit; the PostgreSQL schemas and the temp dir are
# dropped. Traffic goes to 127.0.0.1 only.
#
# Env: DURATION=10  ROUNDS=3  SMALL_N=1000  BIG_N=1000000  BACKENDS="sqlite postgres"  SKIP_BUILD=0
#      PORT=18950  PG_URL=postgres://postgres@127.0.0.1:5432/test  (psql reaches the same
#      server with PGHOST/PGUSER/PGDATABASE derived from it)  BENCH_WARDEN_BIN=target/release/warden
#      KEEP_WORK=1 keeps the temp dir (logs, SQLite files; the PG schemas are dropped anyway)
set -uo pipefail   # no -e: a part that fails is reported as missing, the rest still runs

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
DURATION=${DURATION:-10}
SMALL_N=${SMALL_N:-1000}
BIG_N=${BIG_N:-1000000}
BACKENDS=${BACKENDS:-"sqlite postgres"}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-18950}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432/test}
WARDEN=${BENCH_WARDEN_BIN:-$ROOT/target/release/warden}
LOGIN_CONNS=16 REFRESH_CONNS=64 THREADS=2 LOGIN_USERS=64
PASSWORD='Correct-horse-9!'
TMPL=tmpl-scale
PREFIX=scale-
ARGON2=(WARDEN_ARGON2_MEMORY_KIB=19456 WARDEN_ARGON2_ITERATIONS=2 WARDEN_ARGON2_PARALLELISM=1)

# psql connection from PG_URL (postgres://USER@HOST:PORT/DB, no password in the bench setup)
pg_rest=${PG_URL#postgres://}; pg_rest=${pg_rest#postgresql://}
PGUSER_=${pg_rest%%@*}; pg_hostport=${pg_rest#*@}; pg_hostport=${pg_hostport%%/*}
PGDB_=${pg_rest##*/}; PGDB_=${PGDB_%%\?*}
PGHOST_=${pg_hostport%%:*}; PGPORT_=${pg_hostport##*:}; [[ $PGPORT_ == "$pg_hostport" ]] && PGPORT_=5432
psql_() { PGCONNECT_TIMEOUT=5 timeout "${PSQL_TIMEOUT:-120}" psql -X -q -h "$PGHOST_" -p "$PGPORT_" -U "$PGUSER_" -d "$PGDB_" "$@"; }

WORK=$(mktemp -d /tmp/warden-scale.XXXXXX)
RAW=$WORK/raw.txt
LOG=$WORK/scale.log
: >"$RAW"
log() { echo "[scale $(date -u +%T)] $*" >&2; }
put() { echo "$*" >>"$RAW"; }
note() { NOTES=$((${NOTES:-0} + 1)); put "meta note$NOTES $*"; log "NOTE: $*"; }

# ------------------------------------------------------------------ cleanup (trap on EXIT)
WARDEN_PIDS=() PG_SCHEMAS=()
stop_pid() {  # PID: TERM, up to 10 s, then KILL
  kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 1 40); do kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }; sleep 0.25; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
drop_schema() { psql_ -c "DROP SCHEMA IF EXISTS $1 CASCADE" >/dev/null 2>&1 || log "could not drop schema $1"; }
cleanup() {
  local p s
  for p in "${WARDEN_PIDS[@]}"; do stop_pid "$p"; done
  for s in "${PG_SCHEMAS[@]}"; do drop_schema "$s"; done
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! curl -s -o /dev/null --max-time 0.5 "http://127.0.0.1:$1/"; }

# ------------------------------------------------------------------ build
WARDEN_OK=1
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "cargo build --release -p warden-server (niced)"
  if ! (cd "$ROOT" && nice -n 10 cargo build --release -p warden-server) >>"$LOG" 2>&1; then
    note "warden build failed: $(grep -m1 -E '^error' "$LOG" || echo 'see build log')"
    WARDEN_OK=0
  fi
fi
[[ -x $WARDEN ]] || { note "no binary at $WARDEN"; WARDEN_OK=0; }
[[ $WARDEN_OK == 1 ]] || { log "no usable warden binary"; exit 1; }
command -v wrk >/dev/null || { log "wrk is required"; exit 1; }

# ------------------------------------------------------------------ meta
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "none")
[[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]] && commit="$commit, working tree dirty"
put "meta date $(date -u '+%Y-%m-%d %H:%M UTC')"
put "meta nproc $(nproc)"
put "meta loadavg_start $(cut -d' ' -f1-3 /proc/loadavg)"
put "meta cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
put "meta commit $commit"
put "meta binary $WARDEN ($(date -u -r "$WARDEN" '+built %Y-%m-%d %H:%M UTC' 2>/dev/null || echo missing))"
put "meta duration $DURATION"
put "meta small_n $SMALL_N"
put "meta big_n $BIG_N"
put "meta sqlite $(python3 -c 'import sqlite3; print(sqlite3.sqlite_version)') (seeding; the server uses its own)"
put "meta postgres $(psql_ -At -c 'SHOW server_version' 2>/dev/null || echo unreachable)"

# ------------------------------------------------------------------ helpers
WPID=
start_warden() {  # DIR DB_URL   sets WPID; waits for /healthz
  local dir=$1 url=$2
  port_free "$PORT" || { note "port $PORT busy"; return 1; }
  (cd "$dir" && exec env WARDEN_DATABASE_URL="$url" WARDEN_BIND="127.0.0.1:$PORT" \
     WARDEN_ADMIN_SECRET="scale-$RANDOM$RANDOM$RANDOM" WARDEN_RATE_LIMIT_PER_MINUTE=0 \
     WARDEN_ACCESS_TTL=1h WARDEN_COOKIE_SECURE=false "${ARGON2[@]}" "$WARDEN" serve) >>"$dir/warden.log" 2>&1 &
  WPID=$!
  WARDEN_PIDS+=("$WPID")
  for _ in $(seq 1 480); do
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/healthz" 2>/dev/null && return 0
    kill -0 "$WPID" 2>/dev/null || break
    sleep 0.25
  done
  note "warden did not become ready: $(tail -3 "$dir/warden.log" | tr '\n' ' ')"
  stop_pid "$WPID"; return 1
}
stop_warden() { stop_pid "$WPID"; WARDEN_PIDS=(); WPID=; }
rss_kib() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
post() {  # PATH JSON -> status code
  curl -s -o /dev/null -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' \
    -d "$2" "http://127.0.0.1:$PORT$1"
}
wrk_run() {  # ROW PREFIX wrk-args...
  local row=$1 prefix=$2; shift 2
  timeout $((DURATION + 60)) wrk "$@" >"$WORK/wrk-$row-$prefix.txt" 2>&1
  python3 "$HERE/report.py" wrk "$row" "$prefix" <"$WORK/wrk-$row-$prefix.txt" >>"$RAW"
}
size_label() { python3 -c "n=$1; print(f'{n//1000000}M' if n >= 1000000 and n % 1000000 == 0 else f'{n//1000}k' if n % 1000 == 0 else str(n))"; }

# One backend × size: fresh database, template account, bulk seed. Sets URL_<row>.
declare -A URLS=() DIRS=()
prepare() {  # BACKEND N
  local backend=$1 n=$2 row dir url schema t0 st
  row="$backend-$(size_label "$n")"
  dir=$WORK/$row
  mkdir -p "$dir"
  put "$row n $n"
  if [[ $backend == sqlite ]]; then
    url="sqlite://$dir/w.db?mode=rwc"
  else
    schema="warden_scale_${n}_$$"
    psql_ -c "CREATE SCHEMA $schema" >>"$LOG" 2>&1 || { note "$row: CREATE SCHEMA failed"; return 1; }
    PG_SCHEMAS+=("$schema")
    url="$PG_URL?options=-c%20search_path%3D$schema"
  fi

  log "$row: migrate + template account through the API"
  start_warden "$dir" "$url" || { note "$row: warden did not start on the empty database"; return 1; }
  st=$(post /auth/register "{\"login\":\"$TMPL\",\"password\":\"$PASSWORD\"}")
  [[ $st == 201 ]] || { note "$row: template register -> $st"; stop_warden; return 1; }
  st=$(post /auth/login "{\"login\":\"$TMPL\",\"password\":\"$PASSWORD\"}")
  [[ $st == 200 ]] || { note "$row: template login -> $st"; stop_warden; return 1; }
  stop_warden

  log "$row: seeding $n accounts + $n sessions"
  t0=$(date +%s.%N)
  if [[ $backend == sqlite ]]; then
    timeout 1200 python3 "$HERE/scale_seed.py" "$dir/w.db" "$TMPL" "$n" "$PREFIX" 2>>"$LOG" \
      || { note "$row: seeding failed: $(grep -E "ERROR|Error|error" "$LOG" | tail -1)"; return 1; }
    put "$row db_mb $(du -cm "$dir"/w.db* | awk 'END {print $1}')"
  else
    PSQL_TIMEOUT=1200 PGOPTIONS="-c search_path=$schema" psql_ -v ON_ERROR_STOP=1 -v n="$n" \
      -v prefix="$PREFIX" -v tmpl="$TMPL" -f "$HERE/scale_seed_pg.sql" >>"$LOG" 2>&1 \
      || { note "$row: seeding failed: $(grep -E "ERROR|Error|error" "$LOG" | tail -1)"; return 1; }
    put "$row db_mb $(psql_ -At -c "SELECT (sum(pg_total_relation_size(c.oid)) / 1048576)::int FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = '$schema' AND c.relkind = 'r'")"
  fi
  put "$row seed_s $(python3 -c "import time; print(f'{time.time() - $t0:.0f}')")"
  log "$row: seeded in $(tail -1 "$RAW" | awk '{print $3}') s"
  URLS[$row]=$url DIRS[$row]=$dir
}

# One measurement round on a seeded database: a fresh server start each round.
measure() {  # ROW ROUND
  local row=$1 r=$2 dir=${DIRS[$1]} url=${URLS[$1]} st n
  n=$(awk -v r="$row" '$1 == r && $2 == "n" {print $3}' "$RAW")
  log "$row round $r: start"
  start_warden "$dir" "$url" || { note "$row round $r: warden did not start on the seeded database"; return; }
  sleep 1
  put "$row r${r}_rss_idle_kib $(rss_kib "$WPID" VmRSS)"
  # a seeded account logs in with the template's password: check one from the end of the range
  st=$(post /auth/login "{\"login\":\"$PREFIX$((n - 1))\",\"password\":\"$PASSWORD\"}")
  [[ $st == 200 ]] || note "$row: login of a seeded account -> $st"
  rm -f "$dir/refresh.tok"
  python3 "$HERE/client.py" users "http://127.0.0.1:$PORT" "refresh-r$r-" "$((REFRESH_CONNS + THREADS))" 16 \
    "$PASSWORD" "$dir/refresh.tok" 2>>"$LOG" || note "$row round $r: refresh sessions: $(tail -1 "$LOG")"
  log "$row round $r: logins ($LOGIN_USERS seeded accounts, $LOGIN_CONNS conns, ${DURATION}s)"
  LOGIN_PREFIX=$PREFIX LOGIN_COUNT=$LOGIN_USERS LOGIN_PASSWORD=$PASSWORD WRK_THREADS=$THREADS \
    wrk_run "$row" "r${r}_login" -t"$THREADS" -c"$LOGIN_CONNS" -d"${DURATION}s" --timeout 30s --latency \
      -s "$HERE/login.lua" "http://127.0.0.1:$PORT/auth/login"
  if [[ -s $dir/refresh.tok ]]; then
    log "$row round $r: chained refreshes ($REFRESH_CONNS conns, ${DURATION}s)"
    WRK_THREADS=$THREADS TOKENS_FILE=$dir/refresh.tok \
      wrk_run "$row" "r${r}_refresh" -t"$THREADS" -c"$REFRESH_CONNS" -d"${DURATION}s" --timeout 30s --latency \
        -s "$HERE/refresh.lua" "http://127.0.0.1:$PORT/auth/refresh"
  fi
  put "$row r${r}_rss_kib $(rss_kib "$WPID" VmRSS)"
  put "$row r${r}_hwm_kib $(rss_kib "$WPID" VmHWM)"
  put "$row r${r}_loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
  stop_warden
}

put "meta rounds $ROUNDS"
for b in $BACKENDS; do
  case $b in sqlite | postgres) ;; *) note "unknown backend $b"; continue ;; esac
  if [[ $b == postgres ]] && ! psql_ -c 'SELECT 1' >/dev/null 2>&1; then
    note "PostgreSQL at $PG_URL unreachable, postgres rows skipped"; continue
  fi
  small="$b-$(size_label "$SMALL_N")" big="$b-$(size_label "$BIG_N")"
  prepare "$b" "$SMALL_N" && prepare "$b" "$BIG_N" || continue
  # interleaved rounds, order alternating (small big, big small, ...) so drift in the machine's
  # load hits both sizes alike; the report takes the median over the rounds
  for r in $(seq 1 "$ROUNDS"); do
    if ((r % 2)); then measure "$small" "$r"; measure "$big" "$r"; else measure "$big" "$r"; measure "$small" "$r"; fi
  done
  # free the disk before the next backend
  for s in "${PG_SCHEMAS[@]}"; do drop_schema "$s"; done
  PG_SCHEMAS=()
  [[ ${KEEP_WORK:-0} == 1 ]] || rm -f "${DIRS[$small]}"/w.db* "${DIRS[$big]}"/w.db*
done
put "meta loadavg_end $(cut -d' ' -f1-3 /proc/loadavg)"

# ------------------------------------------------------------------ report
mkdir -p "$HERE/results"
cp "$RAW" "$HERE/results/scale-raw-latest.txt"
python3 "$HERE/scale_report.py" "$RAW" | tee "$HERE/results/scale-latest.md"
