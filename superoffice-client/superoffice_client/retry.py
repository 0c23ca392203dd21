"""How long to wait before sending a request (again): retry delays and the rate limit.

`RetryPolicy` decides the delay after a retriable answer: SuperOffice's `Retry-After` when the
response carries one (seconds or an HTTP date), otherwise exponential backoff with full jitter.
`RateLimiter` keeps a whole process under a requests-per-second budget and a concurrency cap,
shared safely by every thread. Neither sends requests; http.py does.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests

__all__ = ["RateLimiter", "RetryPolicy", "retry_after_seconds"]


def retry_after_seconds(
    response: requests.Response | None, *, now: datetime | None = None
) -> float | None:
    """The wait the server asked for in `Retry-After` (delta-seconds or HTTP-date), if any."""
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of 429/5xx answers and dropped connections.

    Attributes:
        max_retries: retries after the first attempt; 0 disables retrying.
        backoff_base: seconds of the first backoff step (doubles per attempt).
        backoff_max: longest single wait, also the cap on a server's `Retry-After`.
    """

    max_retries: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 60.0
    jitter: Callable[[float], float] = field(default=lambda ceiling: random.uniform(0, ceiling))

    def delay(self, attempt: int, response: requests.Response | None = None) -> float:
        """Seconds to wait before retry number `attempt` (1-based)."""
        asked = retry_after_seconds(response)
        if asked is not None:
            return min(asked, self.backoff_max)
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** (attempt - 1)))
        return self.jitter(ceiling)


class RateLimiter:
    """A thread-safe token bucket (requests per second) plus a cap on requests in flight."""

    def __init__(
        self,
        requests_per_second: float | None = None,
        max_concurrency: int = 4,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests_per_second is not None and requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive (or None for no limit)")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._rate = requests_per_second
        self._in_flight = threading.BoundedSemaphore(max_concurrency)
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self._next_free = clock()

    def _wait_for_token(self) -> None:
        """Reserve the next send slot under the rate, then sleep until it comes."""
        if self._rate is None:
            return
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_free)
            self._next_free = slot + 1.0 / self._rate
        if slot > now:
            self._sleep(slot - now)

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the concurrent slots, after waiting for the rate budget."""
        with self._in_flight:
            self._wait_for_token()
            yield
