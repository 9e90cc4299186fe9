"""Sans-IO description of every Warden route: path, body and how to read the answer.

`WardenClient` and `AsyncWardenClient` only differ in how they send a `Call`; everything a
route means lives here, once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from . import models as m

T = TypeVar("T")
Json = dict[str, Any]


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request to Warden and the parser of its success answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    json: Any = None
    params: dict[str, Any] | None = None
    token: str | None = None
    admin: bool = False
    check: bool = True


def auth_headers(token: str | None) -> dict[str, str]:
    """`X-API-Key` for a Warden API key (`wdn_...`), else `Authorization: Bearer`."""
    if token is None:
        return {}
    if token.startswith("wdn_"):
        return {"X-API-Key": token}
    return {"Authorization": f"Bearer {token}"}


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def _body(**fields: Any) -> Json:
    """A JSON body without the fields left at None."""
    return {k: v for k, v in fields.items() if v is not None}


def _one(cls: type[T]) -> Callable[[httpx.Response], T]:
    return lambda r: m.build(cls, r.json())


def _many(cls: type[T]) -> Callable[[httpx.Response], list[T]]:
    return lambda r: m.build_list(cls, r.json())


def _nothing(_: httpx.Response) -> None:
    return None


def _json(r: httpx.Response) -> Any:
    return r.json()


def _login_answer(r: httpx.Response) -> m.TokenPair | m.MfaRequired:
    data = r.json()
    if isinstance(data, dict) and data.get("mfa_required"):
        return m.MfaRequired.from_json(data)
    return m.TokenPair.from_json(data)


def _recovery_codes(r: httpx.Response) -> list[str]:
    return [str(c) for c in r.json()["recovery_codes"]]


def _ok(r: httpx.Response) -> bool:
    return r.is_success


# ----- accounts and sessions ------------------------------------------------------------


def register(login: str, password: str, email: str | None, properties: Json | None,
             captcha: str | None) -> Call[m.Registration]:
    return Call("POST", "/register", _one(m.Registration),
                json=_body(login=login, password=password, email=email, properties=properties,
                           captcha=captcha))


def login(login: str, password: str, remember: bool, scopes: list[str] | None,
          organization: str | None, captcha: str | None) -> Call[m.TokenPair | m.MfaRequired]:
    return Call("POST", "/login", _login_answer,
                json=_body(login=login, password=password, remember=remember or None,
                           scopes=scopes, organization=organization, captcha=captcha))


def login_mfa(mfa_token: str, code: str) -> Call[m.TokenPair]:
    return Call("POST", "/login/mfa", _one(m.TokenPair), json={"mfa_token": mfa_token, "code": code})


def refresh(refresh_token: str, organization: str | None) -> Call[m.TokenPair]:
    return Call("POST", "/refresh", _one(m.TokenPair),
                json=_body(refresh_token=refresh_token, organization=organization))


def logout(token: str) -> Call[None]:
    return Call("POST", "/logout", _nothing, token=token)


def logout_all(token: str) -> Call[None]:
    return Call("POST", "/logout/all", _nothing, token=token)


def me(token: str) -> Call[m.Account]:
    return Call("GET", "/me", _one(m.Account), token=token)


def sessions(token: str) -> Call[list[m.Session]]:
    return Call("GET", "/sessions", _many(m.Session), token=token)


def revoke_session(token: str, session_id: str) -> Call[None]:
    return Call("DELETE", f"/sessions/{_seg(session_id)}", _nothing, token=token)


def change_password(token: str, current_password: str, new_password: str) -> Call[None]:
    return Call("POST", "/password", _nothing, token=token,
                json={"current_password": current_password, "new_password": new_password})


def fresh(token: str, password: str) -> Call[m.TokenPair]:
    return Call("POST", "/fresh", _one(m.TokenPair), token=token, json={"password": password})


def change_login(token: str, new_login: str) -> Call[m.Account]:
    return Call("POST", "/login/change", _one(m.Account), token=token, json={"new_login": new_login})


# ----- second factor ----------------------------------------------------------------------


def totp_setup(token: str) -> Call[m.TotpSetup]:
    return Call("POST", "/mfa/totp/setup", _one(m.TotpSetup), token=token)


def totp_confirm(token: str, code: str) -> Call[list[str]]:
    return Call("POST", "/mfa/totp/confirm", _recovery_codes, token=token, json={"code": code})


def totp_disable(token: str, password: str) -> Call[None]:
    return Call("DELETE", "/mfa/totp", _nothing, token=token, json={"password": password})


# ----- email -----------------------------------------------------------------------------


def email_status(token: str) -> Call[m.EmailStatus]:
    return Call("GET", "/email", _one(m.EmailStatus), token=token)


def send_verification(token: str) -> Call[None]:
    return Call("POST", "/email/verification", _nothing, token=token)


def verify_email(mail_token: str) -> Call[None]:
    return Call("POST", "/email/verify", _nothing, json={"token": mail_token})


def change_email(token: str, new_email: str, password: str) -> Call[None]:
    return Call("POST", "/email/change", _nothing, token=token,
                json={"new_email": new_email, "password": password})


def forgot_password(email: str, captcha: str | None) -> Call[None]:
    return Call("POST", "/password/forgot", _nothing, json=_body(email=email, captcha=captcha))


def reset_password(mail_token: str, new_password: str) -> Call[None]:
    return Call("POST", "/password/reset", _nothing,
                json={"token": mail_token, "new_password": new_password})


# ----- API keys (own and admin) ----------------------------------------------------------


def create_api_key(token: str, name: str, scopes: list[str] | None,
                   expires_in_days: int | None) -> Call[m.ApiKey]:
    return Call("POST", "/api-keys", _one(m.ApiKey), token=token,
                json=_body(name=name, scopes=scopes, expires_in_days=expires_in_days))


def list_api_keys(token: str | None, admin: bool = False,
                  account_id: str | None = None) -> Call[list[m.ApiKey]]:
    return Call("GET", "/admin/api-keys" if admin else "/api-keys", _many(m.ApiKey), token=token,
                admin=admin, params=_body(account_id=account_id) or None)


def revoke_api_key(token: str | None, key_id: str, admin: bool = False) -> Call[None]:
    base = "/admin/api-keys" if admin else "/api-keys"
    return Call("DELETE", f"{base}/{_seg(key_id)}", _nothing, token=token, admin=admin)


def renew_api_key(token: str | None, key_id: str, expires_in_days: int | None,
                  admin: bool = False) -> Call[m.ApiKey]:
    base = "/admin/api-keys" if admin else "/api-keys"
    return Call("POST", f"{base}/{_seg(key_id)}/renew", _one(m.ApiKey), token=token, admin=admin,
                json=_body(expires_in_days=expires_in_days))


def api_key_usage(token: str | None, key_id: str, admin: bool = False) -> Call[list[m.ApiKeyUse]]:
    base = "/admin/api-keys" if admin else "/api-keys"
    return Call("GET", f"{base}/{_seg(key_id)}/usage", _many(m.ApiKeyUse), token=token, admin=admin)


def admin_create_api_key(token: str | None, name: str, account_id: str | None,
                         scopes: list[str] | None, expires_in_days: int | None) -> Call[m.ApiKey]:
    return Call("POST", "/admin/api-keys", _one(m.ApiKey), token=token, admin=True,
                json=_body(name=name, account_id=account_id, scopes=scopes,
                           expires_in_days=expires_in_days))


# ----- admin: accounts and audit ---------------------------------------------------------


def _acc(account_id: str, tail: str = "") -> str:
    return f"/admin/accounts/{_seg(account_id)}{tail}"


def admin_list_accounts(token: str | None, limit: int | None, cursor: str | None,
                        q: str | None) -> Call[m.AccountPage]:
    return Call("GET", "/admin/accounts", _one(m.AccountPage), token=token, admin=True,
                params=_body(limit=limit, cursor=cursor, q=q))


def admin_create_account(token: str | None, fields: Json) -> Call[m.Account]:
    return Call("POST", "/admin/accounts", _one(m.Account), token=token, admin=True,
                json=_body(**fields))


def admin_get_account(token: str | None, account_id: str) -> Call[m.Account]:
    return Call("GET", _acc(account_id), _one(m.Account), token=token, admin=True)


def admin_update_account(token: str | None, account_id: str, changes: Json) -> Call[m.Account]:
    return Call("PATCH", _acc(account_id), _one(m.Account), token=token, admin=True, json=changes)


def admin_delete_account(token: str | None, account_id: str) -> Call[None]:
    return Call("DELETE", _acc(account_id), _nothing, token=token, admin=True)


def admin_block(token: str | None, account_id: str, reason: str) -> Call[None]:
    return Call("POST", _acc(account_id, "/block"), _nothing, token=token, admin=True,
                json={"reason": reason})


def admin_unblock(token: str | None, account_id: str) -> Call[None]:
    return Call("POST", _acc(account_id, "/unblock"), _nothing, token=token, admin=True)


def admin_block_status(token: str | None, account_id: str) -> Call[m.BlockStatus]:
    return Call("GET", _acc(account_id, "/block"), _one(m.BlockStatus), token=token, admin=True)


def admin_disable_mfa(token: str | None, account_id: str) -> Call[None]:
    return Call("DELETE", _acc(account_id, "/mfa"), _nothing, token=token, admin=True)


def admin_revoke_sessions(token: str | None, account_id: str) -> Call[None]:
    return Call("DELETE", _acc(account_id, "/sessions"), _nothing, token=token, admin=True)


def admin_audit(token: str | None, account_id: str | None,
                limit: int | None) -> Call[list[m.AuditEvent]]:
    return Call("GET", "/admin/audit", _many(m.AuditEvent), token=token, admin=True,
                params=_body(account_id=account_id, limit=limit))


def admin_create_service_account(token: str | None, name: str, scopes: list[str] | None,
                                 properties: Json | None) -> Call[m.Account]:
    return Call("POST", "/admin/service-accounts", _one(m.Account), token=token, admin=True,
                json=_body(name=name, scopes=scopes, properties=properties))


# ----- OAuth / OpenID Connect sign-in ----------------------------------------------------


def oauth_providers() -> Call[list[m.OAuthProvider]]:
    return Call("GET", "/oauth/providers", _many(m.OAuthProvider))


# ----- organizations ---------------------------------------------------------------------


def _org(org_id: str, tail: str = "") -> str:
    return f"/organizations/{_seg(org_id)}{tail}"


def create_organization(token: str, slug: str, name: str,
                        properties: Json | None) -> Call[m.Organization]:
    return Call("POST", "/organizations", _one(m.Organization), token=token,
                json=_body(slug=slug, name=name, properties=properties))


def list_organizations(token: str) -> Call[list[Json]]:
    return Call("GET", "/organizations", _json, token=token)


def get_organization(token: str, org_id: str) -> Call[m.Organization]:
    return Call("GET", _org(org_id), _one(m.Organization), token=token)


def update_organization(token: str, org_id: str, name: str | None,
                        properties: Json | None) -> Call[m.Organization]:
    return Call("PATCH", _org(org_id), _one(m.Organization), token=token,
                json=_body(name=name, properties=properties))


def delete_organization(token: str, org_id: str) -> Call[None]:
    return Call("DELETE", _org(org_id), _nothing, token=token)


def organization_members(token: str | None, org_id: str,
                         admin: bool = False) -> Call[list[m.Membership]]:
    path = f"/admin{_org(org_id, '/members')}" if admin else _org(org_id, "/members")
    return Call("GET", path, _many(m.Membership), token=token, admin=admin)


def set_member_role(token: str, org_id: str, account_id: str, role: str) -> Call[m.Membership]:
    return Call("PATCH", _org(org_id, f"/members/{_seg(account_id)}"), _one(m.Membership),
                token=token, json={"role": role})


def remove_member(token: str, org_id: str, account_id: str) -> Call[None]:
    return Call("DELETE", _org(org_id, f"/members/{_seg(account_id)}"), _nothing, token=token)


def invite(token: str, org_id: str, email: str, role: str) -> Call[m.Invitation]:
    return Call("POST", _org(org_id, "/invitations"), _one(m.Invitation), token=token,
                json={"email": email, "role": role})


def invitations(token: str, org_id: str) -> Call[list[m.Invitation]]:
    return Call("GET", _org(org_id, "/invitations"), _many(m.Invitation), token=token)


def revoke_invitation(token: str, org_id: str, invitation_id: str) -> Call[None]:
    return Call("DELETE", _org(org_id, f"/invitations/{_seg(invitation_id)}"), _nothing,
                token=token)


def accept_invitation(token: str, invitation_token: str) -> Call[m.Membership]:
    return Call("POST", "/invitations/accept", _one(m.Membership), token=token,
                json={"token": invitation_token})


def decline_invitation(token: str, invitation_token: str) -> Call[None]:
    return Call("POST", "/invitations/decline", _nothing, token=token,
                json={"token": invitation_token})


def roles(token: str, org_id: str) -> Call[list[m.Role]]:
    return Call("GET", _org(org_id, "/roles"), _many(m.Role), token=token)


def create_role(token: str, org_id: str, name: str, permissions: list[str]) -> Call[m.Role]:
    return Call("POST", _org(org_id, "/roles"), _one(m.Role), token=token,
                json={"name": name, "permissions": permissions})


def update_role(token: str, org_id: str, name: str, permissions: list[str]) -> Call[m.Role]:
    return Call("PATCH", _org(org_id, f"/roles/{_seg(name)}"), _one(m.Role), token=token,
                json={"permissions": permissions})


def delete_role(token: str, org_id: str, name: str) -> Call[None]:
    return Call("DELETE", _org(org_id, f"/roles/{_seg(name)}"), _nothing, token=token)


def activate_organization(token: str, org_id: str) -> Call[m.TokenPair]:
    return Call("POST", _org(org_id, "/activate"), _one(m.TokenPair), token=token)


def admin_list_organizations(token: str | None, limit: int | None,
                             cursor: str | None) -> Call[m.OrganizationPage]:
    return Call("GET", "/admin/organizations", _one(m.OrganizationPage), token=token, admin=True,
                params=_body(limit=limit, cursor=cursor))


def admin_get_organization(token: str | None, org_id: str) -> Call[m.Organization]:
    return Call("GET", f"/admin{_org(org_id)}", _one(m.Organization), token=token, admin=True)


def admin_delete_organization(token: str | None, org_id: str) -> Call[None]:
    return Call("DELETE", f"/admin{_org(org_id)}", _nothing, token=token, admin=True)


# ----- OpenID Provider: client registration (admin) --------------------------------------


def _client(client_id: str, tail: str = "") -> str:
    return f"/admin/oauth-clients/{_seg(client_id)}{tail}"


def admin_create_oauth_client(token: str | None, fields: Json) -> Call[m.OAuthClient]:
    return Call("POST", "/admin/oauth-clients", _one(m.OAuthClient), token=token, admin=True,
                json=_body(**fields))


def admin_list_oauth_clients(token: str | None) -> Call[list[m.OAuthClient]]:
    return Call("GET", "/admin/oauth-clients", _many(m.OAuthClient), token=token, admin=True)


def admin_get_oauth_client(token: str | None, client_id: str) -> Call[m.OAuthClient]:
    return Call("GET", _client(client_id), _one(m.OAuthClient), token=token, admin=True)


def admin_update_oauth_client(token: str | None, client_id: str,
                              changes: Json) -> Call[m.OAuthClient]:
    return Call("PATCH", _client(client_id), _one(m.OAuthClient), token=token, admin=True,
                json=changes)


def admin_delete_oauth_client(token: str | None, client_id: str) -> Call[None]:
    return Call("DELETE", _client(client_id), _nothing, token=token, admin=True)


def admin_new_oauth_client_secret(token: str | None, client_id: str) -> Call[str]:
    return Call("POST", _client(client_id, "/secret"),
                lambda r: str(r.json()["client_secret"]), token=token, admin=True)


# ----- service routes (at the root, not under the prefix) --------------------------------

ROOT = "root:"


def jwks() -> Call[Json]:
    return Call("GET", ROOT + "/.well-known/jwks.json", _json)


def openid_configuration() -> Call[Json]:
    return Call("GET", ROOT + "/.well-known/openid-configuration", _json)


def healthz() -> Call[bool]:
    return Call("GET", ROOT + "/healthz", _ok, check=False)


def readyz() -> Call[bool]:
    return Call("GET", ROOT + "/readyz", _ok, check=False)
