"""Identity on first contact: which existing destination record, if any, an incoming one is.

Pure decisions over candidates the destination returned; never guesses between two,
and never picks a record that is already linked to another one.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from typing import TypeVar

from crmsync.destination import Ours
from crmsync.normalise import normalise_key
from crmsync.records import EntitySpec, Incoming, MatchKey

__all__ = [
    "Ambiguous",
    "choose_candidate",
    "choose_look_alike",
    "lacks_match_values",
    "same_match_keys",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Ambiguous:
    """Two or more unlinked candidates share the match key: an operator must decide."""

    key: str
    value: str
    candidate_ids: tuple[str, ...]
    described: str = ""
    """What the candidates share, when it is not one key's value."""

    @property
    def reason(self) -> str:
        """The quarantine reason."""
        shared = self.described or f"with {self.key} = {self.value!r}"
        return f"{len(self.candidate_ids)} candidates {shared}: {', '.join(self.candidate_ids)}"


def choose_candidate(
    key: MatchKey,
    value: str,
    candidates: Sequence[Ours],
    is_linked: Callable[[str], bool],
) -> Ours | Ambiguous | None:
    """The one unlinked candidate whose key equals `value`, Ambiguous for two or more, else None.

    Candidates are re-checked with our own normaliser, so a loose destination search
    cannot make a wrong match; a candidate without the key field is trusted to the search.
    """
    fitting = [
        candidate
        for candidate in candidates
        if key.field not in candidate.values
        or normalise_key(key.normaliser, candidate.values[key.field]) == value
    ]
    unique = {candidate.id: candidate for candidate in fitting}
    free = [candidate for candidate_id, candidate in unique.items() if not is_linked(candidate_id)]
    if len(free) > 1:
        return Ambiguous(key.field, value, tuple(sorted(candidate.id for candidate in free)))
    return free[0] if free else None


def lacks_match_values(spec: EntitySpec, record: Incoming) -> bool:
    """True when no match key of `spec` has a value in `record` (a person without e-mail, any
    quote line): nothing but its correlation key tells which destination record it is."""
    return all(
        normalise_key(key.normaliser, record.values.get(key.field)) is None
        for key in spec.match_keys
    )


def choose_look_alike(
    candidates: Sequence[Ours], is_linked: Callable[[str], bool]
) -> Ours | Ambiguous | None:
    """The one unlinked record holding a create's values (the destination compared them),
    Ambiguous for two or more, else None."""
    free = sorted({c.id for c in candidates if not is_linked(c.id)})
    if len(free) > 1:
        return Ambiguous("", "", tuple(free), "holding the values of this record's create")
    return next((c for c in candidates if c.id in free), None)


def same_match_keys(
    spec: EntitySpec,
    items: Sequence[T],
    record_of: Callable[[T], Incoming],
    untaken: Container[tuple[str, str]] = frozenset(),
) -> list[list[T]]:
    """Split a batch into groups that may run in parallel.

    Records sharing any normalised match-key value stay in one group, in batch order, so
    two of them can never both take the same candidate: the first links it, the second
    then sees it linked. A value in `untaken` (key field, value) is known to be held by no
    unlinked destination record: sharing it joins no one, since neither record can take
    a candidate by it (each is created, and a created record is linked).
    """
    owner: dict[tuple[str, str], int] = {}
    parent = list(range(len(items)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for index, item in enumerate(items):
        record = record_of(item)
        for key in spec.match_keys:
            value = normalise_key(key.normaliser, record.values.get(key.field))
            if value is not None and (key.field, value) not in untaken:
                parent[root(index)] = root(owner.setdefault((key.field, value), index))
    groups: dict[int, list[T]] = {}
    for index, item in enumerate(items):
        groups.setdefault(root(index), []).append(item)
    return list(groups.values())
