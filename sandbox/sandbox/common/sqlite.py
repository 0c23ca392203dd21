"""The one way both emulators group SQLite writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["atomic"]


@contextmanager
def atomic(db: sqlite3.Connection, begin: str = "BEGIN") -> Iterator[sqlite3.Connection]:
    """Commit on success, roll back on error. Inside a transaction already open it is a
    savepoint: a part that fails undoes only itself, and the outer transaction goes on to
    commit the rest (a Customcrm batch keeps the items that were not refused)."""
    if db.in_transaction:
        db.execute("SAVEPOINT part")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK TO part")
            raise
        finally:
            db.execute("RELEASE part")
        return
    db.execute(begin)
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
