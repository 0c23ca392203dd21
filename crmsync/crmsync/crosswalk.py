"""The crosswalk: which record on one side is linked to which on the other, and create intents.

Race safety comes from the database, not from locks held in Python: a record can be a
member of one link only (unique entity+system+record id), a link has one member per side,
a create is claimed by one intent row per source record, and bases are written with a
compare-and-set on the member's revision. Every method is one short transaction, so one
Crosswalk is shared by all sink threads.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from crmsync import store
from crmsync.conflicts import ConflictLog
from crmsync.quarantine import Quarantine
from crmsync.report import RunLog

__all__ = ["Crosswalk", "Intent", "Link", "Member"]

INTENT_LEASE = dt.timedelta(minutes=15)
"""An intent of a run that is still marked running is taken over only after this long."""


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
    revision: int


@dataclass(frozen=True)
class Link:
    """A linked pair (one record per side) of one entity."""

    id: int
    entity: str
    members: Mapping[str, Member] = field(default_factory=dict)

    def side(self, system: str) -> Member | None:
        """The member on `system`, if that side is linked."""
        return self.members.get(system)


@dataclass(frozen=True)
class Intent:
    """A claimed create: the correlation key travels into the destination record."""

    correlation_key: str
    resumed: bool
    """True when an earlier, interrupted attempt held this key: look for its record first."""


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
    )


class Crosswalk:
    """The store of links, intents, conflicts, quarantine and runs (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.runs = RunLog(engine)
        self.conflicts = ConflictLog(engine)
        self.quarantine = Quarantine(engine)

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
        """The link holding this record, with all its members."""
        members = store.link_members
        with self.engine.connect() as connection:
            link_id = connection.execute(
                sa.select(members.c.link_id).where(
                    members.c.entity == entity,
                    members.c.system == system,
                    members.c.record_id == record_id,
                )
            ).scalar()
            if link_id is None:
                return None
            return self._load(connection, entity, int(link_id))

    def _load(self, connection: Connection, entity: str, link_id: int) -> Link:
        rows = connection.execute(
            sa.select(store.link_members).where(store.link_members.c.link_id == link_id)
        ).mappings()
        return Link(link_id, entity, {row["system"]: _member(row) for row in rows})

    def translate(
        self, entity: str, from_system: str, record_id: str, to_system: str
    ) -> str | None:
        """The id on `to_system` of the record linked to `record_id` on `from_system`."""
        link = self.find(entity, from_system, record_id)
        other = link.side(to_system) if link else None
        return other.record_id if other else None

    def is_linked(self, entity: str, system: str, record_id: str) -> bool:
        """True when the record already belongs to a link."""
        return self.find(entity, system, record_id) is not None

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
    ) -> Link | None:
        """Link source (system, id, seen version) to destination (system, id) in one transaction.

        Returns None when either record is already linked (a racing run won); closes the
        create intent in the same transaction, so a committed link never leaves an open intent.
        """
        now = store.utcnow()
        try:
            with self.engine.begin() as connection:
                inserted = connection.execute(
                    store.links.insert().values(entity=entity, run_id=run_id, created_at=now)
                ).inserted_primary_key
                link_id = int(inserted[0]) if inserted else 0
                source_system, source_id, seen = source
                rows: list[dict[str, Any]] = [
                    {"system": source_system, "record_id": source_id, "seen_version": seen},
                    {
                        "system": destination[0],
                        "record_id": destination[1],
                        "base": base,
                        "receipt_version": receipt,
                    },
                ]
                for row in rows:
                    connection.execute(
                        store.link_members.insert().values(
                            link_id=link_id, entity=entity, revision=0, updated_at=now, **row
                        )
                    )
                if closes_intent is not None:
                    connection.execute(
                        store.intents.delete().where(
                            store.intents.c.correlation_key == closes_intent
                        )
                    )
                return self._load(connection, entity, int(link_id))
        except IntegrityError:
            return None

    def agree(
        self,
        destination: Member,
        base: Mapping[str, Any],
        receipt: str | None,
        source: Member | None = None,
        seen_version: str | None = None,
    ) -> bool:
        """Store the new base and receipt, if nobody changed the member since it was read.

        Returns False when the member's revision moved (a racing run wrote first).
        """
        members = store.link_members
        now = store.utcnow()
        with self.engine.begin() as connection:
            moved = connection.execute(
                members.update()
                .where(members.c.id == destination.id, members.c.revision == destination.revision)
                .values(
                    base=base,
                    receipt_version=receipt,
                    revision=destination.revision + 1,
                    updated_at=now,
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

    def unlink(self, link_id: int) -> None:
        """Forget a link (both members)."""
        with self.engine.begin() as connection:
            connection.execute(
                store.link_members.delete().where(store.link_members.c.link_id == link_id)
            )
            connection.execute(store.links.delete().where(store.links.c.id == link_id))

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

    # -- create intents ----------------------------------------------------------------

    def claim_intent(
        self, entity: str, source_system: str, source_id: str, destination_system: str, run_id: int
    ) -> Intent | None:
        """Claim the right to create this source record's partner, committed before the create.

        A fresh claim gets a new uuid4 correlation key. An intent left by a finished or
        crashed run (lease expired) is taken over with its key, so the caller must look for
        the record that key may already have made. None: a live run holds the claim.
        """
        now = store.utcnow()
        key = uuid.uuid4().hex
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    store.intents.insert().values(
                        entity=entity,
                        source_system=source_system,
                        source_id=source_id,
                        destination_system=destination_system,
                        correlation_key=key,
                        run_id=run_id,
                        claimed_at=now,
                    )
                )
            return Intent(key, resumed=False)
        except IntegrityError:
            pass
        return self._take_over(entity, source_system, source_id, run_id, now)

    def _take_over(
        self, entity: str, source_system: str, source_id: str, run_id: int, now: dt.datetime
    ) -> Intent | None:
        intents = store.intents
        ended = sa.select(store.runs.c.id).where(store.runs.c.status != "running")
        where = (
            (intents.c.entity == entity)
            & (intents.c.source_system == source_system)
            & (intents.c.source_id == source_id)
        )
        with self.engine.begin() as connection:
            taken = connection.execute(
                intents.update()
                .where(where)
                .where(
                    (intents.c.run_id == run_id)
                    | (intents.c.claimed_at < now - INTENT_LEASE)
                    | intents.c.run_id.in_(ended)
                )
                .values(run_id=run_id, claimed_at=now)
            ).rowcount
            if taken != 1:
                return None
            key = connection.execute(sa.select(intents.c.correlation_key).where(where)).scalar()
        return Intent(str(key), resumed=True)

    def release_intent(self, correlation_key: str) -> None:
        """Drop an intent whose create will not happen (the destination rejected it)."""
        with self.engine.begin() as connection:
            connection.execute(
                store.intents.delete().where(store.intents.c.correlation_key == correlation_key)
            )

    def open_intent(self, entity: str, source_system: str, source_id: str) -> str | None:
        """The correlation key of an unfinished create of this source record, if any."""
        intents = store.intents
        with self.engine.connect() as connection:
            key = connection.execute(
                sa.select(intents.c.correlation_key).where(
                    intents.c.entity == entity,
                    intents.c.source_system == source_system,
                    intents.c.source_id == source_id,
                )
            ).scalar()
        return None if key is None else str(key)
