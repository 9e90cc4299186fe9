#!/usr/bin/env bash
# Warden as an OpenID Provider, end to end with a relying-party library no one
# here wrote: Python's authlib (with requests) against the real `warden serve`
# (debug binary) on a fresh SQLite file. The script (openid_provider/rp.py)
# drives the hosted sign-in and consent pages over HTTP like a browser and
# checks discovery, code + PKCE, the ID token against the JWKS, userinfo,
# refresh (and reuse detection), revocation, RP-initiated logout and
# client_credentials with introspection. Then the same with Node's
# openid-client (openid_provider/rp.mjs), when `node` is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p warden-server
BIN="${CARGO_TARGET_DIR:-target}/debug/warden"

venv=/tmp/warden-e2e-authlib
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import authlib, requests' 2>/dev/null; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet 'authlib>=1.3,<2' 'requests>=2.31,<3'
fi

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
secret="op-e2e-admin-secret-$RANDOM$RANDOM"
env -u WARDEN_DATABASE_URL \
  WARDEN_BIND="127.0.0.1:$port" WARDEN_PUBLIC_URL="$base" \
  WARDEN_DATABASE_URL="sqlite://$dir/warden.db?mode=rwc" \
  WARDEN_ADMIN_SECRET="$secret" WARDEN_COOKIE_SECURE=false \
  WARDEN_ARGON2_MEMORY_KIB=64 WARDEN_ARGON2_ITERATIONS=1 \
  WARDEN_RATE_LIMIT_PER_MINUTE=0 WARDEN_LOG_LEVEL=warn \
  "$BIN" serve >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 300); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done

fail() { echo "--- server log"; tail -n 50 "$dir/server.log"; exit 1; }
WARDEN_URL="$base" WARDEN_ADMIN_SECRET="$secret" "$venv/bin/python" e2e/openid_provider/rp.py || fail

if ! command -v node >/dev/null 2>&1; then
  echo "openid_provider: node is not installed; the openid-client run is skipped"
  exit 0
fi
nodedir=/tmp/warden-e2e-openid-client
if ! cmp -s e2e/openid_provider/package.json "$nodedir/package.json" || [ ! -d "$nodedir/node_modules/openid-client" ]; then
  rm -rf "$nodedir"
  mkdir -p "$nodedir"
  cp e2e/openid_provider/package.json "$nodedir/"
  (cd "$nodedir" && npm install --silent --no-audit --no-fund)
fi
# ES modules resolve packages next to the script: run a copy from there.
cp e2e/openid_provider/rp.mjs "$nodedir/rp.mjs"
WARDEN_URL="$base" WARDEN_ADMIN_SECRET="$secret" node "$nodedir/rp.mjs" || fail
