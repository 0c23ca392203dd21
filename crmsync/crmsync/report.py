"""Run reports: what one target run did per entity, kept in the crosswalk's `runs` table.

Counts outcomes; never decides one.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from crmsync import store
from crmsync.tables import render_table

__all__ = ["OUTCOMES", "RunLog", "RunReport"]

OUTCOMES = (
    "created",
    "updated",
    "unchanged",
    "echo",
    "conflict",
    "deferred",
    "quarantined",
    "deleted",
)
"""`conflict` counts conflicting fields; `deferred` is what still waits at the end of the run."""


@dataclass
class RunReport:
    """Counts per entity and outcome for one run; thread-safe to count into."""

    run_id: int
    leg: str
    dry_run: bool = False
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    tripped: list[str] = field(default_factory=list)
    """Entities whose held deletes tripped the circuit breaker."""
    skipped_streams: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, entity: str, outcome: str, n: int = 1) -> None:
        """Add `n` to one counter."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}; expected one of {list(OUTCOMES)}")
        with self._lock:
            row = self.counts.setdefault(entity, dict.fromkeys(OUTCOMES, 0))
            row[outcome] += n

    def set(self, entity: str, outcome: str, n: int) -> None:
        """Overwrite one counter (for end-of-run figures such as `deferred`)."""
        with self._lock:
            row = self.counts.setdefault(entity, dict.fromkeys(OUTCOMES, 0))
            row[outcome] = n

    def get(self, entity: str, outcome: str) -> int:
        """One counter (0 when nothing happened)."""
        return self.counts.get(entity, {}).get(outcome, 0)

    def as_dict(self) -> dict[str, Any]:
        """The JSON stored with the run and printed by `crmsync report --json`."""
        return {
            "run_id": self.run_id,
            "leg": self.leg,
            "dry_run": self.dry_run,
            "entities": {entity: dict(row) for entity, row in self.counts.items()},
            "circuit_breaker_tripped": list(self.tripped),
            "skipped_streams": dict(self.skipped_streams),
        }

    def as_table(self) -> str:
        """The summary printed at the end of a target run."""
        return render_report(self.as_dict())


def render_report(report: Mapping[str, Any]) -> str:
    """A stored report as a readable table."""
    rows = [{"entity": entity, **row} for entity, row in report.get("entities", {}).items()]
    title = f"crmsync run {report.get('run_id')} ({report.get('leg')})"
    if report.get("dry_run"):
        title += " DRY RUN: nothing written"
    lines = [title, render_table(rows, ["entity", *OUTCOMES])]
    for entity in report.get("circuit_breaker_tripped", []):
        lines.append(f"delete circuit breaker tripped for {entity}: deletes held (see quarantine)")
    for stream, n in report.get("skipped_streams", {}).items():
        lines.append(f"skipped {n} records of unknown stream {stream}")
    return "\n".join(lines)


class RunLog:
    """The `runs` table: one row per target run, with its stored report and dry-run plan."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def start(self, leg: str, destination_system: str, dry_run: bool) -> int:
        """Record a run as running; returns its id."""
        with store.transaction(self._engine) as connection:
            inserted = connection.execute(
                store.runs.insert().values(
                    leg=leg,
                    destination_system=destination_system,
                    dry_run=dry_run,
                    status="running",
                    started_at=store.utcnow(),
                    host=socket.gethostname(),
                    pid=os.getpid(),
                )
            ).inserted_primary_key
        if inserted is None:
            raise RuntimeError("the crosswalk did not return the new run's id")
        return int(inserted[0])

    def finish(
        self, run_id: int, status: str, report: Mapping[str, Any], plan: Mapping[str, Any] | None
    ) -> None:
        """Store the report (and plan) and mark the run ended."""
        with store.transaction(self._engine) as connection:
            connection.execute(
                store.runs.update()
                .where(store.runs.c.id == run_id)
                .values(
                    status=status,
                    finished_at=store.utcnow(),
                    report=dict(report),
                    plan=dict(plan) if plan is not None else None,
                )
            )

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest runs first."""
        table = store.runs
        query = (
            sa.select(
                table.c.id,
                table.c.leg,
                table.c.destination_system,
                table.c.dry_run,
                table.c.status,
                table.c.started_at,
                table.c.finished_at,
                table.c.report,
            )
            .order_by(table.c.id.desc())
            .limit(limit)
        )
        with self._engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def latest_plan(self) -> dict[str, Any] | None:
        """The plan of the newest finished dry run, with its run id."""
        table = store.runs
        query = (
            sa.select(table.c.id, table.c.leg, table.c.plan)
            .where(table.c.plan.is_not(None), table.c.status != "running")
            .order_by(table.c.id.desc())
            .limit(1)
        )
        with self._engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            return None
        return {"run_id": row["id"], "leg": row["leg"], **row["plan"]}
