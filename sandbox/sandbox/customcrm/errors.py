"""One class per problem type of the Customcrm contract (RFC 7807 problem+json).

ProblemError
├── MalformedRequestError      400 malformed-request       body is not JSON
├── InvalidParameterError      400 invalid-parameter       bad query parameter
├── UnauthorizedError          401 unauthorized            missing or wrong token
├── NotFoundError              404 not-found               no such record or path
├── MethodNotAllowedError      405 method-not-allowed
├── RecordDeletedError         409 record-deleted          deleted records do not change
├── PreconditionFailedError    412 precondition-failed     If-Match is stale
├── PayloadTooLargeError       413 payload-too-large
├── UnsupportedMediaTypeError  415 unsupported-media-type
├── ValidationFailedError      422 validation-failed       with `errors` per field
├── UnknownReferenceError      422 unknown-reference       with `errors` per field
├── IdempotencyKeyReusedError  422 idempotency-key-reused  same key, other body
├── RateLimitedError           429 rate-limited            with Retry-After
└── ServerError                5xx server-error
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from werkzeug.wrappers import Response

__all__ = [
    "FieldError",
    "IdempotencyKeyReusedError",
    "InvalidParameterError",
    "MalformedRequestError",
    "MethodNotAllowedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PreconditionFailedError",
    "ProblemError",
    "RateLimitedError",
    "RecordDeletedError",
    "ServerError",
    "UnauthorizedError",
    "UnknownReferenceError",
    "UnsupportedMediaTypeError",
    "ValidationFailedError",
    "problem_for_status",
]

PROBLEM_BASE = "https://customcrm.example/problems/"


@dataclass(frozen=True)
class FieldError:
    """One offending field: `field` is a dotted path (`external_ids.crmsync`)."""

    field: str
    message: str


class ProblemError(Exception):
    """A problem the API answers with; `response()` renders it."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "server-error"
    title: ClassVar[str] = "Server error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = tuple(errors)
        self.headers = dict(headers or {})

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        return body

    def response(self) -> Response:
        return Response(
            json.dumps(self.body()),
            status=self.status,
            headers=self.headers,
            mimetype="application/problem+json",
        )


class MalformedRequestError(ProblemError):
    status, slug, title = 400, "malformed-request", "Malformed request"


class InvalidParameterError(ProblemError):
    status, slug, title = 400, "invalid-parameter", "Invalid parameter"


class UnauthorizedError(ProblemError):
    status, slug, title = 401, "unauthorized", "Unauthorized"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="customcrm"'})


class NotFoundError(ProblemError):
    status, slug, title = 404, "not-found", "Not found"


class MethodNotAllowedError(ProblemError):
    status, slug, title = 405, "method-not-allowed", "Method not allowed"


class RecordDeletedError(ProblemError):
    status, slug, title = 409, "record-deleted", "Record is deleted"


class PreconditionFailedError(ProblemError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLargeError(ProblemError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaTypeError(ProblemError):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"


class ValidationFailedError(ProblemError):
    status, slug, title = 422, "validation-failed", "Validation failed"


class UnknownReferenceError(ProblemError):
    status, slug, title = 422, "unknown-reference", "Unknown reference"


class IdempotencyKeyReusedError(ProblemError):
    status, slug, title = 422, "idempotency-key-reused", "Idempotency key reused"


class RateLimitedError(ProblemError):
    status, slug, title = 429, "rate-limited", "Too many requests"


class ServerError(ProblemError):
    """A 5xx; the status is set per instance (500, 502, 503)."""

    def __init__(self, detail: str, *, status: int = 500) -> None:
        super().__init__(detail)
        self.status = status  # type: ignore[misc]


_BY_STATUS: dict[int, type[ProblemError]] = {
    400: MalformedRequestError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    429: RateLimitedError,
}


def problem_for_status(status: int, detail: str, headers: Mapping[str, str]) -> ProblemError:
    """The problem the common wrapper asks for (injected faults, unknown paths)."""
    if status >= 500:
        return ServerError(detail, status=status)
    problem = _BY_STATUS.get(status, MalformedRequestError)(detail)
    problem.headers.update(headers)
    return problem
