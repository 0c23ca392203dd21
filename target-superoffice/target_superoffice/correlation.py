"""Where crmsync's correlation keys live on SuperOffice records, and how they are found again.

Two carriers, chosen by the `correlation_field` setting:

- **A user-defined field** (`correlation_field` = its CustomFields key, e.g. `SuperOffice:3`, or
  the ProgId an admin gave it) on Person, Contact and Sale. The key is written inside the
  create's own POST, so no kill can leave a keyless record, and it is found with one archive
  query on `personUdef/<field>` / `contactUdef/<field>` / `saleUdef/<field>`
  (superoffice-api.md §6). The field must exist and be published on all three entities.
- **A foreign key** (`POST ForeignApp/{app}/{device}/{id}/Key`, reverse lookup
  `GET ForeignApp/{app}/{device}/Key/{name}/{table}?keyValue=`, §7): works on every table
  without an admin-made field, but is a second call after the create. It is used for every
  table when `correlation_field` is empty, and always for quote lines and for products
  without a code, which have no user-defined fields (a product with a code stores no key:
  crmsync finds it again by that match key).

This module never creates records; it only stores and finds keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from superoffice_client import NotFoundError, SuperOfficeClient
from superoffice_client.query import ArchiveQuery, equals

__all__ = ["UDEF_ARCHIVES", "CorrelationKeys", "ForeignKeys"]

KEY_NAME = "crmsync"

UDEF_ARCHIVES: dict[str, tuple[str, str, str]] = {
    "contact": ("Contact", "contactId", "contactUdef"),
    "person": ("Person", "personId", "personUdef"),
    "sale": ("Sale", "saleId", "saleUdef"),
}
"""Table -> (archive, id column, udef column prefix) of the tables that have udefs."""


class ForeignKeys:
    """crmsync's correlation keys stored on SuperOffice records as foreign keys."""

    def __init__(self, client: SuperOfficeClient, app: str, device: str, identifier: str) -> None:
        self.client = client
        self.app, self.device, self.identifier = app, device, identifier

    def save(self, table: str, record_id: int, value: str) -> None:
        body = {"Key": KEY_NAME, "Value": value, "RecordId": record_id, "TableName": table}
        path = f"ForeignApp/{self.app}/{self.device}/{self.identifier}/Key"
        # saved twice, the key still names one record: safe to send again
        self.client.request("POST", path, json=body, replayable=True)

    def find(self, table: str, value: str) -> int | None:
        path = f"ForeignApp/{self.app}/{self.device}/Key/{KEY_NAME}/{table}"
        try:
            found = self.client.request("GET", path, params={"keyValue": value})
        except NotFoundError:
            return None
        body = found.json() if found.content else None
        if not isinstance(body, Mapping) or not body.get("RecordId"):
            return None
        return int(body["RecordId"])


class CorrelationKeys:
    """Stores and finds correlation keys: in the udef `field` where the table has one (written
    by the create itself), else as foreign keys (written right after it)."""

    def __init__(self, client: SuperOfficeClient, foreign: ForeignKeys, field: str = "") -> None:
        self.client = client
        self.foreign = foreign
        self.field = field.strip()

    def in_create(self, table: str) -> bool:
        """Whether the key of a new `table` record travels inside its POST."""
        return bool(self.field) and table in UDEF_ARCHIVES

    def udefs(self, table: str, value: str) -> dict[str, Any]:
        """The CustomFields to POST with a new `table` record (empty when a foreign key is used)."""
        return {self.field: value} if self.in_create(table) else {}

    def save(self, table: str, record_id: int, value: str) -> None:
        """Store the key after the create, unless the create already carried it."""
        if not self.in_create(table):
            self.foreign.save(table, record_id, value)

    def find(self, table: str, value: str) -> int | None:
        """The id of the record carrying `value`, or None."""
        if not self.in_create(table):
            return self.foreign.find(table, value)
        archive, id_column, prefix = UDEF_ARCHIVES[table]
        query = ArchiveQuery(
            select=(id_column,), filter=equals(f"{prefix}/{self.field}", value), top=1
        )
        found = self.client.archive_page(archive, query)
        return int(found[0][id_column]) if found else None
