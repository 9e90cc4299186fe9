"""FastAPI dependencies that put Warden in front of a FastAPI app.

    from fastapi import Depends, FastAPI
    from warden_client import Account
    from warden_client.fastapi import Warden

    app = FastAPI()
    warden = Warden("http://127.0.0.1:8080")
    warden.install(app)                      # problem+json error bodies, as Warden's

    @app.get("/me")
    async def me(account: Account = Depends(warden.current_account)):
        return {"login": account.login}

Access tokens are verified offline (see `Verifier`). With `check_revocation=True` every
request also asks Warden whether the token's session is still live (`GET /auth/me`), and the
answer is reused for at most `revocation_cache_seconds`; without it a token that was revoked
(logout, block, password change) is accepted until its `exp` (5 minutes by default).
"""

import asyncio
import base64
import hashlib
import hmac
import inspect
import uuid
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from ._cache import TtlCache
from .aio import AsyncWardenClient
from .errors import WardenError
from .models import Account
from .verify import Claims, Verifier

__all__ = ["AuthError", "Method", "Principal", "Warden"]

T = TypeVar("T")
Method = Literal["bearer", "cookie", "api_key"]
_METHODS: tuple[Method, ...] = ("bearer", "cookie", "api_key")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class AuthError(Exception):
    """A refused request; `Warden.install` answers it as Warden's problem+json."""

    def __init__(self, error: WardenError) -> None:
        super().__init__(str(error))
        self.error = error


@dataclass(frozen=True)
class Principal:
    """Who is calling and how: the result of `any_of`, `require_scopes` and `api_key`.

    `scopes` are the token's scopes, or the API key's. `account` is set for an API key and,
    with `check_revocation`, for a token; `claims` for a token; `api_key_id` for a key.
    """

    method: Method
    account_id: str
    scopes: frozenset[str] | None
    claims: Claims | None = None
    account: Account | None = None
    api_key_id: str | None = None
    token: str | None = field(default=None, repr=False)

    def has_scopes(self, *scopes: str) -> bool:
        """True when every scope is held (False when an API key's scopes are unknown)."""
        return self.scopes is not None and all(s in self.scopes for s in scopes)


def _refuse(status: int, code: str, detail: str) -> AuthError:
    return AuthError(WardenError(status, code, detail))


def _key_id(key: str) -> str | None:
    """The UUID of a `wdn_<id>_<secret>` key (`<id>`: 16 bytes, URL-safe base64)."""
    if not key.startswith("wdn_") or len(key) < 28 or key[26] != "_":
        return None
    try:
        return str(uuid.UUID(bytes=base64.urlsafe_b64decode(key[4:26] + "==")))
    except ValueError:
        return None


class Warden:
    """Warden for one FastAPI app; its attributes are the dependencies.

    - `current_claims`: the verified `Claims` of a bearer token or the access cookie.
    - `current_account`: the `Account` (from `GET /auth/me`), by token, cookie or API key.
    - `optional_account`: the `Account`, or None when the request carries no credentials.
    - `require_scopes(*scopes)`: a `Principal` holding every scope, else 403 `forbidden`.
    - `require_fresh`: `Claims` of a fresh token (password login), else 401.
    - `api_key`: a `Principal` for an `X-API-Key` header checked with Warden.
    - `any_of(*methods)`: a `Principal` by any of `"bearer"`, `"cookie"`, `"api_key"`.

    `admin_secret` lets the app learn an API key's own scopes (a key's scopes can be fewer
    than its owner's); without it `require_scopes` refuses API keys.
    """

    def __init__(self, base_url: str, *, audience: str | None = None,
                 issuer: str | None = None, check_revocation: bool = False,
                 revocation_cache_seconds: float = 5.0, leeway: float = 30,
                 cookie_name: str = "access", csrf_cookie_name: str = "csrf",
                 admin_secret: str | None = None, prefix: str = "/auth",
                 timeout: float = 5.0, verifier: Verifier | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.verifier = verifier or Verifier(self.base_url, issuer=issuer, audience=audience,
                                             leeway=leeway, timeout=timeout)
        self.check_revocation = check_revocation
        self.csrf_cookie_name = csrf_cookie_name
        self._admin_secret = admin_secret
        self._prefix = prefix
        self._timeout = timeout
        self._answers: TtlCache[Account | WardenError] = TtlCache(revocation_cache_seconds)
        self._keys: TtlCache[Principal | WardenError] = TtlCache(revocation_cache_seconds)
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncWardenClient]
        self._clients = weakref.WeakKeyDictionary()
        self._schemes: dict[Method, Any] = {
            "bearer": HTTPBearer(auto_error=False, scheme_name="WardenBearer", bearerFormat="JWT",
                                 description="A Warden access token (POST /auth/login)."),
            "cookie": APIKeyCookie(name=cookie_name, auto_error=False, scheme_name="WardenCookie",
                                   description="Warden's access cookie (set by its login)."),
            "api_key": APIKeyHeader(name="X-API-Key", auto_error=False,
                                    scheme_name="WardenApiKey",
                                    description="A Warden API key (wdn_...)."),
        }
        self.current_claims = self._dependency(("bearer", "cookie"), self._claims_of)
        self.current_account = self._dependency(_METHODS, self._account_of)
        self.optional_account = self._dependency(_METHODS, self._account_of, optional=True)
        self.require_fresh = self._dependency(("bearer", "cookie"), self._fresh_claims_of)
        self.api_key = self._dependency(("api_key",), self._same)

    # ----- public helpers ---------------------------------------------------------------------

    def install(self, app: FastAPI) -> None:
        """Answer refusals (and `WardenError`s the app lets escape) as Warden's problem+json."""

        async def handler(_: Request, exc: Exception) -> JSONResponse:
            err = exc.error if isinstance(exc, AuthError) else exc
            assert isinstance(err, WardenError)
            return JSONResponse(err.problem(), status_code=err.status, headers=err.headers(),
                                media_type="application/problem+json")

        app.add_exception_handler(AuthError, handler)
        app.add_exception_handler(WardenError, handler)

    def require_scopes(self, *scopes: str,
                       methods: Sequence[Method] = _METHODS) -> Callable[..., Awaitable[Principal]]:
        """A dependency: the caller must hold every one of `scopes`, else 403 `forbidden`."""
        needed = tuple(scopes)

        async def check(p: Principal) -> Principal:
            if p.scopes is None:
                raise _refuse(403, "forbidden", "the API key's scopes are unknown to this app "
                                                "(give Warden admin_secret=)")
            missing = [s for s in needed if s not in p.scopes]
            if missing:
                raise _refuse(403, "forbidden", "missing scope: " + " ".join(missing))
            return p

        return self._dependency(tuple(methods), check)

    def any_of(self, *methods: Method) -> Callable[..., Awaitable[Principal]]:
        """A dependency accepting any of the given methods (all three when none is given)."""
        for m in methods:
            if m not in _METHODS:
                raise ValueError(f"unknown method {m!r}; use bearer, cookie or api_key")
        return self._dependency(tuple(methods) or _METHODS, self._same)

    def client(self) -> AsyncWardenClient:
        """The `AsyncWardenClient` of the running event loop (one per loop)."""
        loop = asyncio.get_running_loop()
        c = self._clients.get(loop)
        if c is None:
            c = AsyncWardenClient(self.base_url, timeout=self._timeout, prefix=self._prefix,
                                  admin_secret=self._admin_secret)
            self._clients[loop] = c
        return c

    # ----- building dependencies -------------------------------------------------------------

    def _dependency(self, methods: Sequence[Method], finish: Callable[[Principal], Awaitable[Any]],
                    optional: bool = False) -> Callable[..., Awaitable[Any]]:
        """A dependency whose signature lists the security schemes of `methods` (so FastAPI's
        OpenAPI shows them), resolving the caller and handing the `Principal` to `finish`."""
        chosen = tuple(methods)

        async def dependency(request: Request, **creds: Any) -> Any:
            p = await self._principal(request, chosen, creds, optional)
            return None if p is None else await finish(p)

        params = [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=Request)]
        params += [inspect.Parameter(m, inspect.Parameter.KEYWORD_ONLY,
                                     default=Depends(self._schemes[m])) for m in chosen]
        dependency.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        return dependency

    async def _principal(self, request: Request, methods: tuple[Method, ...],
                         creds: dict[str, Any], optional: bool) -> Principal | None:
        bearer: HTTPAuthorizationCredentials | None = creds.get("bearer")
        if bearer is not None:
            return await self._token_principal(bearer.credentials, "bearer")
        cookie: str | None = creds.get("cookie")
        if cookie:
            self._check_csrf(request)
            return await self._token_principal(cookie, "cookie")
        key: str | None = creds.get("api_key")
        if key:
            return await self._key_principal(key)
        if optional:
            return None
        raise _refuse(401, "unauthenticated", "authentication required")

    def _check_csrf(self, request: Request) -> None:
        """Warden's rule: a state-changing request authenticated by the cookie alone carries
        `X-Requested-With` or an `X-CSRF-Token` equal to the CSRF cookie."""
        if request.method in _SAFE_METHODS or "x-requested-with" in request.headers:
            return
        sent = request.headers.get("x-csrf-token", "")
        expected = request.cookies.get(self.csrf_cookie_name, "")
        if not (sent and expected and _equal(sent, expected)):
            raise _refuse(403, "forbidden", "a cookie-authenticated request needs "
                                            "X-Requested-With or a matching X-CSRF-Token")

    async def _token_principal(self, token: str, method: Method) -> Principal:
        try:
            claims = await self.verifier.averify(token)
        except WardenError as e:
            raise AuthError(e) from None
        account = await self._session_account(token, claims) if self.check_revocation else None
        return Principal(method, claims.sub, claims.scopes, claims=claims, account=account,
                         token=token)

    # ----- asking Warden ----------------------------------------------------------------------

    async def _session_account(self, token: str, claims: Claims) -> Account:
        """`GET /auth/me` with the token, the answer cached per token (its `jti`)."""
        key = "jti:" + (claims.jti or hashlib.sha256(token.encode()).hexdigest())
        return await _cached(self._answers, key, lambda: self.client().me(token))

    async def _key_principal(self, key: str) -> Principal:
        return await _cached(self._keys, "key:" + hashlib.sha256(key.encode()).hexdigest(),
                             lambda: self._ask_about_key(key))

    async def _ask_about_key(self, key: str) -> Principal:
        account = await self.client().me(key)
        key_id = _key_id(key)
        scopes: frozenset[str] | None = None
        if self._admin_secret is not None and key_id is not None:
            listed = await self.client().admin_list_api_keys(account_id=account.id)
            scopes = next((frozenset(k.scopes) for k in listed if k.id == key_id), frozenset())
        return Principal("api_key", account.id, scopes, account=account, api_key_id=key_id)

    # ----- what each dependency answers -------------------------------------------------------

    @staticmethod
    async def _same(p: Principal) -> Principal:
        return p

    @staticmethod
    async def _claims_of(p: Principal) -> Claims:
        assert p.claims is not None
        return p.claims

    @staticmethod
    async def _fresh_claims_of(p: Principal) -> Claims:
        assert p.claims is not None
        if not p.claims.fresh:
            raise _refuse(401, "fresh_token_required", "this needs a fresh token "
                                                       "(sign in with the password again)")
        return p.claims

    async def _account_of(self, p: Principal) -> Account:
        if p.account is not None:
            return p.account
        assert p.claims is not None and p.token is not None
        return await self._session_account(p.token, p.claims)


async def _cached(cache: TtlCache[T | WardenError], key: str,
                  ask: Callable[[], Awaitable[T]]) -> T:
    """Warden's answer for `key`, asked once per cache lifetime. Refusals (4xx) are cached
    too; an unreachable Warden (5xx) is not."""
    hit = cache.get(key)
    if hit is None:
        try:
            hit = await ask()
        except WardenError as e:
            if e.status >= 500:
                raise AuthError(e) from None
            hit = e
        cache.put(key, hit)
    if isinstance(hit, WardenError):
        raise AuthError(hit)
    return hit


def _equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
