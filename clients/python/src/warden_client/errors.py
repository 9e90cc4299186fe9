"""Warden's RFC 9457 problem+json errors as one Python exception."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["FieldError", "WardenError"]


@dataclass(frozen=True)
class FieldError:
    """One broken field rule of a 422 `validation_failed` answer."""

    field: str
    message: str


@dataclass(eq=False)
class WardenError(Exception):
    """An error answer of Warden (or of the dependencies in `warden_client.fastapi`).

    `code` is Warden's stable machine-readable code (`invalid_credentials`,
    `token_expired`, `forbidden`, ...); `errors` is only filled for 422
    `validation_failed`; `retry_after` (seconds) for 429 and 503.

    >>> e = WardenError(401, "invalid_token", "the token is not valid")
    >>> (e.status, e.code, str(e))
    (401, 'invalid_token', '401 invalid_token: the token is not valid')
    """

    status: int
    code: str
    detail: str = ""
    errors: list[FieldError] = field(default_factory=list)
    retry_after: int | None = None
    title: str = ""

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.detail}"

    def problem(self) -> dict[str, Any]:
        """The RFC 9457 body Warden answers for this error."""
        body: dict[str, Any] = {
            "type": "about:blank",
            "title": self.title or _TITLES.get(self.status, "Error"),
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        return body

    def headers(self) -> dict[str, str]:
        """The headers Warden sends with this error (`WWW-Authenticate`, `Retry-After`)."""
        h = {"Cache-Control": "no-store"}
        if self.status == 401:
            h["WWW-Authenticate"] = "Bearer"
        if self.retry_after is not None:
            h["Retry-After"] = str(self.retry_after)
        return h

    @classmethod
    def from_response(cls, response: httpx.Response) -> WardenError:
        """Build the error from an error answer (problem+json or not)."""
        retry_after = _retry_after(response.headers.get("retry-after"))
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "code" not in body:
            text = response.text[:200] if response.content else response.reason_phrase
            return cls(response.status_code, _fallback_code(response.status_code), text,
                       retry_after=retry_after)
        raw_errors = body.get("errors") or []
        errors = [
            FieldError(str(e.get("field", "")), str(e.get("message", "")))
            for e in raw_errors
            if isinstance(e, dict)
        ]
        return cls(
            status=int(body.get("status", response.status_code)),
            code=str(body["code"]),
            detail=str(body.get("detail", "")),
            errors=errors,
            retry_after=retry_after,
            title=str(body.get("title", "")),
        )


def _retry_after(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _fallback_code(status: int) -> str:
    return {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
            413: "payload_too_large", 429: "too_many_attempts",
            503: "service_unavailable"}.get(status, "internal_error" if status >= 500 else "http_error")


_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Payload Too Large",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
