"""SQLite persistence of one emulated tenant: records as JSON documents, id sequences, a clock.

Every record kind (person, contact, product, sale, quote, quote_version, quote_alternative,
quote_line) lives in one `record` table as the JSON body the API serves, plus the columns the
rules need (parent, created, updated, deleted). The store decides nothing about the API; it only
keeps rows, hands out integer ids, tells the shared clock the newest stored change, and
serialises access
(the HTTP server is threaded).
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.common.clock import Clock
from sandbox.common.sqlite import atomic

__all__ = ["Row", "Store"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS record (
    kind TEXT NOT NULL,
    id INTEGER NOT NULL,
    parent_id INTEGER,
    body TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    deleted TEXT,
    PRIMARY KEY (kind, id)
);
DROP INDEX IF EXISTS record_parent;
CREATE INDEX IF NOT EXISTS record_parent_id ON record (kind, parent_id, id);
CREATE INDEX IF NOT EXISTS record_product_erp_key
    ON record (so_fold(json_extract(body, '$.ERPProductKey'))) WHERE kind = 'product';
CREATE INDEX IF NOT EXISTS record_updated ON record (kind, updated, id);
CREATE INDEX IF NOT EXISTS record_contact_name
    ON record (so_fold(json_extract(body, '$.Name'))) WHERE kind = 'contact';
CREATE INDEX IF NOT EXISTS record_contact_orgnr
    ON record (so_fold(json_extract(body, '$.OrgNr'))) WHERE kind = 'contact';
CREATE INDEX IF NOT EXISTS record_person_email
    ON record (so_fold(json_extract(body, '$.Emails[0].Value'))) WHERE kind = 'person';
CREATE TABLE IF NOT EXISTS sequence (kind TEXT PRIMARY KEY, last_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS foreign_key (
    id INTEGER PRIMARY KEY,
    app TEXT NOT NULL,
    device TEXT NOT NULL,
    device_identifier TEXT NOT NULL,
    key_name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    value TEXT NOT NULL,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    UNIQUE (app, device, device_identifier, key_name, table_name, record_id)
);
"""

PLANNER_STATS = """
ANALYZE sqlite_schema;
DELETE FROM sqlite_stat1 WHERE tbl = 'record';
INSERT INTO sqlite_stat1 VALUES
    ('record', 'sqlite_autoindex_record_1', '100000 20000 1'),
    ('record', 'record_parent_id', '100000 20000 2 1'),
    ('record', 'record_updated', '100000 20000 1 1'),
    ('record', 'record_product_erp_key', '2000 1'),
    ('record', 'record_contact_name', '20000 2'),
    ('record', 'record_contact_orgnr', '20000 1'),
    ('record', 'record_person_email', '60000 1');
ANALYZE sqlite_schema;
"""
"""The shape of a tenant, told to SQLite's planner: a kind holds many rows and a match key
(name, org number, e-mail, ERP key) a few. Without it the planner, guessing, reads every row of
a kind for a look-up by those keys, where SuperOffice's own database uses its indexes; a load
into a tenant of 10k companies then measured the emulator's scans, not the client."""


@dataclass(frozen=True)
class Row:
    kind: str
    id: int
    parent_id: int | None
    body: dict[str, Any]
    created: str
    updated: str
    deleted: str | None


class Store:
    """One tenant's rows; every public method is atomic and thread-safe."""

    def __init__(self, path: Path | None, clock: Clock) -> None:
        target = str(path) if path else ":memory:"
        self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.create_function("so_fold", 1, _fold, deterministic=True)
        self._db.create_function("so_contains_any", 2, _contains_any, deterministic=True)
        # A tenant's database commits like a server's (the Customcrm sandbox does the same),
        # not with an fsync per write: that measured the disk, not the API.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.RLock()
        self.clock = clock
        with self._lock:
            self._db.executescript(SCHEMA)
            self._db.executescript(PLANNER_STATS)
            latest = self._db.execute("SELECT MAX(updated) FROM record").fetchone()[0]
        if latest:
            clock.observe(latest)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run a group of reads and writes atomically (a nested call is a savepoint)."""
        with self._lock, atomic(self._db, "BEGIN IMMEDIATE") as db:
            yield db

    def query(self, sql: str, params: list[Any] | tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        """A read with bound parameters only."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def next_id(self, kind: str) -> int:
        with self.transaction() as db:
            db.execute(
                "INSERT INTO sequence (kind, last_id) VALUES (?, 1) "
                "ON CONFLICT (kind) DO UPDATE SET last_id = last_id + 1",
                (kind,),
            )
            value: int = db.execute(
                "SELECT last_id FROM sequence WHERE kind = ?", (kind,)
            ).fetchone()[0]
            return value

    def get(self, kind: str, record_id: int) -> Row | None:
        found = self.query("SELECT * FROM record WHERE kind = ? AND id = ?", (kind, record_id))
        return _row(found[0]) if found else None

    def children(self, kind: str, parent_id: int) -> list[Row]:
        found = self.query(
            "SELECT * FROM record WHERE kind = ? AND parent_id = ? ORDER BY id", (kind, parent_id)
        )
        return [_row(r) for r in found]

    def put(self, row: Row) -> None:
        """Insert or replace a row as given."""
        with self.transaction() as db:
            db.execute(
                "INSERT INTO record (kind, id, parent_id, body, created, updated, deleted) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, id) DO UPDATE SET "
                "parent_id = excluded.parent_id, body = excluded.body, created = excluded.created, "
                "updated = excluded.updated, deleted = excluded.deleted",
                (
                    row.kind,
                    row.id,
                    row.parent_id,
                    json.dumps(row.body, ensure_ascii=False),
                    row.created,
                    row.updated,
                    row.deleted,
                ),
            )

    def remove(self, kind: str, record_id: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM record WHERE kind = ? AND id = ?", (kind, record_id))

    def wipe(self) -> None:
        """Forget every row and restart id sequences (the clock keeps moving forward)."""
        with self.transaction() as db:
            db.execute("DELETE FROM record")
            db.execute("DELETE FROM sequence")
            db.execute("DELETE FROM foreign_key")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _fold(value: str | int | float | None) -> str | int | float | None:
    """Case-insensitive comparison in SQL, beyond ASCII (SQL Server collations fold å/Å)."""
    return value.casefold() if isinstance(value, str) else value


def _contains_any(value: str | int | float | None, needles: str) -> bool:
    """`value contains n1 or value contains n2 ...`, folded as `so_fold` (`needles`: a JSON
    list of folded texts): one call a row for an `or` of `contains` tests of one column."""
    text = "" if value is None else str(value).casefold()
    return any(needle in text for needle in _needles(needles))


@functools.lru_cache(maxsize=64)
def _needles(encoded: str) -> tuple[str, ...]:
    return tuple(json.loads(encoded))


def _row(found: sqlite3.Row) -> Row:
    return Row(
        kind=found["kind"],
        id=found["id"],
        parent_id=found["parent_id"],
        body=json.loads(found["body"]),
        created=found["created"],
        updated=found["updated"],
        deleted=found["deleted"],
    )
