#!/usr/bin/env bash
# Real-browser test of the hosted /ui pages (issues 11 and 12): Debian's Chromium driven
# by Playwright (playwright-core from npm, e2e/ui/package-lock.json) against the release
# `warden` binary on loopback with a fresh SQLite file and the dev mail outbox. The pages
# are opened as http://localhost:<port> (the server binds 127.0.0.1): WebAuthn refuses an
# IP address as relying-party id, so the passkey steps need a host name.
# Screenshots of every page go to target/ui-screenshots/ (kept as CI artefacts).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM_PATH" ]; then
  echo "ui.sh: $CHROMIUM_PATH missing: installing Debian's chromium with apt-get"
  sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  if command -v apt-get >/dev/null 2>&1; then
    $sudo apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null || true
  fi
  if [ ! -x "$CHROMIUM_PATH" ]; then
    echo "ui.sh: FAIL: no Chromium at $CHROMIUM_PATH and 'apt-get install chromium' did not provide it;" >&2
    echo "ui.sh: install Debian's chromium package or set CHROMIUM_PATH to a Chromium binary" >&2
    exit 1
  fi
fi
export CHROMIUM_PATH

command -v node >/dev/null 2>&1 || { echo "ui.sh: FAIL: node is not installed" >&2; exit 1; }
if [ ! -d e2e/ui/node_modules/playwright-core ] || [ ! -d e2e/ui/node_modules/openid-client ] || [ ! -d e2e/ui/node_modules/jose ]; then
  echo "ui.sh: npm ci in e2e/ui"
  (cd e2e/ui && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ -n "${UI_BIN:-}" ]; then
  echo "ui.sh: UI_BIN: using $UI_BIN"
  BIN=$UI_BIN
elif [ "${UI_SKIP_BUILD:-}" = 1 ] && [ -x target/release/warden ]; then
  echo "ui.sh: UI_SKIP_BUILD=1: using the existing target/release/warden"
  BIN=$root/target/release/warden
else
  echo "ui.sh: cargo build --release -p warden-server"
  cargo build -q --release -p warden-server
  BIN=$root/target/release/warden
fi

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The browser and the test use http://localhost:$port (a secure context, and a domain
# for WebAuthn); the server binds 127.0.0.1 only. Where localhost also resolves to ::1,
# Chromium and Node's fetch (autoSelectFamily, Node >= 20) fall back to 127.0.0.1 when
# ::1 refuses; the check after start-up fails early otherwise. The readiness poll goes
# to 127.0.0.1 directly.
B="http://localhost:$port"
H="http://127.0.0.1:$port"
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every setting of the server and of the CLI: same database, cheap hashes, no rate limit.
export WARDEN_BIND="127.0.0.1:$port"
export WARDEN_DATABASE_URL="sqlite://$dir/warden.db?mode=rwc"
export WARDEN_PUBLIC_URL="$B"
# Passkeys (issue 12): the relying party is localhost at the pages' origin.
export WARDEN_WEBAUTHN_RP_ID=localhost
export WARDEN_WEBAUTHN_ORIGIN="$B"
export WARDEN_WEBAUTHN_RP_NAME="Warden e2e"
export WARDEN_COOKIE_SECURE=false
export WARDEN_ARGON2_MEMORY_KIB=64 WARDEN_ARGON2_ITERATIONS=1
export WARDEN_RATE_LIMIT_PER_MINUTE=0
export WARDEN_OUTBOX_DIR="$dir/outbox"
# The OpenID Provider scenario (provider.mjs) registers its clients through the admin API.
admin_secret="ui-admin-secret-$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"
export WARDEN_ADMIN_SECRET="$admin_secret"
export WARDEN_LOG_LEVEL=${WARDEN_LOG_LEVEL:-warn}
unset WARDEN_CONFIG WARDEN_SMTP_URL

admin_login=uiadmin
admin_password="ui-admin $(python3 -c 'import secrets; print(secrets.token_urlsafe(12))')"
"$BIN" migrate >"$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log" >&2; exit 1; }
printf '%s\n' "$admin_password" |
  "$BIN" account create "$admin_login" --password-stdin --email uiadmin@example.test --scope admin \
    >"$dir/admin.log" 2>&1 || { echo "ui.sh: FAIL: could not create the admin account" >&2; cat "$dir/admin.log" >&2; exit 1; }

"$BIN" serve >"$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do curl -sf "$H/healthz" >/dev/null && break; sleep 0.1; done
if ! curl -sf "$H/healthz" >/dev/null; then
  echo "ui.sh: FAIL: the server did not start on $H" >&2
  cat "$dir/server.log" >&2
  exit 1
fi

# The name the browser uses must reach the server too.
if ! curl -sf "$B/healthz" >/dev/null; then
  echo "ui.sh: FAIL: $B/healthz does not answer (does localhost resolve to 127.0.0.1? see /etc/hosts)" >&2
  exit 1
fi

mkdir -p target/ui-screenshots
rm -f target/ui-screenshots/*.png
start=$(date +%s)
set +e
UI_BASE_URL="$B" UI_OUTBOX_DIR="$WARDEN_OUTBOX_DIR" \
  UI_ADMIN_LOGIN="$admin_login" UI_ADMIN_PASSWORD="$admin_password" \
  UI_SCREENSHOT_DIR="$root/target/ui-screenshots" \
  node e2e/ui/test.mjs
rc=$?
# Warden as an OpenID Provider: Node's openid-client as the relying party, the
# sign-in (with TOTP) and consent pages in Chromium.
UI_BASE_URL="$B" UI_ADMIN_SECRET="$admin_secret" node e2e/ui/provider.mjs || rc=1
# Organizations (issue 21): create, invite through the outbox, accept, change the role, remove.
UI_BASE_URL="$B" UI_OUTBOX_DIR="$WARDEN_OUTBOX_DIR" UI_SCREENSHOT_DIR="$root/target/ui-screenshots" \
  node e2e/ui/organizations.mjs || rc=1
set -e
echo "ui.sh: browser scenario took $(($(date +%s) - start)) s; screenshots in target/ui-screenshots/"
if [ "$rc" != 0 ]; then
  echo "ui.sh: last server log lines:" >&2
  tail -n 30 "$dir/server.log" >&2
fi
exit "$rc"
