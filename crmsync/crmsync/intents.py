"""Create intents: who may create the partner of a source record, claimed before the create.

A fresh claim gets a uuid4 correlation key that travels into the destination record. The
intent table's unique key (entity, source system, source id) lets one claim win; an intent
left by a run that ended, or whose lease ran out, is taken over with its key, so the
taker looks for the record that key may already have made. Decides nothing else.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from crmsync import store

__all__ = ["INTENT_LEASE", "Intent", "Intents"]

INTENT_LEASE = dt.timedelta(minutes=15)
"""An intent of a run that is still marked running is taken over only after this long."""
_INSERT_INTENT = store.intents.insert()
_CHUNK = 500
"""Source ids per `IN (...)` (SQLite allows 32766 bound values; PostgreSQL many more)."""


@dataclass(frozen=True)
class Intent:
    """A claimed create: the correlation key travels into the destination record."""

    correlation_key: str
    resumed: bool
    """True when an earlier, interrupted attempt held this key: look for its record first."""


class Intents:
    """The `intents` table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def claim(
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
            with store.transaction(self.engine) as connection:
                connection.execute(
                    _INSERT_INTENT,
                    _row(entity, (source_system, source_id), destination_system, key, run_id, now),
                )
            return Intent(key, resumed=False)
        except IntegrityError:
            pass
        self._reap(entity, source_system, source_id)
        return self._take_over(entity, source_system, source_id, run_id, now)

    def claim_many(
        self,
        entity: str,
        sources: Sequence[tuple[str, str]],
        destination_system: str,
        run_id: int,
    ) -> list[Intent | None]:
        """Claim many creates (source system, source id) in one transaction, for a bulk create.

        When any of them is held already, each is claimed on its own instead (`claim`), so
        the held ones come back resumed or None exactly as one by one.
        """
        now = store.utcnow()
        keys = [uuid.uuid4().hex for _ in sources]
        rows = [
            _row(entity, source, destination_system, key, run_id, now)
            for source, key in zip(sources, keys, strict=True)
        ]
        if not rows:
            return []
        try:
            with store.transaction(self.engine) as connection:
                connection.execute(_INSERT_INTENT, rows)
            return [Intent(key, resumed=False) for key in keys]
        except IntegrityError:
            return [
                self.claim(entity, system, source_id, destination_system, run_id)
                for system, source_id in sources
            ]

    def _reap(self, entity: str, source_system: str, source_id: str) -> None:
        """Mark the run holding this intent failed if it was a process of this host that died.

        A run killed with SIGKILL never ends itself; on its own host we can see it is gone,
        elsewhere the lease decides.
        """
        intents, runs = store.intents, store.runs
        query = (
            sa.select(runs.c.id, runs.c.host, runs.c.pid)
            .join(intents, intents.c.run_id == runs.c.id)
            .where(
                intents.c.entity == entity,
                intents.c.source_system == source_system,
                intents.c.source_id == source_id,
                runs.c.status == "running",
            )
        )
        with store.transaction(self.engine) as connection:
            holder = connection.execute(query).first()
            if holder is None or holder.host != socket.gethostname() or holder.pid is None:
                return
            if holder.pid == os.getpid() or _alive(int(holder.pid)):
                return
            connection.execute(runs.update().where(runs.c.id == holder.id).values(status="failed"))

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
        with store.transaction(self.engine) as connection:
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

    def release(self, correlation_key: str) -> None:
        """Drop an intent whose create will not happen (the destination rejected it)."""
        with store.transaction(self.engine) as connection:
            connection.execute(
                store.intents.delete().where(store.intents.c.correlation_key == correlation_key)
            )

    def open_among(self, entity: str, source_system: str, source_ids: list[str]) -> set[str]:
        """The source ids among `source_ids` with an unfinished create, a chunk per query."""
        intents = store.intents
        found: set[str] = set()
        with self.engine.connect() as connection:
            for start in range(0, len(source_ids), _CHUNK):
                chunk = source_ids[start : start + _CHUNK]
                found.update(
                    connection.execute(
                        sa.select(intents.c.source_id).where(
                            intents.c.entity == entity,
                            intents.c.source_system == source_system,
                            intents.c.source_id.in_(chunk),
                        )
                    ).scalars()
                )
        return found

    def count_toward(self, entity: str, destination_system: str) -> int:
        """How many creates of `entity` in `destination_system` are unfinished."""
        intents = store.intents
        with self.engine.connect() as connection:
            found = connection.execute(
                sa.select(sa.func.count()).where(
                    intents.c.entity == entity,
                    intents.c.destination_system == destination_system,
                )
            ).scalar()
        return int(found or 0)

    def open(self, entity: str, source_system: str, source_id: str) -> str | None:
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


def _row(
    entity: str,
    source: tuple[str, str],
    destination_system: str,
    correlation_key: str,
    run_id: int,
    now: dt.datetime,
) -> dict[str, object]:
    """An `intents` row: who claims the create of which source record, under which key."""
    return {
        "entity": entity,
        "source_system": source[0],
        "source_id": source[1],
        "destination_system": destination_system,
        "correlation_key": correlation_key,
        "run_id": run_id,
        "claimed_at": now,
    }


def _alive(pid: int) -> bool:
    """True when a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
