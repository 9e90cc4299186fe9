#!/usr/bin/env bash
# Profile mode: instructions per request, counted by callgrind. Unlike requests/s these do not
# drift with the machine's load (callgrind counts instructions, not time), so a change is judged
# by comparing two binaries' counts, in any order, on a busy machine too.
#
#   bench/profile.sh                       # floor, /auth/me (bearer, API key, cookie), refresh
#   BENCH_WARDEN_BIN=/tmp/old/warden bench/profile.sh   # another build, for a before/after
#   KINDS="bearer refresh" N=500 bench/profile.sh
#
# For each kind: the server starts under `valgrind --tool=callgrind` with instrumentation off,
# the client (bench/profile.py, its own process, not counted) warms up with WARM requests,
# instrumentation is switched on, N sequential keep-alive requests are sent and the counters
# are dumped. Printed: instructions per request (all server threads), and the top
# functions by their own cost (callgrind_annotate), into bench/results/profile-<kind>.txt.
# The floor is ../shared/peers/floor (bare axum GET /me), built on first use like run.sh does.
#
# Env: N=1000 WARM=200 KINDS="floor bearer api_key cookie refresh" PORT=18950 TOP=25
#      KEEP_CALLGRIND=1 (keeps bench/results/callgrind-<kind>.out for an inclusive or caller view)
#      BENCH_WARDEN_BIN=target/release/warden  PEERS_DIR=/work/shared/peers
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PEERS=${PEERS_DIR:-/work/shared/peers}
WARDEN=${BENCH_WARDEN_BIN:-$ROOT/target/release/warden}
N=${N:-1000} WARM=${WARM:-200} PORT=${PORT:-18950} TOP=${TOP:-25}
KINDS=${KINDS:-"floor bearer api_key cookie refresh"}
PASSWORD='Correct-horse-9!'
OUT=$HERE/results
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/warden-profile.XXXXXX)
PID=""
cleanup() { [[ -n $PID ]] && kill "$PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
log() { echo "[profile $(date -u +%T)] $*" >&2; }

for tool in valgrind callgrind_control callgrind_annotate python3 curl; do
  command -v "$tool" >/dev/null || { echo "profile: $tool is missing" >&2; exit 1; }
done

floor_bin() {
  local target=${PEERS_FLOOR_TARGET:-/tmp/floor-target}
  [[ -x $target/release/axum-floor ]] ||
    (cd "$PEERS/floor" && CARGO_TARGET_DIR=$target cargo build --release -q) >&2
  echo "$target/release/axum-floor"
}

# start KIND: the server of KIND under callgrind (instrumentation off) on $PORT; sets PID.
start() {
  local kind=$1 cmd ready envs=()
  local vg=(valgrind --tool=callgrind --instr-atstart=no --dump-instr=no
    "--callgrind-out-file=$WORK/$kind.%p.out")
  mkdir -p "$WORK/$kind"
  if [[ $kind == floor ]]; then
    cmd=("$(floor_bin)" "127.0.0.1:$PORT"); ready=/me
  else
    [[ -x $WARDEN ]] || { echo "profile: no warden binary at $WARDEN (cargo build --release -p warden-server)" >&2; exit 1; }
    # The variables go before valgrind: an `env` under it would exec warden uninstrumented.
    envs=(-u WARDEN_DATABASE_URL WARDEN_BIND="127.0.0.1:$PORT"
      WARDEN_ADMIN_SECRET="profile-$RANDOM$RANDOM" WARDEN_RATE_LIMIT_PER_MINUTE=0
      WARDEN_ACCESS_TTL=1h WARDEN_COOKIE_SECURE=false WARDEN_LOG_LEVEL=error
      WARDEN_ARGON2_MEMORY_KIB=64 WARDEN_ARGON2_ITERATIONS=1)
    cmd=("$WARDEN" serve)
    ready=/healthz
  fi
  (cd "$WORK/$kind" && exec env "${envs[@]}" "${vg[@]}" "${cmd[@]}") >"$WORK/$kind/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT$ready" 2>/dev/null && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.2
  done
  echo "profile: $kind did not start: $(tail -5 "$WORK/$kind/server.log")" >&2
  exit 1
}

stop() { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; PID=""; }

URL=http://127.0.0.1:$PORT
printf '| kind | requests | instructions/request |\n|---|---|---|\n'
for kind in $KINDS; do
  log "$kind: start under callgrind"
  start "$kind"
  state=$WORK/$kind/state.json
  if [[ $kind != floor ]]; then
    python3 "$HERE/profile.py" setup "$URL" "$PASSWORD" "$state" || exit 1
  fi
  python3 "$HERE/profile.py" run "$URL" "$kind" "$WARM" "$state" || exit 1
  callgrind_control -i on "$PID" >/dev/null
  python3 "$HERE/profile.py" run "$URL" "$kind" "$N" "$state" || exit 1
  callgrind_control -d "$PID" >/dev/null
  stop
  # The dump of the measured part is the file with the most events; `summary:` is its total.
  total=0 file=""
  for f in "$WORK/$kind".*.out*; do
    t=$(awk '/^(summary|totals):/ {print $2; exit}' "$f")
    [[ -n $t && $t -gt $total ]] && total=$t file=$f
  done
  [[ -n $file ]] || { echo "profile: no callgrind output for $kind" >&2; exit 1; }
  printf '| %s | %d | %d |\n' "$kind" "$N" $((total / N))
  callgrind_annotate --inclusive=no "$file" 2>/dev/null | sed -n '1,/^$/d;p' | head -n $((TOP + 20)) \
    >"$OUT/profile-$kind.txt"
  # KEEP_CALLGRIND=1 keeps the dump for `callgrind_annotate --inclusive=yes --tree=caller`.
  [[ ${KEEP_CALLGRIND:-0} == 1 ]] && cp "$file" "$OUT/callgrind-$kind.out"
  rm -f "$WORK/$kind".*.out*
done
log "top functions per kind: $OUT/profile-<kind>.txt"
