"""Timestamps that strictly increase per server, so two changes never share an `updated_at`
and version comparisons by timestamp are exact."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

__all__ = ["Clock", "format_timestamp", "parse_timestamp"]

_ONE_MICROSECOND = timedelta(microseconds=1)


def format_timestamp(moment: datetime) -> str:
    """UTC, microseconds, `Z` suffix: the wire format of every date-time (sorts as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO-8601 date-time; a value without offset is taken as UTC.

    Raises:
        ValueError: the text is not an ISO-8601 date-time.
    """
    moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class Clock:
    """Hands out strictly increasing UTC times; thread-safe."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or (lambda: datetime.now(UTC))
        self._last: datetime | None = None
        self._lock = threading.Lock()

    def tick(self) -> str:
        """The next timestamp, later than every one handed out before."""
        with self._lock:
            moment = self._now().astimezone(UTC)
            if self._last is not None and moment <= self._last:
                moment = self._last + _ONE_MICROSECOND
            self._last = moment
            return format_timestamp(moment)

    def observe(self, timestamp: str) -> None:
        """Never hand out a time at or before `timestamp` (e.g. the newest stored change)."""
        moment = parse_timestamp(timestamp)
        with self._lock:
            if self._last is None or moment > self._last:
                self._last = moment
