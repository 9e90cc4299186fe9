"""A FastAPI app behind Warden: the samples of ConnectKit's and fastapi-jwt-auth's docs, ported.

    WARDEN_URL=http://127.0.0.1:8080 uvicorn app:app --port 5000

ConnectKit's sample protected `/test` with `Depends(get_account)` and `/test2` with
`Depends(get_session)`; fastapi-jwt-auth's had `/login`, `/protected` (`jwt_required`),
`/get-jwt-identity` (`jwt_optional`) and `/get-raw-jwt`. Here Warden signs people in and issues
the tokens; the app only verifies them. `/login` is kept for the sample's curl session and
forwards to Warden's `POST /auth/login`.
"""

import os
from typing import Any

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

from warden_client import Account, AsyncWardenClient, Claims, MfaRequired
from warden_client.fastapi import Principal, Warden

WARDEN_URL = os.environ.get("WARDEN_URL", "http://127.0.0.1:8080")

app = FastAPI(title="Warden example")
warden = Warden(WARDEN_URL, check_revocation=os.environ.get("CHECK_REVOCATION") == "1",
                revocation_cache_seconds=float(os.environ.get("REVOCATION_CACHE", "5")),
                admin_secret=os.environ.get("WARDEN_ADMIN_SECRET"))  # to read API keys' scopes
warden.install(app)


class User(BaseModel):
    username: str = Field(..., min_length=1)
    password: str = Field(..., min_length=1)


# ----- fastapi-jwt-auth's basic.py -------------------------------------------------------


@app.post("/login", status_code=200)
async def login(user: User) -> Any:
    """fastapi-jwt-auth: `AuthJWT.create_access_token(identity=...)`; here Warden checks the
    password (Argon2id, lockout, MFA) and issues the pair. Errors are Warden's problem+json."""
    async with AsyncWardenClient(WARDEN_URL) as client:
        answer = await client.login(user.username, user.password)
    if isinstance(answer, MfaRequired):
        return {"mfa_required": True, "mfa_token": answer.mfa_token}
    return answer.access_token


@app.get("/protected", status_code=200)
def protected(claims: Claims = Depends(warden.current_claims)) -> dict[str, Any]:
    """fastapi-jwt-auth: `Authorize.jwt_required()` + `get_jwt_identity()` (a sync route)."""
    return {"logged_in_as": claims.sub}


@app.get("/get-jwt-identity", status_code=200)
async def get_jwt_identity(account: Account | None = Depends(warden.optional_account)) -> Any:
    """fastapi-jwt-auth: `jwt_optional()`: the identity, or None without a token."""
    return {"logged_in_as": account.login if account else None}


@app.get("/get-raw-jwt", status_code=200)
async def get_raw_jwt(claims: Claims = Depends(warden.current_claims)) -> dict[str, Any]:
    """fastapi-jwt-auth: `get_raw_jwt()`: every claim of the verified token."""
    return {"token": claims.raw}


@app.post("/partially-protected", status_code=200)
async def fresh_only(claims: Claims = Depends(warden.require_fresh)) -> dict[str, Any]:
    """fastapi-jwt-auth: `fresh_jwt_required()`: only a token from a password login."""
    return {"fresh_login_of": claims.sub}


# ----- ConnectKit's /test and /test2 -----------------------------------------------------


@app.get("/test")
async def test(account: Account = Depends(warden.current_account)) -> dict[str, Any]:
    """ConnectKit: `Depends(get_account)`: the signed-in, active account."""
    return {"id": account.id, "login": account.login, "properties": account.properties}


@app.get("/test2")
async def test2(claims: Claims = Depends(warden.current_claims)) -> dict[str, Any]:
    """ConnectKit: `Depends(get_session)`: the session (its id, and the factors passed)."""
    return {"session_id": claims.sid, "amr": list(claims.amr)}


@app.get("/reports")
async def reports(who: Principal = Depends(warden.require_scopes("reports"))) -> dict[str, Any]:
    """A route for tokens or API keys with the `reports` scope."""
    return {"account_id": who.account_id, "via": who.method}
