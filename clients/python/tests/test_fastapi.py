"""warden_client.fastapi against the real server: every dependency, in sync and async routes,
Warden's problem+json refusals, revocation with and without `check_revocation`, API keys with
and without scopes, the OpenAPI security schemes, and key rotation with the app running."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from conftest import PASSWORD, WardenServer
from warden_client import Account, Claims, TokenPair, WardenClient
from warden_client.fastapi import Principal, Warden


def make_app(warden: Warden) -> FastAPI:
    app = FastAPI()
    warden.install(app)

    @app.get("/claims")
    async def claims(c: Claims = Depends(warden.current_claims)) -> dict[str, Any]:
        return {"sub": c.sub, "sid": c.sid, "scopes": sorted(c.scopes)}

    @app.get("/claims-sync")
    def claims_sync(c: Claims = Depends(warden.current_claims)) -> dict[str, Any]:
        return {"sub": c.sub}

    @app.post("/write")
    def write(c: Claims = Depends(warden.current_claims)) -> dict[str, Any]:
        return {"sub": c.sub}

    @app.get("/account")
    async def account(a: Account = Depends(warden.current_account)) -> dict[str, Any]:
        return {"login": a.login}

    @app.get("/maybe")
    def maybe(a: Account | None = Depends(warden.optional_account)) -> dict[str, Any]:
        return {"login": a.login if a else None}

    @app.get("/reports")
    async def reports(p: Principal = Depends(warden.require_scopes("reports"))) -> dict[str, Any]:
        return {"via": p.method, "account_id": p.account_id}

    @app.post("/fresh")
    async def fresh(c: Claims = Depends(warden.require_fresh)) -> dict[str, Any]:
        return {"sub": c.sub}

    @app.get("/key")
    async def key(p: Principal = Depends(warden.api_key)) -> dict[str, Any]:
        assert p.account is not None
        return {"login": p.account.login, "scopes": sorted(p.scopes or [])}

    @app.get("/any")
    def any_(p: Principal = Depends(warden.any_of("api_key", "bearer"))) -> dict[str, Any]:
        return {"via": p.method}

    return app


@pytest.fixture()
def http(warden: WardenServer) -> Iterator[TestClient]:
    w = Warden(warden.url, admin_secret=warden.admin_secret)
    with TestClient(make_app(w)) as tc:
        yield tc


def bearer(pair: TokenPair) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair.access_token}"}


def assert_problem(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert (body["status"], body["code"], body["type"]) == (status, code, "about:blank")
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"


def test_bearer_in_async_and_sync_routes(http: TestClient, user: tuple[str, TokenPair],
                                         client: WardenClient) -> None:
    login, pair = user
    me = client.me(pair.access_token)
    r = http.get("/claims", headers=bearer(pair))
    assert r.json() == {"sub": me.id, "sid": pair.session_id, "scopes": []}
    assert http.get("/claims-sync", headers=bearer(pair)).json() == {"sub": me.id}
    assert http.get("/account", headers=bearer(pair)).json() == {"login": login}
    assert http.get("/maybe", headers=bearer(pair)).json() == {"login": login}
    assert http.get("/maybe").json() == {"login": None}


def test_refusals_are_wardens_problem_json(http: TestClient, user: tuple[str, TokenPair]) -> None:
    _, pair = user
    assert_problem(http.get("/claims"), 401, "unauthenticated")
    assert_problem(http.get("/claims", headers={"Authorization": "Bearer nope"}), 401,
                   "invalid_token")
    assert_problem(http.get("/maybe", headers={"Authorization": "Bearer nope"}), 401,
                   "invalid_token")
    assert_problem(http.get("/reports", headers=bearer(pair)), 403, "forbidden")
    assert "reports" in http.get("/reports", headers=bearer(pair)).json()["detail"]


def test_cookie_and_csrf(http: TestClient, user: tuple[str, TokenPair]) -> None:
    _, pair = user
    http.cookies.set("access", pair.access_token)
    try:
        assert http.get("/claims").status_code == 200
        assert_problem(http.post("/write"), 403, "forbidden")
        assert http.post("/write", headers={"X-Requested-With": "fetch"}).status_code == 200
        http.cookies.set("csrf", "the-csrf-value")
        assert_problem(http.post("/write", headers={"X-CSRF-Token": "other"}), 403, "forbidden")
        assert http.post("/write", headers={"X-CSRF-Token": "the-csrf-value"}).status_code == 200
        # a bearer header needs no CSRF proof
        assert http.post("/write", headers=bearer(pair)).status_code == 200
    finally:
        http.cookies.clear()


def test_fresh(http: TestClient, client: WardenClient, user: tuple[str, TokenPair]) -> None:
    _, pair = user
    assert http.post("/fresh", headers=bearer(pair)).status_code == 200
    refreshed = client.refresh(pair.refresh_token)
    assert_problem(http.post("/fresh", headers=bearer(refreshed)), 401, "fresh_token_required")


def _scoped_user(client: WardenClient, scopes: list[str]) -> tuple[str, TokenPair]:
    name = "s" + secrets.token_hex(5)
    client.admin_create_account(name, PASSWORD, scopes=scopes)
    pair = client.login(name, PASSWORD)
    assert isinstance(pair, TokenPair)
    return name, pair


def test_scopes_with_tokens(http: TestClient, client: WardenClient) -> None:
    _, pair = _scoped_user(client, ["reports"])
    assert http.get("/reports", headers=bearer(pair)).json()["via"] == "bearer"


def test_api_keys_with_and_without_scopes(http: TestClient, client: WardenClient) -> None:
    name, pair = _scoped_user(client, ["reports"])
    scoped = client.create_api_key(pair.access_token, "scoped", scopes=["reports"]).key
    plain = client.create_api_key(pair.access_token, "plain", scopes=[]).key
    assert scoped and plain
    r = http.get("/key", headers={"X-API-Key": scoped})
    assert r.json() == {"login": name, "scopes": ["reports"]}
    assert http.get("/reports", headers={"X-API-Key": scoped}).json()["via"] == "api_key"
    assert http.get("/key", headers={"X-API-Key": plain}).json()["scopes"] == []
    assert_problem(http.get("/reports", headers={"X-API-Key": plain}), 403, "forbidden")
    assert_problem(http.get("/key", headers={"X-API-Key": "wdn_" + "A" * 22 + "_nope"}), 401,
                   "invalid_api_key")
    assert_problem(http.get("/key"), 401, "unauthenticated")
    assert http.get("/account", headers={"X-API-Key": scoped}).json() == {"login": name}
    assert http.get("/any", headers={"X-API-Key": plain}).json() == {"via": "api_key"}
    assert http.get("/any", headers=bearer(pair)).json() == {"via": "bearer"}


def test_api_key_scopes_unknown_without_admin_secret(warden: WardenServer,
                                                     client: WardenClient) -> None:
    _, pair = _scoped_user(client, ["reports"])
    key = client.create_api_key(pair.access_token, "k", scopes=["reports"]).key
    with TestClient(make_app(Warden(warden.url))) as http:
        assert http.get("/account", headers={"X-API-Key": key}).status_code == 200
        assert_problem(http.get("/reports", headers={"X-API-Key": key}), 403, "forbidden")


def test_revocation(warden: WardenServer, client: WardenClient,
                    user: tuple[str, TokenPair]) -> None:
    login, pair = user
    checked = Warden(warden.url, check_revocation=True, revocation_cache_seconds=1)
    offline = Warden(warden.url)
    with TestClient(make_app(checked)) as c_http, TestClient(make_app(offline)) as o_http:
        assert c_http.get("/claims", headers=bearer(pair)).status_code == 200
        assert o_http.get("/claims", headers=bearer(pair)).status_code == 200
        client.logout(pair.access_token)
        time.sleep(1.1)  # the cache window
        assert_problem(c_http.get("/claims", headers=bearer(pair)), 401, "invalid_token")
        assert_problem(c_http.get("/account", headers=bearer(pair)), 401, "invalid_token")
        # without check_revocation a revoked token lives until its exp
        assert o_http.get("/claims", headers=bearer(pair)).status_code == 200

        other = client.login(login, PASSWORD)
        assert isinstance(other, TokenPair)
        assert c_http.get("/claims", headers=bearer(other)).status_code == 200
        client.admin_block(client.me(other.access_token).id, "test")
        time.sleep(1.1)
        r = c_http.get("/claims", headers=bearer(other))
        assert r.status_code in (401, 403) and r.json()["code"] in ("invalid_token",
                                                                    "account_blocked")


def test_unreachable_warden_is_503(user: tuple[str, TokenPair], warden: WardenServer) -> None:
    _, pair = user
    w = Warden("http://127.0.0.1:9", check_revocation=True, timeout=1)
    with TestClient(make_app(w)) as http:
        r = http.get("/claims", headers=bearer(pair))
        assert r.status_code == 503 and r.json()["code"] == "service_unavailable"
        assert "retry-after" in r.headers


def test_openapi_shows_the_security_schemes(http: TestClient) -> None:
    spec = http.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["WardenBearer"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                                       "description": schemes["WardenBearer"]["description"]}
    assert schemes["WardenCookie"]["in"] == "cookie" and schemes["WardenCookie"]["name"] == "access"
    assert schemes["WardenApiKey"]["in"] == "header"
    assert schemes["WardenApiKey"]["name"] == "X-API-Key"
    security = spec["paths"]["/claims"]["get"]["security"]
    assert {"WardenBearer": []} in security and {"WardenCookie": []} in security
    assert spec["paths"]["/key"]["get"]["security"] == [{"WardenApiKey": []}]
    assert http.get("/docs").status_code == 200  # Swagger UI: the lock and Authorize come from securitySchemes


def test_rotated_key_verifies_without_restarting_the_app(
        start_warden: Callable[..., WardenServer]) -> None:
    server = start_warden()
    w = Warden(server.url)
    w.verifier.refetch_interval = 0.2
    with TestClient(make_app(w)) as http, WardenClient(server.url) as c:
        c.register("rotator", PASSWORD)
        old = c.login("rotator", PASSWORD)
        assert isinstance(old, TokenPair)
        assert http.get("/claims", headers=bearer(old)).status_code == 200
        server.cli("keys", "rotate")
        server.restart()  # Warden signs with the new key after a restart (or within a minute)
        time.sleep(0.3)
        new = c.login("rotator", PASSWORD)
        assert isinstance(new, TokenPair)
        assert http.get("/claims", headers=bearer(new)).status_code == 200
        assert http.get("/claims", headers=bearer(old)).status_code == 200
        assert len(w.verifier.kids) == 2
