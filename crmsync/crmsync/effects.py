"""Where a decision takes effect: live (the destination and the crosswalk) or dry run (a plan).

The recipe in `recipe.py` is written once against `Effects`; a dry run swaps in
`PlannedEffects`, which reads like the live one but writes only to the plan.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from crmsync.conflicts import ConflictRecord
from crmsync.crosswalk import Crosswalk, Intent, Link, Member, NewLink
from crmsync.destination import (
    AnswerLostError,
    BulkCreator,
    Destination,
    Ours,
    RecordRejectedError,
)
from crmsync.merge import FieldConflict
from crmsync.plan import Plan

__all__ = ["Effects", "KnownLinks", "MovedParents", "PlannedEffects"]


class MovedParents:
    """The parents whose version this run's child writes moved, in a CRM where writing a
    child moves its parent (Customcrm: a quote line moves its quote's `updated_at`).

    `parents` maps a child entity to its reference field and the parent entity. Thread-safe:
    the workers note, the Synchronizer takes.
    """

    def __init__(self, parents: Mapping[str, tuple[str, str]]) -> None:
        self._parents = dict(parents)
        self._moved: dict[str, dict[str, None]] = {}
        self._lock = threading.Lock()

    def note(self, entity: str, *values: Mapping[str, Any]) -> None:
        """A write of `entity` holding these values (before and after) is about to be sent."""
        found = self._parents.get(entity)
        if found is None:
            return
        field, parent = found
        with self._lock:
            for one in values:
                parent_id = one.get(field)
                if parent_id is not None and parent_id != "":
                    self._moved.setdefault(parent, {})[str(parent_id)] = None

    def take(self) -> dict[str, list[str]]:
        """The parent ids noted since the last take, by parent entity."""
        with self._lock:
            moved, self._moved = self._moved, {}
        return {entity: list(ids) for entity, ids in moved.items()}


class Effects:
    """Live effects: calls the destination and commits to the crosswalk."""

    def __init__(
        self,
        crosswalk: Crosswalk,
        destination: Destination,
        run_id: int,
        parents: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        self.crosswalk = crosswalk
        self.destination = destination
        self.run_id = run_id
        self.moved = MovedParents(parents or {})
        self._held = crosswalk.quarantine.keys(destination.system)
        self._held_lock = threading.Lock()

    def find(self, entity: str, system: str, record_id: str) -> Link | None:
        """The link holding a record."""
        return self.crosswalk.find(entity, system, record_id)

    def find_many(self, entity: str, system: str, record_ids: Sequence[str]) -> dict[str, Link]:
        """The links holding any of these records, by record id."""
        return self.crosswalk.find_many(entity, system, record_ids)

    def linked(self, entity: str, records: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (system, id) records a link holds (one query per system)."""
        return {
            (system, record_id)
            for system, ids in ids_by_system(records).items()
            for record_id in self.find_many(entity, system, ids)
        }

    def claim_intent(self, entity: str, source: tuple[str, str]) -> Intent | None:
        """Claim the create of this source record (see `Crosswalk.claim_intent`)."""
        return self.crosswalk.claim_intent(
            entity, source[0], source[1], self.destination.system, self.run_id
        )

    def release_intent(self, correlation_key: str) -> None:
        """Give up a claim whose create was refused."""
        self.crosswalk.release_intent(correlation_key)

    def create(self, entity: str, values: Mapping[str, Any], correlation_key: str) -> Ours:
        """Create the record in the destination."""
        self.moved.note(entity, values)
        return self.destination.create(entity, values, correlation_key)

    def claim_intents(self, entity: str, sources: Sequence[tuple[str, str]]) -> list[Intent | None]:
        """Claim many creates in one transaction (see `Crosswalk.claim_intents`)."""
        return self.crosswalk.claim_intents(entity, sources, self.destination.system, self.run_id)

    def create_many(
        self, entity: str, items: Sequence[tuple[Mapping[str, Any], str]]
    ) -> Sequence[Ours | RecordRejectedError | AnswerLostError]:
        """Create many records in the destination's bulk create (see `Destination`)."""
        if not isinstance(self.destination, BulkCreator):
            raise TypeError(f"{self.destination.system} has no bulk create")
        self.moved.note(entity, *(values for values, _key in items))
        return self.destination.create_many(entity, items)

    def link_many(self, entity: str, new_links: Sequence[NewLink]) -> list[bool]:
        """Commit many links in one transaction (see `Crosswalk.link_many`)."""
        return self.crosswalk.link_many(entity, new_links, run_id=self.run_id)

    def update(self, entity: str, ours: Ours, changes: Mapping[str, Any]) -> Ours:
        """Write only `changes` to the destination."""
        self.moved.note(entity, ours.values, changes)
        return self.destination.update(entity, ours, changes)

    def delete(self, entity: str, ours: Ours) -> None:
        """Soft-delete in the destination."""
        self.moved.note(entity, ours.values)
        self.destination.delete(entity, ours)

    def unlink(self, link: Link) -> None:
        """Forget a link."""
        self.crosswalk.unlink(link.id)

    def mark_deleted(self, link: Link) -> None:
        """Note that the linked pair is deleted on both sides now."""
        self.crosswalk.mark_deleted(link.id)

    def link(
        self,
        entity: str,
        source: tuple[str, str, str | None],
        destination_id: str,
        *,
        base: Mapping[str, Any] | None = None,
        receipt: str | None = None,
        closes_intent: str | None = None,
        made: str | None = None,
    ) -> Link | None:
        """Commit a link (None if a racing run linked either record first)."""
        return self.crosswalk.link(
            entity,
            source,
            (self.destination.system, destination_id),
            run_id=self.run_id,
            base=base,
            receipt=receipt,
            closes_intent=closes_intent,
            made=made,
        )

    def agree(
        self,
        member: Member,
        base: Mapping[str, Any],
        receipt: str | None,
        source: Member | None,
        seen_version: str | None,
        made: str | None = None,
    ) -> bool:
        """Store base and receipt (False if the member moved under us)."""
        return self.crosswalk.agree(member, base, receipt, source, seen_version, made)

    def record_conflicts(self, where: ConflictRecord, found: tuple[FieldConflict, ...]) -> None:
        """Append conflicts to the log."""
        self.crosswalk.conflicts.record(where, found)

    def note_update(
        self, entity: str, source_id: str, ours: Ours, changes: Mapping[str, Any]
    ) -> None:
        """Live runs keep no plan."""

    def hold(
        self,
        entity: str,
        source: tuple[str, str],
        kind: str,
        reason: str,
        payload: Mapping[str, Any],
    ) -> None:
        """Put a record in quarantine."""
        with self._held_lock:
            self._held.add((entity, *source))
        self.crosswalk.quarantine.put(
            entity=entity,
            source=source,
            destination_system=self.destination.system,
            kind=kind,
            reason=reason,
            payload=payload,
            run_id=self.run_id,
        )

    def track(self, entity: str, source: tuple[str, str]) -> None:
        """Note a quarantine row found after the run started (e.g. another run's deferral)."""
        with self._held_lock:
            self._held.add((entity, *source))

    def resolve(self, entity: str, source: tuple[str, str]) -> None:
        """The record went through: clear its quarantine row (only a write if it has one)."""
        with self._held_lock:
            if (entity, *source) not in self._held:
                return
            self._held.discard((entity, *source))
        self.crosswalk.quarantine.resolve(entity, source, self.destination.system)


class PlannedEffects(Effects):
    """Dry-run effects: reads go to the crosswalk, every write goes to the plan instead."""

    def __init__(
        self, crosswalk: Crosswalk, destination: Destination, run_id: int, plan: Plan
    ) -> None:
        super().__init__(crosswalk, destination, run_id)
        self.plan = plan
        self._planned: dict[tuple[str, str, str], Link] = {}
        self._lock = threading.Lock()

    def find(self, entity: str, system: str, record_id: str) -> Link | None:
        """Planned links first, so children of a planned create translate their reference."""
        with self._lock:
            planned = self._planned.get((entity, system, record_id))
        return planned or self.crosswalk.find(entity, system, record_id)

    def find_many(self, entity: str, system: str, record_ids: Sequence[str]) -> dict[str, Link]:
        """Planned links first, as `find`."""
        found = self.crosswalk.find_many(entity, system, record_ids)
        with self._lock:
            for record_id in record_ids:
                planned = self._planned.get((entity, system, record_id))
                if planned is not None:
                    found[record_id] = planned
        return found

    def claim_intent(self, entity: str, source: tuple[str, str]) -> Intent | None:
        """A dry run claims nothing."""
        return Intent(f"dry-run:{entity}:{source[1]}", resumed=False)

    def claim_intents(self, entity: str, sources: Sequence[tuple[str, str]]) -> list[Intent | None]:
        """A dry run claims nothing."""
        return [self.claim_intent(entity, source) for source in sources]

    def release_intent(self, correlation_key: str) -> None:
        """Nothing was claimed."""

    def create(self, entity: str, values: Mapping[str, Any], correlation_key: str) -> Ours:
        """Plan the create; the new record gets a placeholder id."""
        source_id = correlation_key.split(":", 2)[2]  # "dry-run:<entity>:<source id>"
        self.plan.add("creates", entity=entity, source_id=source_id, values=dict(values))
        return Ours(id=f"(new:{source_id})", version="", values=dict(values))

    def create_many(
        self, entity: str, items: Sequence[tuple[Mapping[str, Any], str]]
    ) -> Sequence[Ours | RecordRejectedError | AnswerLostError]:
        """Plan each create."""
        return [self.create(entity, values, key) for values, key in items]

    def link_many(self, entity: str, new_links: Sequence[NewLink]) -> list[bool]:
        """Keep each link in memory for the rest of the dry run."""
        return [
            self.link(
                entity,
                new.source,
                new.destination[1],
                base=new.base,
                receipt=new.receipt,
                closes_intent=new.closes_intent,
                made=new.made,
            )
            is not None
            for new in new_links
        ]

    def update(self, entity: str, ours: Ours, changes: Mapping[str, Any]) -> Ours:
        """Return ours unchanged; `note_update` already planned the diff."""
        return ours

    def note_update(
        self, entity: str, source_id: str, ours: Ours, changes: Mapping[str, Any]
    ) -> None:
        """Plan an update with its field diffs (old -> new)."""
        self.plan.add(
            "updates",
            entity=entity,
            source_id=source_id,
            destination_id=ours.id,
            changes={key: [ours.values.get(key), value] for key, value in changes.items()},
        )

    def delete(self, entity: str, ours: Ours) -> None:
        """Plan the delete."""
        self.plan.add("deletes", entity=entity, destination_id=ours.id, reason="soft delete")

    def unlink(self, link: Link) -> None:
        """Plan the unlink."""
        self.plan.add("deletes", entity=link.entity, link_id=link.id, reason="unlink")

    def mark_deleted(self, link: Link) -> None:
        """Nothing is stored in a dry run."""

    def link(
        self,
        entity: str,
        source: tuple[str, str, str | None],
        destination_id: str,
        *,
        base: Mapping[str, Any] | None = None,
        receipt: str | None = None,
        closes_intent: str | None = None,
        made: str | None = None,
    ) -> Link | None:
        """Keep the link in memory for the rest of the dry run."""
        source_member = Member(-1, -1, source[0], source[1], None, None, source[2], 0)
        target = Member(-1, -1, self.destination.system, destination_id, base, receipt, made, 0)
        link = Link(-1, entity, {source[0]: source_member, self.destination.system: target})
        if closes_intent is None:
            self.plan.add(
                "links", entity=entity, source_id=source[1], destination_id=destination_id
            )
        with self._lock:
            self._planned[(entity, source[0], source[1])] = link
            self._planned[(entity, self.destination.system, destination_id)] = link
        return link

    def agree(
        self,
        member: Member,
        base: Mapping[str, Any],
        receipt: str | None,
        source: Member | None,
        seen_version: str | None,
        made: str | None = None,
    ) -> bool:
        """Nothing is stored in a dry run."""
        return True

    def record_conflicts(self, where: ConflictRecord, found: tuple[FieldConflict, ...]) -> None:
        """Plan the conflicts."""
        for conflict in found:
            winner = (
                where.source_system if conflict.winner == "theirs" else where.destination_system
            )
            self.plan.add(
                "conflicts",
                entity=where.entity,
                source_id=where.source_id,
                destination_id=where.destination_id,
                field=conflict.field,
                base=conflict.base,
                ours=conflict.ours,
                theirs=conflict.theirs,
                winner=winner,
                rule=conflict.rule,
            )

    def hold(
        self,
        entity: str,
        source: tuple[str, str],
        kind: str,
        reason: str,
        payload: Mapping[str, Any],
    ) -> None:
        """Plan what would be quarantined or deferred."""
        section = kind if kind in ("ambiguous", "deferred") else "rejected"
        self.plan.add(section, entity=entity, source_id=source[1], reason=reason)

    def resolve(self, entity: str, source: tuple[str, str]) -> None:
        """Nothing is stored in a dry run."""


class KnownLinks:
    """The links one batch's triage asks for, read ahead in one query per entity and system.

    Triage commits no link, so what was read before it is what a query per record would
    read during it; a record not read ahead is asked for alone.
    """

    def __init__(self, effects: Effects) -> None:
        self.effects = effects
        self._found: dict[tuple[str, str, str], Link | None] = {}

    def read(self, entity: str, wanted: Iterable[tuple[str, str]]) -> None:
        """Read the links of these (system, id) records of `entity`."""
        for system, ids in ids_by_system(wanted).items():
            found = self.effects.find_many(entity, system, ids)
            self._found.update({(entity, system, one): found.get(one) for one in ids})

    def find(self, entity: str, system: str, record_id: str) -> Link | None:
        """As `Effects.find`, from what was read ahead where it can."""
        key = (entity, system, record_id)
        if key in self._found:
            return self._found[key]
        return self.effects.find(entity, system, record_id)


def ids_by_system(records: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """(system, id) pairs as the ids of each system, first-seen order, no repeats."""
    systems: dict[str, dict[str, None]] = {}
    for system, record_id in records:
        systems.setdefault(system, {})[record_id] = None
    return {system: list(ids) for system, ids in systems.items()}
