"""The SuperOffice HTTP client shared by tap-superoffice and target-superoffice: ticket auth,
tenant discovery, retries and rate limits, error bodies, OData query building, and the flat row
vocabulary both plugins speak."""

from superoffice_client import rows
from superoffice_client.config import connect, connection_schema
from superoffice_client.errors import (
    AnswerLostError,
    ApiError,
    AuthenticationError,
    NotFoundError,
    RecordRefusedError,
    SuperOfficeError,
    UnavailableError,
    VersionConflictError,
)
from superoffice_client.http import SuperOfficeClient

__all__ = [
    "AnswerLostError",
    "ApiError",
    "AuthenticationError",
    "NotFoundError",
    "RecordRefusedError",
    "SuperOfficeClient",
    "SuperOfficeError",
    "UnavailableError",
    "VersionConflictError",
    "connect",
    "connection_schema",
    "rows",
]
