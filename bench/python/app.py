"""The benchmark app: one FastAPI process tree (uvicorn, 2 workers) serving the same GET route
behind each kind of protection, so every row of bench/python/run.sh runs in the same app.

    /hello           no auth at all (the framework floor)
    /pyjwt           bare PyJWT HS256 + HTTPBearer (the FastAPI tutorial; the peers' baseline)
    /claims          Warden.current_claims: EdDSA token verified offline (JWKS), verified-token cache
    /claims-nocache  the same with the verifier's token cache off: every request checks the signature
    /account         Warden.current_account: the Account from Warden's GET /auth/me, cached 5 s per token
    /account-live    the same with no cache: one round trip to Warden per request

Env: WARDEN_URL (Warden's base URL), BENCH_SECRET (the HS256 secret of /pyjwt).
"""

import os

import jwt
from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from warden_client import Account, Claims, Verifier
from warden_client.fastapi import Warden

WARDEN_URL = os.environ["WARDEN_URL"]
SECRET = os.environ["BENCH_SECRET"]

app = FastAPI()
warden = Warden(WARDEN_URL)
warden.install(app)
uncached = Warden(WARDEN_URL, verifier=Verifier(WARDEN_URL, cache_size=0))
live = Warden(WARDEN_URL, revocation_cache_seconds=0)
bearer = HTTPBearer()


@app.get("/hello")
async def hello() -> dict[str, str]:
    return {"sub": "alice"}


async def pyjwt_user(cred: HTTPAuthorizationCredentials = Depends(bearer)) -> str:
    try:
        payload = jwt.decode(cred.credentials, SECRET, algorithms=["HS256"])
    except jwt.PyJWTError:
        raise HTTPException(401, "Invalid token", headers={"WWW-Authenticate": "Bearer"})
    return str(payload["sub"])


@app.get("/pyjwt")
async def pyjwt_route(sub: str = Depends(pyjwt_user)) -> dict[str, str]:
    return {"sub": sub}


@app.get("/claims")
async def claims_route(claims: Claims = Depends(warden.current_claims)) -> dict[str, str]:
    return {"sub": claims.sub}


@app.get("/claims-nocache")
async def claims_nocache(claims: Claims = Depends(uncached.current_claims)) -> dict[str, str]:
    return {"sub": claims.sub}


@app.get("/account")
async def account_route(account: Account = Depends(warden.current_account)) -> dict[str, str]:
    return {"sub": account.id}


@app.get("/account-live")
async def account_live(account: Account = Depends(live.current_account)) -> dict[str, str]:
    return {"sub": account.id}
