#!/usr/bin/env bash
# The Python client (clients/python, `warden-client`) against the real `warden` binary:
# a venv under target/ci/, the package installed editable with its fastapi and test extras
# (test dependencies pinned in pyproject.toml), mypy --strict (package, tests, example), the generated
# async client checked against the sync one, then pytest. Every failure fails the script;
# pytest finding no tests (exit 5) is a failure too.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export WARDEN_BIN="${WARDEN_BIN:-$root/target/debug/warden}"
[ -x "$WARDEN_BIN" ] || cargo build -q -p warden-server

venv=target/ci/python-client
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet -e 'clients/python[fastapi,test]'

cd clients/python
"$root/$venv/bin/python" tools/gen_aio.py --check
"$root/$venv/bin/python" -m mypy
set +e
"$root/$venv/bin/python" -m pytest -q -p no:cacheprovider
rc=$?
set -e
if [ "$rc" = 5 ]; then
  echo "python client: pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
