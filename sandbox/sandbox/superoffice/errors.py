"""SuperOffice error bodies: one class per vendor error, each carrying the exact JSON body.

The documented body is `{"Error": true, "ErrorType": ..., "ErrorMessage": ..., "ErrorSource": ...}`
(docs/api/webapi/rest/index.md, section Errors). Routes turn any `SoError` into that body.

SoError
├── NotFoundError            404 SoNotFoundException
├── BadRequestError          400 ArgumentException (missing or malformed body)
│   ├── FieldLengthError     400 a documented field length exceeded
│   └── FilterSyntaxError    400 an OData $filter/$select/$orderby the parser refused
├── UnauthorizedError        401 missing, unknown or expired credentials
├── MethodNotAllowedError    405 e.g. PATCH on Product
├── PatchTestFailedError     409 a JSON Patch `test` operation failed
├── PreconditionFailedError  412 changed since If-Unmodified-Since
├── MisdirectedRequestError  421 tenant called on the wrong host or prefix
└── TenantUnavailableError   503 the tenant is not Running (maintenance, suspended, ...)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BadRequestError",
    "FieldLengthError",
    "FilterSyntaxError",
    "MethodNotAllowedError",
    "MisdirectedRequestError",
    "NotFoundError",
    "PatchTestFailedError",
    "PreconditionFailedError",
    "SoError",
    "TenantUnavailableError",
    "UnauthorizedError",
]

SERVICES_SOURCE = "SuperOffice.Services.Implementation"


class SoError(Exception):
    """An error the emulated API answers with a SuperOffice error body."""

    status = 500
    error_type = "Exception"
    source = SERVICES_SOURCE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        """The JSON body, in the documented shape."""
        return {
            "Error": True,
            "ErrorType": self.error_type,
            "ErrorMessage": self.message,
            "ErrorSource": self.source,
        }

    def headers(self) -> dict[str, str]:
        """Extra response headers this error needs."""
        return {}


class NotFoundError(SoError):
    status = 404
    error_type = "SoNotFoundException"


class BadRequestError(SoError):
    status = 400
    error_type = "ArgumentException"
    source = "SuperOffice.WebApi"


class FieldLengthError(BadRequestError):
    """Chosen shape: the real service's answer to an over-long string is not documented."""

    error_type = "FieldLengthException"

    def __init__(self, field: str, length: int, limit: int) -> None:
        super().__init__(f"{field} is {length} characters long; at most {limit} are allowed")
        self.field = field


class FilterSyntaxError(BadRequestError):
    """A query option the archive parser refused; the message names the offending position."""

    error_type = "ArchiveQueryException"
    source = "SuperOffice.WebApi.OData"


class UnauthorizedError(SoError):
    status = 401
    error_type = "SoAuthenticationException"
    source = "SuperOffice.WebApi.Authentication"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'SOTicket realm="SuperOffice", Bearer'}


class MethodNotAllowedError(SoError):
    """ASP.NET Web API answers an unrouted verb with 405 and an `Allow` header."""

    status = 405
    error_type = "HttpMethodNotAllowed"
    source = "SuperOffice.WebApi"

    def __init__(self, method: str, allowed: list[str]) -> None:
        super().__init__(f"The requested resource does not support http method '{method}'.")
        self.allowed = allowed

    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allowed)}


class PatchTestFailedError(SoError):
    status = 409
    error_type = "PatchTestFailedException"
    source = "SuperOffice.WebApi"


class PreconditionFailedError(SoError):
    status = 412
    error_type = "PreconditionFailedException"
    source = "SuperOffice.WebApi"


class MisdirectedRequestError(SoError):
    """Since 2023-11-17 a wrong public endpoint answers 421 (tenant-status docs, issue #1060)."""

    status = 421
    error_type = "MisdirectedRequest"
    source = "SuperOffice.Online.Routing"

    def __init__(self) -> None:
        super().__init__("Wrong subdomain used to access tenant")


class TenantUnavailableError(SoError):
    """Chosen shape: the docs list tenant states but not what the API answers meanwhile."""

    status = 503
    error_type = "TenantUnavailable"
    source = "SuperOffice.Online.Routing"

    def __init__(self, context: str, state: str) -> None:
        super().__init__(f"Tenant {context} is not running (state {state})")

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "60"}
