"""examples/app.py (ConnectKit's and fastapi-jwt-auth's samples, ported) under a real uvicorn,
driven over HTTP in front of the real Warden."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyotp
import pytest

from conftest import PASSWORD, WardenServer, _free_port
from warden_client import TokenPair, WardenClient

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def example(warden: WardenServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "WARDEN_URL": warden.url, "WARDEN_ADMIN_SECRET": warden.admin_secret,
           "CHECK_REVOCATION": "1", "REVOCATION_CACHE": "1"}
    log = tmp_path_factory.mktemp("example") / "uvicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--app-dir", str(EXAMPLES),
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the example did not start:\n" + log.read_text())
            try:
                httpx.get(url + "/openapi.json", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_fastapi_jwt_auth_sample(example: str, client: WardenClient, login_name: str) -> None:
    client.register(login_name, PASSWORD)
    with httpx.Client(base_url=example) as http:
        # "curl http://localhost:5000/protected" without a token
        r = http.get("/protected")
        assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
        bad = http.post("/login", json={"username": login_name, "password": "wrong password"})
        assert bad.status_code == 401 and bad.json()["code"] == "invalid_credentials"
        token = http.post("/login", json={"username": login_name, "password": PASSWORD}).json()
        auth = {"Authorization": f"Bearer {token}"}
        me = client.me(token)
        assert http.get("/protected", headers=auth).json() == {"logged_in_as": me.id}
        assert http.get("/get-jwt-identity", headers=auth).json() == {"logged_in_as": login_name}
        assert http.get("/get-jwt-identity").json() == {"logged_in_as": None}
        raw = http.get("/get-raw-jwt", headers=auth).json()["token"]
        assert raw["sub"] == me.id and raw["iss"] == "warden"
        assert http.post("/partially-protected", headers=auth).status_code == 200
        client.logout(token)
        time.sleep(1.1)  # the example checks revocation with a 1 s cache
        assert http.get("/protected", headers=auth).json()["code"] == "invalid_token"


def test_connectkit_sample(example: str, client: WardenClient, login_name: str) -> None:
    client.register(login_name, PASSWORD, properties={"name": "name"})
    pair = client.login(login_name, PASSWORD)
    assert isinstance(pair, TokenPair)
    setup = client.totp_setup(pair.access_token)
    client.totp_confirm(pair.access_token, pyotp.TOTP(setup.secret).now())
    with httpx.Client(base_url=example) as http:
        step = http.post("/login", json={"username": login_name, "password": PASSWORD}).json()
        assert step["mfa_required"] is True
        code = pyotp.TOTP(setup.secret).at(time.time() + 30)
        full = client.login_mfa(step["mfa_token"], code)
        auth = {"Authorization": f"Bearer {full.access_token}"}
        r = http.get("/test", headers=auth).json()
        assert (r["login"], r["properties"]) == (login_name, {"name": "name"})
        r = http.get("/test2", headers=auth).json()
        assert r == {"session_id": full.session_id, "amr": ["pwd", "otp"]}
        assert http.get("/reports", headers=auth).json()["code"] == "forbidden"


def test_readme_app(warden: WardenServer, user: tuple[str, TokenPair]) -> None:
    """The 10-line app of README.md, as written there, in front of the real Warden."""
    from fastapi.testclient import TestClient

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## A protected FastAPI app in 10 lines", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict[str, object] = {}
    exec(compile(code.replace("http://127.0.0.1:8080", warden.url), "README.md", "exec"), scope)
    login, pair = user
    with TestClient(scope["app"]) as http:  # type: ignore[arg-type]
        r = http.get("/me", headers={"Authorization": f"Bearer {pair.access_token}"})
        assert r.json() == {"login": login}
        assert http.get("/me").json()["code"] == "unauthenticated"
