"""How requests prove who they are: a static API token in a header (Bearer by default).

The token never appears in `repr`, logs or error messages.
"""

from __future__ import annotations

import requests
from requests.auth import AuthBase

__all__ = ["TokenAuth"]


class TokenAuth(AuthBase):
    """Adds `<header>: <scheme> <token>`; an empty scheme sends the bare token (API-key style)."""

    def __init__(
        self, token: str, *, header: str = "Authorization", scheme: str = "Bearer"
    ) -> None:
        if not token:
            raise ValueError("Customcrm api_token is empty")
        self._value = f"{scheme} {token}" if scheme else token
        self._header = header

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[self._header] = self._value
        return request

    def __repr__(self) -> str:
        return f"TokenAuth(header={self._header!r}, token=<redacted>)"
