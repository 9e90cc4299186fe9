#!/usr/bin/env bash
# Chained refreshes, two Warden binaries side by side in one run (rounds interleaved A B A B),
# to judge a change to the refresh path by a ratio on this noisy machine:
#
#   bench/refresh_ab.sh OLD_BINARY NEW_BINARY
#   ROUNDS=3 DURATION=10 CONNS=64 bench/refresh_ab.sh /tmp/before/warden target/release/warden
#
# Each round starts the binary on a fresh SQLite database (BENCH_DATABASE_URL=... for another
# database; @DIR@ is replaced by the round's temp dir), logs in CONNS+2 sessions with cheap hash
# parameters (a refresh hashes nothing), runs `wrk -cCONNS --latency -s refresh.lua` on
# POST /auth/refresh for DURATION s and prints successful refreshes/s, p50, p99 and non-2xx.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
A=${1:?old binary} B=${2:?new binary}
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10} CONNS=${CONNS:-64} THREADS=2 PORT=${PORT:-18950}
WORK=$(mktemp -d /tmp/warden-refresh-ab.XXXXXX)
trap 'kill "${PID:-0}" 2>/dev/null; rm -rf "$WORK"' EXIT
printf '| round | binary | refreshes/s | p50 | p99 | non-2xx |\n|---|---|---|---|---|---|\n'
for round in $(seq 1 "$ROUNDS"); do
  for which in A B; do
    bin=$A; [[ $which == B ]] && bin=$B
    dir=$WORK/$round$which; mkdir -p "$dir"
    db=(-u WARDEN_DATABASE_URL)
    [[ -n ${BENCH_DATABASE_URL:-} ]] && db=("WARDEN_DATABASE_URL=${BENCH_DATABASE_URL//@DIR@/$dir}")
    (cd "$dir" && exec env "${db[@]}" WARDEN_BIND="127.0.0.1:$PORT" WARDEN_RATE_LIMIT_PER_MINUTE=100000000 \
      WARDEN_ACCESS_TTL=1h WARDEN_COOKIE_SECURE=false WARDEN_ARGON2_MEMORY_KIB=8 WARDEN_ARGON2_ITERATIONS=1 \
      WARDEN_ARGON2_PARALLELISM=1 WARDEN_LOG_LEVEL=warn "$bin" serve) >"$dir/warden.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 240); do curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break; sleep 0.25; done
    python3 "$HERE/client.py" users "http://127.0.0.1:$PORT" "r$round$which-" "$((CONNS + THREADS))" 16 \
      'Correct-horse-9!' "$dir/tokens" >/dev/null 2>"$dir/client.log" || { echo "round $round $which: sessions failed" >&2; }
    WRK_THREADS=$THREADS TOKENS_FILE=$dir/tokens wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency \
      -s "$HERE/refresh.lua" "http://127.0.0.1:$PORT/auth/refresh" >"$dir/wrk.txt" 2>&1
    kill "$PID"; wait "$PID" 2>/dev/null
    python3 - "$dir/wrk.txt" "$round" "$which" "$DURATION" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
total = int(re.search(r"(\d+) requests in", t).group(1))
bad = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", t)) else 0
secs = float(re.search(r"requests in ([\d.]+)s", t).group(1))
lat = dict(re.findall(r"^\s+(50|99)(?:\.000)?%\s+(\S+)", t, re.M))
print(f"| {sys.argv[2]} | {sys.argv[3]} | {(total - bad) / secs:,.0f} | {lat.get('50', '?')} | {lat.get('99', '?')} | {bad} |")
PY
  done
done
