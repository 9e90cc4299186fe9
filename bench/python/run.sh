#!/usr/bin/env bash
# FastAPI routes protected by warden_client vs. bare PyJWT HS256 vs. the seed packages, in one
# run, rounds interleaved. Not a test: run it on an idle machine.
#
#   bench/python/run.sh                       # everything, 2 rounds x 10 s per target
#   DURATION=3 ROUNDS=1 TARGETS="pyjwt warden-claims" bench/python/run.sh   # a smoke run
#
# Every target gets the same load: wrk -t$THREADS -c$CONNS -d${DURATION}s --latency on a GET
# that answers {"sub": ...}, after $WARMUP s of the same load that is thrown away.
#   app targets (bench/python/app.py under uvicorn, $WORKERS workers, uvloop + httptools):
#     hello, pyjwt, warden-claims, warden-claims-nocache, warden-account, warden-account-live
#   seed targets (the apps of $PEERS_DIR, the same uvicorn settings, via its run_peer.sh):
#     authx, fastapi-jwt-auth, fastsecure, connectkit, fastapi_auth2
# Env: WARDEN_BIN (default target/release/warden, else target/debug/warden: say which in the
# results), PEERS_DIR (default ../shared/peers beside the repo), DURATION=10 ROUNDS=2 THREADS=2
# CONNS=64 WORKERS=2 WARMUP=2 TARGETS="...". Output: bench/python/results/raw-STAMP/*.txt and
# the markdown table results/table-STAMP.md (also printed).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
here=$root/bench/python
DURATION=${DURATION:-10} ROUNDS=${ROUNDS:-2} THREADS=${THREADS:-2} CONNS=${CONNS:-64}
WORKERS=${WORKERS:-2} WARMUP=${WARMUP:-2}
APP_TARGETS="hello pyjwt warden-claims warden-claims-nocache warden-account warden-account-live"
SEED_TARGETS="authx fastapi-jwt-auth fastsecure connectkit fastapi_auth2"
TARGETS=${TARGETS:-"$APP_TARGETS $SEED_TARGETS"}
PEERS_DIR=${PEERS_DIR:-$root/../shared/peers}
if [ -z "${WARDEN_BIN:-}" ]; then
  WARDEN_BIN=$root/target/release/warden
  [ -x "$WARDEN_BIN" ] || WARDEN_BIN=$root/target/debug/warden
fi
[ -x "$WARDEN_BIN" ] || { echo "no Warden binary (set WARDEN_BIN or cargo build -p warden-server)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # URL LOG
  for _ in $(seq 1 600); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "not answering: $1" >&2; tail -20 "$2" >&2; return 1
}

# --- the app's venv: the package under test plus the versions the seed peers run with
venv=$root/target/bench/python-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if [ ! "$venv/.installed" -nt "$root/clients/python/pyproject.toml" ]; then
  "$venv/bin/python" -m pip install --quiet -e "$root/clients/python[fastapi]" "fastapi==0.165.0" \
    "uvicorn[standard]==0.54.0" "uvloop==0.23.0" "httptools==0.9.0" "PyJWT==2.15.1"
  touch "$venv/.installed"
fi
needs_seeds=0
for t in $TARGETS; do case " $SEED_TARGETS " in *" $t "*) needs_seeds=1 ;; esac; done
if [ "$needs_seeds" = 1 ]; then
  [ -x "$PEERS_DIR/run_peer.sh" ] || { echo "no seed peers at $PEERS_DIR (set PEERS_DIR)" >&2; exit 1; }
  [ -x "${PEERS_VENV:-/tmp/peers-venv}/bin/uvicorn" ] || "$PEERS_DIR/setup.sh"
fi

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# --- Warden (fresh SQLite, tokens valid for the whole run)
wport=$(free_port)
WURL=http://127.0.0.1:$wport
env -u WARDEN_DATABASE_URL -u WARDEN_BIN WARDEN_BIND=127.0.0.1:$wport WARDEN_DATABASE_URL="sqlite://$work/warden.db?mode=rwc" \
  WARDEN_ADMIN_SECRET="bench-$RANDOM$RANDOM" WARDEN_RATE_LIMIT_PER_MINUTE=0 WARDEN_ACCESS_TTL=1h \
  WARDEN_COOKIE_SECURE=false WARDEN_LOG_LEVEL=warn WARDEN_OUTBOX_DIR="$work/outbox" \
  "$WARDEN_BIN" serve >"$work/warden.log" 2>&1 &
pids+=($!)
wait_http "$WURL/healthz" "$work/warden.log"
TOKEN=$("$venv/bin/python" - "$WURL" <<'EOF'
import sys
from warden_client import WardenClient
with WardenClient(sys.argv[1]) as c:
    c.register("alice", "Correct-horse-9!")
    print(c.login("alice", "Correct-horse-9!").access_token)
EOF
)
SECRET=bench-secret-0123456789abcdef0123456789abcdef
HS_TOKEN=$("$venv/bin/python" -c 'import jwt, sys, time; print(jwt.encode({"sub": "alice", "iat": int(time.time()), "exp": int(time.time()) + 7200}, sys.argv[1], algorithm="HS256"))' "$SECRET")

# --- the app
aport=$(free_port)
AURL=http://127.0.0.1:$aport
(cd "$work" && WARDEN_URL=$WURL BENCH_SECRET=$SECRET exec "$venv/bin/uvicorn" --app-dir "$here" app:app \
  --host 127.0.0.1 --port "$aport" --workers "$WORKERS" --loop uvloop --http httptools \
  --no-access-log --log-level warning >"$work/app.log" 2>&1) &
pids+=($!)
wait_http "$AURL/hello" "$work/app.log"
sleep 2  # both workers through their startup

stamp=$(date -u +%Y%m%dT%H%M%SZ)
raw=$here/results/raw-$stamp
mkdir -p "$raw"
{
  echo "run $stamp: DURATION=$DURATION ROUNDS=$ROUNDS THREADS=$THREADS CONNS=$CONNS WORKERS=$WORKERS WARMUP=$WARMUP"
  echo "warden: $WARDEN_BIN ($(stat -c %y "$WARDEN_BIN" | cut -d. -f1))"
  echo "python: $("$venv/bin/python" -V); $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$venv/bin/python" -m pip freeze | grep -iE '^(fastapi|uvicorn|pyjwt|cryptography|httpx|starlette|pydantic)=='
} >"$raw/env.txt"

# check: the token answers 200 and a bogus one does not (as ../shared/peers/bench.sh does)
check() { # URL HEADER
  local hdr=$2 code bogus
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "User-Agent:" -H "$hdr" "$1")
  bogus=$(curl -s -o /dev/null -w '%{http_code}' -H "User-Agent:" -H "${hdr%%: *}: ${hdr#*: }x" "$1")
  [ "$code" = 200 ] && [ "$bogus" != 200 ] || { echo "check failed on $1: $code / bogus $bogus" >&2; return 1; }
}
load() { # NAME ROUND URL [HEADER]
  local hdr=()
  [ -n "${4:-}" ] && hdr=(-H "$4")
  [ "$WARMUP" -gt 0 ] && wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "${hdr[@]}" "$3" >/dev/null
  wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "${hdr[@]}" "$3" >"$raw/$1.r$2.txt"
  echo "  $1 round $2: $(grep 'Requests/sec' "$raw/$1.r$2.txt")"
}

for round in $(seq 1 "$ROUNDS"); do
  for t in $TARGETS; do
    case $t in
      hello) load "$t" "$round" "$AURL/hello" ;;
      pyjwt) check "$AURL/pyjwt" "Authorization: Bearer $HS_TOKEN"
             load "$t" "$round" "$AURL/pyjwt" "Authorization: Bearer $HS_TOKEN" ;;
      warden-*) path=/${t#warden-}
             check "$AURL$path" "Authorization: Bearer $TOKEN"
             load "$t" "$round" "$AURL$path" "Authorization: Bearer $TOKEN" ;;
      *) pport=$(free_port)
         "$PEERS_DIR/run_peer.sh" "$t" "$pport" "$WORKERS" >/dev/null
         IFS=$'\t' read -r mpath hdr < <("$venv/bin/python" "$here/peer_token.py" "http://127.0.0.1:$pport")
         check "http://127.0.0.1:$pport$mpath" "$hdr" || { "$PEERS_DIR/stop_peer.sh" "$pport" >/dev/null; exit 1; }
         load "$t" "$round" "http://127.0.0.1:$pport$mpath" "$hdr"
         "$PEERS_DIR/stop_peer.sh" "$pport" >/dev/null ;;
    esac
  done
done

"$venv/bin/python" "$here/table.py" "$raw" | tee "$here/results/table-$stamp.md"
echo "raw: $raw"
