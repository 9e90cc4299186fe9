"""What the sync and the async client share: URLs, headers and reading an answer."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx

from ._calls import ROOT, Call, auth_headers
from .errors import WardenError

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0


class ClientBase:
    """Configuration of a Warden client; see `WardenClient`."""

    def __init__(self, base_url: str, *, timeout: float = DEFAULT_TIMEOUT,
                 admin_secret: str | None = None, prefix: str = "/auth",
                 headers: dict[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.timeout = timeout
        self._admin_secret = admin_secret
        self._headers = {"Accept": "application/json", **(headers or {})}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    def _url(self, call: Call[Any]) -> str:
        if call.path.startswith(ROOT):
            return self.base_url + call.path[len(ROOT):]
        return self.base_url + self.prefix + call.path

    def _request_args(self, call: Call[Any]) -> dict[str, Any]:
        headers = dict(self._headers)
        headers.update(auth_headers(call.token))
        if call.admin and call.token is None:
            if self._admin_secret is None:
                raise WardenError(401, "unauthenticated",
                                  "admin route: pass token= (scope admin) or give the client "
                                  "admin_secret=")
            headers["X-Admin-Secret"] = self._admin_secret
        args: dict[str, Any] = {"headers": headers}
        if call.json is not None:
            args["json"] = call.json
        if call.params:
            args["params"] = call.params
        return args

    @staticmethod
    def _answer(call: Call[T], response: httpx.Response) -> T:
        if call.check and not response.is_success:
            raise WardenError.from_response(response)
        return call.parse(response)


def unreachable(exc: httpx.HTTPError) -> WardenError:
    """The error for a Warden that cannot be reached (503, like Warden's own)."""
    return WardenError(503, "service_unavailable", f"Warden is unreachable: {type(exc).__name__}",
                       retry_after=1)
