"""Foreign keys (ForeignApp -> ForeignDevice -> ForeignKey): external ids bound to a record.

This is where a client stores its own id for a SuperOffice record (crmsync keeps its
correlation key here) and finds the record again by that value. Decides key identity
(app, device, device identifier, key name, table, record) and the carrier shape. The tables a
key can point at are the emulated entities; table names match case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import BadRequestError, NotFoundError
from .shapes import TABLE_RIGHT

if TYPE_CHECKING:
    import sqlite3

    from .models import SuperOfficeModel

__all__ = ["TABLES", "ForeignKeys"]

TABLES = {
    "person": "person",
    "contact": "contact",
    "product": "product",
    "sale": "sale",
    "quote": "quote",
    "quotealternative": "quote_alternative",
    "quoteline": "quote_line",
}


def _carrier(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "Key": row["key_name"],
        "Value": row["value"],
        "RecordId": row["record_id"],
        "CreatedDate": row["created"],
        "UpdatedDate": row["updated"],
        "UpdatedBy": "SYS",
        "CreatedBy": "SYS",
        "TableName": row["table_name"],
        "TableRight": TABLE_RIGHT,
        "FieldProperties": {},
    }


def _table(name: str) -> str:
    table = name.strip().lower()
    if table not in TABLES:
        raise BadRequestError(f"Unknown table name '{name[:80]}'")
    return table


class ForeignKeys:
    """The foreign-key register of one tenant."""

    def __init__(self, model: SuperOfficeModel) -> None:
        self.model = model
        self.store = model.store

    def save_foreign_key(self, app: str, device: str, identifier: str, body: Any) -> dict[str, Any]:
        """POST/PUT `ForeignApp/{app}/{device}/{deviceIdentifier}/Key`: add or update a key."""
        if not isinstance(body, Mapping):
            raise BadRequestError("Foreign key to save is not in request body")
        values = {str(k).lower(): v for k, v in body.items()}
        table = _table(str(values.get("tablename") or ""))
        try:
            record_id = int(values.get("recordid") or 0)
        except (TypeError, ValueError):
            raise BadRequestError("RecordId must be an integer") from None
        value = str(values.get("value") or "")
        if not value:
            raise BadRequestError("Foreign key Value must not be empty")
        self.model.get_row(TABLES[table], record_id, include_deleted=True)
        key = str(values.get("key") or "")
        moment = self.model.clock.tick()
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO foreign_key (app, device, device_identifier, key_name, table_name, "
                "record_id, value, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (app, device, device_identifier, key_name, table_name, record_id) "
                "DO UPDATE SET value = excluded.value, updated = excluded.updated",
                (app, device, identifier, key, table, record_id, value, moment, moment),
            )
            row = db.execute(
                "SELECT * FROM foreign_key WHERE app = ? AND device = ? AND device_identifier = ? "
                "AND key_name = ? AND table_name = ? AND record_id = ?",
                (app, device, identifier, key, table, record_id),
            ).fetchone()
        return _carrier(row)

    def get_key(
        self, app: str, device: str, key: str, table: str, record_id: int
    ) -> dict[str, Any]:
        """GET `ForeignApp/{app}/{device}/Key/{keyName}/{tableName}/{id}`."""
        rows = self.store.query(
            "SELECT * FROM foreign_key WHERE app = ? AND device = ? AND key_name = ? "
            "AND table_name = ? AND record_id = ? ORDER BY id",
            (app, device, key, _table(table), record_id),
        )
        if not rows:
            raise NotFoundError(
                f"Foreign key '{key[:80]}' for {table[:40]} id {record_id} not found"
            )
        return _carrier(rows[0])

    def get_key_by_value(
        self, app: str, device: str, key: str, table: str, value: str
    ) -> dict[str, Any]:
        """GET `ForeignApp/{app}/{device}/Key/{keyName}/{tableName}?keyValue=`: reverse lookup."""
        rows = self.store.query(
            "SELECT * FROM foreign_key WHERE app = ? AND device = ? AND key_name = ? "
            "AND table_name = ? AND value = ? ORDER BY id",
            (app, device, key, _table(table), value),
        )
        if not rows:
            raise NotFoundError(f"Foreign key '{key[:80]}' with that value not found")
        return _carrier(rows[0])

    def delete_key(
        self, app: str, device: str, identifier: str, key: str, table: str, record_id: int
    ) -> None:
        with self.store.transaction() as db:
            gone = db.execute(
                "DELETE FROM foreign_key WHERE app = ? AND device = ? AND device_identifier = ? "
                "AND key_name = ? AND table_name = ? AND record_id = ?",
                (app, device, identifier, key, _table(table), record_id),
            ).rowcount
        if not gone:
            raise NotFoundError(
                f"Foreign key '{key[:80]}' for {table[:40]} id {record_id} not found"
            )

    def keys_of_record(self, table: str, record_id: int) -> dict[str, str]:
        """`app.device.keyname` -> value, as `?fk=true` shows them in ExtraFields."""
        rows = self.store.query(
            "SELECT * FROM foreign_key WHERE table_name = ? AND record_id = ? ORDER BY id",
            (_table(table), record_id),
        )
        return {f"{r['app']}.{r['device']}.{r['key_name']}": r["value"] for r in rows}

    def remove_record_keys(self, table: str, record_id: int) -> None:
        """Foreign keys are hard-deleted with their record."""
        with self.store.transaction() as db:
            db.execute(
                "DELETE FROM foreign_key WHERE table_name = ? AND record_id = ?",
                (_table(table), record_id),
            )
