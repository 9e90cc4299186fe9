#!/usr/bin/env bash
# The README's curl walk-through, run against the real `warden` binary on a fresh
# SQLite file: register, login, me, refresh, refresh reuse, logout.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p warden-server
BIN=target/debug/warden
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
B="http://127.0.0.1:$port"
WARDEN_BIND="127.0.0.1:$port" WARDEN_DATABASE_URL="sqlite://$dir/warden.db?mode=rwc" \
  "$BIN" serve >"$dir/out.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -sf "$B/healthz" >/dev/null && break; sleep 0.1; done

pass=0 fail=0
check() { # name expected actual
  if [ "$2" = "$3" ]; then pass=$((pass+1)); echo "ok   $1"; else fail=$((fail+1)); echo "FAIL $1: expected $2, got $3"; fi
}
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

grep -q "Generated admin secret" "$dir/out.log"; check "admin secret printed once" 0 $?

code=$(curl -s -o "$dir/reg" -w '%{http_code}' -X POST "$B/auth/register" \
  -H 'content-type: application/json' -d '{"login":"alice","password":"correct horse battery staple"}')
check "register" 201 "$code"

curl -s -X POST "$B/auth/login" -H 'content-type: application/json' \
  -d '{"login":"alice","password":"correct horse battery staple"}' >"$dir/login"
ACCESS=$(json '["access_token"]' <"$dir/login")
REFRESH=$(json '["refresh_token"]' <"$dir/login")
check "login gives a bearer pair" Bearer "$(json '["token_type"]' <"$dir/login")"

check "me" alice "$(curl -s "$B/auth/me" -H "Authorization: Bearer $ACCESS" | json '["login"]')"

curl -s -X POST "$B/auth/refresh" -H 'content-type: application/json' \
  -d "{\"refresh_token\":\"$REFRESH\"}" >"$dir/refresh"
NEW_ACCESS=$(json '["access_token"]' <"$dir/refresh")
check "refresh rotates" 1 "$([ "$(json '["refresh_token"]' <"$dir/refresh")" != "$REFRESH" ] && echo 1 || echo 0)"

check "reused refresh token is refused" refresh_token_reused "$(curl -s -X POST "$B/auth/refresh" \
  -H 'content-type: application/json' -d "{\"refresh_token\":\"$REFRESH\"}" | json '["code"]')"
check "reuse revoked the session" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$B/auth/me" -H "Authorization: Bearer $NEW_ACCESS")"

curl -s -X POST "$B/auth/login" -H 'content-type: application/json' \
  -d '{"login":"alice","password":"correct horse battery staple"}' >"$dir/login2"
ACCESS2=$(json '["access_token"]' <"$dir/login2")
check "logout" 204 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$B/auth/logout" -H "Authorization: Bearer $ACCESS2")"
check "token refused after logout" invalid_token "$(curl -s "$B/auth/me" -H "Authorization: Bearer $ACCESS2" | json '["code"]')"

check "jwks has a key" 1 "$(curl -s "$B/.well-known/jwks.json" | json '["keys"].__len__()')"
check "openapi" 3.1.0 "$(curl -s "$B/openapi.json" | json '["openapi"]')"
check "docs" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$B/docs/")"
check "metrics" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$B/metrics")"

echo "walkthrough: $pass passed, $fail failed"
[ "$fail" = 0 ]
