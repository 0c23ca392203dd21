"""SQLite persistence of the Customcrm emulator: one `records` table for every resource
(fields as JSON, normalised match keys in indexed columns) and the idempotency keys.
It stores and finds rows; the rules live in `models.py`. Callers hold the model's lock."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.common.sqlite import atomic
from sandbox.customcrm.resources import Resource, normalise

__all__ = ["ListQuery", "Row", "Store"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL,
    id TEXT NOT NULL UNIQUE,
    parent_id TEXT,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    fields TEXT NOT NULL,
    external_ids TEXT NOT NULL,
    email_key TEXT,
    org_number_key TEXT,
    sku_key TEXT
);
CREATE INDEX IF NOT EXISTS records_feed ON records (collection, updated_at, seq);
CREATE INDEX IF NOT EXISTS records_parent ON records (parent_id, updated_at, seq);
CREATE INDEX IF NOT EXISTS records_email ON records (collection, email_key);
CREATE INDEX IF NOT EXISTS records_org ON records (collection, org_number_key);
CREATE INDEX IF NOT EXISTS records_sku ON records (collection, sku_key);
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS idempotency_age ON idempotency (created_at);
CREATE TABLE IF NOT EXISTS id_counters (
    collection TEXT PRIMARY KEY,
    created INTEGER NOT NULL
);
"""
_LOOKUP_COLUMNS = {"email": "email_key", "org_number": "org_number_key", "sku": "sku_key"}


@dataclass(frozen=True)
class Row:
    """One stored record as the store sees it."""

    seq: int
    collection: str
    id: str
    parent_id: str | None
    version: int
    created_at: str
    updated_at: str
    deleted_at: str | None
    fields: dict[str, Any]
    external_ids: dict[str, str]


@dataclass(frozen=True)
class ListQuery:
    """A list request, already parsed and checked; lookup values already normalised."""

    updated_since: str | None = None
    include_deleted: bool = False
    limit: int = 100
    after: tuple[str, int] | None = None
    ids: tuple[str, ...] = ()
    external_id: tuple[str, str] | None = None
    lookups: Mapping[str, tuple[str, ...]] | None = None
    """Match key → the normalised values any of which a record's key must equal."""


class Store:
    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """`with store.transaction():` commits on success, rolls back on error; nested, a
        savepoint (`sandbox.common.sqlite.atomic`)."""
        return atomic(self._db)

    def wipe(self) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM records")
            self._db.execute("DELETE FROM idempotency")
            self._db.execute("DELETE FROM id_counters")
            self._db.execute("DELETE FROM sqlite_sequence")

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0])

    def newest_change(self) -> str | None:
        found = self._db.execute("SELECT MAX(updated_at) FROM records").fetchone()[0]
        return str(found) if found else None

    def next_id(self, resource: Resource) -> str:
        """`<prefix>_<n>`, n one more than the count ever created in that collection (kept in
        `id_counters`, so a create costs no count of the collection; a data folder from
        before the counters is counted once)."""
        counted = self._db.execute(
            "SELECT created FROM id_counters WHERE collection = ?", (resource.name,)
        ).fetchone()
        if counted is None:
            counted = self._db.execute(
                "SELECT COUNT(*) FROM records WHERE collection = ?", (resource.name,)
            ).fetchone()
        return f"{resource.prefix}_{int(counted[0]) + 1}"

    def insert(self, resource: Resource, row: Row) -> None:
        self._db.execute(
            "INSERT INTO records (collection, id, parent_id, version, created_at, updated_at,"
            " deleted_at, fields, external_ids, email_key, org_number_key, sku_key)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                resource.name,
                row.id,
                row.parent_id,
                row.version,
                row.created_at,
                row.updated_at,
                row.deleted_at,
                json.dumps(row.fields),
                json.dumps(row.external_ids),
                *_lookup_keys(row.fields),
            ),
        )
        number = row.id.rpartition("_")[2]
        if number.isdigit():
            self._db.execute(
                "INSERT INTO id_counters (collection, created) VALUES (?, ?) ON CONFLICT"
                " (collection) DO UPDATE SET created = MAX(created, excluded.created)",
                (resource.name, int(number)),
            )

    def replace(self, row: Row) -> None:
        self._db.execute(
            "UPDATE records SET version = ?, updated_at = ?, deleted_at = ?, fields = ?,"
            " external_ids = ?, email_key = ?, org_number_key = ?, sku_key = ? WHERE id = ?",
            (
                row.version,
                row.updated_at,
                row.deleted_at,
                json.dumps(row.fields),
                json.dumps(row.external_ids),
                *_lookup_keys(row.fields),
                row.id,
            ),
        )

    def find(self, collection: str, record_id: str) -> Row | None:
        found = self._db.execute(
            "SELECT * FROM records WHERE collection = ? AND id = ?", (collection, record_id)
        ).fetchone()
        return _row(found) if found else None

    def children(self, parent_ids: Iterable[str]) -> dict[str, list[Row]]:
        """Live children (quote lines) of each parent, by position."""
        ids = list(parent_ids)
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(
            f"SELECT * FROM records WHERE parent_id IN ({marks}) AND deleted_at IS NULL",  # noqa: S608 - only ? marks
            ids,
        ).fetchall()
        grouped: dict[str, list[Row]] = {i: [] for i in ids}
        for found in rows:
            row = _row(found)
            grouped[str(row.parent_id)].append(row)
        for lines in grouped.values():
            lines.sort(key=lambda r: (r.fields.get("position") or 0, r.seq))
        return grouped

    def page(self, collection: str, query: ListQuery, parent_id: str | None = None) -> list[Row]:
        """Up to `limit + 1` rows in feed order (one extra tells whether a next page exists)."""
        where: list[str] = ["collection = ?"]
        args: list[Any] = [collection]
        if parent_id is not None:
            where.append("parent_id = ?")
            args.append(parent_id)
        if not query.include_deleted:
            where.append("deleted_at IS NULL")
        if query.updated_since:
            where.append("updated_at >= ?")
            args.append(query.updated_since)
        if query.after:
            where.append("(updated_at > ? OR (updated_at = ? AND seq > ?))")
            args += [query.after[0], query.after[0], query.after[1]]
        if query.ids:
            where.append(f"id IN ({','.join('?' * len(query.ids))})")
            args += query.ids
        if query.external_id:
            where.append("json_extract(external_ids, '$.' || json_quote(?)) = ?")
            args += list(query.external_id)
        for key, values in (query.lookups or {}).items():
            where.append(f"{_LOOKUP_COLUMNS[key]} IN ({','.join('?' * len(values))})")
            args += values
        sql = f"SELECT * FROM records WHERE {' AND '.join(where)} ORDER BY updated_at, seq LIMIT ?"  # noqa: S608 - fixed fragments, values bound
        return [_row(r) for r in self._db.execute(sql, [*args, query.limit + 1]).fetchall()]

    def all_rows(self, collection: str) -> list[Row]:
        rows = self._db.execute(
            "SELECT * FROM records WHERE collection = ? ORDER BY seq", (collection,)
        ).fetchall()
        return [_row(r) for r in rows]

    def remembered_response(self, scope: str, key: str) -> tuple[str, dict[str, Any]] | None:
        found = self._db.execute(
            "SELECT fingerprint, response FROM idempotency WHERE scope = ? AND key = ?",
            (scope, key),
        ).fetchone()
        return (str(found[0]), json.loads(found[1])) if found else None

    def remember_response(
        self, scope: str, key: str, fingerprint: str, response: Mapping[str, Any], now: str
    ) -> None:
        self._db.execute(
            "INSERT INTO idempotency (scope, key, fingerprint, response, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (scope, key, fingerprint, json.dumps(response), now),
        )

    def forget_responses_before(self, moment: str) -> None:
        self._db.execute("DELETE FROM idempotency WHERE created_at < ?", (moment,))


def _lookup_keys(fields: Mapping[str, Any]) -> tuple[str | None, ...]:
    return tuple(normalise(key, fields.get(key)) for key in _LOOKUP_COLUMNS)


def _row(found: tuple[Any, ...]) -> Row:
    seq, collection, record_id, parent_id, version, created, updated, deleted = found[:8]
    return Row(
        seq=seq,
        collection=collection,
        id=record_id,
        parent_id=parent_id,
        version=version,
        created_at=created,
        updated_at=updated,
        deleted_at=deleted,
        fields=json.loads(found[8]),
        external_ids=json.loads(found[9]),
    )
