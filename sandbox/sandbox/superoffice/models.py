"""The state and rules of one emulated SuperOffice tenant (moto style: no HTTP here).

Entity operations mirror the vendor's agents: `get_entity` is GetPersonEntity/GetContactEntity/
GetProduct/GetSaleEntity, `save_entity` is Save...Entity (create when the id is 0), and so on.
Decides: ids, timestamps (strictly increasing, UTC), soft versus hard delete, optimistic
concurrency (If-Unmodified-Since), which references a carrier shows. Never parses HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sandbox.common.clock import Clock

from . import rules, shapes
from .errors import MethodNotAllowedError, NotFoundError, PreconditionFailedError
from .foreignkeys import ForeignKeys
from .patching import apply_patch
from .quotes import QuoteAgent
from .store import Row, Store

__all__ = ["KINDS", "EntityKind", "SuperOfficeModel", "contact_summary", "person_summary"]


@dataclass(frozen=True)
class EntityKind:
    """One REST entity: its URL name, table, primary key field and behaviour."""

    name: str
    table: str
    id_field: str
    blank: Callable[[], dict[str, Any]]
    patchable: bool
    soft_delete: bool
    stamped: bool
    """The carrier itself shows CreatedDate/UpdatedDate (Product does not; its archive does)."""


KINDS: dict[str, EntityKind] = {
    "person": EntityKind("Person", "person", "PersonId", shapes.default_person, True, True, True),
    "contact": EntityKind(
        "Contact", "contact", "ContactId", shapes.default_contact, True, True, True
    ),
    "product": EntityKind(
        "Product", "product", "ProductId", shapes.default_product, False, False, False
    ),
    "sale": EntityKind("Sale", "sale", "SaleId", shapes.default_sale, True, False, True),
}

SYSTEM_ASSOCIATE = 1


def contact_summary(contact_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
    """The `Contact` reference a person or sale carries."""
    emails = body.get("Emails") or []
    phones = body.get("Phones") or []
    urls = body.get("Urls") or []
    country = body.get("Country") or {}
    associate = body.get("Associate") or {}
    postal = (body.get("Address") or {}).get("Postal") or {}
    return {
        "ContactId": contact_id,
        "Name": body.get("Name", ""),
        "OrgNr": body.get("OrgNr", ""),
        "Department": body.get("Department", ""),
        "URL": urls[0]["Value"] if urls else "",
        "City": postal.get("City", ""),
        "DirectPhone": phones[0]["Value"] if phones else "",
        "AssociateId": associate.get("AssociateId", 0),
        "CountryId": country.get("CountryId", 0),
        "EmailAddress": emails[0]["Value"] if emails else "",
        "Kananame": "",
        "EmailAddressName": "",
        "URLName": "",
        "AssociateFullName": associate.get("FullName", ""),
        "BusinessName": "",
        "CategoryName": "",
        "CountryName": country.get("Name", ""),
        "FormattedAddress": postal.get("Formatted", ""),
        "FullName": " - ".join(p for p in (body.get("Name", ""), body.get("Department", "")) if p),
        "IsOwnerContact": False,
        "ActiveErpLinks": 0,
    }


def person_summary(person_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
    """The `Person` reference a sale carries, and the items of `ContactEntity.Persons`."""
    contact = body.get("Contact") or {}
    emails = body.get("Emails") or []
    phones = body.get("OfficePhones") or []
    mobiles = body.get("MobilePhones") or []
    return {
        "PersonId": person_id,
        "Firstname": body.get("Firstname", ""),
        "MiddleName": body.get("MiddleName", ""),
        "Lastname": body.get("Lastname", ""),
        "FullName": body.get("FullName", ""),
        "Title": body.get("Title", ""),
        "ContactId": contact.get("ContactId", 0),
        "ContactName": contact.get("Name", ""),
        "Email": emails[0]["Value"] if emails else "",
        "Phone": phones[0]["Value"] if phones else "",
        "Mobile": mobiles[0]["Value"] if mobiles else "",
        "Retired": body.get("Retired", False),
    }


class SuperOfficeModel:
    """One tenant: its entities, quote chain and foreign keys, persisted in SQLite."""

    def __init__(self, path: Path | None = None, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self.store = Store(path, self.clock)
        self.quotes = QuoteAgent(self)
        self.foreign_keys = ForeignKeys(self)

    # -- reading ---------------------------------------------------------------------------

    def default_entity(self, kind: str) -> dict[str, Any]:
        """`GET {Entity}/default`: the blank carrier with the tenant's defaults."""
        body = KINDS[kind].blank()
        if kind in rules.UDEF_KEYS:
            body["CustomFields"] = dict.fromkeys(rules.UDEF_KEYS[kind], "")
            body["UserDefinedFields"] = dict(body["CustomFields"])
        return body

    def get_row(self, kind: str, record_id: int, *, include_deleted: bool = False) -> Row:
        row = self.store.get(kind, record_id)
        if row is None or (row.deleted and not include_deleted):
            name = KINDS[kind].name if kind in KINDS else kind.title().replace("_", "")
            raise NotFoundError(f"{name} id {record_id} not found")
        return row

    def get_entity(self, kind: str, record_id: int) -> tuple[dict[str, Any], datetime]:
        """The carrier as served, and the moment it last changed (for Last-Modified)."""
        row = self.get_row(kind, record_id)
        return self._present(row), _moment(row.updated)

    def _present(self, row: Row) -> dict[str, Any]:
        body = dict(row.body)
        if body.get("Contact"):
            body["Contact"] = self._resolve("contact", int(body["Contact"]["ContactId"]))
        if row.kind == "sale" and body.get("Person"):
            body["Person"] = self._resolve("person", int(body["Person"]["PersonId"]))
        if row.kind == "contact":
            body["Persons"] = [
                person_summary(p.id, p.body)
                for p in self.store.children("person", row.id)
                if not p.deleted
            ]
        return body

    def _resolve(self, kind: str, record_id: int) -> dict[str, Any] | None:
        row = self.store.get(kind, record_id)
        if row is None or row.deleted:
            return None
        return (
            contact_summary(row.id, row.body)
            if kind == "contact"
            else person_summary(row.id, row.body)
        )

    # -- writing ---------------------------------------------------------------------------

    def save_entity(
        self,
        kind: str,
        incoming: Mapping[str, Any],
        record_id: int | None = None,
        if_unmodified_since: datetime | None = None,
    ) -> dict[str, Any]:
        """Save...Entity: a full save of the carrier; id 0 creates, any other id updates."""
        spec = KINDS[kind]
        body = rules.overlay(self.default_entity(kind), incoming)
        wanted = record_id if record_id is not None else int(body.get(spec.id_field) or 0)
        with self.store.transaction():
            before = self.get_row(kind, wanted) if wanted else None
            if before is not None:
                _check_unmodified(before, if_unmodified_since)
            self._apply_rules(kind, body, before)
            row = self._write(spec, body, before)
        return self._present(row)

    def patch_entity(
        self,
        kind: str,
        record_id: int,
        changes: Any,
        if_unmodified_since: datetime | None = None,
    ) -> dict[str, Any]:
        """PATCH: apply JSON Patch / Merge Patch to the current carrier, then save it."""
        spec = KINDS[kind]
        if not spec.patchable:
            raise MethodNotAllowedError("PATCH", ["GET", "PUT", "DELETE"])
        with self.store.transaction():
            before = self.get_row(kind, record_id)
            _check_unmodified(before, if_unmodified_since)
            current = self._present(before)
            patched = apply_patch(current, changes)
            patched[spec.id_field] = record_id
            custom = patched.get("CustomFields")
            if isinstance(custom, dict):  # a removed (or merge-null) udef is cleared
                for key in current.get("CustomFields") or {}:
                    custom.setdefault(key, "")
            return self.save_entity(kind, patched, record_id)

    def delete_entity(
        self, kind: str, record_id: int, if_unmodified_since: datetime | None = None
    ) -> None:
        """Person/Contact go to the recycle bin (DeletedDate set); Product/Sale are removed."""
        with self.store.transaction():
            row = self.get_row(kind, record_id)
            _check_unmodified(row, if_unmodified_since)
            if KINDS[kind].soft_delete:
                self._soft_delete(row)
                if kind == "contact":
                    for person in self.store.children("person", record_id):
                        if not person.deleted:
                            self._soft_delete(person)
            else:
                self.store.remove(kind, record_id)
                self.foreign_keys.remove_record_keys(kind, record_id)
                if kind == "sale":
                    self.quotes.remove_quotes_of_sale(record_id)

    def find_product_by_erp_key(self, key: str) -> dict[str, Any] | None:
        """The product whose ERPProductKey equals `key` (case-insensitive), if any.

        `+id` keeps SQLite from walking every product in id order: it uses the ERP-key index.
        """
        rows = self.store.query(
            "SELECT id FROM record WHERE kind = 'product' "
            "AND so_fold(json_extract(body, '$.ERPProductKey')) = ? ORDER BY +id LIMIT 1",
            (key.casefold(),),
        )
        return self.get_row("product", rows[0]["id"]).body if rows else None

    def _soft_delete(self, row: Row) -> None:
        moment = self.clock.tick()
        self.store.put(Row(row.kind, row.id, row.parent_id, row.body, row.created, moment, moment))

    def touch(self, kind: str, record_id: int) -> None:
        """Move a record's updated moment (and UpdatedDate) without changing anything else."""
        row = self.store.get(kind, record_id)
        if row is None:
            return
        moment = self.clock.tick()
        body = dict(row.body)
        if KINDS[kind].stamped:
            body["UpdatedDate"] = moment
        self.store.put(Row(row.kind, row.id, row.parent_id, body, row.created, moment, row.deleted))

    def _apply_rules(self, kind: str, body: dict[str, Any], before: Row | None) -> None:
        rules.resolve_references(body, self._resolve)
        rules.normalise_channels(kind, body)
        if "Address" in body:
            body["Address"] = rules.normalise_address(kind, body["Address"])
        if kind in rules.UDEF_KEYS:
            rules.normalise_custom_fields(kind, body, before.body if before else {})
        for field in ("BirthDate", "Saledate", "DbiLastModified", "DbiLastSyncronized"):
            if field in body:
                body[field] = rules.normalise_date(field, body[field])
        if kind == "person":
            names = (body["Firstname"], body["MiddleName"], body["Lastname"])
            body["FullName"] = " ".join(n for n in names if n)
            body["FormalName"] = " ".join(n for n in (body["Title"], body["FullName"]) if n)
        if kind == "sale":
            rules.check_sale(body)
        rules.check_lengths(kind, body)

    def _write(self, spec: EntityKind, body: dict[str, Any], before: Row | None) -> Row:
        moment = self.clock.tick()
        record_id = before.id if before else self.store.next_id(spec.table)
        created = before.created if before else moment
        body[spec.id_field] = record_id
        if spec.stamped:
            body["CreatedDate"] = created
            body["UpdatedDate"] = moment
            body["CreatedBy"] = shapes.associate_ref(SYSTEM_ASSOCIATE)
            body["UpdatedBy"] = shapes.associate_ref(SYSTEM_ASSOCIATE)
        contact = body.get("Contact")
        parent = int(contact["ContactId"]) if isinstance(contact, Mapping) else None
        row = Row(spec.table, record_id, parent, body, created, moment, None)
        self.store.put(row)
        return row

    def reset(self) -> None:
        """Wipe every record (the control API's reset); the clock keeps moving forward."""
        self.store.wipe()


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _check_unmodified(row: Row, since: datetime | None) -> None:
    """412 when the record changed after `since` (HTTP dates have whole seconds)."""
    if since is None:
        return
    updated = _moment(row.updated)
    if since.microsecond == 0:
        updated = updated.replace(microsecond=0)
    if updated > since:
        raise PreconditionFailedError(
            f"{row.kind.capitalize()} {row.id} has changed since {since.isoformat()}"
        )
