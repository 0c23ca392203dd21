"""The seam between the sync engine and a target: what crmsync needs from a CRM it writes to.

A target implements `Destination` for its CRM (HTTP calls and payload building live there);
crmsync decides *what* to write and calls it. crmsync never does HTTP itself.

All values crossing this seam are flat dicts in the destination's own vocabulary: the same
property names the destination's tap emits and its target accepts. Reference fields hold ids
of the destination system (crmsync translates them before calling `create`/`update`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "BulkCreator",
    "Destination",
    "DestinationError",
    "Ours",
    "RecordRejectedError",
    "StaleVersionError",
    "SystemicError",
]


@dataclass(frozen=True)
class Ours:
    """A record as it is now in the destination system."""

    id: str
    version: str
    values: Mapping[str, Any]
    updated_at: str | None = None
    """When the record last changed (ISO-8601), for the newer-wins rule; None if unknown."""
    deleted: bool = False
    correlation_key: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class DestinationError(Exception):
    """Base of the errors a destination raises.

    DestinationError
    ├── RecordRejectedError   the API refused this one record (4xx): quarantine it, go on
    ├── StaleVersionError     the record changed under us (412/409): re-read, merge again
    ├── AnswerLostError       a create was sent and its answer lost: the next run looks it up
    └── SystemicError         auth failed, or the API is unreachable after retries: stop the run
    """


class RecordRejectedError(DestinationError):
    """The API refused one record; `reason` is the API's own message (kept in quarantine)."""

    def __init__(self, reason: str, *, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class StaleVersionError(DestinationError):
    """The record changed since it was read (optimistic concurrency failed)."""


class AnswerLostError(DestinationError):
    """A create reached the API, or may have, and its answer never came, so it was not sent
    again (the API cannot tell a repeat from a second record). crmsync keeps the create's
    intent and holds the record as `unconfirmed`: the next run looks the record up by the
    correlation key (then by its match keys, read anew) before it creates."""


class SystemicError(DestinationError):
    """A failure no other record would survive either: the target must exit non-zero."""


class Destination(Protocol):
    """A CRM that crmsync writes into. Methods must be thread-safe.

    Optional, used when present:

    - `prime(entity, key, values)` reads the match candidates of a whole batch's normalised
      key values at once, so that this batch's `match` calls need no request (see
      `crmsync.priming`); the Synchronizer calls it for each batch, after reading the
      batch's links, with the values of the records not linked yet.
    - `known_matches(entity, key, value)` answers what `match` would, when it can do so
      without a request (from primed reads, or an index of its own), else None. The
      Synchronizer asks it for the values two records of a batch share: when no unlinked
      record holds the value, those records need not wait for each other.
    - `create_many(entity, items)`: see `BulkCreator`.
    - `look_alikes(entity, values)` answers the records holding `values` as a create of
      them would have left them (compared the destination's way). crmsync asks it for a
      create it resumes (interrupted, or its answer lost) when the correlation key finds
      nothing and the record has no match-key value: a destination that saves the key in a
      second call can leave such a record without one, and nothing else can find it.
    - `moves_parent`, a mapping {child entity: parent entity}, says that writing a child
      moves its parent's version (Customcrm: a quote line moves its quote's `updated_at`).
      After each batch crmsync reads the parents its child writes moved (one `fetch`) and
      moves the receipt of each that still holds its agreed base, so that the other leg
      takes the moved parent for our own write coming back, not for an edit.
    """

    system: str
    """The side's name, as in the `_source_system` of records coming *from* it.

    "customcrm" or "superoffice".
    """

    def fetch(self, entity: str, ids: Sequence[str]) -> dict[str, Ours]:
        """Read current records by id, batched where the API allows. Unknown ids are absent."""
        ...

    def match(self, entity: str, key: str, value: str) -> list[Ours]:
        """Candidates whose match key `key` equals the normalised `value` (e.g. key="email")."""
        ...

    def find_by_correlation(self, entity: str, correlation_key: str) -> Ours | None:
        """The record an earlier, interrupted create made with this correlation key, if any."""
        ...

    def create(self, entity: str, values: Mapping[str, Any], correlation_key: str) -> Ours:
        """Create a record carrying the correlation key; return it as stored."""
        ...

    def update(self, entity: str, ours: Ours, changes: Mapping[str, Any]) -> Ours:
        """Write only `changes` onto `ours` (optimistic concurrency against `ours.version`)."""
        ...

    def delete(self, entity: str, ours: Ours) -> None:
        """Soft-delete the record (the way the destination API deletes)."""
        ...


@runtime_checkable
class BulkCreator(Protocol):
    """A destination whose API creates many records in one request (an initial load's
    creates then cost a request per chunk instead of one per record)."""

    def create_many(
        self, entity: str, items: Sequence[tuple[Mapping[str, Any], str]]
    ) -> Sequence[Ours | RecordRejectedError | AnswerLostError]:
        """Create every `(values, correlation_key)` item; per item, in order, the record as
        stored, the `RecordRejectedError` that item got, or the `AnswerLostError` of an item
        whose create may have happened.

        Each item is idempotent by its correlation key, as in `create`, so the whole call
        may be retried. crmsync commits the items' intents before the call and their links
        after it, one transaction each (see `Recipe.create_many`).
        """
        ...
