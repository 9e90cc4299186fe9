#!/usr/bin/env bash
# RSS of `warden serve` (targets: <= 40 MiB idle after start, <= 80 MiB after the benchmark load),
# and where it goes. Repeatable: one command, a fresh server and database each time.
#
#   bench/rss.sh                              # prints a table, also bench/results/rss-latest.md
#   SKIP_BUILD=1 BENCH_WARDEN_BIN=/work/tgt/x/profiling/warden DURATION=5 bench/rss.sh
#   WARDEN_TOKEN_CACHE_SIZE=1000 bench/rss.sh # other WARDEN_* variables reach the server
#
# The load is run.sh's main-server load, shorter by default: a fresh SQLite DB in a temp dir,
# real Argon2id (19456 KiB, t=2, p=1), per-IP limit off, access TTL 1 h. Measured: idle 1 s after
# /healthz answers (run.sh's moment); LOGIN_USERS accounts registered and logged in
# (bench/client.py); logins (bench/login.lua, 16 connections), GET /auth/me with one token (64
# connections), chained refreshes (bench/refresh.lua, 64 connections), DURATION s each; right
# after the load; again after SETTLE s without requests. Each row: VmRSS and VmHWM (peak) from
# /proc/PID/status, and from /proc/PID/smaps_rollup the anonymous memory (heap, stacks, the
# allocators), its part in transparent huge pages, and the file-backed part (the binary's pages).
# 1 MiB = 1024 KiB. RSS does not depend on the machine's load, throughput does (none is reported).
#
# Sourced (`source bench/rss.sh`), it only defines rss_kib and rss_fields for run.sh.
#
# Env: DURATION=5  SETTLE=3  PORT=18960  LOGIN_USERS=64  SKIP_BUILD=0
#      BENCH_WARDEN_BIN=target/release/warden  KEEP_WORK=1 keeps the temp dir (log, DB)

# rss_kib PID [FIELD]: a /proc/PID/status field in KiB (VmRSS by default).
rss_kib() { awk -v k="${2:-VmRSS}:" '$1 == k {print $2}' "/proc/$1/status"; }

# rss_fields PID: `rss hwm anon anon_huge file` in KiB, one line.
rss_fields() {
  local rss hwm
  rss=$(rss_kib "$1" VmRSS) hwm=$(rss_kib "$1" VmHWM)
  awk -v rss="$rss" -v hwm="$hwm" '
    $1 == "Anonymous:" {anon = $2} $1 == "AnonHugePages:" {huge = $2}
    $1 == "Rss:" {all = $2}
    END {printf "%s %s %s %s %s\n", rss, hwm, anon, huge, all - anon}' "/proc/$1/smaps_rollup"
}

[[ ${BASH_SOURCE[0]} != "$0" ]] && return 0   # sourced: the functions only

set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
DURATION=${DURATION:-5}
SETTLE=${SETTLE:-3}
PORT=${PORT:-18960}
LOGIN_USERS=${LOGIN_USERS:-64}
THREADS=2 CONNS=64 LOGIN_CONNS=16 REFRESH_CONNS=64
WARDEN=${BENCH_WARDEN_BIN:-$ROOT/target/release/warden}
PASSWORD='Correct-horse-9!'
URL=http://127.0.0.1:$PORT
WORK=$(mktemp -d /tmp/warden-rss.XXXXXX)
log() { echo "[rss $(date -u +%T)] $*" >&2; }

WPID=
cleanup() {
  if [[ -n $WPID ]] && kill -0 "$WPID" 2>/dev/null; then
    kill -TERM "$WPID"; wait "$WPID" 2>/dev/null
  fi
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || { log "$tool is required"; exit 1; }
done
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "cargo build --release -p warden-server (niced)"
  (cd "$ROOT" && nice -n 10 cargo build --release -p warden-server) >"$WORK/build.log" 2>&1 ||
    { log "build failed: $(grep -m1 -E '^error' "$WORK/build.log")"; exit 1; }
fi
[[ -x $WARDEN ]] || { log "no warden binary at $WARDEN"; exit 1; }
curl -s -o /dev/null --max-time 0.5 "$URL/" && { log "port $PORT is busy"; exit 1; }

(cd "$WORK" && exec env -u WARDEN_DATABASE_URL WARDEN_BIND="127.0.0.1:$PORT" \
   WARDEN_ADMIN_SECRET="rss-$RANDOM$RANDOM$RANDOM" WARDEN_RATE_LIMIT_PER_MINUTE=0 \
   WARDEN_ACCESS_TTL=1h WARDEN_COOKIE_SECURE=false WARDEN_ARGON2_MEMORY_KIB=19456 \
   WARDEN_ARGON2_ITERATIONS=2 WARDEN_ARGON2_PARALLELISM=1 "$WARDEN" serve) >"$WORK/warden.log" 2>&1 &
WPID=$!
for _ in $(seq 1 240); do
  curl -fsS -o /dev/null --max-time 1 "$URL/healthz" 2>/dev/null && break
  kill -0 "$WPID" 2>/dev/null || { log "warden exited: $(tail -3 "$WORK/warden.log")"; exit 1; }
  sleep 0.25
done
sleep 1
ROWS=("idle after start|$(rss_fields "$WPID")")

log "register + log in $LOGIN_USERS accounts, and $((REFRESH_CONNS + THREADS)) refresh sessions"
python3 "$HERE/client.py" users "$URL" login- "$LOGIN_USERS" 16 "$PASSWORD" "$WORK/login.tok" 2>>"$WORK/client.log" &&
  python3 "$HERE/client.py" users "$URL" refresh- "$((REFRESH_CONNS + THREADS))" 16 "$PASSWORD" "$WORK/refresh.tok" \
    2>>"$WORK/client.log" || { log "client.py failed: $(tail -2 "$WORK/client.log")"; exit 1; }
TOKEN=$(awk '{print $1; exit}' "$WORK/login.tok")
export LOGIN_PREFIX=login- LOGIN_COUNT=$LOGIN_USERS LOGIN_PASSWORD=$PASSWORD WRK_THREADS=$THREADS
log "logins, ${DURATION}s"
wrk -t"$THREADS" -c"$LOGIN_CONNS" -d"${DURATION}s" --timeout 30s -s "$HERE/login.lua" "$URL/auth/login" >"$WORK/wrk-login.txt" 2>&1
ROWS+=("after the logins|$(rss_fields "$WPID")")
log "GET /auth/me, ${DURATION}s"
wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" -H "Authorization: Bearer $TOKEN" "$URL/auth/me" >"$WORK/wrk-me.txt" 2>&1
log "chained refreshes, ${DURATION}s"
TOKENS_FILE=$WORK/refresh.tok wrk -t"$THREADS" -c"$REFRESH_CONNS" -d"${DURATION}s" -s "$HERE/refresh.lua" \
  "$URL/auth/refresh" >"$WORK/wrk-refresh.txt" 2>&1
ROWS+=("after the load|$(rss_fields "$WPID")")
sleep "$SETTLE"
ROWS+=("${SETTLE} s later|$(rss_fields "$WPID")")
for f in login me refresh; do
  grep -q "Requests/sec" "$WORK/wrk-$f.txt" || log "wrk $f: $(tail -2 "$WORK/wrk-$f.txt")"
done

mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
{
  echo "RSS of \`warden serve\`, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$([[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]] && echo ', working tree dirty'), binary $WARDEN; load ${DURATION}s per run; 1-min load average $(cut -d' ' -f1 /proc/loadavg)."
  echo
  echo "| moment | VmRSS MiB | VmHWM MiB | anonymous MiB | of it in huge pages MiB | file-backed MiB |"
  echo "|---|---|---|---|---|---|"
  for r in "${ROWS[@]}"; do
    read -r rss hwm anon huge file <<<"${r#*|}"
    echo "| ${r%%|*} | $(mib "$rss") | $(mib "$hwm") | $(mib "$anon") | $(mib "$huge") | $(mib "$file") |"
  done
} | tee "$HERE/results/rss-latest.md"
