"""How a Customcrm response is classified: which failures are one record's, which are the run's.

    CustomcrmError
    ├── CustomcrmRejectedError      other 4xx: this record is refused (quarantine it, go on)
    ├── CustomcrmStaleVersionError  412: the record moved on (re-read, merge again)
    ├── CustomcrmSystemicError      401/403, or retries exhausted: no record can succeed
    └── TransientError              429/5xx: retried by `RetryPolicy`, never escapes it

The three outer kinds mirror crmsync's RecordRejectedError / StaleVersionError / SystemicError;
target-customcrm translates them at its Destination seam, so the tap needs no sync engine.
`error_for` builds the error of a whole response and of one batch item's result alike.
This module never sends a request and never sleeps; it only reads answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any

import requests

__all__ = [
    "CustomcrmError",
    "CustomcrmRejectedError",
    "CustomcrmStaleVersionError",
    "CustomcrmSystemicError",
    "Problem",
    "TransientError",
    "classify",
    "error_for",
    "problem_from",
]

RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
SYSTEMIC_STATUSES = frozenset({401, 403})


@dataclass(frozen=True)
class Problem:
    """An RFC 7807 problem+json body, with the field errors the API adds."""

    status: int
    title: str
    detail: str = ""
    type: str = "about:blank"
    field_errors: Mapping[str, str] = field(default_factory=dict)
    request_id: str | None = None

    def message(self) -> str:
        """One line a person can act on: status, title, detail, then each field's error."""
        text = f"{self.status} {self.title}"
        if self.detail and self.detail != self.title:
            text += f": {self.detail}"
        if self.field_errors:
            text += " (" + "; ".join(f"{k}: {v}" for k, v in self.field_errors.items()) + ")"
        if self.request_id:
            text += f" [request {self.request_id}]"
        return text


class CustomcrmError(Exception):
    """Any classified failure of a Customcrm request."""


class CustomcrmRejectedError(CustomcrmError):
    """The API refused this one record; `reason` is the API's own words, `problem` the details."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message())
        self.problem = problem
        self.reason = problem.message()
        self.status = problem.status


class CustomcrmStaleVersionError(CustomcrmError):
    """`If-Match` failed: the record changed since we read it."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message())
        self.problem = problem


class CustomcrmSystemicError(CustomcrmError):
    """No record can succeed: credentials refused, or the API stayed unreachable."""


class TransientError(CustomcrmError):
    """A failure worth retrying (429, 5xx); `retry_after` is the server's wish in seconds."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def problem_from(
    status: int, body: Any, headers: Mapping[str, str] | None = None, reason: str | None = None
) -> Problem:
    """The problem of a failed answer: a response's, or one batch item's (its status and
    problem body, with the headers of the batch response that carried it)."""
    title = reason or _phrase(status)
    request_id = (headers or {}).get("X-Request-Id")
    if not isinstance(body, dict):
        return Problem(status=status, title=title, detail=str(body)[:500], request_id=request_id)
    return Problem(
        status=status,
        title=str(body.get("title") or title),
        detail=str(body.get("detail") or ""),
        type=str(body.get("type") or "about:blank"),
        field_errors=_field_errors(body.get("errors")),
        request_id=request_id or _optional_str(body.get("request_id")),
    )


def _body(response: requests.Response) -> Any:
    """The parsed JSON body, or the text when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return response.text


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _field_errors(raw: Any) -> dict[str, str]:
    """Field errors as `{"field": "msg"}` or `[{"field"|"pointer"|"name", "message"|"detail"}]`."""
    if isinstance(raw, Mapping):
        return {str(k): _as_text(v) for k, v in raw.items()}
    errors: dict[str, str] = {}
    if isinstance(raw, list):
        for item in raw:
            if isinstance(item, Mapping):
                name = item.get("field") or item.get("name") or item.get("pointer") or "?"
                text = item.get("message") or item.get("detail") or item.get("title") or ""
                errors[str(name).lstrip("/")] = _as_text(text)
    return errors


def _as_text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    raw = headers.get("Retry-After")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def classify(response: requests.Response) -> None:
    """Raise the error this response stands for; return quietly for 1xx to 3xx."""
    if response.status_code < 400:
        return
    raise error_for(response.status_code, _body(response), response.headers, response.reason)


def error_for(
    status: int, body: Any, headers: Mapping[str, str] | None = None, reason: str | None = None
) -> CustomcrmError:
    """The error a failed answer stands for, built in one place so that a batch item's
    problem raises exactly what its own request's response would have."""
    problem = problem_from(status, body, headers, reason)
    if status in RETRIABLE_STATUSES:
        retry_after = retry_after_seconds(headers or {})
        return TransientError(problem.message(), status=status, retry_after=retry_after)
    if status in SYSTEMIC_STATUSES:
        return CustomcrmSystemicError(f"Customcrm refused the credentials: {problem.message()}")
    if status == 412:
        return CustomcrmStaleVersionError(problem)
    if status >= 500:
        return TransientError(problem.message(), status=status)
    return CustomcrmRejectedError(problem)
