"""One record's way into the destination, as named steps.

echo? → identity (link / open intent / match keys / create with intent) → references →
merge against base with ours → write only the changes → store base and receipt → report.
The steps decide through `merge`, `receipts` and `identity`; they act only through `Effects`.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from crmsync.conflicts import ConflictRecord
from crmsync.crosswalk import Intent, Link, Member, NewLink
from crmsync.destination import (
    AnswerLostError,
    Destination,
    Ours,
    RecordRejectedError,
    StaleVersionError,
    SystemicError,
)
from crmsync.effects import Effects, KnownLinks
from crmsync.identity import Ambiguous, choose_candidate, choose_look_alike, lacks_match_values
from crmsync.merge import FieldConflict, Policy, Side, merge
from crmsync.normalise import normalise_key
from crmsync.receipts import (
    base_may_be_stale,
    carried_unchanged,
    first_back,
    is_echo,
    normalise_version,
    receipt_for,
    still_as_read,
)
from crmsync.records import EntitySpec, Incoming
from crmsync.report import RunReport
from crmsync.settings import SyncSettings

__all__ = ["STALE_ATTEMPTS", "Outcome", "Recipe", "comparable", "reason_of"]

Untaken: TypeAlias = Container[tuple[str, str]]
"""(key field, normalised value) pairs no unlinked destination record held at the batch's
start (`Synchronizer._untaken`): a record of that batch does not match by them."""
NOTHING_UNTAKEN: Untaken = frozenset()

STALE_ATTEMPTS = 3
Result = Literal[
    "created", "updated", "unchanged", "echo", "deferred", "quarantined", "held", "pending"
]


@dataclass(frozen=True)
class Outcome:
    """What happened to one incoming record (`held`: a delete waiting for `finish()`;
    `pending`: linked, waiting for the batched read of ours)."""

    entity: str
    source_id: str
    result: Result
    destination_id: str | None = None
    reason: str | None = None


def as_payload(record: Incoming) -> dict[str, Any]:
    """The stored form of an incoming record (quarantine keeps it to retry later).

    It keeps the values as received: a retry translates the references again, so storing
    translated ids would make it look up destination ids as if they were source ids.
    """
    return {
        "system": record.system,
        "id": record.id,
        "version": record.version,
        "values": dict(record.values if record.received is None else record.received),
        "deleted": record.deleted,
        "updated_at": record.updated_at,
    }


def reason_of(error: Exception) -> str:
    """A quarantine reason: the API's own message for a refused record, else the error's
    type and message (never a traceback)."""
    if isinstance(error, RecordRejectedError):
        return error.reason
    return f"{type(error).__name__}: {error}"


def from_payload(payload: Mapping[str, Any]) -> Incoming:
    """An incoming record back from its stored form."""
    return Incoming(
        system=payload["system"],
        id=payload["id"],
        version=payload.get("version"),
        values=payload.get("values", {}),
        deleted=bool(payload.get("deleted")),
        updated_at=payload.get("updated_at"),
    )


class Recipe:
    """The per-record steps of one run; thread-safe (state lives in the store and report)."""

    def __init__(
        self, effects: Effects, destination: Destination, settings: SyncSettings, report: RunReport
    ) -> None:
        self.effects = effects
        self.destination = destination
        self.settings = settings
        self.report = report

    # -- before the batched read -------------------------------------------------------

    def triage(
        self, spec: EntitySpec, record: Incoming, links: KnownLinks | None = None
    ) -> tuple[Outcome, Incoming, Link | None]:
        """Echo, delete, references and the base check: everything decided without the API.

        `links`: the batch's links read ahead (`Synchronizer.receive`); else one query each.
        """
        finder = links or self.effects
        if record.system == self.destination.system:
            reason = (
                f"the record comes from {record.system}, the destination itself; set the "
                "target's source_system to the name of the side it reads from"
            )
            return self.reject(spec, record, reason), record, None
        link = finder.find(spec.name, record.system, record.id)
        source = link.side(record.system) if link else None
        target = link.side(self.destination.system) if link else None
        if source is not None and is_echo(record.version, source.receipt_version):
            if link is not None and target is not None:
                self._agree_on_echo(spec, record, link, links)
            echo = self._done(spec, record, "echo", target.record_id if target else None)
            return echo, record, link
        if record.deleted:
            if target is None:  # never linked: whatever held it back is moot now
                self.effects.resolve(spec.name, record.key)
                return Outcome(spec.name, record.id, "unchanged"), record, link
            return Outcome(spec.name, record.id, "held"), record, link
        translated, missing = self.translate(spec, record, links)
        if missing:
            return self.defer(spec, record, missing), record, link
        stale = source is not None and base_may_be_stale(
            source.receipt_version, source.seen_version
        )
        if target is not None and target.base is not None and not stale:
            theirs = spec.merged_fields(translated.values)
            if all(target.base.get(key, _ABSENT) == value for key, value in theirs.items()):
                return self._done(spec, translated, "unchanged", target.record_id), translated, link
        if target is not None:
            return Outcome(spec.name, record.id, "pending", target.record_id), translated, link
        return Outcome(spec.name, record.id, "pending"), translated, None

    def _agree_on_echo(
        self, spec: EntitySpec, record: Incoming, link: Link, links: KnownLinks | None
    ) -> None:
        """Our write came back: the source now holds what the destination held, so it is agreed.

        This completes a base the merge could not settle (it kept ours on some field), so
        the field's next edit is not mistaken for a conflict. No API call.
        """
        target = link.members[self.destination.system]
        translated, missing = self.translate(spec, record, links)
        if missing:
            return
        base = {**(target.base or {}), **spec.merged_fields(translated.values)}
        if base != target.base:
            self.effects.agree(
                target, base, target.receipt_version, link.side(record.system), record.version
            )

    def translate(
        self, spec: EntitySpec, record: Incoming, links: KnownLinks | None = None
    ) -> tuple[Incoming, str | None]:
        """References as destination ids, or the reason one is not linked yet."""
        finder = links or self.effects
        values = dict(record.values)
        for reference in spec.references:
            source_id = values.get(reference.field)
            if source_id is None or source_id == "":
                values[reference.field] = None
                continue
            link = finder.find(reference.entity, record.system, str(source_id))
            if link is not None and link.deleted:  # deleted on both sides: points at nothing
                values[reference.field] = None
                continue
            target = link.side(self.destination.system) if link else None
            if target is None:
                return record, (
                    f"{reference.field}: {reference.entity} {source_id} of {record.system} "
                    "is not linked yet"
                )
            values[reference.field] = target.record_id
        return record.with_values(values), None

    def defer(self, spec: EntitySpec, record: Incoming, reason: str) -> Outcome:
        """Keep a record whose parent is not linked yet; `finish()` and later runs retry it."""
        self.effects.hold(spec.name, record.key, "deferred", reason, as_payload(record))
        return Outcome(spec.name, record.id, "deferred", reason=reason)

    def reject(
        self, spec: EntitySpec, record: Incoming, reason: str, kind: str = "rejected"
    ) -> Outcome:
        """Quarantine a record with its reason; counted, retried on later runs."""
        self.effects.hold(spec.name, record.key, kind, reason, as_payload(record))
        self.report.count(spec.name, "quarantined")
        return Outcome(spec.name, record.id, "quarantined", reason=reason)

    def _done(
        self, spec: EntitySpec, record: Incoming, result: Result, destination_id: str | None
    ) -> Outcome:
        self.effects.resolve(spec.name, record.key)
        if result in ("created", "updated", "unchanged", "echo"):
            self.report.count(spec.name, result)
        return Outcome(spec.name, record.id, result, destination_id)

    # -- linked: merge against base, write only the changes ----------------------------

    def apply_linked(
        self, spec: EntitySpec, record: Incoming, link: Link, ours: Ours | None
    ) -> Outcome:
        """Merge and write a linked record; re-read and merge again when ours went stale."""
        for _attempt in range(STALE_ATTEMPTS):
            target = link.side(self.destination.system)
            if target is None or ours is None:
                return self.reject(
                    spec, record, f"linked {spec.name} is gone from {self.destination.system}"
                )
            if ours.deleted:
                return self._deleted_here(spec, record, ours)
            try:
                written = self._write(spec, record, link, ours)
            except StaleVersionError:
                written = None
            if written is not None:
                return written
            link = self.effects.find(spec.name, record.system, record.id) or link
            ours = self.destination.fetch(spec.name, [target.record_id]).get(target.record_id)
        return self.reject(
            spec, record, f"{spec.name} kept changing under us ({STALE_ATTEMPTS} attempts)"
        )

    def _deleted_here(self, spec: EntitySpec, record: Incoming, ours: Ours) -> Outcome:
        """An edit arrived for a record deleted here: the delete wins, and that is recorded.

        The deletion travels to the other side on the other leg; the record is never revived.
        """
        where = ConflictRecord(
            self.effects.run_id,
            spec.name,
            record.system,
            record.id,
            self.destination.system,
            ours.id,
        )
        self.effects.record_conflicts(
            where, (FieldConflict("_deleted", False, True, False, "ours", "delete_wins"),)
        )
        self.report.count(spec.name, "conflict")
        return self._done(spec, record, "unchanged", ours.id)

    def _write(self, spec: EntitySpec, record: Incoming, link: Link, ours: Ours) -> Outcome | None:
        """Merge, write the changes, store base and receipt; None if the member moved."""
        target = link.members[self.destination.system]
        source = link.side(record.system)
        theirs = spec.merged_fields(record.values)
        current = comparable(spec, ours)
        agreed = (
            spec.merged_fields(current)
            if _ours_agreed(target, source, record, ours)
            else target.base
        )
        merged = merge(agreed, current, theirs, self._policy(spec, record, ours))
        changes = merged.changes(current)
        if changes:
            self.effects.note_update(spec.name, record.id, ours, changes)
        after = self.effects.update(spec.name, ours, changes) if changes else ours
        receipt = receipt_for(merged.values, theirs, after.version)
        base = merged.agreed(agreed, theirs)
        made = normalise_version(after.version) if target.base is None or not receipt else None
        if not self.effects.agree(target, base, receipt, source, record.version, made):
            return None
        where = ConflictRecord(
            self.effects.run_id,
            spec.name,
            record.system,
            record.id,
            self.destination.system,
            ours.id,
        )
        self.effects.record_conflicts(where, merged.conflicts)
        if merged.conflicts:
            self.report.count(spec.name, "conflict", len(merged.conflicts))
        return self._done(spec, record, "updated" if changes else "unchanged", ours.id)

    def _policy(self, spec: EntitySpec, record: Incoming, ours: Ours) -> Policy:
        owners: dict[str, Side] = {}
        for scope, owner in self.settings.field_ownership.items():
            side: Side = "ours" if owner == self.destination.system else "theirs"
            if scope == spec.name:
                owners["*"] = side
            elif scope.startswith(spec.name + "."):
                owners[scope[len(spec.name) + 1 :]] = side
        return Policy(self.settings.conflict_policy, owners, record.updated_at, ours.updated_at)

    # -- unlinked: open intent, match keys, create -------------------------------------

    def apply_unlinked(
        self,
        spec: EntitySpec,
        record: Incoming,
        *,
        interrupted: bool,
        untaken: Untaken = NOTHING_UNTAKEN,
    ) -> Outcome:
        """Find the partner record (interrupted create, then match keys), else create it.

        `interrupted`: an earlier run left an open create intent for this record (the
        Synchronizer looks them up for a whole batch at once). `untaken`: see `_match`.
        """
        if not interrupted:
            partnered = self.link_partner(spec, record, untaken)
            if partnered is not None:
                return partnered
        return self._create(spec, record, untaken)

    def link_partner(
        self, spec: EntitySpec, record: Incoming, untaken: Untaken = NOTHING_UNTAKEN
    ) -> Outcome | None:
        """Link the one destination record sharing a match key and merge into it (or
        quarantine an ambiguous match); None when there is none and the record is to be created."""
        found = self._match(spec, record, untaken)
        if isinstance(found, Ambiguous):
            return self.reject(spec, record, found.reason, kind="ambiguous")
        if found is not None:
            return self._link_existing(spec, record, found, None)
        return None

    def _match(
        self, spec: EntitySpec, record: Incoming, untaken: Untaken = NOTHING_UNTAKEN
    ) -> Ours | Ambiguous | None:
        """The one unlinked destination record sharing a match key, tried in order.

        A (key, value) in `untaken` is not asked for: the Synchronizer found no unlinked
        record holding it before the batch, and lets the records sharing it run side by side,
        so an answer now could only name another record's create not linked yet.
        """
        for key in spec.match_keys:
            value = normalise_key(key.normaliser, record.values.get(key.field))
            if value is None or (key.field, value) in untaken:
                continue
            found = choose_candidate(
                key,
                value,
                self.destination.match(spec.name, key.field, value),
                lambda candidate: (
                    self.effects.find(spec.name, self.destination.system, candidate) is not None
                ),
            )
            if found is not None:
                return found
        return None

    def _link_existing(
        self, spec: EntitySpec, record: Incoming, ours: Ours, intent: str | None
    ) -> Outcome:
        link = self.effects.link(
            spec.name, (record.system, record.id, record.version), ours.id, closes_intent=intent
        )
        if link is None:
            return self._raced(spec, record)
        return self.apply_linked(spec, record, link, ours)

    def _raced(self, spec: EntitySpec, record: Incoming) -> Outcome:
        """A racing run linked first: go on with its link, or retry the record later."""
        link = self.effects.find(spec.name, record.system, record.id)
        target = link.side(self.destination.system) if link else None
        if link is None or target is None:
            return self.defer(spec, record, "its match was linked by a concurrent run; retrying")
        ours = self.destination.fetch(spec.name, [target.record_id]).get(target.record_id)
        return self.apply_linked(spec, record, link, ours)

    def _create(self, spec: EntitySpec, record: Incoming, untaken: Untaken) -> Outcome:
        intent = self.effects.claim_intent(spec.name, record.key)
        if intent is None:
            return self._claimed_elsewhere(spec, record)
        return self._create_claimed(spec, record, intent, untaken)

    def _claimed_elsewhere(self, spec: EntitySpec, record: Incoming) -> Outcome:
        return self.defer(spec, record, f"a concurrent run is creating this {spec.name}")

    def _create_claimed(
        self, spec: EntitySpec, record: Incoming, intent: Intent, untaken: Untaken = NOTHING_UNTAKEN
    ) -> Outcome:
        if self.effects.find(spec.name, record.system, record.id) is not None:
            self.effects.release_intent(intent.correlation_key)  # a racing run just linked it
            return self._raced(spec, record)
        if intent.resumed:
            # A destination that stores the key in a second call (SuperOffice's ForeignApp
            # keys) can be killed between the two: then only the match keys find the record.
            earlier = self.destination.find_by_correlation(spec.name, intent.correlation_key)
            if earlier is None:
                matched = self._match(spec, record, untaken)
                looked = matched is None and lacks_match_values(spec, record)
                if looked:
                    matched = self._look_alike(spec, record)
                if isinstance(matched, Ambiguous):
                    if not looked:  # look-alikes are only asked while the intent is open
                        self.effects.release_intent(intent.correlation_key)
                    return self.reject(spec, record, matched.reason, kind="ambiguous")
                earlier = matched
            if earlier is not None:
                return self._link_existing(spec, record, earlier, intent.correlation_key)
        values = spec.merged_fields(record.values)
        try:
            created = self.effects.create(spec.name, values, intent.correlation_key)
        except RecordRejectedError:
            self.effects.release_intent(intent.correlation_key)
            raise
        except AnswerLostError as error:
            return self._answer_lost(spec, record, error)
        new = self._new_link(spec, record, created, values, intent)
        link = self.effects.link(
            spec.name,
            new.source,
            created.id,
            base=new.base,
            receipt=new.receipt,
            closes_intent=new.closes_intent,
            made=new.made,
        )
        return self._created(spec, record, created, linked=link is not None)

    def _look_alike(self, spec: EntitySpec, record: Incoming) -> Ours | Ambiguous | None:
        """What a create left when its key was never saved and no match key can find it: the
        one unlinked record holding the values the create sent, if the destination can look
        (`look_alikes`, see `Destination`)."""
        look_alikes = getattr(self.destination, "look_alikes", None)
        if look_alikes is None:
            return None
        found: Sequence[Ours] = look_alikes(spec.name, spec.merged_fields(record.values))
        system = self.destination.system
        return choose_look_alike(
            found, lambda candidate: self.effects.find(spec.name, system, candidate) is not None
        )

    def create_many(
        self, spec: EntitySpec, records: Sequence[Incoming], untaken: Untaken = NOTHING_UNTAKEN
    ) -> list[Outcome]:
        """Create records that matched nothing with the destination's bulk create.

        The same steps as one create, a chunk at a time: every intent is committed (one
        transaction) before the one bulk call, every link after it (one transaction), so a
        crash in between leaves open intents that the next run resumes by correlation key.
        Records another run holds and resumed intents take the one-by-one way. A bulk call
        that fails as a whole (not systemically) may have created any of its records, some
        perhaps without their key: each is held as unconfirmed, like a create whose answer
        was lost, for the next run to look up (this run's match answers leave its own
        creates out, so a lookup now could miss one and create it twice).
        """
        outcomes: list[Outcome] = []
        fresh: list[tuple[Incoming, Intent]] = []
        claims = self.effects.claim_intents(spec.name, [record.key for record in records])
        raced = self.effects.linked(spec.name, [record.key for record in records])
        for record, intent in zip(records, claims, strict=True):
            if intent is None:
                outcomes.append(self._claimed_elsewhere(spec, record))
            elif intent.resumed or record.key in raced:
                outcomes.append(self._one_of_many(spec, record, intent, untaken))
            else:
                fresh.append((record, intent))
        values = [spec.merged_fields(record.values) for record, _intent in fresh]
        items = [
            (value, intent.correlation_key)
            for value, (_r, intent) in zip(values, fresh, strict=True)
        ]
        try:
            results = self.effects.create_many(spec.name, items) if items else []
        except SystemicError:
            raise
        except Exception as error:
            lost = AnswerLostError(f"the bulk create failed as a whole ({reason_of(error)})")
            return outcomes + [self._answer_lost(spec, record, lost) for record, _ in fresh]
        created: list[tuple[Incoming, Ours]] = []
        new_links: list[NewLink] = []
        for (record, intent), value, result in zip(fresh, values, results, strict=True):
            if isinstance(result, RecordRejectedError):
                self.effects.release_intent(intent.correlation_key)
                outcomes.append(self.reject(spec, record, result.reason))
                continue
            if isinstance(result, AnswerLostError):
                outcomes.append(self._answer_lost(spec, record, result))
                continue
            created.append((record, result))
            new_links.append(self._new_link(spec, record, result, value, intent))
        linked = self.effects.link_many(spec.name, new_links)
        outcomes.extend(
            self._created(spec, record, ours, linked=done)
            for (record, ours), done in zip(created, linked, strict=True)
        )
        return outcomes

    def _answer_lost(self, spec: EntitySpec, record: Incoming, error: AnswerLostError) -> Outcome:
        """A create that may have happened: held as `unconfirmed` with its intent open, so the
        next run looks for the record by its key (then its match keys) before creating it."""
        reason = f"{error}; the next run looks it up by its key before any new create"
        self.effects.hold(spec.name, record.key, "unconfirmed", reason, as_payload(record))
        return Outcome(spec.name, record.id, "deferred", reason=reason)

    def _one_of_many(
        self, spec: EntitySpec, record: Incoming, intent: Intent, untaken: Untaken
    ) -> Outcome:
        """One record of a bulk create taking the one-by-one way, its failure quarantined."""
        try:
            return self._create_claimed(spec, record, intent, untaken)
        except SystemicError:
            raise
        except Exception as error:
            return self.reject(spec, record, reason_of(error))

    def _new_link(
        self,
        spec: EntitySpec,
        record: Incoming,
        created: Ours,
        values: Mapping[str, Any],
        intent: Intent,
    ) -> NewLink:
        """The link of a record we created, its base the values sent (both sides hold them).

        A receipt only when the created record holds just those: a destination that fills
        in values of its own (SuperOffice: a new Person's default country) made a record
        that differs from the source, and that difference must travel back on the other
        leg, not come back as our echo (`_write` takes it as the other side's own value).
        """
        held = comparable(spec, created)
        filled = any(held.get(key, _ABSENT) != value for key, value in values.items())
        made = normalise_version(created.version) or None
        return NewLink(
            (record.system, record.id, record.version),
            (self.destination.system, created.id),
            base=values,
            receipt=None if filled else made,
            closes_intent=intent.correlation_key,
            made=made,
        )

    def _created(
        self, spec: EntitySpec, record: Incoming, created: Ours, *, linked: bool
    ) -> Outcome:
        if not linked:
            return self.reject(
                spec, record, f"created {spec.name} {created.id} but a concurrent run linked first"
            )
        return self._done(spec, record, "created", created.id)


def _ours_agreed(target: Member, source: Member | None, record: Incoming, ours: Ours) -> bool:
    """True when ours holds the agreed values, though the stored base may say otherwise.

    A user's edit overtook the echo of our carry (`carried_unchanged`); or the other side
    differs from ours on purpose, not by an edit of ours since: it has no receipt (a pair
    just made has no base here yet; a create there filled in values of its own; a merge
    there kept its values over ours), and ours is still what we last carried. What the other
    side holds differently is then its own (a filled-in value, the conflict the other leg
    already decided, a user's edit since) and travels without a conflict being met again.
    """
    if source is None:
        return False
    differs = (
        (target.base is None or source.receipt_version is None)
        and first_back(source.seen_version, record.version)
        and still_as_read(target.seen_version, ours.version)
    )
    return differs or carried_unchanged(
        target.seen_version, ours.version, source.receipt_version, record.version
    )


def comparable(spec: EntitySpec, ours: Ours) -> dict[str, Any]:
    """Ours with reference ids as strings, as the crosswalk holds them."""
    values = dict(ours.values)
    for reference in spec.references:
        if values.get(reference.field) is not None:
            values[reference.field] = str(values[reference.field])
    return values


_ABSENT = object()
