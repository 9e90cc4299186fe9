"""Drive one server under callgrind for the profile mode (bench/profile.sh).

    python3 profile.py setup URL PASSWORD OUT_JSON
        register + log in one account, create an API key, save a session chain:
        {"access": ..., "refresh": ..., "api_key": ..., "cookie": ...}
    python3 profile.py run URL KIND N STATE_JSON
        KIND: floor | bearer | api_key | cookie | refresh; N sequential requests on one
        keep-alive connection; exits 1 on the first unexpected status.

Dependency-free (http.client); only 127.0.0.1 targets are accepted. The client runs in its
own process, so nothing it does is counted: callgrind counts the server's instructions only.
"""

import http.client
import json
import sys
from urllib.parse import urlsplit


def connect(url: str) -> http.client.HTTPConnection:
    u = urlsplit(url)
    if u.hostname != "127.0.0.1":
        sys.exit("profile.py: only 127.0.0.1 targets")
    return http.client.HTTPConnection(u.hostname, u.port, timeout=120)


def call(conn, method, path, body=None, headers=None):
    h = {"Content-Type": "application/json"} if body is not None else {}
    h.update(headers or {})
    conn.request(method, path, json.dumps(body) if body is not None else None, h)
    res = conn.getresponse()
    data = res.read()
    return res.status, data, res.getheader("Set-Cookie") or ""


def setup(url, password, out):
    c = connect(url)
    status, data, _ = call(c, "POST", "/auth/register", {"login": "profile", "password": password})
    if status not in (200, 201):
        sys.exit(f"register: {status} {data[:200]!r}")
    status, data, cookie = call(c, "POST", "/auth/login", {"login": "profile", "password": password})
    if status != 200:
        sys.exit(f"login: {status} {data[:200]!r}")
    tokens = json.loads(data)
    access = tokens["access_token"]
    status, data, _ = call(
        c, "POST", "/auth/api-keys", {"name": "profile"}, {"Authorization": f"Bearer {access}"}
    )
    if status not in (200, 201):
        sys.exit(f"api key: {status} {data[:200]!r}")
    state = {
        "access": access,
        "refresh": tokens["refresh_token"],
        "api_key": json.loads(data)["key"],
        # The access cookie only (name=value), as a browser sends it back.
        "cookie": next(
            (p.split(";")[0].strip() for p in cookie.split(",") if p.strip().startswith("access=")),
            "",
        ),
    }
    with open(out, "w") as f:
        json.dump(state, f)


def run(url, kind, n, state_file):
    state = json.load(open(state_file)) if kind != "floor" else {}
    c = connect(url)
    refresh = state.get("refresh")
    for _ in range(n):
        if kind == "floor":
            status, data, _ = call(c, "GET", "/me")
        elif kind == "bearer":
            status, data, _ = call(c, "GET", "/auth/me", headers={"Authorization": f"Bearer {state['access']}"})
        elif kind == "api_key":
            status, data, _ = call(c, "GET", "/auth/me", headers={"X-API-Key": state["api_key"]})
        elif kind == "cookie":
            status, data, _ = call(c, "GET", "/auth/me", headers={"Cookie": state["cookie"]})
        elif kind == "refresh":
            status, data, _ = call(c, "POST", "/auth/refresh", {"refresh_token": refresh})
            if status == 200:
                refresh = json.loads(data)["refresh_token"]
        else:
            sys.exit(f"unknown kind {kind}")
        if status != 200:
            sys.exit(f"{kind}: {status} {data[:200]!r}")
    if kind == "refresh":
        state["refresh"] = refresh
        with open(state_file, "w") as f:
            json.dump(state, f)


if __name__ == "__main__":
    if sys.argv[1:2] == ["setup"]:
        setup(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1:2] == ["run"]:
        run(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] if len(sys.argv) > 5 else "")
    else:
        sys.exit(__doc__)
