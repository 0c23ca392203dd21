"""When to try a request again, and how long to wait first. Shared by the tap and the target.

Retried: 429 and 5xx (`TransientError`), connection errors, dropped connections and timeouts.
The wait is the server's `Retry-After` when it sends one (429/503), else exponential backoff
with full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter"), capped. When the
tries run out the failure is systemic: no other record would fare better.

This module never classifies a response itself (see errors.py) and holds no state between calls.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import requests

from customcrm_client.errors import CustomcrmSystemicError, TransientError

__all__ = ["RETRIABLE_EXCEPTIONS", "RetryPolicy"]

T = TypeVar("T")

RETRIABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (
    TransientError,
    ConnectionResetError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """`max_retries` extra tries after the first, waits of `base * 2**n` seconds (jittered)."""

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    """Cap on a server's `Retry-After`, so a bad header cannot park the run for hours."""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    jitter: Callable[[float], float] = field(
        default=lambda ceiling: random.uniform(0.0, ceiling), repr=False, compare=False
    )

    def wait_seconds(self, retry: int, error: BaseException) -> float:
        """How long to wait before retry number `retry` (0-based) after `error`."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return float(min(retry_after, self.retry_after_max))
        return self.jitter(min(self.backoff_max, self.backoff_base * 2**retry))

    def call(self, attempt: Callable[[], T], *, what: str = "request") -> T:
        """Run `attempt` until it succeeds, raises a non-retriable error, or tries run out."""
        for retry in range(self.max_retries + 1):
            try:
                return attempt()
            except requests.exceptions.SSLError as error:
                # A certificate the client refuses does not get better by retrying.
                message = f"Customcrm {what}: TLS verification failed"
                raise CustomcrmSystemicError(message) from error
            except RETRIABLE_EXCEPTIONS as error:
                if retry >= self.max_retries:
                    raise CustomcrmSystemicError(
                        f"Customcrm {what} failed after {retry + 1} tries: {_describe(error)}"
                    ) from error
                wait = self.wait_seconds(retry, error)
                logger.warning(
                    "Customcrm %s failed (%s); retry %d/%d in %.2fs",
                    what,
                    _describe(error),
                    retry + 1,
                    self.max_retries,
                    wait,
                )
                self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover


def _describe(error: BaseException) -> str:
    """A short cause without URLs' query strings (they may carry filters with personal data)."""
    if isinstance(error, TransientError):
        return str(error)
    return type(error).__name__
