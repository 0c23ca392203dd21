"""Fixtures for crmsync's tests: a dict-backed Destination and crosswalk URLs.

`MemoryCrm` is a real, small CRM kept in dicts (no HTTP, no mocks): it stores records,
bumps versions, enforces optimistic concurrency and counts every call, so the engine is
tested against behaviour, not against expectations of calls.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from crmsync.destination import AnswerLostError, Ours, RecordRejectedError, StaleVersionError
from crmsync.normalise import normalise_key
from crmsync.report import RunReport

from crmsync import Crosswalk, EntitySpec, Incoming, MatchKey, Reference, Synchronizer, SyncSettings

WRITES = ("create", "update", "delete")
SPECS = (
    EntitySpec(
        "company",
        match_keys=(MatchKey("org_number", "digits"), MatchKey("name", "name")),
    ),
    EntitySpec(
        "person",
        references=(Reference("company_id", "company"),),
        match_keys=(MatchKey("email", "email"),),
    ),
)
NORMALISERS = {"org_number": "digits", "name": "name", "email": "email"}


class MemoryCrm:
    """A CRM in dicts implementing the Destination protocol, with a fake clock."""

    def __init__(self, system: str, prefix: str, clock: Iterator[int]) -> None:
        self.system = system
        self.prefix = prefix
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self.calls: Counter[str] = Counter()
        self.reject: Callable[[str, Mapping[str, Any]], str | None] = lambda entity, values: None
        self.stale_updates = 0
        self.drop_after_create = False
        self.keyless_creates = False  # the key write of a two-call create never happened
        self.lost_answers = 0  # creates carried out whose answer is lost (AnswerLostError)
        self.stale_deletes: list[str] = []  # what happens before each next delete lands
        self.refused_reads = ""  # when set, every fetch is refused with this reason
        self.fills: dict[str, dict[str, Any]] = {}  # per entity, what a create fills in
        self._ids = itertools.count(1)
        self._clock = clock
        self._lock = threading.Lock()

    # -- what a user does in this CRM --------------------------------------------------

    def tick(self) -> str:
        second = next(self._clock)
        stamp = dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=second)
        return stamp.isoformat().replace("+00:00", "Z")

    def add(self, entity: str, **values: Any) -> str:
        """A user creates a record; returns its id."""
        record_id = f"{self.prefix}{next(self._ids)}"
        now = self.tick()
        self.records.setdefault(entity, {})[record_id] = {
            "values": dict(values),
            "version": now,
            "deleted": False,
            "key": None,
        }
        return record_id

    def edit(self, entity: str, record_id: str, **changes: Any) -> None:
        """A user edits a record."""
        record = self.records[entity][record_id]
        record["values"].update(changes)
        record["version"] = self.tick()

    def remove(self, entity: str, record_id: str) -> None:
        """A user deletes a record (soft delete, visible in the feed)."""
        record = self.records[entity][record_id]
        record["deleted"] = True
        record["version"] = self.tick()

    def require(self, field: str) -> None:
        """From now on, refuse records without `field` the way an API answers 422."""
        self.reject = lambda entity, values: None if values.get(field) else f"{field} is required"

    def values(self, entity: str, record_id: str) -> dict[str, Any]:
        return dict(self.records[entity][record_id]["values"])

    def _rows(self, entity: str) -> list[tuple[str, dict[str, Any]]]:
        """A snapshot of one entity's records: the engine's worker threads create meanwhile."""
        with self._lock:
            return list(self.records.get(entity, {}).items())

    def live(self, entity: str) -> dict[str, dict[str, Any]]:
        return {
            record_id: dict(record["values"])
            for record_id, record in self._rows(entity)
            if not record["deleted"]
        }

    def feed(self, entity: str) -> list[Incoming]:
        """What this CRM's tap emits (every record, deletions included)."""
        return [
            Incoming(
                self.system,
                record_id,
                self.version_of(record),
                dict(record["values"]),
                deleted=record["deleted"],
                updated_at=record["version"],
            )
            for record_id, record in self._rows(entity)
        ]

    @property
    def writes(self) -> int:
        return sum(self.calls[name] for name in WRITES)

    # -- the Destination protocol ------------------------------------------------------

    def version_of(self, record: Mapping[str, Any]) -> str:
        """The version the API gives a record (its tap and its reads alike)."""
        return str(record["version"])

    def _ours(self, record_id: str, record: Mapping[str, Any]) -> Ours:
        return Ours(
            record_id,
            self.version_of(record),
            dict(record["values"]),
            record["version"],
            record["deleted"],
            record["key"],
        )

    def fetch(self, entity: str, ids: Sequence[str]) -> dict[str, Ours]:
        self.calls["fetch"] += 1
        if self.refused_reads:
            raise RecordRejectedError(self.refused_reads, status=400)
        table = self.records.get(entity, {})
        return {i: self._ours(i, table[i]) for i in ids if i in table}

    def match(self, entity: str, key: str, value: str) -> list[Ours]:
        self.calls["match"] += 1
        return [
            self._ours(record_id, record)
            for record_id, record in self._rows(entity)
            if not record["deleted"]
            and normalise_key(NORMALISERS.get(key, "code"), record["values"].get(key)) == value
        ]

    def find_by_correlation(self, entity: str, correlation_key: str) -> Ours | None:
        self.calls["find_by_correlation"] += 1
        for record_id, record in self._rows(entity):
            if record["key"] == correlation_key:
                return self._ours(record_id, record)
        return None

    def look_alikes(self, entity: str, values: Mapping[str, Any]) -> list[Ours]:
        """Live records holding every value the create gave."""
        self.calls["look_alikes"] += 1
        given = {field: value for field, value in values.items() if value not in (None, "")}
        return [
            self._ours(record_id, record)
            for record_id, record in self._rows(entity)
            if not record["deleted"]
            and all(record["values"].get(f) == value for f, value in given.items())
        ]

    def create(self, entity: str, values: Mapping[str, Any], correlation_key: str) -> Ours:
        self.calls["create"] += 1
        reason = self.reject(entity, values)
        if reason:
            raise RecordRejectedError(reason, status=422)
        with self._lock:
            filled = {k: v for k, v in self.fills.get(entity, {}).items() if values.get(k) is None}
            record_id = self.add(entity, **{**values, **filled})
            self.records[entity][record_id]["key"] = (
                None if self.keyless_creates else correlation_key
            )
        if self.drop_after_create:
            raise ConnectionError("connection dropped after the server created the record")
        if self.lost_answers > 0:
            self.lost_answers -= 1
            raise AnswerLostError("ReadTimeout on POST after it was sent")
        return self._ours(record_id, self.records[entity][record_id])

    def update(self, entity: str, ours: Ours, changes: Mapping[str, Any]) -> Ours:
        self.calls["update"] += 1
        reason = self.reject(entity, changes)
        if reason:
            raise RecordRejectedError(reason, status=422)
        with self._lock:
            record = self.records[entity][ours.id]
            if self.stale_updates > 0:
                self.stale_updates -= 1
                self.edit(entity, ours.id)  # someone else saved in between
                raise StaleVersionError(f"{entity} {ours.id} changed since version {ours.version}")
            if self.version_of(record) != ours.version:
                raise StaleVersionError(f"{entity} {ours.id} changed since version {ours.version}")
            self.edit(entity, ours.id, **changes)
            return self._ours(ours.id, record)

    def delete(self, entity: str, ours: Ours) -> None:
        self.calls["delete"] += 1
        if self.stale_deletes:
            before = self.stale_deletes.pop(0)
            if before == "edited":  # someone saved the record since it was read
                self.edit(entity, ours.id)
            else:  # "deleted": an earlier attempt landed, its answer was lost
                self.remove(entity, ours.id)
            raise StaleVersionError(f"{entity} {ours.id} changed since version {ours.version}")
        self.remove(entity, ours.id)


class BulkMemoryCrm(MemoryCrm):
    """A MemoryCrm that also creates many records in one call (as Customcrm's batch does)."""

    bulk_sizes: list[int]
    """How many records each `create_many` call was given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bulk_sizes = []

    def create_many(
        self, entity: str, items: Sequence[tuple[Mapping[str, Any], str]]
    ) -> list[Ours | RecordRejectedError | AnswerLostError]:
        self.calls["create_many"] += 1
        self.bulk_sizes.append(len(items))
        created: list[Ours | RecordRejectedError | AnswerLostError] = []
        for values, correlation_key in items:
            try:
                created.append(self.create(entity, values, correlation_key))
            except (RecordRejectedError, AnswerLostError) as error:
                created.append(error)
        return created


class ParentMovingMemoryCrm(BulkMemoryCrm):
    """Customcrm's rule in small: writing a person moves its company's version (as a quote
    line moves its quote); `while_writing_a_person` is what a user does meanwhile."""

    moves_parent = {"person": "company"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.while_writing_a_person: Callable[[], None] = lambda: None

    def _move_company(self, entity: str, values: Mapping[str, Any]) -> None:
        company = values.get("company_id")
        if entity == "person" and company in self.records.get("company", {}):
            self.records["company"][company]["version"] = self.tick()
            self.while_writing_a_person()

    def create(self, entity: str, values: Mapping[str, Any], correlation_key: str) -> Ours:
        created = super().create(entity, values, correlation_key)
        self._move_company(entity, values)
        return created

    def update(self, entity: str, ours: Ours, changes: Mapping[str, Any]) -> Ours:
        updated = super().update(entity, ours, changes)
        self._move_company(entity, updated.values)
        return updated

    def delete(self, entity: str, ours: Ours) -> None:
        super().delete(entity, ours)
        self._move_company(entity, ours.values)


class SharedVersionMemoryCrm(MemoryCrm):
    """SuperOffice's rule in small: a company and its persons share one version (as a Sale's
    alternatives and lines carry the Sale's `UpdatedDate`), so writing one moves them all;
    with `fingerprints`, a version ends in a fingerprint of the record's own values (as
    tap-superoffice's and target-superoffice's quote versions do)."""

    fingerprints = True

    def version_of(self, record: Mapping[str, Any]) -> str:
        if not self.fingerprints:
            return str(record["version"])
        own = repr(sorted((key, repr(value)) for key, value in record["values"].items()))
        return f"{record['version']}#{zlib.crc32(own.encode()):08x}"

    def edit(self, entity: str, record_id: str, **changes: Any) -> None:
        super().edit(entity, record_id, **changes)
        record = self.records[entity][record_id]
        company = record_id if entity == "company" else record["values"].get("company_id")
        for kind, rows in self.records.items():
            for other_id, other in rows.items():
                owner = other_id if kind == "company" else other["values"].get("company_id")
                if owner == company:
                    other["version"] = record["version"]


class KnowingMemoryCrm(BulkMemoryCrm):
    """A bulk-creating CRM that answers `known_matches` (as a primed destination does):
    what `match` would answer, without a call of its own."""

    def known_matches(self, entity: str, key: str, value: str) -> list[Ours] | None:
        answer = self.match(entity, key, value)
        self.calls["match"] -= 1
        return answer


class PrimingMemoryCrm(MemoryCrm):
    """A CRM that reads a batch's match candidates at once (`prime`), noting each read; with
    `refuse`, it refuses every such read, as an API refuses a filter it cannot take."""

    def __init__(self, *args: Any, refuse: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.primed: list[tuple[str, str, list[str]]] = []
        self.refuse = refuse

    def prime(self, entity: str, key: str, values: Sequence[str]) -> None:
        self.primed.append((entity, key, list(values)))
        if self.refuse:
            raise RecordRejectedError("400: the filter is too long")


@pytest.fixture
def priming_crm(clock: Iterator[int]) -> Callable[..., PrimingMemoryCrm]:
    """A factory of priming CRMs named like `right` (SuperOffice), sharing the clock."""
    return lambda **options: PrimingMemoryCrm("superoffice", "s", clock, **options)


@pytest.fixture
def knowing_crm(clock: Iterator[int]) -> KnowingMemoryCrm:
    """A Customcrm-like side (bulk creates) whose match answers are known without a request."""
    return KnowingMemoryCrm("customcrm", "c", clock)


@pytest.fixture
def crosswalk_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'crosswalk.db'}"


@pytest.fixture
def crosswalk(crosswalk_url: str) -> Iterator[Crosswalk]:
    opened = Crosswalk.connect(crosswalk_url)
    yield opened
    opened.close()


@pytest.fixture
def clock() -> Iterator[int]:
    """One fake clock for both CRMs, so "newer" means the same on both sides."""
    return itertools.count(1)


@pytest.fixture
def left(clock: Iterator[int]) -> MemoryCrm:
    """The Customcrm-like side, with a bulk create like Customcrm's."""
    return BulkMemoryCrm("customcrm", "c", clock)


@pytest.fixture
def right(clock: Iterator[int]) -> MemoryCrm:
    """The SuperOffice-like side."""
    return MemoryCrm("superoffice", "s", clock)


class World:
    """Two CRMs and one crosswalk, run the way `meltano run two-way-sync` runs the legs."""

    def __init__(self, crosswalk: Crosswalk, left: MemoryCrm, right: MemoryCrm) -> None:
        self.crosswalk = crosswalk
        self.left = left
        self.right = right

    def leg(
        self,
        source: MemoryCrm,
        destination: MemoryCrm,
        *,
        specs: Sequence[EntitySpec] = SPECS,
        **settings: Any,
    ) -> RunReport:
        """One leg: the source's full feed, parents first, then finish()."""
        sync = Synchronizer(
            self.crosswalk,
            destination,
            settings=SyncSettings(**settings),
            specs=specs,
            leg=f"{source.system}->{destination.system}",
        )
        for spec in specs:
            sync.receive(spec.name, source.feed(spec.name))
        return sync.finish()

    def both(self, **settings: Any) -> tuple[RunReport, RunReport]:
        """One two-way-sync run: left to right, then right to left."""
        return self.leg(self.left, self.right, **settings), self.leg(
            self.right, self.left, **settings
        )

    def writes(self) -> int:
        return self.left.writes + self.right.writes

    def reset_calls(self) -> None:
        self.left.calls.clear()
        self.right.calls.clear()

    def writes_of_next_run(self, **settings: Any) -> int:
        """One more run (`both`), and the writes it made on both sides (0 once settled)."""
        self.reset_calls()
        self.both(**settings)
        return self.writes()

    def mirrored(self, entity: str) -> bool:
        """Both sides hold the same linked records with equal values (references translated)."""
        spec = next(spec for spec in SPECS if spec.name == entity)
        left_live, right_live = self.left.live(entity), self.right.live(entity)
        if len(left_live) != len(right_live):
            return False
        for left_id, values in left_live.items():
            right_id = self.crosswalk.translate(
                entity, self.left.system, left_id, self.right.system
            )
            if right_id is None or right_id not in right_live:
                return False
            other = dict(right_live[right_id])
            for reference in spec.references:
                if other.get(reference.field) is not None:
                    other[reference.field] = self.crosswalk.translate(
                        reference.entity,
                        self.right.system,
                        other[reference.field],
                        self.left.system,
                    )
            if other != values:
                return False
        return True


@pytest.fixture
def world(crosswalk: Crosswalk, left: MemoryCrm, right: MemoryCrm) -> World:
    return World(crosswalk, left, right)


@pytest.fixture
def shared(crosswalk: Crosswalk, left: MemoryCrm, clock: Iterator[int]) -> World:
    """A world whose SuperOffice-like side gives a company and its persons one version."""
    return World(crosswalk, left, SharedVersionMemoryCrm("superoffice", "s", clock))


@pytest.fixture
def moving(crosswalk: Crosswalk, right: MemoryCrm, clock: Iterator[int]) -> World:
    """A world whose Customcrm-like side moves a company when one of its persons is written."""
    return World(crosswalk, ParentMovingMemoryCrm("customcrm", "c", clock), right)


@pytest.fixture
def make_world(tmp_path: Path) -> Iterator[Callable[[], World]]:
    """A factory of fresh worlds (own crosswalk file, own CRMs), for property tests."""
    opened: list[Crosswalk] = []
    counter = itertools.count(1)

    def build() -> World:
        crosswalk = Crosswalk.connect(f"sqlite:///{tmp_path / f'crosswalk-{next(counter)}.db'}")
        opened.append(crosswalk)
        clock = itertools.count(1)
        return World(
            crosswalk, BulkMemoryCrm("customcrm", "c", clock), MemoryCrm("superoffice", "s", clock)
        )

    yield build
    for crosswalk in opened:
        crosswalk.close()


@pytest.fixture
def statements() -> Callable[[sa.Engine], contextlib.AbstractContextManager[list[str]]]:
    """`with statements(engine) as seen:` the SQL statements run on `engine` in the block."""

    @contextlib.contextmanager
    def watch(engine: sa.Engine) -> Iterator[list[str]]:
        seen: list[str] = []

        def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            seen.append(statement.lstrip())

        sa.event.listen(engine, "before_cursor_execute", note)
        try:
            yield seen
        finally:
            sa.event.remove(engine, "before_cursor_execute", note)

    return watch
