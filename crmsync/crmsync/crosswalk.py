"""The crosswalk: which record on one side is linked to which on the other, and create intents.

Race safety comes from the database, not from locks held in Python: a record can be a
member of one link only (unique entity+system+record id), a link has one member per side,
a create is claimed by one intent row per source record, and bases are written with a
compare-and-set on the member's revision. Every method is one short transaction, so one
Crosswalk is shared by all sink threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError

from crmsync import store
from crmsync.conflicts import ConflictLog
from crmsync.intents import Intent, Intents
from crmsync.quarantine import Quarantine
from crmsync.report import RunLog

__all__ = ["Crosswalk", "Intent", "Link", "Member", "NewLink"]


@dataclass(frozen=True)
class Member:
    """One side of a link: the record id there, its agreed base and our write receipt."""

    id: int
    link_id: int
    system: str
    record_id: str
    base: Mapping[str, Any] | None
    receipt_version: str | None
    seen_version: str | None
    """The version last read from it and carried to the other side; after our write into it
    kept no receipt (a create it filled in, a merge that kept its values, the first merge
    into a matched record), until it is read again, the version that write left it at."""
    revision: int
    deleted: bool = False
    """The pair was deleted (here by a delete the sync applied, or found deleted)."""


@dataclass(frozen=True)
class Link:
    """A linked pair (one record per side) of one entity."""

    id: int
    entity: str
    members: Mapping[str, Member] = field(default_factory=dict)

    def side(self, system: str) -> Member | None:
        """The member on `system`, if that side is linked."""
        return self.members.get(system)

    @property
    def deleted(self) -> bool:
        """The linked pair was deleted: a reference to it has nothing to point at."""
        return any(member.deleted for member in self.members.values())


def _member(row: Mapping[Any, Any]) -> Member:
    return Member(
        id=row["id"],
        link_id=row["link_id"],
        system=row["system"],
        record_id=row["record_id"],
        base=row["base"],
        receipt_version=row["receipt_version"],
        seen_version=row["seen_version"],
        revision=row["revision"],
        deleted=row["deleted_at"] is not None,
    )


@dataclass(frozen=True)
class NewLink:
    """A link to commit: source (system, id, seen version), destination (system, id), the
    destination's agreed base and write receipt, and the create intent it closes.

    `made`: the version our create left the destination record at, kept as its seen version
    (what we last knew it as), whether or not it earned a receipt.
    """

    source: tuple[str, str, str | None]
    destination: tuple[str, str]
    base: Mapping[str, Any] | None = None
    receipt: str | None = None
    closes_intent: str | None = None
    made: str | None = None


def _insert_link(connection: Connection, entity: str, new: NewLink, run_id: int) -> int:
    """Insert a link and its two members (closing its intent); the new link id."""
    return _insert_links(connection, entity, [new], run_id)[0]


def _insert_links(
    connection: Connection, entity: str, news: Sequence[NewLink], run_id: int
) -> list[int]:
    """Insert links and their members (closing their intents); the new link ids. The links,
    the members and the intents take one statement each for all the links."""
    now = store.utcnow()
    link_ids = _new_link_ids(connection, entity, run_id, len(news), now)
    members: list[dict[str, Any]] = []
    for link_id, new in zip(link_ids, news, strict=True):
        common = {"link_id": link_id, "entity": entity, "revision": 0, "updated_at": now}
        source_system, source_id, seen = new.source
        members += [
            {**common, "system": source_system, "record_id": source_id, "seen_version": seen,
             "base": None, "receipt_version": None},
            {**common, "system": new.destination[0], "record_id": new.destination[1],
             "seen_version": new.made, "base": new.base, "receipt_version": new.receipt},
        ]  # fmt: skip
    if members:
        connection.execute(_INSERT_MEMBER, members)
    closed = [{"correlation_key": new.closes_intent} for new in news if new.closes_intent]
    if closed:
        connection.execute(_CLOSE_INTENT, closed)
    return link_ids


def _new_link_ids(
    connection: Connection, entity: str, run_id: int, count: int, now: Any
) -> list[int]:
    """Insert `count` links in one statement (SQLAlchemy's "insertmanyvalues" with RETURNING,
    on SQLite and PostgreSQL alike); their ids in insertion order."""
    if not count:
        return []
    row = {"entity": entity, "run_id": run_id, "created_at": now}
    return [int(link_id) for link_id in connection.execute(_INSERT_LINKS, [row] * count).scalars()]


def _find_links_query() -> sa.Select[Any]:
    """Every member of the links holding any of `record_ids` (entity, system), each row with
    the id it was found by (`held_id`).

    The hot statements are built once, at import: building a select per call (its alias,
    its cache key) cost more CPU than running it on SQLite.
    """
    members = store.link_members
    holder = members.alias("holder")
    return (
        sa.select(members, holder.c.record_id.label("held_id"))
        .join(holder, holder.c.link_id == members.c.link_id)
        .where(
            holder.c.entity == sa.bindparam("entity"),
            holder.c.system == sa.bindparam("system"),
            holder.c.record_id.in_(sa.bindparam("record_ids", expanding=True)),
        )
    )


_FIND_LINKS = _find_links_query()
IDS_PER_QUERY = 500
"""Record ids in one `find_many` statement (well under SQLite's and PostgreSQL's limits)."""
_LOAD_LINK = sa.select(store.link_members).where(
    store.link_members.c.link_id == sa.bindparam("link_id")
)
_INSERT_LINKS = store.links.insert().returning(store.links.c.id, sort_by_parameter_order=True)
_INSERT_MEMBER = store.link_members.insert()
_CLOSE_INTENT = store.intents.delete().where(
    store.intents.c.correlation_key == sa.bindparam("correlation_key")
)


class Crosswalk:
    """The store of links, intents, conflicts, quarantine and runs (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.runs = RunLog(engine)
        self.conflicts = ConflictLog(engine)
        self.quarantine = Quarantine(engine)
        self.intents = Intents(engine)

    @classmethod
    def connect(cls, url: str) -> Crosswalk:
        """Open the crosswalk at a SQLAlchemy URL, creating or migrating its schema."""
        engine = store.create_crosswalk_engine(url)
        store.migrate(engine)
        return cls(engine)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    # -- links -------------------------------------------------------------------------

    def find(self, entity: str, system: str, record_id: str) -> Link | None:
        """The link holding this record, with all its members (one query)."""
        return self.find_many(entity, system, [record_id]).get(record_id)

    def find_many(self, entity: str, system: str, record_ids: Iterable[str]) -> dict[str, Link]:
        """The links holding any of these records, by record id (one query per
        `IDS_PER_QUERY` ids); a record without a link is absent."""
        wanted = list(dict.fromkeys(record_ids))
        rows: list[RowMapping] = []
        with self.engine.connect() as connection:
            for start in range(0, len(wanted), IDS_PER_QUERY):
                chunk = wanted[start : start + IDS_PER_QUERY]
                parameters = {"entity": entity, "system": system, "record_ids": chunk}
                rows += connection.execute(_FIND_LINKS, parameters).mappings().all()
        members: dict[str, dict[str, Member]] = {}
        link_ids: dict[str, int] = {}
        for row in rows:
            members.setdefault(row["held_id"], {})[row["system"]] = _member(row)
            link_ids[row["held_id"]] = int(row["link_id"])
        return {held: Link(link_ids[held], entity, found) for held, found in members.items()}

    def _load(self, connection: Connection, entity: str, link_id: int) -> Link:
        rows = connection.execute(_LOAD_LINK, {"link_id": link_id}).mappings()
        return Link(link_id, entity, {row["system"]: _member(row) for row in rows})

    def translate(
        self, entity: str, from_system: str, record_id: str, to_system: str
    ) -> str | None:
        """The id on `to_system` of the record linked to `record_id` on `from_system`."""
        link = self.find(entity, from_system, record_id)
        other = link.side(to_system) if link else None
        return other.record_id if other else None

    def link(
        self,
        entity: str,
        source: tuple[str, str, str | None],
        destination: tuple[str, str],
        *,
        run_id: int,
        base: Mapping[str, Any] | None = None,
        receipt: str | None = None,
        closes_intent: str | None = None,
        made: str | None = None,
    ) -> Link | None:
        """Link source (system, id, seen version) to destination (system, id) in one transaction.

        Returns None when either record is already linked (a racing run won); closes the
        create intent in the same transaction, so a committed link never leaves an open intent.
        """
        new = NewLink(source, destination, base, receipt, closes_intent, made)
        try:
            with store.transaction(self.engine) as connection:
                return self._load(connection, entity, _insert_link(connection, entity, new, run_id))
        except IntegrityError:
            return None

    def link_many(self, entity: str, new_links: Sequence[NewLink], *, run_id: int) -> list[bool]:
        """Commit many links in one transaction (a bulk create's records); True where linked.

        If any of them was linked by a racing run, each is tried on its own instead, so
        only the raced ones come back False.
        """
        try:
            with store.transaction(self.engine) as connection:
                _insert_links(connection, entity, new_links, run_id)
            return [True] * len(new_links)
        except IntegrityError:
            return [
                self.link(
                    entity,
                    new.source,
                    new.destination,
                    run_id=run_id,
                    base=new.base,
                    receipt=new.receipt,
                    closes_intent=new.closes_intent,
                    made=new.made,
                )
                is not None
                for new in new_links
            ]

    def agree(
        self,
        destination: Member,
        base: Mapping[str, Any],
        receipt: str | None,
        source: Member | None = None,
        seen_version: str | None = None,
        made: str | None = None,
    ) -> bool:
        """Store the new base and receipt, if nobody changed the member since it was read.

        `made`: the version a write that kept no receipt (or the first into a record we
        had no base for) left it at, kept as its seen version (see `Member.seen_version`).
        Returns False when the member's revision moved (a racing run wrote first).
        """
        members = store.link_members
        now = store.utcnow()
        made_seen = {} if made is None else {"seen_version": made}
        with store.transaction(self.engine) as connection:
            moved = connection.execute(
                members.update()
                .where(members.c.id == destination.id, members.c.revision == destination.revision)
                .values(
                    base=base,
                    receipt_version=receipt,
                    revision=destination.revision + 1,
                    updated_at=now,
                    **made_seen,
                )
            ).rowcount
            if moved != 1:
                return False
            if source is not None:
                connection.execute(
                    members.update()
                    .where(members.c.id == source.id)
                    .values(seen_version=seen_version, updated_at=now)
                )
            return True

    def mark_deleted(self, link_id: int) -> None:
        """Note that the pair of a link was deleted (both members; kept for the record)."""
        members = store.link_members
        now = store.utcnow()
        with store.transaction(self.engine) as connection:
            connection.execute(
                members.update()
                .where(members.c.link_id == link_id, members.c.deleted_at.is_(None))
                .values(deleted_at=now, updated_at=now)
            )

    def unlink(self, link_id: int) -> None:
        """Forget a link (both members)."""
        with store.transaction(self.engine) as connection:
            connection.execute(
                store.link_members.delete().where(store.link_members.c.link_id == link_id)
            )
            connection.execute(store.links.delete().where(store.links.c.id == link_id))

    def linked_ids(self, entity: str, system: str) -> list[str]:
        """The ids of every `system` record of `entity` a link holds."""
        members = store.link_members
        query = sa.select(members.c.record_id).where(
            members.c.entity == entity, members.c.system == system
        )
        with self.engine.connect() as connection:
            return [str(record_id) for record_id in connection.execute(query).scalars()]

    def count_links(self, entity: str) -> int:
        """How many linked pairs of `entity` exist (the circuit breaker's denominator)."""
        with self.engine.connect() as connection:
            found = connection.execute(
                sa.select(sa.func.count())
                .select_from(store.links)
                .where(store.links.c.entity == entity)
            ).scalar()
        return int(found or 0)

    def search(
        self, text: str = "", entity: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """Links whose member ids contain `text`, one row per link, for the CLI."""
        return list(self.export(entity=entity, text=text, limit=limit))

    def export(
        self, entity: str | None = None, text: str = "", limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every link as {link_id, entity, <system>: record id, ...}, streamed in id order."""
        members = store.link_members
        query = sa.select(
            members.c.link_id, members.c.entity, members.c.system, members.c.record_id
        )
        if entity:
            query = query.where(members.c.entity == entity)
        if text:
            hits = sa.select(members.c.link_id).where(members.c.record_id.contains(text))
            query = query.where(members.c.link_id.in_(hits))
        query = query.order_by(members.c.link_id, members.c.system)
        current: dict[str, Any] | None = None
        emitted = 0
        with self.engine.connect() as connection:
            for row in connection.execute(query).mappings():
                if current is None or current["link_id"] != row["link_id"]:
                    if current is not None:
                        yield current
                        emitted += 1
                        if limit is not None and emitted >= limit:
                            return
                    current = {"link_id": row["link_id"], "entity": row["entity"]}
                current[row["system"]] = row["record_id"]
        if current is not None:
            yield current

    # -- create intents (see intents.py) ------------------------------------------------

    def claim_intent(
        self, entity: str, source_system: str, source_id: str, destination_system: str, run_id: int
    ) -> Intent | None:
        """Claim the create of a source record's partner (see `Intents.claim`)."""
        return self.intents.claim(entity, source_system, source_id, destination_system, run_id)

    def claim_intents(
        self,
        entity: str,
        sources: Sequence[tuple[str, str]],
        destination_system: str,
        run_id: int,
    ) -> list[Intent | None]:
        """Claim many creates in one transaction (see `Intents.claim_many`)."""
        return self.intents.claim_many(entity, sources, destination_system, run_id)

    def release_intent(self, correlation_key: str) -> None:
        """Drop an intent whose create will not happen."""
        self.intents.release(correlation_key)

    def open_intents(self, entity: str, source_system: str, source_ids: list[str]) -> set[str]:
        """Which of these source records have an unfinished create (see `Intents.open_among`)."""
        return self.intents.open_among(entity, source_system, source_ids)

    def unfinished_creates(self, entity: str, destination_system: str) -> int:
        """How many creates of `entity` toward `destination_system` are not linked yet: in
        flight, interrupted, or held as `unconfirmed` (see `Intents.count_toward`)."""
        return self.intents.count_toward(entity, destination_system)

    def open_intent(self, entity: str, source_system: str, source_id: str) -> str | None:
        """The correlation key of an unfinished create of this source record, if any."""
        return self.intents.open(entity, source_system, source_id)
