"""A relying party of Warden's OpenID Provider, written with authlib.

Drives the hosted sign-in and consent pages with `requests` as a browser
would (fetch the form, post its CSRF token with the credentials), and checks
every step the OpenID Provider promises. Exits non-zero on the first failure.
"""

import os
import re
import secrets
import sys
from urllib.parse import parse_qs, urljoin, urlparse

import warnings

import requests

with warnings.catch_warnings():
    # authlib.jose announces its successor (joserfc); it is still authlib's own.
    warnings.simplefilter("ignore")
    from authlib.integrations.base_client.errors import OAuthError
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.jose import JsonWebKey, jwt
    from authlib.oidc.core import CodeIDToken

BASE = os.environ["WARDEN_URL"]
ADMIN = {"X-Admin-Secret": os.environ["WARDEN_ADMIN_SECRET"]}
REDIRECT = "http://127.0.0.1:53682/callback"
BYE = "http://127.0.0.1:53682/signed-out"
PASSWORD = "correct horse battery staple"
passed = 0


def check(name, cond, detail=""):
    global passed
    if not cond:
        print(f"FAIL {name} {detail}")
        sys.exit(1)
    passed += 1
    print(f"ok   {name}")


def hidden(html, name):
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), html)
    if not m:
        raise AssertionError(f"no {name} in page: {html[:500]}")
    return unescape(m.group(1))


def unescape(v):
    return v.replace("&#x2f;", "/").replace("&quot;", '"').replace("&#x27;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def to_client(r):
    """Where Warden sends the browser on to the client: a redirect, or (after a
    form post) a page that moves on by itself with a meta refresh."""
    if r.status_code in (302, 303):
        return r.headers["location"]
    m = re.search(r'http-equiv="refresh" content="0;url=([^"]*)"', r.text)
    if r.status_code != 200 or not m:
        raise AssertionError(f"not sent on to the client: {r.status_code} {r.text[:300]}")
    return unescape(m.group(1))


def follow(browser, url):
    """GET without following redirects out of Warden; return the response."""
    return browser.get(url, allow_redirects=False)


def admin(method, path, body=None):
    r = requests.request(method, BASE + path, json=body, headers=ADMIN, timeout=10)
    return r


# -- setup: an account and two clients, through the admin API
login = "rp-" + secrets.token_hex(4)
r = requests.post(BASE + "/auth/register", json={"login": login, "password": PASSWORD, "email": f"{login}@example.com"}, timeout=10)
check("register an account", r.status_code == 201, r.text)
r = admin("POST", "/auth/admin/oauth-clients", {
    "name": "authlib RP", "redirect_uris": [REDIRECT], "post_logout_redirect_uris": [BYE]})
check("register a confidential client", r.status_code == 201 and r.json()["client_secret"], r.text)
client_id, client_secret = r.json()["client_id"], r.json()["client_secret"]

# -- discovery
meta = requests.get(BASE + "/.well-known/openid-configuration", timeout=10).json()
check("discovery issuer is WARDEN_PUBLIC_URL", meta["issuer"] == BASE, meta)
check("S256 only", meta["code_challenge_methods_supported"] == ["S256"])
rfc8414 = requests.get(BASE + "/.well-known/oauth-authorization-server", timeout=10).json()
check("RFC 8414 metadata agrees", rfc8414["token_endpoint"] == meta["token_endpoint"])

# -- code + PKCE through the hosted pages
rp = OAuth2Session(client_id, client_secret, scope="openid profile email offline_access",
                   redirect_uri=REDIRECT, code_challenge_method="S256")
verifier = secrets.token_urlsafe(48)
nonce = secrets.token_urlsafe(16)
url, state = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)

browser = requests.Session()
r = follow(browser, url)
check("not signed in: to the sign-in page", r.status_code == 303 and "/sign-in" in r.headers["location"], r.headers)
sign_in_url = urljoin(BASE, r.headers["location"])
page = browser.get(sign_in_url, timeout=10)
form = {"_csrf": hidden(page.text, "_csrf"), "redirect_to": hidden(page.text, "redirect_to"),
        "login": login, "password": PASSWORD}
r = browser.post(urljoin(BASE, "/ui/sign-in"), data=form, allow_redirects=False, timeout=10)
check("sign in through the form", r.status_code == 303, r.text[:300])
r = follow(browser, urljoin(BASE, r.headers["location"]))
check("back at authorize: the consent page", r.status_code == 200 and "Allow authlib RP?" in r.text, r.text[:300])
consent = {"_csrf": hidden(r.text, "_csrf"), "request": hidden(r.text, "request"), "decision": "allow"}
r = browser.post(urljoin(BASE, "/ui/oauth2/authorize"), data=consent, allow_redirects=False, timeout=10)
location = to_client(r)
check("consent sends the browser to the client", location.startswith(REDIRECT), location)
params = parse_qs(urlparse(location).query)
check("iss in the authorization response (RFC 9207)", params.get("iss") == [BASE], params)

token = rp.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
check("code exchange (client_secret_basic)", "id_token" in token and "refresh_token" in token, token.keys())

# -- the ID token, validated by authlib against the JWKS
jwks = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
claims = jwt.decode(token["id_token"], jwks, claims_cls=CodeIDToken,
                    claims_options={"iss": {"essential": True, "value": BASE}},
                    claims_params={"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]})
claims.validate()
check("ID token valid (signature, iss, aud, exp, nonce, at_hash)", claims["aud"] == client_id)
check("ID token names the account", claims["preferred_username"] == login and claims["email"] == f"{login}@example.com")
check("ID token has auth_time and azp", "auth_time" in claims and claims["azp"] == client_id)

# -- userinfo
info = rp.get(meta["userinfo_endpoint"]).json()
check("userinfo sub matches the ID token", info["sub"] == claims["sub"], info)

# -- refresh rotates; the old refresh token again is refused and revokes
old_refresh = token["refresh_token"]
fresh = rp.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
check("refresh rotates", fresh["refresh_token"] != old_refresh)
try:
    rp.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
    check("reused refresh token refused", False)
except OAuthError as e:
    check("reused refresh token refused", e.error == "invalid_grant", e)
r = requests.get(meta["userinfo_endpoint"], headers={"Authorization": "Bearer " + fresh["access_token"]}, timeout=10)
check("reuse revoked the session", r.status_code == 401, r.text)

# -- a second sign-in (consent remembered), then revocation
url, _ = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
r = follow(browser, url)
location = r.headers.get("location", "")
check("remembered consent: straight back", r.status_code == 303 and location.startswith(REDIRECT), r.status_code)
token = rp.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
r = rp.revoke_token(meta["revocation_endpoint"], token=token["refresh_token"], token_type_hint="refresh_token")
check("revoke the refresh token (RFC 7009)", r.status_code == 200, r.text)
r = requests.get(meta["userinfo_endpoint"], headers={"Authorization": "Bearer " + token["access_token"]}, timeout=10)
check("revocation ended the session", r.status_code == 401, r.text)

# -- RP-initiated logout ends the Warden session too
url, _ = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
location = follow(browser, url).headers["location"]
token = rp.fetch_token(meta["token_endpoint"], authorization_response=location, code_verifier=verifier)
logout = meta["end_session_endpoint"]
r = browser.get(logout, params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": BYE, "state": "s1"},
                allow_redirects=False, timeout=10)
check("logout redirects to the registered URI", r.status_code == 303 and r.headers["location"] == BYE + "?state=s1", r.headers)
r = follow(browser, url)
check("the browser is signed out of Warden", r.status_code == 303 and "/sign-in" in r.headers["location"], r.headers)
r = requests.get(meta["userinfo_endpoint"], headers={"Authorization": "Bearer " + token["access_token"]}, timeout=10)
check("the client session ended", r.status_code == 401)

# -- client_credentials (client_secret_post) with introspection
r = admin("POST", "/auth/admin/oauth-clients", {"name": "worker", "grant_types": ["client_credentials"], "scopes": ["jobs:run"]})
check("register a service client", r.status_code == 201, r.text)
svc_id, svc_secret = r.json()["client_id"], r.json()["client_secret"]
svc = OAuth2Session(svc_id, svc_secret, scope="jobs:run", token_endpoint_auth_method="client_secret_post")
t = svc.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
check("client_credentials token", t["token_type"].lower() == "bearer" and "refresh_token" not in t, t.keys())
intro = svc.introspect_token(meta["introspection_endpoint"], token=t["access_token"]).json()
check("introspection: active, sub is the client", intro["active"] and intro["sub"] == svc_id, intro)
svc.revoke_token(meta["revocation_endpoint"], token=t["access_token"])
intro = svc.introspect_token(meta["introspection_endpoint"], token=t["access_token"]).json()
check("revoked access token is inactive", intro == {"active": False}, intro)
bad = OAuth2Session(svc_id, "wcs_wrong", scope="jobs:run")
try:
    bad.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
    check("a wrong secret is invalid_client", False)
except OAuthError as e:
    check("a wrong secret is invalid_client", e.error == "invalid_client", e)

print(f"openid_provider (authlib): {passed} passed")
