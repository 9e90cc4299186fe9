"""`WardenClient`: every route of Warden's HTTP contract as a typed, blocking method.

Authenticated methods take the caller's credential first: an access token (JWT) is sent as
`Authorization: Bearer`, a Warden API key (`wdn_...`) as `X-API-Key`. Admin methods use the
client's `admin_secret` (header `X-Admin-Secret`) unless given `token=` (scope `admin`).
Every problem+json answer is raised as `WardenError`; an unreachable Warden as a 503 one.
`AsyncWardenClient` (module `warden_client.aio`) has the same methods, awaitable.
"""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

from . import _calls as c
from . import models as m
from ._base import DEFAULT_TIMEOUT, ClientBase, unreachable

T = TypeVar("T")
Json = dict[str, Any]

__all__ = ["WardenClient"]


class WardenClient(ClientBase):
    """Blocking client of one Warden server.

    >>> client = WardenClient("http://127.0.0.1:8080", timeout=5)
    >>> client.prefix
    '/auth'
    >>> client.close()

    Use it as a context manager, or call `close()`, to release its connections.
    """

    def __init__(self, base_url: str, *, timeout: float = DEFAULT_TIMEOUT,
                 admin_secret: str | None = None, prefix: str = "/auth",
                 headers: dict[str, str] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        super().__init__(base_url, timeout=timeout, admin_secret=admin_secret, prefix=prefix,
                         headers=headers)
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> WardenClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self, call: c.Call[T]) -> T:
        args = self._request_args(call)
        try:
            response = self._http.request(call.method, self._url(call), **args)
        except httpx.TransportError as e:
            raise unreachable(e) from e
        return self._answer(call, response)

    # ----- accounts and sessions ------------------------------------------------------------

    def register(self, login: str, password: str, *, email: str | None = None,
                 properties: Json | None = None, captcha: str | None = None) -> m.Registration:
        """`POST /register`: a new account (and its tokens if the server signs it in)."""
        return self._run(c.register(login, password, email, properties, captcha))

    def login(self, login: str, password: str, *, remember: bool = False,
              scopes: list[str] | None = None, organization: str | None = None,
              captcha: str | None = None) -> m.TokenPair | m.MfaRequired:
        """`POST /login`: a `TokenPair`, or `MfaRequired` when a second factor is due."""
        return self._run(c.login(login, password, remember, scopes, organization, captcha))

    def login_mfa(self, mfa_token: str, code: str) -> m.TokenPair:
        """`POST /login/mfa`: finish a login with a TOTP or recovery code."""
        return self._run(c.login_mfa(mfa_token, code))

    def refresh(self, refresh_token: str, *, organization: str | None = None) -> m.TokenPair:
        """`POST /refresh`: rotate the refresh token; the old one is dead afterwards."""
        return self._run(c.refresh(refresh_token, organization))

    def logout(self, token: str) -> None:
        """`POST /logout`: revoke the session of `token`."""
        return self._run(c.logout(token))

    def logout_all(self, token: str) -> None:
        """`POST /logout/all`: revoke every session of the account."""
        return self._run(c.logout_all(token))

    def me(self, token: str) -> m.Account:
        """`GET /me`: the account of an access token or API key."""
        return self._run(c.me(token))

    def sessions(self, token: str) -> list[m.Session]:
        """`GET /sessions`: the account's live sessions."""
        return self._run(c.sessions(token))

    def revoke_session(self, token: str, session_id: str) -> None:
        """`DELETE /sessions/{id}`."""
        return self._run(c.revoke_session(token, session_id))

    def change_password(self, token: str, current_password: str, new_password: str) -> None:
        """`POST /password` (needs a fresh token); the other sessions are revoked."""
        return self._run(c.change_password(token, current_password, new_password))

    def fresh(self, token: str, password: str) -> m.TokenPair:
        """`POST /fresh`: a fresh access token for the same session."""
        return self._run(c.fresh(token, password))

    def change_login(self, token: str, new_login: str) -> m.Account:
        """`POST /login/change`."""
        return self._run(c.change_login(token, new_login))

    # ----- second factor --------------------------------------------------------------------

    def totp_setup(self, token: str) -> m.TotpSetup:
        """`POST /mfa/totp/setup`: a secret to enrol (not active until confirmed)."""
        return self._run(c.totp_setup(token))

    def totp_confirm(self, token: str, code: str) -> list[str]:
        """`POST /mfa/totp/confirm`: activate TOTP; answers the 10 recovery codes."""
        return self._run(c.totp_confirm(token, code))

    def totp_disable(self, token: str, password: str) -> None:
        """`DELETE /mfa/totp`."""
        return self._run(c.totp_disable(token, password))

    # ----- email ----------------------------------------------------------------------------

    def email_status(self, token: str) -> m.EmailStatus:
        """`GET /email`."""
        return self._run(c.email_status(token))

    def send_verification(self, token: str) -> None:
        """`POST /email/verification`: mail a verification link."""
        return self._run(c.send_verification(token))

    def verify_email(self, mail_token: str) -> None:
        """`POST /email/verify` with the token of the mailed link."""
        return self._run(c.verify_email(mail_token))

    def change_email(self, token: str, new_email: str, password: str) -> None:
        """`POST /email/change`: mail a confirmation link to the new address."""
        return self._run(c.change_email(token, new_email, password))

    def forgot_password(self, email: str, *, captcha: str | None = None) -> None:
        """`POST /password/forgot` (202 whether or not the address exists)."""
        return self._run(c.forgot_password(email, captcha))

    def reset_password(self, mail_token: str, new_password: str) -> None:
        """`POST /password/reset`: every session is revoked."""
        return self._run(c.reset_password(mail_token, new_password))

    # ----- API keys -------------------------------------------------------------------------

    def create_api_key(self, token: str, name: str, *, scopes: list[str] | None = None,
                       expires_in_days: int | None = None) -> m.ApiKey:
        """`POST /api-keys`: `key` of the answer is the secret, shown only this once."""
        return self._run(c.create_api_key(token, name, scopes, expires_in_days))

    def list_api_keys(self, token: str) -> list[m.ApiKey]:
        """`GET /api-keys` (no secrets)."""
        return self._run(c.list_api_keys(token))

    def revoke_api_key(self, token: str, key_id: str) -> None:
        """`DELETE /api-keys/{id}`."""
        return self._run(c.revoke_api_key(token, key_id))

    def renew_api_key(self, token: str, key_id: str, *,
                      expires_in_days: int | None = None) -> m.ApiKey:
        """`POST /api-keys/{id}/renew`."""
        return self._run(c.renew_api_key(token, key_id, expires_in_days))

    def api_key_usage(self, token: str, key_id: str) -> list[m.ApiKeyUse]:
        """`GET /api-keys/{id}/usage`, newest first."""
        return self._run(c.api_key_usage(token, key_id))

    # ----- admin ----------------------------------------------------------------------------

    def admin_list_accounts(self, *, limit: int | None = None, cursor: str | None = None,
                            q: str | None = None, token: str | None = None) -> m.AccountPage:
        """`GET /admin/accounts`."""
        return self._run(c.admin_list_accounts(token, limit, cursor, q))

    def admin_create_account(self, login: str, password: str | None = None, *,
                             password_hash: str | None = None, email: str | None = None,
                             active: bool | None = None, scopes: list[str] | None = None,
                             properties: Json | None = None,
                             token: str | None = None) -> m.Account:
        """`POST /admin/accounts` with a password or an imported `password_hash`."""
        fields = dict(login=login, password=password, password_hash=password_hash, email=email,
                      active=active, scopes=scopes, properties=properties)
        return self._run(c.admin_create_account(token, fields))

    def admin_get_account(self, account_id: str, *, token: str | None = None) -> m.Account:
        """`GET /admin/accounts/{id}`."""
        return self._run(c.admin_get_account(token, account_id))

    def admin_update_account(self, account_id: str, *, token: str | None = None,
                             **changes: Any) -> m.Account:
        """`PATCH /admin/accounts/{id}` with `active`, `scopes`, `properties`, `email`, `login`."""
        return self._run(c.admin_update_account(token, account_id, changes))

    def admin_delete_account(self, account_id: str, *, token: str | None = None) -> None:
        """`DELETE /admin/accounts/{id}`."""
        return self._run(c.admin_delete_account(token, account_id))

    def admin_block(self, account_id: str, reason: str = "", *,
                    token: str | None = None) -> None:
        """`POST /admin/accounts/{id}/block`: all its sessions are revoked."""
        return self._run(c.admin_block(token, account_id, reason))

    def admin_unblock(self, account_id: str, *, token: str | None = None) -> None:
        """`POST /admin/accounts/{id}/unblock` (also clears the lockout)."""
        return self._run(c.admin_unblock(token, account_id))

    def admin_block_status(self, account_id: str, *, token: str | None = None) -> m.BlockStatus:
        """`GET /admin/accounts/{id}/block`."""
        return self._run(c.admin_block_status(token, account_id))

    def admin_disable_mfa(self, account_id: str, *, token: str | None = None) -> None:
        """`DELETE /admin/accounts/{id}/mfa`."""
        return self._run(c.admin_disable_mfa(token, account_id))

    def admin_revoke_sessions(self, account_id: str, *, token: str | None = None) -> None:
        """`DELETE /admin/accounts/{id}/sessions`."""
        return self._run(c.admin_revoke_sessions(token, account_id))

    def admin_audit(self, *, account_id: str | None = None, limit: int | None = None,
                    token: str | None = None) -> list[m.AuditEvent]:
        """`GET /admin/audit`."""
        return self._run(c.admin_audit(token, account_id, limit))

    def admin_create_service_account(self, name: str, *, scopes: list[str] | None = None,
                                     properties: Json | None = None,
                                     token: str | None = None) -> m.Account:
        """`POST /admin/service-accounts`."""
        return self._run(c.admin_create_service_account(token, name, scopes, properties))

    def admin_create_api_key(self, name: str, *, account_id: str | None = None,
                             scopes: list[str] | None = None,
                             expires_in_days: int | None = None,
                             token: str | None = None) -> m.ApiKey:
        """`POST /admin/api-keys` (without `account_id`: for a new service account)."""
        return self._run(c.admin_create_api_key(token, name, account_id, scopes,
                                                expires_in_days))

    def admin_list_api_keys(self, *, account_id: str | None = None,
                            token: str | None = None) -> list[m.ApiKey]:
        """`GET /admin/api-keys`."""
        return self._run(c.list_api_keys(token, admin=True, account_id=account_id))

    def admin_revoke_api_key(self, key_id: str, *, token: str | None = None) -> None:
        """`DELETE /admin/api-keys/{id}`."""
        return self._run(c.revoke_api_key(token, key_id, admin=True))

    def admin_renew_api_key(self, key_id: str, *, expires_in_days: int | None = None,
                            token: str | None = None) -> m.ApiKey:
        """`POST /admin/api-keys/{id}/renew`."""
        return self._run(c.renew_api_key(token, key_id, expires_in_days, admin=True))

    def admin_api_key_usage(self, key_id: str, *, token: str | None = None) -> list[m.ApiKeyUse]:
        """`GET /admin/api-keys/{id}/usage`."""
        return self._run(c.api_key_usage(token, key_id, admin=True))

    # ----- OAuth sign-in providers ----------------------------------------------------------

    def oauth_providers(self) -> list[m.OAuthProvider]:
        """`GET /oauth/providers`."""
        return self._run(c.oauth_providers())

    # ----- organizations --------------------------------------------------------------------

    def create_organization(self, token: str, slug: str, name: str, *,
                            properties: Json | None = None) -> m.Organization:
        """`POST /organizations`: the caller becomes `owner`."""
        return self._run(c.create_organization(token, slug, name, properties))

    def list_organizations(self, token: str) -> list[Json]:
        """`GET /organizations`: `[{organization, role}]` of the caller."""
        return self._run(c.list_organizations(token))

    def get_organization(self, token: str, org_id: str) -> m.Organization:
        """`GET /organizations/{id}`."""
        return self._run(c.get_organization(token, org_id))

    def update_organization(self, token: str, org_id: str, *, name: str | None = None,
                            properties: Json | None = None) -> m.Organization:
        """`PATCH /organizations/{id}`."""
        return self._run(c.update_organization(token, org_id, name, properties))

    def delete_organization(self, token: str, org_id: str) -> None:
        """`DELETE /organizations/{id}`."""
        return self._run(c.delete_organization(token, org_id))

    def organization_members(self, token: str, org_id: str) -> list[m.Membership]:
        """`GET /organizations/{id}/members`."""
        return self._run(c.organization_members(token, org_id))

    def set_member_role(self, token: str, org_id: str, account_id: str,
                        role: str) -> m.Membership:
        """`PATCH /organizations/{id}/members/{account_id}`."""
        return self._run(c.set_member_role(token, org_id, account_id, role))

    def remove_member(self, token: str, org_id: str, account_id: str) -> None:
        """`DELETE /organizations/{id}/members/{account_id}`."""
        return self._run(c.remove_member(token, org_id, account_id))

    def invite(self, token: str, org_id: str, email: str, role: str) -> m.Invitation:
        """`POST /organizations/{id}/invitations`."""
        return self._run(c.invite(token, org_id, email, role))

    def invitations(self, token: str, org_id: str) -> list[m.Invitation]:
        """`GET /organizations/{id}/invitations`."""
        return self._run(c.invitations(token, org_id))

    def revoke_invitation(self, token: str, org_id: str, invitation_id: str) -> None:
        """`DELETE /organizations/{id}/invitations/{iid}`."""
        return self._run(c.revoke_invitation(token, org_id, invitation_id))

    def accept_invitation(self, token: str, invitation_token: str) -> m.Membership:
        """`POST /invitations/accept`."""
        return self._run(c.accept_invitation(token, invitation_token))

    def decline_invitation(self, token: str, invitation_token: str) -> None:
        """`POST /invitations/decline`."""
        return self._run(c.decline_invitation(token, invitation_token))

    def roles(self, token: str, org_id: str) -> list[m.Role]:
        """`GET /organizations/{id}/roles`."""
        return self._run(c.roles(token, org_id))

    def create_role(self, token: str, org_id: str, name: str,
                    permissions: list[str]) -> m.Role:
        """`POST /organizations/{id}/roles`."""
        return self._run(c.create_role(token, org_id, name, permissions))

    def update_role(self, token: str, org_id: str, name: str,
                    permissions: list[str]) -> m.Role:
        """`PATCH /organizations/{id}/roles/{name}`."""
        return self._run(c.update_role(token, org_id, name, permissions))

    def delete_role(self, token: str, org_id: str, name: str) -> None:
        """`DELETE /organizations/{id}/roles/{name}`."""
        return self._run(c.delete_role(token, org_id, name))

    def activate_organization(self, token: str, org_id: str) -> m.TokenPair:
        """`POST /organizations/{id}/activate`: tokens carrying `org`, `org_role`."""
        return self._run(c.activate_organization(token, org_id))

    def admin_list_organizations(self, *, limit: int | None = None, cursor: str | None = None,
                                 token: str | None = None) -> m.OrganizationPage:
        """`GET /admin/organizations`."""
        return self._run(c.admin_list_organizations(token, limit, cursor))

    def admin_get_organization(self, org_id: str, *, token: str | None = None) -> m.Organization:
        """`GET /admin/organizations/{id}`."""
        return self._run(c.admin_get_organization(token, org_id))

    def admin_delete_organization(self, org_id: str, *, token: str | None = None) -> None:
        """`DELETE /admin/organizations/{id}`."""
        return self._run(c.admin_delete_organization(token, org_id))

    def admin_organization_members(self, org_id: str, *,
                                   token: str | None = None) -> list[m.Membership]:
        """`GET /admin/organizations/{id}/members`."""
        return self._run(c.organization_members(token, org_id, admin=True))

    # ----- OpenID Provider clients (admin) --------------------------------------------------

    def admin_create_oauth_client(self, name: str, redirect_uris: list[str], *,
                                  token: str | None = None, **fields: Any) -> m.OAuthClient:
        """`POST /admin/oauth-clients` (`client_secret` of the answer is shown once)."""
        return self._run(c.admin_create_oauth_client(
            token, dict(name=name, redirect_uris=redirect_uris, **fields)))

    def admin_list_oauth_clients(self, *, token: str | None = None) -> list[m.OAuthClient]:
        """`GET /admin/oauth-clients`."""
        return self._run(c.admin_list_oauth_clients(token))

    def admin_get_oauth_client(self, client_id: str, *,
                               token: str | None = None) -> m.OAuthClient:
        """`GET /admin/oauth-clients/{client_id}`."""
        return self._run(c.admin_get_oauth_client(token, client_id))

    def admin_update_oauth_client(self, client_id: str, *, token: str | None = None,
                                  **changes: Any) -> m.OAuthClient:
        """`PATCH /admin/oauth-clients/{client_id}`."""
        return self._run(c.admin_update_oauth_client(token, client_id, changes))

    def admin_delete_oauth_client(self, client_id: str, *, token: str | None = None) -> None:
        """`DELETE /admin/oauth-clients/{client_id}`: revokes its tokens too."""
        return self._run(c.admin_delete_oauth_client(token, client_id))

    def admin_new_oauth_client_secret(self, client_id: str, *, token: str | None = None) -> str:
        """`POST /admin/oauth-clients/{client_id}/secret`: the new secret."""
        return self._run(c.admin_new_oauth_client_secret(token, client_id))

    # ----- service routes -------------------------------------------------------------------

    def jwks(self) -> Json:
        """`GET /.well-known/jwks.json`."""
        return self._run(c.jwks())

    def openid_configuration(self) -> Json:
        """`GET /.well-known/openid-configuration`."""
        return self._run(c.openid_configuration())

    def healthz(self) -> bool:
        """`GET /healthz`: is the process up."""
        return self._run(c.healthz())

    def readyz(self) -> bool:
        """`GET /readyz`: is the store reachable."""
        return self._run(c.readyz())
