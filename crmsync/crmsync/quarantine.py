"""Quarantine: records that could not be applied yet, kept with their payload and reason.

Kinds: `deferred` (a parent is not linked yet), `rejected` (the destination refused it, or
an unexpected error), `unconfirmed` (its create was sent and the answer lost: looked up on
the next run), `ambiguous` (two or more match candidates), `held_delete` (a delete the
circuit breaker held back). One row per source record and destination; a newer
failure replaces the payload, a success removes the row. Nothing here calls an API.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from crmsync import store

__all__ = ["KINDS", "Quarantine", "QuarantineItem"]

KINDS = ("deferred", "rejected", "unconfirmed", "ambiguous", "held_delete")
AUTO_RETRIED = ("deferred", "rejected", "unconfirmed")
"""Kinds retried on every later run; the others wait for an operator's `quarantine retry`."""


@dataclass(frozen=True)
class QuarantineItem:
    """One quarantined record."""

    id: int
    entity: str
    source_system: str
    source_id: str
    destination_system: str
    kind: str
    reason: str
    payload: Mapping[str, Any]
    attempts: int
    run_id: int
    retry_requested: bool


def _item(row: Mapping[Any, Any]) -> QuarantineItem:
    return QuarantineItem(**{key: row[key] for key in QuarantineItem.__dataclass_fields__})


class Quarantine:
    """Quarantined records as stored in the crosswalk."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def put(
        self,
        *,
        entity: str,
        source: tuple[str, str],
        destination_system: str,
        kind: str,
        reason: str,
        payload: Mapping[str, Any],
        run_id: int,
    ) -> None:
        """Keep a record (insert, or replace the earlier row of the same record)."""
        if kind not in KINDS:
            raise ValueError(f"unknown quarantine kind {kind!r}; expected one of {list(KINDS)}")
        table = store.quarantine
        now = store.utcnow()
        where = (
            (table.c.entity == entity)
            & (table.c.source_system == source[0])
            & (table.c.source_id == source[1])
            & (table.c.destination_system == destination_system)
        )
        values = {
            "kind": kind,
            "reason": reason,
            "payload": dict(payload),
            "run_id": run_id,
            "retry_requested": False,
            "updated_at": now,
        }
        for _attempt in range(3):
            with store.transaction(self._engine) as connection:
                changed = connection.execute(
                    table.update().where(where).values(attempts=table.c.attempts + 1, **values)
                ).rowcount
            if changed:
                return
            try:
                with store.transaction(self._engine) as connection:
                    connection.execute(
                        table.insert().values(
                            entity=entity,
                            source_system=source[0],
                            source_id=source[1],
                            destination_system=destination_system,
                            attempts=1,
                            created_at=now,
                            **values,
                        )
                    )
                return
            except IntegrityError:
                continue  # a racing thread inserted it first: update that row instead

    def resolve(self, entity: str, source: tuple[str, str], destination_system: str) -> None:
        """The record went through: forget its quarantine row, if any."""
        table = store.quarantine
        with store.transaction(self._engine) as connection:
            connection.execute(
                table.delete().where(
                    table.c.entity == entity,
                    table.c.source_system == source[0],
                    table.c.source_id == source[1],
                    table.c.destination_system == destination_system,
                )
            )

    def due(self, destination_system: str, run_id: int) -> list[QuarantineItem]:
        """Rows a run retries in `finish()`: deferred ones, rejected and unconfirmed ones from
        earlier runs, and whatever an operator marked for retry.

        An unconfirmed create waits for the next run: a create the server still held when its
        answer was lost (queued, slow) may be carried out seconds later, and a lookup right
        away would miss it and create a second record."""
        table = store.quarantine
        query = (
            sa.select(table)
            .where(table.c.destination_system == destination_system)
            .where(
                (table.c.kind == "deferred")
                | (table.c.kind.in_(("rejected", "unconfirmed")) & (table.c.run_id != run_id))
                | table.c.retry_requested
            )
            .order_by(table.c.id)
        )
        with self._engine.connect() as connection:
            return [_item(row) for row in connection.execute(query).mappings()]

    def items(
        self, kind: str | None = None, entity: str | None = None, limit: int | None = None
    ) -> list[QuarantineItem]:
        """Quarantined records, oldest first."""
        table = store.quarantine
        query = sa.select(table).order_by(table.c.id)
        if kind:
            query = query.where(table.c.kind == kind)
        if entity:
            query = query.where(table.c.entity == entity)
        if limit:
            query = query.limit(limit)
        with self._engine.connect() as connection:
            return [_item(row) for row in connection.execute(query).mappings()]

    def keys(self, destination_system: str) -> set[tuple[str, str, str]]:
        """(entity, source system, source id) of every row held for a destination."""
        table = store.quarantine
        query = sa.select(table.c.entity, table.c.source_system, table.c.source_id).where(
            table.c.destination_system == destination_system
        )
        with self._engine.connect() as connection:
            return {(row[0], row[1], row[2]) for row in connection.execute(query)}

    def count(self, destination_system: str, entity: str, kind: str) -> int:
        """How many rows of one kind wait for `entity` on a destination."""
        table = store.quarantine
        query = sa.select(sa.func.count()).where(
            table.c.destination_system == destination_system,
            table.c.entity == entity,
            table.c.kind == kind,
        )
        with self._engine.connect() as connection:
            return int(connection.execute(query).scalar() or 0)

    def request_retry(self, ids: Sequence[int]) -> int:
        """Mark rows to be retried by the next run of their target; returns how many matched."""
        table = store.quarantine
        with store.transaction(self._engine) as connection:
            return int(
                connection.execute(
                    table.update().where(table.c.id.in_(ids)).values(retry_requested=True)
                ).rowcount
            )

    def drop(self, ids: Sequence[int]) -> int:
        """Forget rows for good (e.g. a held delete the operator refuses)."""
        table = store.quarantine
        with store.transaction(self._engine) as connection:
            return int(connection.execute(table.delete().where(table.c.id.in_(ids))).rowcount)
