"""The crosswalk database: tables, engine and ordered schema migrations.

Only this module knows the table layout's history; it decides nothing about syncing.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from crmsync.normalise import plain

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "conflicts",
    "create_crosswalk_engine",
    "intents",
    "link_members",
    "links",
    "metadata",
    "migrate",
    "quarantine",
    "runs",
    "utcnow",
]

metadata = sa.MetaData()


def utcnow() -> dt.datetime:
    """Now, as an aware UTC datetime (every stored time is UTC)."""
    return dt.datetime.now(dt.UTC)


schema_version = sa.Table(
    "schema_version", metadata, sa.Column("version", sa.Integer, nullable=False)
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("leg", sa.String(100), nullable=False),
    sa.Column("destination_system", sa.String(50), nullable=False),
    sa.Column("dry_run", sa.Boolean, nullable=False, default=False),
    sa.Column("status", sa.String(20), nullable=False),  # running | finished | failed | tripped
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True)),
    sa.Column("report", sa.JSON(none_as_null=True)),
    sa.Column("plan", sa.JSON(none_as_null=True)),
    sa.Column("host", sa.String(255)),  # since schema 2: who runs it, to tell a dead run
    sa.Column("pid", sa.Integer),
)

links = sa.Table(
    "links",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("entity", sa.String(50), nullable=False),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id")),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

link_members = sa.Table(
    "link_members",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("link_id", sa.Integer, sa.ForeignKey("links.id", ondelete="CASCADE"), nullable=False),
    sa.Column("entity", sa.String(50), nullable=False),
    sa.Column("system", sa.String(50), nullable=False),
    sa.Column("record_id", sa.String(200), nullable=False),
    sa.Column("base", sa.JSON(none_as_null=True)),
    sa.Column("receipt_version", sa.String(100)),
    sa.Column("seen_version", sa.String(100)),
    sa.Column("revision", sa.Integer, nullable=False, default=0),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # since schema 3: when the linked pair was deleted (a reference to it then reads empty)
    sa.Column("deleted_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("entity", "system", "record_id", name="uq_link_members_record"),
    sa.UniqueConstraint("link_id", "system", name="uq_link_members_side"),
)

intents = sa.Table(
    "intents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("entity", sa.String(50), nullable=False),
    sa.Column("source_system", sa.String(50), nullable=False),
    sa.Column("source_id", sa.String(200), nullable=False),
    sa.Column("destination_system", sa.String(50), nullable=False),
    sa.Column("correlation_key", sa.String(64), nullable=False, unique=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("entity", "source_system", "source_id", name="uq_intents_source"),
)

conflicts = sa.Table(
    "conflicts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("entity", sa.String(50), nullable=False),
    sa.Column("source_system", sa.String(50), nullable=False),
    sa.Column("source_id", sa.String(200), nullable=False),
    sa.Column("destination_system", sa.String(50), nullable=False),
    sa.Column("destination_id", sa.String(200), nullable=False),
    sa.Column("field", sa.String(200), nullable=False),
    sa.Column("base", sa.JSON(none_as_null=True)),
    sa.Column("ours", sa.JSON(none_as_null=True)),
    sa.Column("theirs", sa.JSON(none_as_null=True)),
    sa.Column("winner", sa.String(50), nullable=False),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("entity", sa.String(50), nullable=False),
    sa.Column("source_system", sa.String(50), nullable=False),
    sa.Column("source_id", sa.String(200), nullable=False),
    sa.Column("destination_system", sa.String(50), nullable=False),
    sa.Column(
        "kind", sa.String(20), nullable=False
    ),  # deferred | rejected | ambiguous | held_delete
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=1),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("retry_requested", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint(
        "entity", "source_system", "source_id", "destination_system", name="uq_quarantine_record"
    ),
)


def _create_v1(connection: Connection) -> None:
    metadata.create_all(connection, tables=[runs, links, link_members, intents])
    metadata.create_all(connection, tables=[conflicts, quarantine])


def _add_run_owner(connection: Connection) -> None:
    """Schema 2: runs know their host and process id (a killed run's intents are freed)."""
    present = {column["name"] for column in sa.inspect(connection).get_columns("runs")}
    for name, kind in (("host", "VARCHAR(255)"), ("pid", "INTEGER")):
        if name not in present:
            connection.execute(sa.text(f"ALTER TABLE runs ADD COLUMN {name} {kind}"))


def _add_member_deleted(connection: Connection) -> None:
    """Schema 3: a link member knows when its pair was deleted."""
    present = {column["name"] for column in sa.inspect(connection).get_columns("link_members")}
    if "deleted_at" not in present:
        kind = sa.DateTime(timezone=True).compile(dialect=connection.dialect)
        connection.execute(sa.text(f"ALTER TABLE link_members ADD COLUMN deleted_at {kind}"))


MIGRATIONS: Sequence[tuple[int, Callable[[Connection], None]]] = (
    (1, _create_v1),
    (2, _add_run_owner),
    (3, _add_member_deleted),
)
"""Ordered schema steps; append, never edit a released step."""

SCHEMA_VERSION = MIGRATIONS[-1][0]


def _current_version(connection: Connection) -> int:
    schema_version.create(connection, checkfirst=True)
    found = connection.execute(sa.select(sa.func.max(schema_version.c.version))).scalar()
    return int(found or 0)


def _lock_schema(connection: Connection) -> None:
    """Serialise migrations across processes for the rest of this transaction."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(7262013)"))


def migrate(engine: Engine) -> int:
    """Bring the schema up to `SCHEMA_VERSION` in one locked transaction; return the version.

    Two processes opening a new crosswalk at once: the second waits for the lock, then
    finds the schema current.
    """
    with transaction(engine) as connection:
        _lock_schema(connection)
        version = _current_version(connection)
        for step, apply in MIGRATIONS:
            if step > version:
                apply(connection)
                connection.execute(schema_version.insert().values(version=step))
    return SCHEMA_VERSION


def _json_serializer(value: Any) -> str:
    return json.dumps(plain(value), sort_keys=True, default=str)


_WAL_ATTEMPTS = 40
"""Tries of the switch to WAL while other processes hold the new file (about 40 s in all)."""


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL once; retry while another process is switching it.

    SQLite answers a journal-mode change with "database is locked" without calling the
    busy handler, so processes opening a new crosswalk at once would fail here.
    """
    for attempt in range(_WAL_ATTEMPTS):
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == _WAL_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    _use_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a killed process
    cursor.close()


def create_crosswalk_engine(url: str) -> Engine:
    """An engine for the crosswalk URL, safe to share between threads.

    SQLite files get WAL and a busy timeout so that sink threads and a second run wait
    for each other instead of failing; their parent folder is created.
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(url, json_serializer=_json_serializer, pool_pre_ping=True)
    database = parsed.database
    if not database or database == ":memory:":
        raise ValueError(
            "the crosswalk must be a SQLite file or a PostgreSQL URL, "
            f"not an in-memory database ({parsed.render_as_string(hide_password=True)})"
        )
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        json_serializer=_json_serializer,
        connect_args={"check_same_thread": False, "timeout": 30},
    )
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    _WRITERS[engine] = threading.RLock()
    return engine


_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()
"""One writer at a time per SQLite crosswalk in this process."""


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction (`engine.begin()`), one at a time per process on SQLite.

    SQLite lets one writer in and makes the others sleep in its busy handler, in steps that
    grow to 100 ms; four sink threads queued there spent more time asleep than writing.
    Queued on a lock here, the next one starts the moment the last commits. Other
    processes still wait through the busy timeout.
    """
    writer = _WRITERS.get(engine)
    if writer is None:
        with engine.begin() as connection:
            yield connection
        return
    with writer, engine.begin() as connection:
        yield connection
