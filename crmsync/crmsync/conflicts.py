"""The conflict log: every field both sides changed, with base, both values, winner and rule.

Append-only; it records decisions made in merge.py and never makes one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from crmsync import store
from crmsync.merge import FieldConflict

__all__ = ["ConflictLog", "ConflictRecord"]


@dataclass(frozen=True)
class ConflictRecord:
    """Where a conflict happened: entity, the ids on both sides, and the run."""

    run_id: int
    entity: str
    source_system: str
    source_id: str
    destination_system: str
    destination_id: str


class ConflictLog:
    """Conflicts as stored in the crosswalk."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(self, where: ConflictRecord, found: Iterable[FieldConflict]) -> None:
        """Append the conflicts of one record; the winner is stored as the side's system name."""
        now = store.utcnow()
        rows = [
            {
                "run_id": where.run_id,
                "entity": where.entity,
                "source_system": where.source_system,
                "source_id": where.source_id,
                "destination_system": where.destination_system,
                "destination_id": where.destination_id,
                "field": conflict.field,
                "base": conflict.base,
                "ours": conflict.ours,
                "theirs": conflict.theirs,
                "winner": where.source_system
                if conflict.winner == "theirs"
                else where.destination_system,
                "rule": conflict.rule,
                "created_at": now,
            }
            for conflict in found
        ]
        if rows:
            with store.transaction(self._engine) as connection:
                connection.execute(store.conflicts.insert(), rows)

    def recent(
        self, limit: int = 50, run_id: int | None = None, entity: str | None = None
    ) -> list[dict[str, Any]]:
        """The newest conflicts first."""
        table = store.conflicts
        query = sa.select(table).order_by(table.c.id.desc()).limit(limit)
        if run_id is not None:
            query = query.where(table.c.run_id == run_id)
        if entity is not None:
            query = query.where(table.c.entity == entity)
        with self._engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]
