"""warden-client: talk to a Warden auth server from Python.

- `WardenClient` / `AsyncWardenClient`: every route of Warden's HTTP contract, typed.
- `Verifier`: offline verification of Warden access tokens with its JWKS.
- `warden_client.fastapi.Warden`: FastAPI dependencies (needs the `fastapi` extra).
- `WardenError`: every problem+json answer, with `status`, `code`, `detail`, `errors`,
  `retry_after`.
"""

from .aio import AsyncWardenClient
from .client import WardenClient
from .errors import FieldError, WardenError
from .models import (
    Account,
    AccountPage,
    ApiKey,
    ApiKeyUse,
    AuditEvent,
    BlockStatus,
    EmailStatus,
    Invitation,
    Membership,
    MfaRequired,
    OAuthClient,
    OAuthProvider,
    Organization,
    OrganizationPage,
    Registration,
    Role,
    Session,
    TokenPair,
    TotpSetup,
)
from .verify import Claims, Verifier

__version__ = "0.1.0"

__all__ = [
    "Account",
    "AccountPage",
    "ApiKey",
    "ApiKeyUse",
    "AsyncWardenClient",
    "AuditEvent",
    "BlockStatus",
    "Claims",
    "EmailStatus",
    "FieldError",
    "Invitation",
    "Membership",
    "MfaRequired",
    "OAuthClient",
    "OAuthProvider",
    "Organization",
    "OrganizationPage",
    "Registration",
    "Role",
    "Session",
    "TokenPair",
    "TotpSetup",
    "Verifier",
    "WardenClient",
    "WardenError",
]
