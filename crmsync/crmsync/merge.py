"""Field-level three-way merge: which value each field gets when a record arrives.

base is the last agreed value (destination vocabulary), theirs the incoming one, ours the
destination's current one. merge.py never does I/O and never reads a clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from crmsync.receipts import parse_timestamp

__all__ = ["FieldConflict", "Merged", "Policy", "Side", "merge"]

Side = Literal["ours", "theirs"]
_MISSING = object()


@dataclass(frozen=True)
class Policy:
    """How a conflict is resolved for one record.

    `owners` maps a field name, or "*" for the whole entity, to the side that owns it;
    ownership beats `conflict_policy`, a field owner beats the entity owner.
    """

    conflict_policy: str = "newer_wins"
    owners: Mapping[str, Side] = field(default_factory=dict)
    theirs_updated_at: str | None = None
    ours_updated_at: str | None = None

    def decide(self, key: str) -> tuple[Side, str]:
        """The winner of a conflict on field `key`, and the rule that chose it."""
        if key in self.owners:
            return self.owners[key], f"field_ownership:{key}"
        if "*" in self.owners:
            return self.owners["*"], "field_ownership:entity"
        if self.conflict_policy == "source_wins":
            return "theirs", "source_wins"
        if self.conflict_policy == "destination_wins":
            return "ours", "destination_wins"
        theirs_at = parse_timestamp(self.theirs_updated_at)
        ours_at = parse_timestamp(self.ours_updated_at)
        if theirs_at is None or ours_at is None or theirs_at >= ours_at:
            return "theirs", "newer_wins"
        return "ours", "newer_wins"


@dataclass(frozen=True)
class FieldConflict:
    """Both sides changed `field` differently since the base (or there is no base yet)."""

    field: str
    base: Any
    ours: Any
    theirs: Any
    winner: Side
    rule: str


@dataclass(frozen=True)
class Merged:
    """The merge outcome: values for every merged field, and the conflicts met on the way."""

    values: dict[str, Any]
    conflicts: tuple[FieldConflict, ...] = ()

    def agreed(self, base: Mapping[str, Any] | None, theirs: Mapping[str, Any]) -> dict[str, Any]:
        """The new base: merged values both sides now hold; elsewhere the old agreed value.

        Where the merge kept ours over theirs, the source still holds theirs, so that
        field is not agreed yet; its old base stays, so re-sending the same theirs changes
        nothing. The other leg (or the echo of its write) completes the agreement.
        """
        agreed = dict(base or {})
        agreed.update(
            {key: value for key, value in self.values.items() if theirs.get(key) == value}
        )
        return agreed

    def changes(self, ours: Mapping[str, Any]) -> dict[str, Any]:
        """Only the fields whose merged value differs from ours: what must be written."""
        return {
            key: value
            for key, value in self.values.items()
            if key not in ours or ours[key] != value
        }


def merge(
    base: Mapping[str, Any] | None,
    ours: Mapping[str, Any],
    theirs: Mapping[str, Any],
    policy: Policy,
) -> Merged:
    """Merge every field of `theirs`; fields absent from `theirs` are not touched.

    Only theirs changed → theirs; only ours changed → ours; both the same → that value;
    both differently, or no base for the field → a conflict the policy resolves.
    """
    values: dict[str, Any] = {}
    conflicts: list[FieldConflict] = []
    for key, their_value in theirs.items():
        our_value = ours.get(key)
        base_value = _MISSING if base is None else base.get(key, _MISSING)
        if their_value == our_value or (base_value is not _MISSING and our_value == base_value):
            values[key] = their_value
        elif base_value is not _MISSING and their_value == base_value:
            values[key] = our_value
        else:
            winner, rule = policy.decide(key)
            values[key] = their_value if winner == "theirs" else our_value
            shown_base = None if base_value is _MISSING else base_value
            conflicts.append(FieldConflict(key, shown_base, our_value, their_value, winner, rule))
    return Merged(values, tuple(conflicts))
