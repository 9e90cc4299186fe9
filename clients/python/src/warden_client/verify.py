"""Offline verification of Warden access tokens with the keys of `/.well-known/jwks.json`.

The algorithm of each key comes from its JWK (`alg`, else its `kty`/`crv`), never from the
token's header alone: a token whose header names another algorithm than its key's is refused,
so `alg: none`, an HMAC signed with the public key and every other algorithm switch fail.
Keys are cached; an unknown `kid` makes the verifier fetch the key set again, at most once per
`refetch_interval` seconds, so a flood of forged `kid`s cannot hammer Warden, and a key that
`warden keys rotate` added verifies without a restart.

A token that verified is remembered (the exact token string, at most `cache_size` of them) until
its `exp`: a client sends the same token for minutes, and checking the signature again would
give the same answer. `exp`/`nbf` are still checked on every call, and a change of the key set
forgets them all.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from .errors import WardenError

__all__ = ["Claims", "Verifier"]

log = logging.getLogger("warden_client")

_REGISTERED = frozenset(
    {"iss", "sub", "aud", "iat", "nbf", "exp", "jti", "sid", "scope", "fresh", "amr"})
_ALG_BY_KEY: dict[tuple[Any, Any], str] = {
    ("OKP", "Ed25519"): "EdDSA", ("EC", "P-256"): "ES256", ("RSA", None): "RS256"}
_SUPPORTED = frozenset({"EdDSA", "ES256", "RS256"})


@dataclass(frozen=True)
class Claims:
    """The verified claims of a Warden access token.

    `extras` holds every claim Warden or a newer server adds beyond the registered ones
    (`org`, `org_role`, `org_permissions`, ...); `raw` is the whole payload.
    """

    sub: str
    sid: str | None
    scopes: frozenset[str]
    fresh: bool
    amr: tuple[str, ...]
    iss: str
    exp: int
    iat: int | None = None
    jti: str | None = None
    aud: str | list[str] | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def has_scopes(self, *scopes: str) -> bool:
        """True when the token carries every one of `scopes`."""
        return all(s in self.scopes for s in scopes)

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> Claims:
        scope = p.get("scope") or ""
        amr = p.get("amr") or []
        return cls(
            sub=str(p["sub"]),
            sid=str(p["sid"]) if p.get("sid") is not None else None,
            scopes=frozenset(scope.split()) if isinstance(scope, str) else frozenset(),
            fresh=p.get("fresh") is True,
            amr=tuple(str(a) for a in amr) if isinstance(amr, list) else (),
            iss=str(p.get("iss", "")),
            exp=int(p["exp"]),
            iat=int(p["iat"]) if isinstance(p.get("iat"), (int, float)) else None,
            jti=str(p["jti"]) if p.get("jti") is not None else None,
            aud=p.get("aud"),
            extras={k: v for k, v in p.items() if k not in _REGISTERED},
            raw=p,
        )


@dataclass(frozen=True)
class _Key:
    alg: str
    key: Any


def _invalid(detail: str) -> WardenError:
    return WardenError(401, "invalid_token", detail)


def _parse_jwks(doc: Any) -> dict[str, _Key]:
    keys: dict[str, _Key] = {}
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise ValueError("not a JWK set")
    for jwk in doc["keys"]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("use", "sig") != "sig":
            continue
        kty = jwk.get("kty")
        alg = jwk.get("alg") or _ALG_BY_KEY.get((kty, jwk.get("crv") if kty != "RSA" else None))
        if alg not in _SUPPORTED:
            log.warning("warden_client: skipping JWK %s with unsupported alg %r", jwk["kid"], alg)
            continue
        try:
            keys[jwk["kid"]] = _Key(alg, jwt.PyJWK(jwk, algorithm=alg).key)
        except jwt.PyJWTError as e:
            log.warning("warden_client: skipping unusable JWK %s: %s", jwk["kid"], e)
    return keys


class Verifier:
    """Verifies Warden access tokens offline.

    `issuer_url` is Warden's base URL (the JWKS is `{issuer_url}/.well-known/jwks.json`).
    `issuer` is the expected `iss` claim: Warden's `WARDEN_ISSUER`, `"warden"` when None
    (the server's default). `audience` must be given exactly when Warden sets
    `WARDEN_AUDIENCE`. `leeway` (seconds) applies to `exp` and `nbf`.

    >>> v = Verifier("http://127.0.0.1:8080", audience="my-api")
    >>> v.jwks_url
    'http://127.0.0.1:8080/.well-known/jwks.json'
    >>> v.verify("not a jwt")
    Traceback (most recent call last):
    ...
    warden_client.errors.WardenError: 401 invalid_token: the token is malformed
    """

    def __init__(self, issuer_url: str, *, issuer: str | None = None,
                 audience: str | None = None, leeway: float = 30,
                 refetch_interval: float = 5.0, jwks_cache_seconds: float = 600.0,
                 timeout: float = 5.0, cache_size: int = 4096) -> None:
        self.jwks_url = issuer_url.rstrip("/") + "/.well-known/jwks.json"
        self.issuer = issuer if issuer is not None else "warden"
        self.audience = audience
        self.leeway = leeway
        self.refetch_interval = refetch_interval
        self.jwks_cache_seconds = jwks_cache_seconds
        self.timeout = timeout
        self._keys: dict[str, _Key] = {}
        self._fetched_at = float("-inf")  # monotonic time of the last fetch attempt
        self._loaded_at = float("-inf")  # monotonic time of the last successful fetch
        self._lock = threading.Lock()
        self._task: asyncio.Task[None] | None = None
        self.cache_size = cache_size
        self._verified: dict[str, Claims] = {}
        self.fetch_count = 0
        """How many times the key set was fetched (for tests and metrics)."""

    # ----- verification ---------------------------------------------------------------------

    def verify(self, token: str) -> Claims:
        """Verify `token`; fetches keys (blocking) when needed. Raises `WardenError` 401."""
        known, header = self._start(token)
        if known is not None:
            return known
        if header["kid"] not in self._keys or self._stale():
            self._refetch_sync()
        return self._decode(token, header, self._keys.get(header["kid"]))

    async def averify(self, token: str) -> Claims:
        """`verify` for async code: a key fetch does not block the event loop."""
        known, header = self._start(token)
        if known is not None:
            return known
        if header["kid"] not in self._keys or self._stale():
            await self._refetch_async()
        return self._decode(token, header, self._keys.get(header["kid"]))

    def _start(self, token: str) -> tuple[Claims | None, dict[str, Any]]:
        """The remembered claims of `token`, else its checked header."""
        known = self._remembered(token)
        return (known, {}) if known is not None else (None, self._header(token))

    def _header(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid("the token is malformed") from None
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ("at+jwt", "application/at+jwt"):
            raise _invalid("not an access token (typ must be at+jwt)")
        if not isinstance(header.get("kid"), str):
            raise _invalid("the token names no key (kid)")
        return header

    def _decode(self, token: str, header: dict[str, Any], key: _Key | None) -> Claims:
        if key is None:
            raise _invalid("the token's key is unknown")
        if header.get("alg") != key.alg:
            raise _invalid("the token's algorithm is not its key's")
        try:
            payload = jwt.decode(
                token, key.key, algorithms=[key.alg], audience=self.audience,
                issuer=self.issuer, leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
        except jwt.ExpiredSignatureError:
            raise WardenError(401, "token_expired", "the access token has expired") from None
        except jwt.InvalidAudienceError:
            raise _invalid("the token is not for this audience") from None
        except jwt.InvalidIssuerError:
            raise _invalid("the token is from another issuer") from None
        except jwt.ImmatureSignatureError:
            raise _invalid("the token is not valid yet") from None
        except jwt.PyJWTError:
            raise _invalid("the token is not valid") from None
        try:
            claims = Claims.from_payload(payload)
        except (KeyError, TypeError, ValueError):
            raise _invalid("the token's claims are malformed") from None
        self._remember(token, claims)
        return claims

    def _remembered(self, token: str) -> Claims | None:
        claims = self._verified.get(token)
        if claims is None:
            return None
        now = time.time()
        if claims.exp + self.leeway <= now:
            self._verified.pop(token, None)
            raise WardenError(401, "token_expired", "the access token has expired")
        nbf = claims.raw.get("nbf")
        if isinstance(nbf, (int, float)) and nbf - self.leeway > now:
            raise _invalid("the token is not valid yet")
        return claims

    def _remember(self, token: str, claims: Claims) -> None:
        if self.cache_size <= 0:
            return
        cache = self._verified
        if len(cache) >= self.cache_size:
            try:
                cache.pop(next(iter(cache)), None)  # the oldest
            except (RuntimeError, StopIteration):  # another thread changed it meanwhile
                pass
        cache[token] = claims

    # ----- the key set ------------------------------------------------------------------------

    def _stale(self) -> bool:
        return time.monotonic() - self._loaded_at > self.jwks_cache_seconds

    def _claim_fetch(self) -> bool:
        """Take the right to fetch now; False inside `refetch_interval` of the last attempt."""
        with self._lock:
            now = time.monotonic()
            if now - self._fetched_at < self.refetch_interval:
                return False
            self._fetched_at = now
            self.fetch_count += 1
            return True

    def _store(self, response: httpx.Response) -> None:
        if not response.is_success:
            raise WardenError.from_response(response)
        keys = _parse_jwks(response.json())
        with self._lock:
            if keys.keys() != self._keys.keys():
                self._verified = {}
            self._keys = keys
            self._loaded_at = time.monotonic()

    def _unavailable(self, e: Exception) -> WardenError:
        log.warning("warden_client: fetching %s failed: %s", self.jwks_url, e)
        return WardenError(503, "service_unavailable", "the signing keys cannot be fetched",
                           retry_after=max(1, int(self.refetch_interval)))

    def _refetch_sync(self) -> None:
        if not self._claim_fetch():
            return
        try:
            self._store(httpx.get(self.jwks_url, timeout=self.timeout))
        except (httpx.HTTPError, ValueError, WardenError) as e:
            if not self._keys:
                raise self._unavailable(e) from e
            log.warning("warden_client: JWKS refetch failed, keeping the cached keys: %s", e)

    async def _refetch_async(self) -> None:
        loop = asyncio.get_running_loop()
        task = self._task
        if task is None or task.done() or task.get_loop() is not loop:
            if not self._claim_fetch():
                return
            task = loop.create_task(self._fetch_async())
            self._task = task
        try:
            await asyncio.shield(task)
        except (httpx.HTTPError, ValueError, WardenError) as e:
            if not self._keys:
                raise self._unavailable(e) from e
            log.warning("warden_client: JWKS refetch failed, keeping the cached keys: %s", e)

    async def _fetch_async(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            self._store(await http.get(self.jwks_url))

    def refresh(self) -> None:
        """Fetch the key set now (outside the rate limit), e.g. at application start."""
        with self._lock:
            self._fetched_at = float("-inf")
        self._refetch_sync()

    async def arefresh(self) -> None:
        """`refresh` for async code."""
        with self._lock:
            self._fetched_at = float("-inf")
        await self._refetch_async()

    @property
    def kids(self) -> frozenset[str]:
        """The `kid`s of the cached keys."""
        return frozenset(self._keys)
