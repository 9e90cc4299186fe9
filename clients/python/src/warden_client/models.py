"""Typed results of Warden's routes (see API.md).

Every model is a frozen dataclass built from the JSON answer with `from_json`; fields a newer
server adds are ignored, fields an older server lacks take their documented default.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = [
    "Account",
    "AccountPage",
    "ApiKey",
    "ApiKeyUse",
    "AuditEvent",
    "BlockStatus",
    "EmailStatus",
    "Invitation",
    "MfaRequired",
    "Membership",
    "OAuthClient",
    "OAuthProvider",
    "Organization",
    "OrganizationPage",
    "Registration",
    "Role",
    "Session",
    "TokenPair",
    "TotpSetup",
]

_M = TypeVar("_M")


def _build(cls: type[_M], data: Any) -> _M:
    """Build a flat dataclass from a JSON object, keeping only the fields it declares."""
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object for {cls.__name__}, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class TokenPair:
    """`TokenPair`: an access token (JWT), a rotating refresh token and their lifetimes."""

    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int = 0
    refresh_expires_in: int = 0
    session_id: str = ""

    @classmethod
    def from_json(cls, data: Any) -> TokenPair:
        return _build(cls, data)


@dataclass(frozen=True)
class MfaRequired:
    """A login whose password was right but which still needs a second factor.

    Finish it with `login_mfa(mfa_token, code)`.
    """

    mfa_token: str
    methods: list[str] = field(default_factory=list)
    mfa_required: bool = True

    @classmethod
    def from_json(cls, data: Any) -> MfaRequired:
        return _build(cls, data)


@dataclass(frozen=True)
class Account:
    """`Account`: `kind` is `person`, or `service` for a service account."""

    id: str
    login: str
    email: str | None = None
    email_verified: bool = False
    active: bool = True
    blocked: bool = False
    mfa_enabled: bool = False
    scopes: list[str] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""
    kind: str = "person"

    @classmethod
    def from_json(cls, data: Any) -> Account:
        return _build(cls, data)


@dataclass(frozen=True)
class Registration:
    """Answer of `register`: the new account, and its tokens when the server signs it in
    (`WARDEN_REGISTER_SIGNS_IN=true`)."""

    account: Account
    tokens: TokenPair | None = None

    @classmethod
    def from_json(cls, data: Any) -> Registration:
        tokens = data.get("tokens")
        return cls(Account.from_json(data["account"]),
                   TokenPair.from_json(tokens) if tokens else None)


@dataclass(frozen=True)
class Session:
    """One live session of the account (`current` is the caller's own)."""

    id: str
    created_at: str = ""
    last_seen_at: str = ""
    expires_at: str = ""
    ip: str | None = None
    user_agent: str | None = None
    long: bool = False
    current: bool = False


@dataclass(frozen=True)
class TotpSetup:
    """Answer of `totp_setup`: the secret (base32), its `otpauth://` URI and a QR code (SVG)."""

    secret: str
    otpauth_uri: str
    qr_svg: str = ""


@dataclass(frozen=True)
class EmailStatus:
    """The account's email address and whether it is verified."""

    email: str | None
    verified: bool = False


@dataclass(frozen=True)
class ApiKey:
    """An API key; `key` (the secret, `wdn_...`) is only set in the answer that creates it."""

    id: str
    name: str
    scopes: list[str] = field(default_factory=list)
    created_at: str = ""
    expires_at: str | None = None
    key: str | None = None
    account_id: str | None = None
    expired: bool = False
    revoked_at: str | None = None


@dataclass(frozen=True)
class ApiKeyUse:
    """One recorded use of an API key."""

    at: str
    method: str
    path: str
    ip: str | None = None


@dataclass(frozen=True)
class AccountPage:
    """One page of `admin_list_accounts`; pass `next_cursor` back for the next one."""

    items: list[Account]
    next_cursor: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> AccountPage:
        return cls([Account.from_json(a) for a in data.get("items", [])], data.get("next_cursor"))


@dataclass(frozen=True)
class BlockStatus:
    """Whether an account is blocked, and the admin's reason."""

    blocked: bool
    reason: str | None = None


@dataclass(frozen=True)
class AuditEvent:
    """One audit-trail event."""

    at: str
    event: str
    account_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    detail: Any = None


@dataclass(frozen=True)
class OAuthProvider:
    """An external sign-in provider (`google`, `github`, an OIDC issuer)."""

    name: str
    display_name: str = ""


@dataclass(frozen=True)
class Organization:
    """An organization (tenant)."""

    id: str
    slug: str
    name: str
    properties: dict[str, Any] = field(default_factory=dict)
    created_at: str = ""


@dataclass(frozen=True)
class OrganizationPage:
    """One page of `admin_list_organizations`."""

    items: list[Organization]
    next_cursor: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> OrganizationPage:
        return cls(build_list(Organization, data.get("items", [])), data.get("next_cursor"))


@dataclass(frozen=True)
class Membership:
    """An account's membership of an organization, with its role."""

    organization: str
    account_id: str
    role: str
    login: str = ""
    joined_at: str = ""


@dataclass(frozen=True)
class Role:
    """A role of an organization and its permissions."""

    name: str
    permissions: list[str] = field(default_factory=list)
    builtin: bool = False


@dataclass(frozen=True)
class Invitation:
    """A pending invitation to an organization."""

    id: str
    email: str
    role: str
    expires_at: str = ""


@dataclass(frozen=True)
class OAuthClient:
    """A client application registered with Warden's OpenID Provider."""

    client_id: str
    name: str
    redirect_uris: list[str] = field(default_factory=list)
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    grant_types: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    public: bool = False
    first_party: bool = False
    created_at: str = ""
    client_secret: str | None = None


def build(cls: type[_M], data: Any) -> _M:
    """Build model `cls` from decoded JSON (its `from_json` when it has one)."""
    from_json = getattr(cls, "from_json", None)
    if from_json is not None:
        result: _M = from_json(data)
        return result
    return _build(cls, data)


def build_list(cls: type[_M], data: Any) -> list[_M]:
    """Build a list of model `cls` from a decoded JSON list."""
    if not isinstance(data, list):
        raise ValueError(f"expected a JSON list of {cls.__name__}")
    return [build(cls, d) for d in data]
