"""Match answers read ahead: a batch's match-key candidates, fetched together, answered once.

crmsync asks `Destination.match` one record at a time. A destination that can filter on many
values in one request reads the candidates of a whole batch at once (`Destination.prime`,
called by the Synchronizer before the batch) and keeps them here; each `match` of that batch
is then answered without a request. Candidates are grouped by their own normalised key, so a
loose search cannot put a record under the wrong value, and crmsync still chooses among them
(a linked candidate is never taken).

The answers stay true for the batch because this run's own writes keep them so: a record it
creates joins the answers for its key values (a second "Andersson AB" of the batch then sees
the first one, as a read would, without a request of its own), and an update drops the
answers for the values it wrote. Writes by others during the batch are not seen, as they
would not be between one record's read and its create either.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from crmsync.destination import Ours
from crmsync.normalise import normalise_key

__all__ = ["PrimedMatches"]


class PrimedMatches:
    """Candidates per (entity, key, normalised value), for the current batch; thread-safe.

    An answer holds until the next batch primes the key; this run's creates join it and its
    updates drop it (see the module's docstring).
    """

    def __init__(self, normalisers: Mapping[tuple[str, str], str]) -> None:
        self.normalisers = dict(normalisers)
        """(entity, key) → crmsync normaliser, for every key this destination can prime."""
        self._answers: dict[tuple[str, str, str], list[Ours]] = {}
        self._lock = threading.Lock()

    def can_prime(self, entity: str, key: str) -> bool:
        """True when this destination reads `key` of `entity` for a batch."""
        return (entity, key) in self.normalisers

    def keep(
        self, entity: str, key: str, values: Sequence[str], candidates: Iterable[Ours]
    ) -> None:
        """Store the candidates read for `values` (each value answered, found or not)."""
        normaliser = self.normalisers[(entity, key)]
        answers: dict[tuple[str, str, str], list[Ours]] = {
            (entity, key, value): [] for value in values
        }
        for candidate in candidates:
            found = normalise_key(normaliser, candidate.values.get(key))
            if found is not None and (entity, key, found) in answers:
                answers[(entity, key, found)].append(candidate)
        with self._lock:
            self._answers = {
                k: v for k, v in self._answers.items() if (k[0], k[1]) != (entity, key)
            }
            self._answers.update(answers)

    def answer(self, entity: str, key: str, value: str) -> list[Ours] | None:
        """The primed candidates for this value, or None when it was not primed."""
        with self._lock:
            found = self._answers.get((entity, key, value))
            return None if found is None else list(found)

    def created(self, entity: str, ours: Ours) -> None:
        """This run created `ours`: it joins the answers for its key values."""
        with self._lock:
            for answer in self._answered(entity, ours.values):
                self._answers[answer].append(ours)

    def forget(self, entity: str, record: Mapping[str, Any]) -> None:
        """An update gave `record` its key values: drop the answers it makes stale."""
        with self._lock:
            for answer in self._answered(entity, record):
                del self._answers[answer]

    def _answered(self, entity: str, record: Mapping[str, Any]) -> list[tuple[str, str, str]]:
        """The primed answers for `record`'s key values (under the lock)."""
        found = []
        for (primed_entity, key), normaliser in self.normalisers.items():
            value = normalise_key(normaliser, record.get(key))
            if (
                primed_entity == entity
                and value is not None
                and (entity, key, value) in self._answers
            ):
                found.append((entity, key, value))
        return found
