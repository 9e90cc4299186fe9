"""Verifier against the real server's JWKS: good tokens, forged ones, expiry, issuer and
audience, the refetch limit, and `warden keys rotate` picked up without a restart."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conftest import PASSWORD, WardenServer
from warden_client import TokenPair, Verifier, WardenClient, WardenError


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _seg(obj: Mapping[str, object]) -> str:
    return _b64(json.dumps(obj, separators=(",", ":")).encode())


def _parts(token: str) -> tuple[dict[str, object], dict[str, object]]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


def _sign_in(server: WardenServer) -> TokenPair:
    with WardenClient(server.url) as c:
        name = "v" + secrets.token_hex(5)
        c.register(name, PASSWORD)
        pair = c.login(name, PASSWORD)
        assert isinstance(pair, TokenPair)
        return pair


def _refused(verifier: Verifier, token: str, code: str = "invalid_token") -> WardenError:
    with pytest.raises(WardenError) as e:
        verifier.verify(token)
    assert (e.value.status, e.value.code) == (401, code), e.value
    return e.value


def test_good_token(warden: WardenServer, user: tuple[str, TokenPair]) -> None:
    _, pair = user
    claims = Verifier(warden.url).verify(pair.access_token)
    _, payload = _parts(pair.access_token)
    assert claims.sub == payload["sub"] and claims.sid == pair.session_id
    assert claims.fresh is True and claims.amr == ("pwd",) and claims.scopes == frozenset()
    assert claims.iss == "warden" and claims.exp > time.time()


def test_forged_tokens_are_refused(warden: WardenServer, user: tuple[str, TokenPair]) -> None:
    _, pair = user
    v = Verifier(warden.url)
    v.verify(pair.access_token)
    header, payload = _parts(pair.access_token)
    kid = str(header["kid"])
    jwk = next(k for k in v_jwks(warden) if k["kid"] == kid)

    # alg none, with and without a signature
    none_hdr = {"typ": "at+jwt", "alg": "none", "kid": kid}
    _refused(v, f"{_seg(none_hdr)}.{_seg(payload)}.")
    _refused(v, f"{_seg(none_hdr)}.{_seg(payload)}.{pair.access_token.rsplit('.', 1)[1]}")

    # HS256 signed with the public key (the raw key bytes and the JWK text)
    hs_hdr = {"typ": "at+jwt", "alg": "HS256", "kid": kid}
    signing_input = f"{_seg(hs_hdr)}.{_seg(payload)}".encode()
    for secret in (base64.urlsafe_b64decode(jwk["x"] + "=="), json.dumps(jwk).encode()):
        mac = hmac.new(secret, signing_input, hashlib.sha256).digest()
        _refused(v, f"{signing_input.decode()}.{_b64(mac)}")

    # our own Ed25519 key: under a kid Warden does not have, and under Warden's kid
    own = Ed25519PrivateKey.generate()
    for forged_kid in ("not-a-warden-kid", kid):
        forged = jwt.encode({**payload, "sub": "someone-else"}, own, algorithm="EdDSA",
                            headers={"typ": "at+jwt", "kid": forged_kid})
        _refused(v, forged)

    # a changed payload under Warden's signature
    body = {**payload, "scope": "admin"}
    head, _, sig = pair.access_token.split(".")
    _refused(v, f"{head}.{_seg(body)}.{sig}")

    # not an access token (typ), no kid, not a JWT at all
    own_typ = jwt.encode(payload, own, algorithm="EdDSA", headers={"typ": "JWT", "kid": kid})
    assert "typ" in str(_refused(v, own_typ))
    _refused(v, jwt.encode(payload, own, algorithm="EdDSA", headers={"typ": "at+jwt"}))
    _refused(v, "a.b.c")


def v_jwks(server: WardenServer) -> list[dict[str, str]]:
    with WardenClient(server.url) as c:
        keys: list[dict[str, str]] = c.jwks()["keys"]
        return keys


def test_unknown_kid_flood_fetches_at_most_once(warden: WardenServer,
                                                user: tuple[str, TokenPair]) -> None:
    _, pair = user
    v = Verifier(warden.url, refetch_interval=1)
    v.verify(pair.access_token)
    assert v.fetch_count == 1
    time.sleep(1.1)  # past the interval: the first unknown kid may refetch, the rest may not
    own = Ed25519PrivateKey.generate()
    _, payload = _parts(pair.access_token)
    for _ in range(200):
        forged = jwt.encode(payload, own, algorithm="EdDSA",
                            headers={"typ": "at+jwt", "kid": secrets.token_hex(8)})
        _refused(v, forged)
    assert v.fetch_count == 2  # one refetch for the whole flood of 200
    v.verify(pair.access_token)  # the real key still works


def test_expired_token(start_warden: Callable[..., WardenServer]) -> None:
    server = start_warden(WARDEN_ACCESS_TTL="4s", WARDEN_LEEWAY="0s")
    pair = _sign_in(server)
    strict = Verifier(server.url, leeway=0)
    strict.verify(pair.access_token)  # inside its 4 s, even on a loaded CI machine
    exp = int(str(_parts(pair.access_token)[1]["exp"]))
    time.sleep(max(0.0, exp - time.time()) + 1.2)
    _refused(strict, pair.access_token, "token_expired")
    Verifier(server.url, leeway=30).verify(pair.access_token)  # inside the leeway


def test_issuer_and_audience(start_warden: Callable[..., WardenServer]) -> None:
    server = start_warden(WARDEN_ISSUER="https://id.example.com", WARDEN_AUDIENCE="orders")
    token = _sign_in(server).access_token
    Verifier(server.url, issuer="https://id.example.com", audience="orders").verify(token)
    assert "issuer" in str(_refused(Verifier(server.url, audience="orders"), token))
    assert "audience" in str(_refused(
        Verifier(server.url, issuer="https://id.example.com", audience="billing"), token))
    _refused(Verifier(server.url, issuer="https://id.example.com"), token)  # aud not expected


def test_key_rotation_without_restarting_the_verifier(
        start_warden: Callable[..., WardenServer]) -> None:
    server = start_warden()
    old = _sign_in(server).access_token
    v = Verifier(server.url, refetch_interval=0.2)
    v.verify(old)
    old_kid = jwt.get_unverified_header(old)["kid"]
    assert "new signing key" in server.cli("keys", "rotate")
    # A running server picks the new key up at its next reload (once a minute, not
    # configurable); a restart loads it at once. The verifier is NOT restarted.
    server.restart()
    time.sleep(0.3)
    new = _sign_in(server).access_token
    new_kid = jwt.get_unverified_header(new)["kid"]
    assert new_kid != old_kid and new_kid not in v.kids
    assert v.verify(new).sub
    assert v.fetch_count == 2
    v.verify(old)  # the retired key keeps verifying until its tokens expire


async def _averify(v: Verifier, token: str) -> str:
    return (await v.averify(token)).sub


def test_async_verify(warden: WardenServer, user: tuple[str, TokenPair]) -> None:
    import asyncio

    _, pair = user
    v = Verifier(warden.url)

    async def many() -> list[str]:
        return await asyncio.gather(*(_averify(v, pair.access_token) for _ in range(20)))

    subs = asyncio.run(many())
    assert len(set(subs)) == 1 and v.fetch_count == 1
