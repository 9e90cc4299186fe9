"""Log in to one running seed-package peer (../shared/peers/apps) the way its /_peer says and
print `PATH<TAB>HEADER: VALUE` for wrk.  Usage: peer_token.py URL [PASSWORD]"""

import json
import sys
import urllib.request


# No User-Agent: ConnectKit binds a session to IP + User-Agent, and wrk sends none.
OPENER = urllib.request.build_opener()
OPENER.addheaders = []


def call(url: str, body: dict[str, str] | None = None) -> tuple[dict[str, object], object]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with OPENER.open(req, timeout=60) as r:
        return dict(r.headers), json.loads(r.read() or b"null")


def main() -> None:
    base, password = sys.argv[1].rstrip("/"), (sys.argv[2:] or ["Correct-horse-9!"])[0]
    _, info = call(base + "/_peer")
    assert isinstance(info, dict)
    user, flow = str(info["user"]), info.get("login_flow")
    if flow == "connectkit":
        _, csrf = call(base + str(info["csrf_path"]), {"login": user})
        assert isinstance(csrf, dict)
        _, out = call(base + str(info["login_path"]),
                      {"login": user, "password": password, "csrf": str(csrf["token"])})
        assert isinstance(out, dict)
        token = str(out["access"])
    elif flow == "json":
        _, out = call(base + str(info["login_path"]), {"login": user, "password": password})
        assert isinstance(out, dict)
        token = str(out["access_token"])
    else:
        raise SystemExit(f"peer_token: unsupported login flow {flow!r}")
    print(f"{info['me_path']}\t{info['auth_header']}: {info['auth_prefix']}{token}")


if __name__ == "__main__":
    main()
