"""Deletes: held until the end of a run, then applied by policy unless the breaker trips.

Decides whether the circuit breaker trips; never infers a delete from a missing record.
"""

from __future__ import annotations

from crmsync.destination import SystemicError

__all__ = ["DeleteCircuitBreakerError", "breaker_trips"]


class DeleteCircuitBreakerError(SystemicError):
    """A run would delete more than the allowed share of an entity's links; nothing was deleted.

    Raised by `Synchronizer.finish()` after the report is stored, so the target exits
    non-zero and Meltano keeps the old bookmark.
    """


def breaker_trips(held: int, linked: int, max_share: float, min_deletes: int) -> bool:
    """True when `held` deletes are too many for an entity with `linked` links."""
    if held < max(min_deletes, 1):
        return False
    return held > max_share * linked
