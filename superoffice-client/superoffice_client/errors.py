"""What a SuperOffice response means, and the errors the client raises for it.

`classify(response)` decides, from the status code alone, what the caller should do next;
`api_error(response)` turns a refused response into an exception that carries SuperOffice's own
error body (`{Error, ErrorType, ErrorMessage, ErrorSource}`, superoffice-api.md §3). This module
never retries and never does I/O: retry.py and http.py act on its verdicts.

SuperOfficeError
├── ApiError                 SuperOffice refused (carries status, ErrorType, ErrorMessage)
│   ├── RecordRefusedError   4xx about this one request (400, 404, 422, ...)
│   │   └── NotFoundError    404
│   ├── VersionConflictError 409 (a JSON-Patch `test` failed) / 412 (If-Unmodified-Since)
│   └── AuthenticationError  401/403 that a fresh credential did not cure
└── UnavailableError         no usable answer after every retry (429/5xx/connection), or 421 twice
"""

from __future__ import annotations

import enum
from typing import Any
from urllib.parse import urlparse

import requests

__all__ = [
    "AnswerLostError",
    "ApiError",
    "AuthenticationError",
    "NotFoundError",
    "RecordRefusedError",
    "SuperOfficeError",
    "UnavailableError",
    "Verdict",
    "VersionConflictError",
    "api_error",
    "classify",
]


class Verdict(enum.Enum):
    """What to do with a response."""

    OK = "ok"
    RETRY = "retry"  # 429, 5xx: wait (Retry-After or backoff) and send again
    REAUTH = "reauth"  # 401: get a fresh credential once, then send again
    REDISCOVER = "rediscover"  # 421: the tenant moved; look its endpoint up again
    STALE = "stale"  # 409/412: the record changed under us
    NOT_FOUND = "not_found"
    REFUSED = "refused"  # any other 4xx: this request is wrong, retrying will not help
    FORBIDDEN = "forbidden"  # 403: the credential works but may not do this


_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def classify(response: requests.Response) -> Verdict:
    """Decide what a response means for the caller, from its status code."""
    status = response.status_code
    if status < 400:
        return Verdict.OK
    if status in _RETRY_STATUSES:
        return Verdict.RETRY
    special = {
        401: Verdict.REAUTH,
        403: Verdict.FORBIDDEN,
        404: Verdict.NOT_FOUND,
        409: Verdict.STALE,
        412: Verdict.STALE,
        421: Verdict.REDISCOVER,
    }
    if status in special:
        return special[status]
    return Verdict.RETRY if status >= 500 else Verdict.REFUSED


class SuperOfficeError(Exception):
    """Base of every error this client raises."""


class ApiError(SuperOfficeError):
    """SuperOffice answered and refused the request."""

    def __init__(
        self, status: int, error_type: str, message: str, *, method: str = "", path: str = ""
    ) -> None:
        self.status = status
        self.error_type = error_type
        self.message = message
        self.method = method
        self.path = path
        where = f" ({method} {path})" if method else ""
        super().__init__(f"{status} {error_type}: {message}{where}")


class RecordRefusedError(ApiError):
    """SuperOffice refused this one request (validation, unknown reference, ...)."""


class NotFoundError(RecordRefusedError):
    """The record does not exist (or is not visible to this user)."""


class VersionConflictError(ApiError):
    """The record changed since we read it (409 failed `test`, 412 If-Unmodified-Since)."""


class AuthenticationError(ApiError):
    """The credential is refused even after renewing it."""


class UnavailableError(SuperOfficeError):
    """No usable answer after every retry; the whole run should stop."""


class AnswerLostError(SuperOfficeError):
    """A request that is not safe to send twice (a create) reached the server, or may have,
    and its answer never came (read timeout, dropped connection, a gateway's 502/504): it may
    have been carried out. It is not sent again; the caller finds out whether it happened."""


def _error_body(response: requests.Response) -> tuple[str, str]:
    """The (ErrorType, ErrorMessage) of SuperOffice's documented error body, or a fallback."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("ErrorMessage") or body.get("ErrorType")):
        return str(body.get("ErrorType") or "Error"), str(body.get("ErrorMessage") or "")
    text = (response.text or "").strip()[:500]
    return f"HTTP{response.status_code}", text or (response.reason or "")


def api_error(response: requests.Response) -> ApiError:
    """The exception for a refused response, with SuperOffice's ErrorType and ErrorMessage."""
    error_type, message = _error_body(response)
    request = response.request
    method = request.method or "" if request is not None else ""
    path = urlparse(request.url or "").path if request is not None else ""
    verdict = classify(response)
    cls: type[ApiError]
    if verdict is Verdict.NOT_FOUND:
        cls = NotFoundError
    elif verdict is Verdict.STALE:
        cls = VersionConflictError
    elif verdict in (Verdict.REAUTH, Verdict.FORBIDDEN):
        cls = AuthenticationError
    else:
        cls = RecordRefusedError
    return cls(response.status_code, error_type, message, method=method, path=path)
