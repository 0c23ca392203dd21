"""Match answers read ahead: a batch's match-key candidates, fetched together, answered once.

crmsync asks `Destination.match` one record at a time. A destination that can filter on many
values in one request reads the candidates of a whole batch at once (`Destination.prime`,
called by the Synchronizer before the batch) and keeps them here; each `match` of that batch
is then answered without a request. Candidates are grouped by their own normalised key, so a
loose search cannot put a record under the wrong value, and crmsync still chooses among them
(a linked candidate is never taken).

An answer holds for the whole batch. A record this run updates drops the answers for the
key values it wrote (they are read anew). A record this run creates leaves them as they are:
it is linked before any record sharing one of its key values is matched (the Synchronizer
puts those in a later round), and crmsync never takes a linked candidate, so a read would
answer the same. When the answer for a shared value holds no unlinked record, the records
sharing it do not ask by it at all and go side by side (`Synchronizer._untaken`): a second
"Andersson AB" of the batch is created without a request or a round of its own. Keeping the
created records out also keeps them out of memory: a SuperOffice entity is kilobytes, and a
batch creates thousands. Writes by others during the batch are not seen, as
they would not be between one record's read and its create either.
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

    An answer holds until the next batch primes the key or an update of this run gives a
    record its value (see the module's docstring).
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

    def forget(self, entity: str, record: Mapping[str, Any]) -> None:
        """An update gave `record` its key values: drop the answers it makes stale."""
        with self._lock:
            for (primed_entity, key), normaliser in self.normalisers.items():
                if primed_entity == entity:
                    value = normalise_key(normaliser, record.get(key))
                    if value is not None:
                        self._answers.pop((entity, key, value), None)
