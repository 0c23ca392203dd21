"""Measure 5: crosswalk lookups/s and upserts/s with a million links, SQLite and PostgreSQL.

The links are bulk-inserted through SQLAlchemy Core straight into crmsync's own tables
(linking one by one through the API would take most of an hour); every timed operation then
goes through the public `Crosswalk` API a target uses: `find`, `translate`, `link`, `agree`.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from bench.postgres import postgres_server
from crmsync import Crosswalk, Member, store

__all__ = ["measure_crosswalk"]

ENTITY = "person"
CHUNK = 20_000


def _base(i: int) -> dict[str, Any]:
    """A last-agreed record of the size a person link holds."""
    return {
        "first_name": f"Kari{i}",
        "last_name": "Nordmann",
        "email": f"kari{i}@example.no",
        "phone": "+47 22 33 44 55",
        "title": "Innkjøpssjef",
        "city": "Oslo",
        "country": "NO",
    }


LINK_COLUMNS = ("id", "entity", "run_id", "created_at")
MEMBER_COLUMNS = ("link_id", "entity", "system", "record_id", "base", "receipt_version",
                  "seen_version", "revision", "updated_at")  # fmt: skip


def _rows(start: int, stop: int, run_id: int, now: Any) -> tuple[list[Any], list[Any]]:
    """Link rows and member rows (customcrm, superoffice) in the column orders above."""
    links = [(i, ENTITY, run_id, now) for i in range(start, stop)]
    members: list[tuple[Any, ...]] = []
    for i in range(start, stop):
        base = json.dumps(_base(i), sort_keys=True)
        members.append((i, ENTITY, "customcrm", f"con_{i}", None, None, f"v{i}", 0, now))
        members.append((i, ENTITY, "superoffice", str(i), base, f"r{i}", None, 0, now))
    return links, members


def _insert(connection: Connection, table: str, columns: Sequence[str], rows: list[Any]) -> None:
    """The driver's fastest bulk path: COPY on PostgreSQL, executemany on SQLite."""
    names = ", ".join(columns)
    driver: Any = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" for _ in columns)
    sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"  # noqa: S608 - our own table names
    driver.executemany(sql, rows)


def fill(crosswalk: Crosswalk, count: int) -> dict[str, Any]:
    """Bulk-insert `count` person links (two members each); returns the run id and rows/s."""
    run_id = crosswalk.runs.start("bench", "superoffice", dry_run=False)
    now: Any = store.utcnow()
    if crosswalk.engine.dialect.name == "sqlite":
        now = now.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite DateTime storage
    started = time.perf_counter()
    for start in range(1, count + 1, CHUNK):
        links, members = _rows(start, min(start + CHUNK, count + 1), run_id, now)
        with crosswalk.engine.begin() as connection:
            _insert(connection, "links", LINK_COLUMNS, links)
            _insert(connection, "link_members", MEMBER_COLUMNS, members)
    seconds = time.perf_counter() - started
    if crosswalk.engine.dialect.name == "postgresql":
        with crosswalk.engine.begin() as connection:
            connection.exec_driver_sql(f"SELECT setval('links_id_seq', {count + 1})")
            connection.exec_driver_sql(f"SELECT setval('link_members_id_seq', {2 * count + 1})")
            connection.exec_driver_sql("ANALYZE")
    rate = round(3 * count / seconds)
    return {"run_id": run_id, "seconds": round(seconds, 1), "rows_per_second": rate}


def _rates(name: str, calls: Sequence[Callable[[], object]]) -> dict[str, float]:
    """Calls per wall second, and per CPU second of this (client) process: on a busy
    machine the second shows what the calls cost, apart from waiting for a CPU."""
    wall, cpu = time.perf_counter(), time.process_time()
    for call in calls:
        call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        f"{name}_per_second": round(len(calls) / wall, 1),
        f"{name}_per_cpu_second": round(len(calls) / max(cpu, 1e-6), 1),
    }


def _timed(crosswalk: Crosswalk, links: int, operations: int, run_id: int) -> dict[str, float]:
    """Random existing records for lookups and base updates; new pairs for `link`."""
    rng = random.Random(9)
    picks = sorted(set(rng.sample(range(1, links + 1), operations)), key=lambda _: rng.random())
    if crosswalk.find(ENTITY, "customcrm", "con_missing") is not None:
        raise RuntimeError("the crosswalk finds a record that was never linked")
    members: list[Member] = []
    for i in picks:
        link = crosswalk.find(ENTITY, "superoffice", str(i))
        if link is None or link.side("customcrm") is None:
            raise RuntimeError(f"bulk-loaded link {i} is missing from the crosswalk")
        members.append(link.members["superoffice"])
    fresh = range(links + 1, links + 1 + operations)
    finds = [partial(crosswalk.find, ENTITY, "customcrm", f"con_{i}") for i in picks]
    translations = [
        partial(crosswalk.translate, ENTITY, "superoffice", str(i), "customcrm") for i in picks
    ]
    agreements = [
        partial(crosswalk.agree, member, {**(member.base or {}), "title": "CEO"}, "r2")
        for member in members
    ]
    new_links = [
        partial(
            crosswalk.link,
            ENTITY,
            ("customcrm", f"con_{i}", "v1"),
            ("superoffice", str(i)),
            run_id=run_id,
            base=_base(i),
            receipt="r1",
        )
        for i in fresh
    ]
    return {
        **_rates("find", finds),
        **_rates("translate", translations),
        **_rates("agree", agreements),
        **_rates("link", new_links),
    }


def _one(url: str, links: int, operations: int) -> dict[str, Any]:
    crosswalk = Crosswalk.connect(url)
    try:
        loaded = fill(crosswalk, links)
        rates = _timed(crosswalk, links, operations, loaded["run_id"])
        if crosswalk.count_links(ENTITY) != links + operations:
            raise RuntimeError("some timed links were not stored")
    finally:
        crosswalk.close()
    return {"links": links, "operations": operations, "bulk_load": loaded, **rates}


def measure_crosswalk(
    workdir: Path, links: int, operations: int, *, postgres: bool = True
) -> dict[str, Any]:
    """Both databases, each freshly filled with `links` links, `operations` timed calls each."""
    workdir.mkdir(parents=True, exist_ok=True)
    sqlite_file = workdir / "crosswalk-bench.db"
    sqlite_file.unlink(missing_ok=True)
    results = {"sqlite": _one(f"sqlite:///{sqlite_file}", links, operations)}
    sqlite_file.unlink(missing_ok=True)
    if postgres:
        with postgres_server() as url:
            results["postgresql"] = _one(url, links, operations)
    return {"databases": results, "note": "single thread; each call is one short transaction"}
