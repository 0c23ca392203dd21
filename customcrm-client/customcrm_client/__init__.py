"""The Customcrm HTTP client shared by tap-customcrm and target-customcrm: auth, retries, errors."""

from customcrm_client.auth import TokenAuth
from customcrm_client.client import (
    MAX_BATCH,
    MAX_IDS_PER_READ,
    MAX_PAGE_SIZE,
    CustomcrmClient,
    etag,
)
from customcrm_client.errors import (
    CustomcrmError,
    CustomcrmRejectedError,
    CustomcrmStaleVersionError,
    CustomcrmSystemicError,
    Problem,
    TransientError,
    classify,
    error_for,
)
from customcrm_client.retry import RETRIABLE_EXCEPTIONS, RetryPolicy
from customcrm_client.settings import ClientSettings
from customcrm_client.versions import QUOTE_FIELDS, sync_version

__all__ = [
    "MAX_BATCH",
    "MAX_IDS_PER_READ",
    "MAX_PAGE_SIZE",
    "QUOTE_FIELDS",
    "RETRIABLE_EXCEPTIONS",
    "ClientSettings",
    "CustomcrmClient",
    "CustomcrmError",
    "CustomcrmRejectedError",
    "CustomcrmStaleVersionError",
    "CustomcrmSystemicError",
    "Problem",
    "RetryPolicy",
    "TokenAuth",
    "TransientError",
    "classify",
    "error_for",
    "etag",
    "sync_version",
]
