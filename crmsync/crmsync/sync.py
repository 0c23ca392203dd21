"""The Synchronizer: one target run, batch by batch, then `finish()`.

It orders the work (dedupe, one read of the batch's links, the destination's read of its
match candidates, triage, one batched read of ours, bounded-parallel writes, deferred
retries, held deletes) and leaves each record's decisions to `recipe.py`.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence, Set
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from crmsync.crosswalk import Crosswalk, Link
from crmsync.deletes import DeleteCircuitBreakerError, breaker_trips
from crmsync.destination import (
    BulkCreator,
    Destination,
    Ours,
    RecordRejectedError,
    StaleVersionError,
    SystemicError,
)
from crmsync.effects import Effects, KnownLinks, PlannedEffects, ids_by_system
from crmsync.identity import choose_candidate, lacks_match_values, same_match_keys
from crmsync.normalise import normalise_key
from crmsync.plan import Plan
from crmsync.quarantine import QuarantineItem
from crmsync.receipts import receipt_moved_by_children
from crmsync.recipe import (
    STALE_ATTEMPTS,
    Outcome,
    Recipe,
    Untaken,
    as_payload,
    comparable,
    from_payload,
    reason_of,
)
from crmsync.records import EntitySpec, Incoming
from crmsync.report import RunReport
from crmsync.settings import SyncSettings

__all__ = ["Synchronizer"]

log = logging.getLogger(__name__)


class Synchronizer:
    """Syncs records of the other side into one destination; starts a run row on creation."""

    def __init__(
        self,
        crosswalk: Crosswalk,
        destination: Destination,
        *,
        settings: SyncSettings,
        specs: Mapping[str, EntitySpec] | Iterable[EntitySpec],
        leg: str,
    ) -> None:
        values = specs.values() if isinstance(specs, Mapping) else specs
        self.specs = {spec.name: spec for spec in values}
        self.crosswalk = crosswalk
        self.destination = destination
        self.settings = settings
        self.run_id = crosswalk.runs.start(leg, destination.system, settings.dry_run)
        self.report = RunReport(self.run_id, leg, dry_run=settings.dry_run)
        self.plan = Plan() if settings.dry_run else None
        self.effects: Effects = (
            PlannedEffects(crosswalk, destination, self.run_id, self.plan)
            if self.plan is not None
            else Effects(crosswalk, destination, self.run_id, self._parents_moved_by_children())
        )
        self.recipe = Recipe(self.effects, destination, settings, self.report)
        self._held: dict[str, list[tuple[Incoming, Link]]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(settings.max_concurrency, thread_name_prefix="crmsync")
        self._finished = False
        self._bulk = isinstance(destination, BulkCreator)

    def _parents_moved_by_children(self) -> dict[str, tuple[str, str]]:
        """{child entity: (reference field, parent entity)} for the destination's optional
        `moves_parent` ({child entity: parent entity}: writing a child moves its parent)."""
        moves: Mapping[str, str] = getattr(self.destination, "moves_parent", {})
        return {
            child: (reference.field, parent)
            for child, parent in moves.items()
            if child in self.specs
            for reference in self.specs[child].references
            if reference.entity == parent
        }

    def spec(self, entity: str) -> EntitySpec:
        """The spec of a link entity this synchronizer knows."""
        try:
            return self.specs[entity]
        except KeyError:
            raise ValueError(f"unknown entity {entity!r}; known: {sorted(self.specs)}") from None

    def receive(self, entity: str, records: Sequence[Incoming]) -> list[Outcome]:
        """Apply one batch of one entity. Per-record failures become quarantine rows.

        Raises:
            SystemicError: the destination cannot take any record (auth, outage).
        """
        spec = self.spec(entity)
        latest = {record.key: record for record in records}  # a record twice: the last wins
        links = self._read_ahead(spec, latest.values())
        self._prime(spec, latest.values(), links)
        triaged = [self._triage(spec, record, links) for record in latest.values()]
        wanted = [
            outcome.destination_id
            for outcome, _r, link in triaged
            if outcome.result == "pending" and link is not None and outcome.destination_id
        ]
        ours = self._fetch(spec, wanted, triaged)
        outcomes: list[Outcome] = []
        work: list[tuple[Incoming, Link | None, Ours | None]] = []
        for outcome, record, link in triaged:
            if outcome.result == "held" and link is not None:
                with self._lock:
                    self._held.setdefault(entity, []).append((record, link))
            if outcome.result != "pending":
                outcomes.append(outcome)
                continue
            work.append((record, link, ours.get(outcome.destination_id or "")))
        work = self._hold_possible_lost_creates(spec, work, outcomes)
        interrupted = self._interrupted(spec, [record for record, link, _ in work if link is None])
        untaken = self._untaken(spec, [record for record, _link, _ours in work], links)
        for members in _rounds(same_match_keys(spec, work, lambda item: item[0], untaken)):
            outcomes.extend(self._apply_together(spec, members, interrupted, untaken))
        self._settle_moved_parents()
        return outcomes

    def _settle_moved_parents(self) -> None:
        """Move the receipts of the parents our child writes moved (`MovedParents`), where
        `receipt_moved_by_children` allows: one batched read of them per entity.

        Otherwise the next run's other leg takes each such parent for an edit and reads it
        from its side to find nothing changed (two SuperOffice calls for a quote). A failed
        read, even an outage, costs only that: the receipts stay, and the run is not failed
        for it (a batch that needs the API finds an outage itself).
        """
        for entity, ids in self.effects.moved.take().items():
            spec = self.specs.get(entity)
            if spec is None:
                continue
            try:
                current = self.destination.fetch(entity, ids)
            except Exception as error:
                log.warning("%s moved by their children: receipts kept (%s)", entity, error)
                continue
            links = self.effects.find_many(entity, self.destination.system, list(current))
            for record_id, ours in current.items():
                link = links.get(record_id)
                member = link.side(self.destination.system) if link else None
                if member is None or ours.deleted:
                    continue
                values = spec.merged_fields(comparable(spec, ours))
                receipt = receipt_moved_by_children(
                    member.base, member.receipt_version, values, ours.version
                )
                if receipt is not None and member.base is not None:
                    self.effects.agree(member, member.base, receipt, None, None)

    def _hold_possible_lost_creates(
        self,
        spec: EntitySpec,
        work: list[tuple[Incoming, Link | None, Ours | None]],
        outcomes: list[Outcome],
    ) -> list[tuple[Incoming, Link | None, Ours | None]]:
        """Defer the unlinked records no match key can tell apart while a create of the same
        entity toward their own system is unfinished: held as `unconfirmed` (sent, answer
        lost), interrupted by a crash, or in flight in a run of the other leg. Such a record
        may be that create, its correlation key not saved yet; copied back now it would be a
        second record on both sides. The other leg finds it (by key, match key or
        look-alike) and links it, and this one then sees it linked. Returns the rest of
        `work`."""
        unfinished: dict[str, int] = {}
        rest = []
        for item in work:
            record, link, _ours = item
            if link is None and not record.deleted and lacks_match_values(spec, record):
                if record.system not in unfinished:
                    unfinished[record.system] = self.crosswalk.unfinished_creates(
                        spec.name, record.system
                    )
                if unfinished[record.system]:
                    reason = (
                        f"a create of a {spec.name} in {record.system} is not confirmed yet and "
                        "may be this record: waiting for the run that looks it up"
                    )
                    outcomes.append(self.recipe.defer(spec, record, reason))
                    continue
            rest.append(item)
        return rest

    def scanned(self, entity: str, system: str, present: Set[str]) -> list[Outcome]:
        """A complete scan of `system`'s `entity` records held `present`: each linked record
        of that system missing from it was deleted there (DESIGN §3.8: inferred only from a
        complete scan). It goes the way of a deletion from a feed: held until `finish()`,
        then applied per `delete_policy` behind the circuit breaker."""
        gone = [
            Incoming(system, record_id, None, {}, deleted=True)
            for record_id in self.crosswalk.linked_ids(entity, system)
            if record_id not in present
        ]
        return self.receive(entity, gone) if gone else []

    def _apply_together(
        self,
        spec: EntitySpec,
        items: list[tuple[Incoming, Link | None, Ours | None]],
        interrupted: set[tuple[str, str]],
        untaken: Untaken,
    ) -> list[Outcome]:
        """Records that share no match-key value (but `untaken` ones), at once: the unlinked
        ones in bulk (`_link_or_create`) where the destination can, the others each on a
        worker thread."""
        futures = []
        fresh: list[Incoming] = []
        for record, link, ours in items:
            if self._bulk and link is None and record.key not in interrupted:
                fresh.append(record)
            else:
                alone = (spec, record, link, ours, interrupted, untaken)
                futures.append(self._pool.submit(self._apply_alone, *alone))
        futures.extend(
            self._pool.submit(self._link_or_create, spec, chunk, untaken)
            for chunk in _chunks(fresh, self.settings.max_concurrency)
        )
        outcomes: list[Outcome] = []
        failure: SystemicError | None = None
        for future in futures:
            try:
                outcomes.extend(future.result())
            except SystemicError as error:
                failure = failure or error
        if failure is not None:
            raise failure
        return outcomes

    def _read_ahead(self, spec: EntitySpec, records: Iterable[Incoming]) -> KnownLinks:
        """The links triage asks for, in one query per entity and system: the batch's own
        records and the records they reference."""
        links = KnownLinks(self.effects)
        referenced: dict[str, list[tuple[str, str]]] = {}
        own: list[tuple[str, str]] = []
        for record in records:
            own.append(record.key)
            for reference in spec.references:
                source_id = record.values.get(reference.field)
                if source_id is not None and source_id != "":
                    pointed = (record.system, str(source_id))
                    referenced.setdefault(reference.entity, []).append(pointed)
        links.read(spec.name, own)
        for entity, wanted in referenced.items():
            links.read(entity, wanted)
        return links

    def _prime(self, spec: EntitySpec, records: Iterable[Incoming], links: KnownLinks) -> None:
        """Let the destination read the batch's match candidates at once, if it can: the
        normalised key values of the live records not linked yet (so that their `match`
        calls cost no request of their own). A read the destination refuses (a value it
        cannot filter on) only costs the speed-up: each record's own `match` then asks, and
        a record whose match fails is quarantined with that reason."""
        prime = getattr(self.destination, "prime", None)
        if prime is None or not spec.match_keys:
            return
        wanted: dict[str, list[str]] = {key.field: [] for key in spec.match_keys}
        for record in records:
            if record.deleted or links.find(spec.name, *record.key) is not None:
                continue
            for key in spec.match_keys:
                value = normalise_key(key.normaliser, record.values.get(key.field))
                if value is not None:
                    wanted[key.field].append(value)
        for key_field, values in wanted.items():
            if not values:
                continue
            try:
                prime(spec.name, key_field, list(dict.fromkeys(values)))
            except SystemicError:
                raise
            except Exception as error:
                log.warning("%s by %s: read one by one (%s)", spec.name, key_field, error)

    def _untaken(
        self, spec: EntitySpec, records: Sequence[Incoming], links: KnownLinks
    ) -> set[tuple[str, str]]:
        """The (key field, value) pairs two or more records of the batch share that no
        unlinked destination record holds, as far as the destination can tell without a
        request (`known_matches`): records sharing only these need not wait for each other.

        Nothing this batch does can give an unlinked record such a value: what it creates
        or updates is linked. Writes by others are not seen, as they would not be between
        one record's read and its create either (crmsync.priming)."""
        known = getattr(self.destination, "known_matches", None)
        if known is None or not spec.match_keys:
            return set()
        counts = Counter(
            (key.field, value)
            for record in records
            for key in spec.match_keys
            if (value := normalise_key(key.normaliser, record.values.get(key.field))) is not None
        )
        answers: dict[tuple[str, str], list[Ours]] = {}
        for field_value, count in counts.items():
            if count > 1:
                candidates = known(spec.name, *field_value)
                if candidates is not None:
                    answers[field_value] = candidates
        ours = self.destination.system
        links.read(spec.name, [(ours, one.id) for found in answers.values() for one in found])
        keys = {key.field: key for key in spec.match_keys}
        return {
            (field, value)
            for (field, value), candidates in answers.items()
            if choose_candidate(
                keys[field],
                value,
                candidates,
                lambda candidate: links.find(spec.name, ours, candidate) is not None,
            )
            is None
        }

    def _triage(
        self, spec: EntitySpec, record: Incoming, links: KnownLinks
    ) -> tuple[Outcome, Incoming, Link | None]:
        try:
            return self.recipe.triage(spec, record, links)
        except SystemicError:
            raise
        except Exception as error:
            return self.recipe.reject(spec, record, reason_of(error)), record, None

    def _fetch(
        self, spec: EntitySpec, ids: list[str], triaged: list[tuple[Outcome, Incoming, Link | None]]
    ) -> dict[str, Ours]:
        """One batched read of ours for every linked record of the batch."""
        if not ids:
            return {}
        try:
            return self.destination.fetch(spec.name, ids)
        except SystemicError:
            raise
        except Exception as error:
            for index, (outcome, record, link) in enumerate(triaged):
                if outcome.result == "pending" and link is not None:
                    triaged[index] = (
                        self.recipe.reject(spec, record, reason_of(error)),
                        record,
                        None,
                    )
            return {}

    def _interrupted(self, spec: EntitySpec, unlinked: list[Incoming]) -> set[tuple[str, str]]:
        """The unlinked records an earlier run began to create (open intents), in one query
        per source system instead of one per record."""
        return {
            (system, source_id)
            for system, ids in ids_by_system(record.key for record in unlinked).items()
            for source_id in self.crosswalk.open_intents(spec.name, system, ids)
        }

    def _apply_alone(
        self,
        spec: EntitySpec,
        record: Incoming,
        link: Link | None,
        ours: Ours | None,
        interrupted: set[tuple[str, str]],
        untaken: Untaken,
    ) -> list[Outcome]:
        return [self._apply(spec, record, link, ours, record.key in interrupted, untaken)]

    def _link_or_create(
        self, spec: EntitySpec, records: list[Incoming], untaken: Untaken
    ) -> list[Outcome]:
        """Unlinked records that share no match key with any other of the batch: each is
        linked to its match, and the rest are created with one bulk create."""
        outcomes: list[Outcome] = []
        unmatched: list[Incoming] = []
        for record in records:
            try:
                partnered = self.recipe.link_partner(spec, record, untaken)
            except SystemicError:
                raise
            except Exception as error:
                partnered = self.recipe.reject(spec, record, reason_of(error))
            if partnered is None:
                unmatched.append(record)
            else:
                outcomes.append(partnered)
        if not unmatched:
            return outcomes
        try:
            return outcomes + self.recipe.create_many(spec, unmatched, untaken)
        except SystemicError:
            raise
        except Exception as error:  # e.g. the crosswalk failed: open intents resume next run
            return outcomes + [
                self.recipe.reject(spec, record, reason_of(error)) for record in unmatched
            ]

    def _apply(
        self,
        spec: EntitySpec,
        record: Incoming,
        link: Link | None,
        ours: Ours | None,
        interrupted: bool,
        untaken: Untaken,
    ) -> Outcome:
        try:
            if link is not None:
                return self.recipe.apply_linked(spec, record, link, ours)
            return self.recipe.apply_unlinked(
                spec, record, interrupted=interrupted, untaken=untaken
            )
        except SystemicError:
            raise
        except Exception as error:
            return self.recipe.reject(spec, record, reason_of(error))

    # -- end of run --------------------------------------------------------------------

    def finish(self) -> RunReport:
        """Retry deferred and quarantined records, apply held deletes, store the report.

        Raises:
            DeleteCircuitBreakerError: held deletes tripped the breaker (report stored first).
            SystemicError: the destination failed for good (the run is marked failed).
        """
        try:
            self._retry_quarantine()
            self._apply_deletes()
            self._settle_moved_parents()
        except SystemicError:
            self.close("failed")
            raise
        for entity in self.specs:
            deferred = sum(
                self.crosswalk.quarantine.count(self.destination.system, entity, kind)
                for kind in ("deferred", "unconfirmed")
            )
            if deferred or entity in self.report.counts:
                self.report.set(entity, "deferred", 0 if self.plan else deferred)
        self.close("tripped" if self.report.tripped else "finished")
        if self.report.tripped:
            raise DeleteCircuitBreakerError(
                "delete circuit breaker tripped for "
                + ", ".join(self.report.tripped)
                + "; no delete applied, held deletes are in quarantine (crmsync quarantine list)"
            )
        return self.report

    def close(self, status: str = "failed") -> None:
        """Store the report and end the run (idempotent); `finish()` calls it."""
        if self._finished:
            return
        self._finished = True
        self._pool.shutdown(wait=True)
        plan = self.plan.as_dict() if self.plan is not None else None
        self.crosswalk.runs.finish(self.run_id, status, self.report.as_dict(), plan)

    def _retry_quarantine(self) -> None:
        """Deferred records until no more progress; earlier rejections and operator retries once."""
        if self.plan is not None:
            return
        rank = {entity: index for index, entity in enumerate(self.specs)}
        tried: set[int] = set()
        while True:
            due = [
                item
                for item in self.crosswalk.quarantine.due(self.destination.system, self.run_id)
                if item.entity in rank and (item.id not in tried or item.kind == "deferred")
            ]
            due.sort(key=lambda item: (rank[item.entity], item.id))
            before = len(due)
            for entity, items in itertools.groupby(due, key=lambda item: item.entity):
                retried = list(items)
                tried.update(item.id for item in retried)
                self._retry(entity, retried)
            left = [
                item
                for item in self.crosswalk.quarantine.due(self.destination.system, self.run_id)
                if item.entity in rank and item.kind == "deferred"
            ]
            if not left or len(left) >= before:
                return

    def _retry(self, entity: str, items: list[QuarantineItem]) -> None:
        """Retry one entity's quarantined records as one batch (held deletes one by one)."""
        records: list[Incoming] = []
        for item in items:
            record = from_payload(item.payload)
            self.effects.track(entity, record.key)
            if item.kind != "held_delete":
                records.append(record)
                continue
            link = self.effects.find(entity, record.system, record.id)
            if link is not None:
                self._delete(entity, [(record, link)])
            self.effects.resolve(entity, record.key)
        if records:
            self.receive(entity, records)

    def _apply_deletes(self) -> None:
        for entity in self.specs:
            # a delete from the feed and its quarantined retry of an earlier run are one
            held = list(
                {record.key: (record, link) for record, link in self._held.pop(entity, [])}.values()
            )
            if not held:
                continue
            linked = self.crosswalk.count_links(entity)
            if breaker_trips(
                len(held),
                linked,
                self.settings.max_delete_share,
                self.settings.min_deletes_for_breaker,
            ):
                self.report.tripped.append(entity)
                for record, _link in held:
                    self.effects.hold(
                        entity,
                        record.key,
                        "held_delete",
                        f"circuit breaker: {len(held)} of {linked} {entity} links "
                        "deleted in one run",
                        as_payload(record),
                    )
                continue
            self._delete(entity, held)

    def _delete(self, entity: str, held: list[tuple[Incoming, Link]]) -> None:
        """Apply deletes by policy: soft delete in the destination, unlink, or ignore.

        A record deleted at its source, and so at last here, clears what quarantine held of
        it (an edit that found its partner gone, say): the delete has the last word.
        """
        policy = self.settings.delete_policy
        if policy == "ignore":
            self.report.count(entity, "unchanged", len(held))
            return
        if policy == "unlink":
            for record, link in held:
                self.effects.unlink(link)
                self.effects.resolve(entity, record.key)
            self.report.count(entity, "deleted", len(held))
            return
        ids = [link.members[self.destination.system].record_id for _record, link in held]
        try:
            ours = self.destination.fetch(entity, ids)
        except SystemicError:
            raise
        except Exception as error:  # held with the reason, tried again on the next run
            for record, _link in held:
                self.recipe.reject(self.spec(entity), record, reason_of(error))
            return
        for (record, link), record_id in zip(held, ids, strict=True):
            current = ours.get(record_id)
            done_already = current is None or current.deleted
            if current is not None and not done_already:
                try:
                    self._delete_current(entity, current)
                except RecordRejectedError as error:
                    self.recipe.reject(self.spec(entity), record, error.reason)
                    continue
            self.effects.mark_deleted(link)
            self.effects.resolve(entity, record.key)
            self.report.count(entity, "unchanged" if done_already else "deleted")

    def _delete_current(self, entity: str, ours: Ours) -> None:
        """Delete `ours`, read anew when its version went stale: it was edited meanwhile (the
        delete still stands), or it is deleted already (a delete sent again after its answer
        was lost finds its own work done).

        Raises:
            RecordRejectedError: the record kept changing under every attempt.
        """
        current: Ours | None = ours
        for _attempt in range(STALE_ATTEMPTS):
            if current is None or current.deleted:
                return
            try:
                self.effects.delete(entity, current)
                return
            except StaleVersionError:
                current = self.destination.fetch(entity, [ours.id]).get(ours.id)
        raise RecordRejectedError(
            f"{entity} kept changing under the delete ({STALE_ATTEMPTS} attempts)"
        )


T = TypeVar("T")


def _rounds(groups: list[list[T]]) -> list[list[T]]:
    """The first member of every group, then the second, and so on: within a round no two
    records share a match-key value, and each group keeps its batch order across rounds (a
    second record named like the first sees it linked, as if they had come one by one)."""
    longest = max((len(group) for group in groups), default=0)
    return [[group[n] for group in groups if n < len(group)] for n in range(longest)]


BULK_CHUNK = 100
"""The most records one bulk create is given (Customcrm's batch takes 100)."""


def _chunks(records: list[Incoming], workers: int) -> list[list[Incoming]]:
    """Records split for the worker threads: `BULK_CHUNK` at most, in a multiple of
    `workers` chunks of even size, so that no round of chunks leaves threads idle."""
    if not records:
        return []
    rounds = -(-len(records) // (BULK_CHUNK * workers))
    size = -(-len(records) // (rounds * workers))
    return [records[start : start + size] for start in range(0, len(records), size)]
