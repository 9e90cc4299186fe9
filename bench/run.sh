#!/usr/bin/env bash
# Warden benchmark, one command: Warden vs the bare axum floor and the peers, on this machine.
#
#   bench/run.sh                        # prints a markdown report, also bench/results/latest.md
#   SKIP_BUILD=1 DURATION=5 bench/run.sh
#
# 1. `cargo build --release -p warden-server` (niced; skipped with SKIP_BUILD=1).
# 2. Peers, each started, measured with the shared peers/bench.sh (wrk -t2 -c64 -dDURATION
#    --latency on the protected GET) and stopped: axum-floor, better-auth-rs, axum-login,
#    pyjwt with 2 uvicorn workers.
# 3. Warden on a fresh SQLite DB in a temp dir, real Argon2id (19456 KiB, t=2, p=1), per-IP limit
#    out of the way, access TTL 1 h so one token lasts the whole run: GET /auth/me, logins (16 conns), chained refreshes, /auth/me while logins
#    saturate the hash pool, RSS idle. Then a second start with cheap hash parameters, 10k
#    accounts registered + logged in, its RSS, and GET /auth/me with those 10k distinct tokens
#    cycling (me_many.lua).
# 4. report.py prints the tables and the PASS/FAIL target lines.
# Everything started here is stopped on exit. Traffic goes to 127.0.0.1 only.
#
# Env: DURATION=10  SKIP_BUILD=0  PORT_BASE=18900 (uses PORT_BASE..PORT_BASE+5)  POP_N=10000
#      PEERS_DIR=/work/shared/peers  BENCH_WARDEN_BIN=target/release/warden  KEEP_WORK=1 keeps the
#      temp dir (logs, DBs)  BENCH_DATABASE_URL=... (default: ./warden.db in the temp dir;
#      @DIR@ is replaced by the server's temp dir)  PARTS="peers warden" (a subset, for testing)
#      LOGIN_USERS=64 (accounts the login runs cycle through, see login.lua)  BENCH_NOTE=... (a
#      line for the report's notes, e.g. which source the binary was built from)
#      Other WARDEN_* variables of the caller reach the server (it rejects names that are not
#      settings), e.g. WARDEN_HASH_CONCURRENCY.
set -uo pipefail   # no -e: a part that fails is reported as missing, the rest still runs

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PEERS=${PEERS_DIR:-/work/shared/peers}
VENV=${PEERS_VENV:-/tmp/peers-venv}
DURATION=${DURATION:-10}
CONNS=64 LOGIN_CONNS=16 REFRESH_CONNS=64 THREADS=2
POP_N=${POP_N:-10000}
LOGIN_USERS=${LOGIN_USERS:-64}   # accounts the login runs cycle through
PARTS=${PARTS:-"peers warden"}
PORT_BASE=${PORT_BASE:-18900}
P_WARDEN=$PORT_BASE P_POP=$((PORT_BASE + 1)) P_FLOOR=$((PORT_BASE + 2))
P_BETTER=$((PORT_BASE + 3)) P_LOGIN=$((PORT_BASE + 4)) P_PYJWT=$((PORT_BASE + 5))
WARDEN=${BENCH_WARDEN_BIN:-$ROOT/target/release/warden}
PASSWORD='Correct-horse-9!'
ARGON2=(WARDEN_ARGON2_MEMORY_KIB=19456 WARDEN_ARGON2_ITERATIONS=2 WARDEN_ARGON2_PARALLELISM=1)
ARGON2_CHEAP=(WARDEN_ARGON2_MEMORY_KIB=8 WARDEN_ARGON2_ITERATIONS=1 WARDEN_ARGON2_PARALLELISM=1)

# Argon2id at 19456/2/1 on the server's own hash pool: prints `MS RATE [description]`, the median
# time of one verification and the verifications/s of THREADS threads at once. The login bound is
# the rate with one thread per core (Argon2id is bound by memory bandwidth: two hashes at once are
# each slower than one alone, so cores ÷ the one-thread time overstates what the cores can do;
# the report prints both).
hash_bench() { env "${ARGON2[@]}" "$WARDEN" hash-bench --n "$2" --threads "$1"; }

WORK=$(mktemp -d /tmp/warden-bench.XXXXXX)
RAW=$WORK/raw.txt
LOG=$WORK/bench.log
: >"$RAW"
log() { echo "[bench $(date -u +%T)] $*" >&2; }
put() { echo "$*" >>"$RAW"; }
note() { NOTES=$((${NOTES:-0} + 1)); put "meta note$NOTES $*"; log "NOTE: $*"; }

# ------------------------------------------------------------------ cleanup (trap on EXIT)
PEER_PORTS=() WARDEN_PIDS=() BG_PIDS=()
stop_pid() {  # PID: TERM, up to 10 s, then KILL
  kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 1 40); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.25; done
  kill -KILL "$1" 2>/dev/null
}
cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do stop_pid "$p"; done
  for p in "${WARDEN_PIDS[@]}"; do stop_pid "$p"; done
  for p in "${PEER_PORTS[@]}"; do timeout 20 "$PEERS/stop_peer.sh" "$p" >/dev/null 2>&1; done
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! curl -s -o /dev/null --max-time 0.5 "http://127.0.0.1:$1/"; }

# ------------------------------------------------------------------ prerequisites
command -v wrk >/dev/null || { log "installing wrk"; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
if ! "$VENV/bin/python" -c 'import uvicorn, jwt, argon2' 2>/dev/null; then
  log "peer venvs missing: running $PEERS/setup.sh (a few minutes)"
  (cd "$PEERS" && nice -n 10 ./setup.sh) >>"$LOG" 2>&1 || log "setup.sh failed (see $LOG)"
fi
log "building the Rust peers if needed (niced)"
for p in better-auth-rs axum-login; do
  (cd "$PEERS/rust/$p" && CARGO_TARGET_DIR=${PEERS_RUST_TARGET:-/tmp/peers-rust-target} \
     nice -n 10 cargo build --release --locked -q) >>"$LOG" 2>&1 || log "build of $p failed"
done
FLOOR_BIN=${PEERS_FLOOR_TARGET:-/tmp/floor-target}/release/axum-floor
[[ -x $FLOOR_BIN ]] || (cd "$PEERS/floor" && CARGO_TARGET_DIR=${PEERS_FLOOR_TARGET:-/tmp/floor-target} \
  nice -n 10 cargo build --release -q) >>"$LOG" 2>&1 || log "build of the floor failed"

WARDEN_OK=1
if [[ ${SKIP_BUILD:-0} != 1 ]]; then
  log "cargo build --release -p warden-server (niced)"
  if ! (cd "$ROOT" && nice -n 10 cargo build --release -p warden-server) >>"$LOG" 2>&1; then
    note "warden build failed: $(grep -m1 -E '^error' "$LOG" || echo 'see build log')"
    WARDEN_OK=0
  fi
fi
[[ -x $WARDEN ]] || { [[ $WARDEN_OK == 1 ]] && note "no binary at $WARDEN"; WARDEN_OK=0; }

# ------------------------------------------------------------------ meta
commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo "none (no commit yet)")
[[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]] && commit="$commit, working tree dirty"
put "meta date $(date -u '+%Y-%m-%d %H:%M UTC')"
put "meta nproc $(nproc)"
put "meta loadavg $(cut -d' ' -f1-3 /proc/loadavg)"
put "meta cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
put "meta commit $commit"
put "meta binary $WARDEN ($(date -u -r "$WARDEN" '+built %Y-%m-%d %H:%M UTC' 2>/dev/null || echo missing))"
[[ -n ${BENCH_NOTE:-} ]] && note "$BENCH_NOTE"
put "meta wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
put "meta duration $DURATION"
put "meta conns $CONNS"
put "meta login_conns $LOGIN_CONNS"
put "meta login_users $LOGIN_USERS"
put "meta refresh_conns $REFRESH_CONNS"
put "meta argon2 m=19456 KiB t=2 p=1, WARDEN_HASH_CONCURRENCY=${WARDEN_HASH_CONCURRENCY:-default (cores)}"
put "meta pop_argon2 m=8 KiB t=1 p=1"
put "meta pop_n $POP_N"
# ------------------------------------------------------------------ peers
bench_peer() {  # ROW NAME PORT [WORKERS]
  local row=$1 name=$2 port=$3 w=${4:-} info=""
  log "peer $row on :$port"
  port_free "$port" || { note "port $port busy, $row skipped"; return; }
  PEER_PORTS=("$port")
  if ! timeout 300 "$PEERS/run_peer.sh" "$name" "$port" $w >/dev/null 2>>"$LOG"; then
    put "$row start_failed 1"; note "$row did not start (see run_peer log /tmp/peers-run/$port.log)"; return
  fi
  sleep 1
  [[ $name == axum-floor ]] && info='{"name":"axum-floor","login_flow":null,"me_path":"/me"}'
  PEER_INFO=$info DURATION=$DURATION THREADS=$THREADS CONNS=$CONNS LOGIN_CONNS=$LOGIN_CONNS \
    timeout $((DURATION * 2 + 90)) "$PEERS/bench.sh" "http://127.0.0.1:$port" 2>>"$LOG" \
    | awk -v r="$row" '{$1 = r; print}' >>"$RAW"
  if [[ $name == axum-floor ]]; then
    # The floor under the load generator of the distinct-token run (me_many.lua builds every
    # request in Lua, which costs wrk more than a fixed request): POP_N random token-sized
    # strings, which the floor does not check. The distinct-token ratio is taken against this.
    python3 -c 'import secrets, sys; [print(secrets.token_urlsafe(270)) for _ in range(int(sys.argv[1]))]' \
      "$POP_N" >"$WORK/floor-many.tok"
    WRK_THREADS=$THREADS TOKENS_FILE=$WORK/floor-many.tok timeout $((DURATION + 60)) \
      wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/me_many.lua" \
      "http://127.0.0.1:$port/me" >"$WORK/wrk-floor-many.txt" 2>&1
    python3 "$HERE/report.py" wrk "$row" me_many <"$WORK/wrk-floor-many.txt" >>"$RAW"
  fi
  timeout 30 "$PEERS/stop_peer.sh" "$port" >/dev/null 2>&1
  PEER_PORTS=()
}
if [[ " $PARTS " == *" peers "* ]]; then
  bench_peer axum-floor axum-floor "$P_FLOOR"
  bench_peer better-auth-rs better-auth-rs "$P_BETTER"
  bench_peer axum-login axum-login "$P_LOGIN"
  bench_peer pyjwt-w2 pyjwt "$P_PYJWT" 2
fi

# ------------------------------------------------------------------ warden
start_warden() {  # PORT DIR ENV...   sets WPID; waits for /healthz
  local port=$1 dir=$2; shift 2
  mkdir -p "$dir"
  port_free "$port" || { note "port $port busy"; return 1; }
  local db=(-u WARDEN_DATABASE_URL)
  [[ -n ${BENCH_DATABASE_URL:-} ]] && db=("WARDEN_DATABASE_URL=${BENCH_DATABASE_URL//@DIR@/$dir}")
  (cd "$dir" && exec env "${db[@]}" WARDEN_BIND="127.0.0.1:$port" WARDEN_ADMIN_SECRET="bench-$RANDOM$RANDOM$RANDOM" \
     WARDEN_RATE_LIMIT_PER_MINUTE=100000000 WARDEN_ACCESS_TTL=1h WARDEN_COOKIE_SECURE=false "$@" "$WARDEN" serve) >"$dir/warden.log" 2>&1 &
  WPID=$!
  WARDEN_PIDS+=("$WPID")
  for _ in $(seq 1 240); do
    curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/healthz" 2>/dev/null && return 0
    kill -0 "$WPID" 2>/dev/null || break
    sleep 0.25
  done
  note "warden did not become ready on :$port: $(tail -3 "$dir/warden.log" | tr '\n' ' ')"
  stop_pid "$WPID"; return 1
}
source "$HERE/rss.sh"   # rss_kib PID [FIELD], rss_fields PID (bench/rss.sh measures the same server alone)
wrk_run() {  # PREFIX wrk-args...   (parsed into `warden PREFIX_*` lines)
  local prefix=$1; shift
  timeout $((DURATION + 60)) wrk "$@" >"$WORK/wrk-$prefix.txt" 2>&1
  python3 "$HERE/report.py" wrk warden "$prefix" <"$WORK/wrk-$prefix.txt" >>"$RAW"
}

if [[ " $PARTS " == *" warden "* && $WARDEN_OK == 1 ]] && start_warden "$P_WARDEN" "$WORK/main" "${ARGON2[@]}"; then
  URL=http://127.0.0.1:$P_WARDEN
  sleep 1
  put "warden rss_idle_kib $(rss_kib "$WPID")"
  put "warden rss_idle_detail_kib $(rss_fields "$WPID")"   # rss hwm anon anon_huge file
  log "warden: register + log in $LOGIN_USERS accounts (the first one's token drives /auth/me)"
  if python3 "$HERE/client.py" users "$URL" login- "$LOGIN_USERS" 16 "$PASSWORD" "$WORK/login.tok" 2>>"$LOG"; then
    TOKEN=$(awk '{print $1; exit}' "$WORK/login.tok")
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/auth/me")
    bad=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer x$TOKEN" "$URL/auth/me")
    [[ $code == 200 && $bad == 401 ]] || note "token check: good token -> $code, bad token -> $bad"
    AUTH=(-H "Authorization: Bearer $TOKEN")
    export LOGIN_PREFIX=login- LOGIN_COUNT=$LOGIN_USERS LOGIN_PASSWORD=$PASSWORD WRK_THREADS=$THREADS
    LOGIN_WRK=(-t"$THREADS" -c"$LOGIN_CONNS" --timeout 30s --latency -s "$HERE/login.lua" "$URL/auth/login")

    # Informational: 16 simultaneous logins to ONE account (correct password), status counts.
    body="{\"login\":\"login-0\",\"password\":\"$PASSWORD\"}"
    pids=()
    for i in $(seq 1 16); do
      curl -s -o /dev/null -w '%{http_code}\n' --max-time 30 -H 'Content-Type: application/json' \
        -d "$body" "$URL/auth/login" >"$WORK/one-account.$i" &
      pids+=("$!")
    done
    wait "${pids[@]}"
    cat "$WORK"/one-account.* >"$WORK/one-account.txt"
    put "warden one_account_statuses $(sort "$WORK/one-account.txt" | uniq -c | awk '{printf "%s%s=%s", (NR > 1 ? "," : ""), $2, $1}')"

    log "warden: GET /auth/me"
    wrk_run me -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "${AUTH[@]}" "$URL/auth/me"
    log "warden: GET /auth/me with an API key"
    APIKEY=$(curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      -d '{"name":"bench"}' "$URL/auth/api-keys" | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])' 2>/dev/null)
    if [[ -n $APIKEY ]] && [[ $(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $APIKEY" "$URL/auth/me") == 200 ]]; then
      wrk_run me_key -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -H "X-API-Key: $APIKEY" "$URL/auth/me"
    else
      note "API key creation or use failed"
    fi
    log "warden: logins"
    wrk_run login -d"${DURATION}s" "${LOGIN_WRK[@]}"
    # right after the login run, so both see the same machine state (the server is idle now)
    log "Argon2id hash time and the hash pool's rate (hash_bench)"
    if read -r h _ src < <(hash_bench 1 20) && [[ -n $h ]]; then
      put "warden hash_ms $h"; put "meta hash_source ${src:-hash_bench in run.sh}"
    else
      note "hash time measurement failed"
    fi
    if read -r _ rate src < <(hash_bench "$(nproc)" 10) && [[ -n $rate ]]; then
      put "warden hash_pool_rps $rate"; put "meta hash_pool_source $src"
    else
      note "hash pool rate measurement failed"
    fi

    # Cross-check of the hash time from the server side: 20 sequential logins (one hash each,
    # plus HTTP, DB and signing), median wall time.
    for _ in $(seq 1 20); do
      curl -s -o /dev/null -w '%{time_total}\n' -H 'Content-Type: application/json' \
        -d "{\"login\":\"login-1\",\"password\":\"$PASSWORD\"}" "$URL/auth/login"
    done | sort -n | awk '{v[NR] = $1} END {if (NR) printf "warden seq_login_ms %.2f\n", 1000 * (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2}' >>"$RAW"

    log "warden: /auth/me while logins saturate the hash pool"
    timeout $((DURATION + 64)) wrk -d"$((DURATION + 4))s" "${LOGIN_WRK[@]}" >"$WORK/wrk-login_load.txt" 2>&1 &
    BG=$!; BG_PIDS+=("$BG")
    sleep 2
    wrk_run me_load -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "${AUTH[@]}" "$URL/auth/me"
    wait "$BG"
    python3 "$HERE/report.py" wrk warden login_load <"$WORK/wrk-login_load.txt" >>"$RAW"

    log "warden: $REFRESH_CONNS sessions (+1 spare per wrk thread) for the chained refresh run"
    if python3 "$HERE/client.py" users "$URL" refresh- "$((REFRESH_CONNS + THREADS))" 16 "$PASSWORD" "$WORK/refresh.tok" 2>>"$LOG"; then
      log "warden: chained refreshes"
      WRK_THREADS=$THREADS TOKENS_FILE=$WORK/refresh.tok \
        wrk_run refresh -t"$THREADS" -c"$REFRESH_CONNS" -d"${DURATION}s" --latency -s "$HERE/refresh.lua" "$URL/auth/refresh"
    else
      note "could not create the refresh sessions: $(tail -2 "$LOG" | tr '\n' ' ')"
    fi
  else
    note "warden register/login of the bench accounts failed: $(tail -2 "$LOG" | tr '\n' ' ')"
  fi
  put "warden rss_after_kib $(rss_kib "$WPID")"
  put "warden rss_after_detail_kib $(rss_fields "$WPID")"   # rss hwm anon anon_huge file
  stop_pid "$WPID"

  log "warden: population run ($POP_N accounts + sessions, cheap hash parameters)"
  if start_warden "$P_POP" "$WORK/pop" "${ARGON2_CHEAP[@]}"; then
    sleep 1
    put "warden rss_popidle_kib $(rss_kib "$WPID")"
    out=$(timeout 600 python3 "$HERE/client.py" users "http://127.0.0.1:$P_POP" pop- "$POP_N" 64 "$PASSWORD" "$WORK/pop.tok" 2>&1 | tail -1)
    log "population: $out"
    sleep 1
    put "warden rss_10k_kib $(rss_kib "$WPID")"
    if [[ -s $WORK/pop.tok ]]; then
      log "warden: GET /auth/me with $(wc -l <"$WORK/pop.tok") distinct tokens cycling"
      WRK_THREADS=$THREADS TOKENS_FILE=$WORK/pop.tok \
        wrk_run me_many -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/me_many.lua" "http://127.0.0.1:$P_POP/auth/me"
      put "warden rss_10k_after_kib $(rss_kib "$WPID")"
    fi
    put "warden populate_seconds $(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$out")"
    put "warden populate_errors $(sed -n 's/.*errors=\([0-9]*\).*/\1/p' <<<"$out")"
    stop_pid "$WPID"
  fi
fi

# ------------------------------------------------------------------ report
mkdir -p "$HERE/results"
cp "$RAW" "$HERE/results/raw-latest.txt"
python3 "$HERE/report.py" table "$RAW" | tee "$HERE/results/latest.md"
