"""SuperOffice entities as flat rows: the one vocabulary the tap emits and the target accepts.

A row uses camelCase names after SuperOffice's archive columns (`personId`, `firstname`,
`personUpdatedDate`) and holds only scalars; the first e-mail / phone / URL of an entity's
lists and its postal address become plain columns. The tap builds rows with these functions and
the target's `fetch` builds `Ours.values` with the same functions, so both always agree.
Pure functions of the entity JSON (`GET /api/v1/Person/{id}` etc.); no I/O here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "STREAMS",
    "RowSpec",
    "columns",
    "contact_row",
    "first_value",
    "iso_timestamp",
    "number",
    "person_row",
    "product_row",
    "quote_alternative_row",
    "quote_line_row",
    "ref_id",
    "schema",
    "shared_version",
    "text",
]

Entity = Mapping[str, Any]


@dataclass(frozen=True)
class RowSpec:
    """A stream's columns: its id, the column that is its version, its link entity, the
    columns a target may write (the others are computed by SuperOffice or read-only), and
    the column saying when it last changed (`updated_column`; the version when empty)."""

    stream: str
    entity: str
    id_column: str
    version_column: str
    writable: tuple[str, ...]
    updated_column: str = ""

    @property
    def moment_column(self) -> str:
        """The column saying when the record last changed."""
        return self.updated_column or self.version_column


_ADDRESS = ("address", "zipcode", "city", "country")

STREAMS: dict[str, RowSpec] = {
    spec.stream: spec
    for spec in (
        RowSpec(
            "contacts",
            "company",
            "contactId",
            "updatedDate",
            ("name", "department", "orgnr", "email", "phone", "url", *_ADDRESS),
        ),
        RowSpec(
            "persons",
            "person",
            "personId",
            "personUpdatedDate",
            ("contactId", "firstname", "lastname", "title", "email", "phone", "mobile", *_ADDRESS),
        ),
        RowSpec(
            "products",
            "product",
            "productId",
            "updatedDate",
            (
                "code",
                "erpProductKey",
                "name",
                "description",
                "listPrice",
                "cost",
                "vat",
                "unit",
                "inAssortment",
            ),
        ),
        RowSpec(
            "quote_alternatives",
            "quote",
            "quoteAlternativeId",
            "version",
            (
                "contactId",
                "personId",
                "heading",
                "name",
                "description",
                "saleDate",
                "expirationDate",
                "discountPercent",
                "state",
                "currency",
            ),
            updated_column="updatedDate",
        ),
        RowSpec(
            "quote_lines",
            "quote_line",
            "quoteLineId",
            "version",
            (
                "quoteAlternativeId",
                "productId",
                "name",
                "description",
                "quantity",
                "unitListPrice",
                "discountPercent",
                "rank",
            ),
            updated_column="updatedDate",
        ),
    )
}


@cache
def schema(stream: str) -> dict[str, Any]:
    """The JSON schema of a stream's rows (`superoffice_client/schemas/<stream>.json`)."""
    source = (resources.files("superoffice_client") / "schemas" / f"{stream}.json").read_text()
    loaded: dict[str, Any] = json.loads(source)
    return loaded


def columns(stream: str) -> frozenset[str]:
    """Every column a stream's rows may have."""
    return frozenset(schema(stream)["properties"])


def iso_timestamp(value: Any) -> str | None:
    """An API date-time as ISO-8601 UTC with `Z`; None for empty and year-1 ('no date')."""
    if value in (None, ""):
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.year <= 1:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_date(value: Any) -> str | None:
    """The date part (`YYYY-MM-DD`) of an API date-time; None when not set."""
    stamp = iso_timestamp(value)
    return stamp[:10] if stamp else None


def first_value(items: Any) -> str | None:
    """The `Value` of the first entry of an Emails/Phones/Urls list, or None."""
    if isinstance(items, list):
        for item in items:
            if isinstance(item, Mapping) and item.get("Value"):
                return str(item["Value"])
    return None


def ref_id(ref: Any, key: str) -> int | None:
    """The id inside a nested reference (`{"ContactId": 12, ...}`); None for 0 or missing."""
    if isinstance(ref, Mapping) and ref.get(key):
        return int(ref[key])
    return None


def text(value: Any) -> str | None:
    """A string column: empty means none."""
    return None if value in (None, "") else str(value)


def number(value: Any) -> float | None:
    """A number column: empty means none."""
    if value in (None, ""):
        return None
    return float(value)


def _postal(entity: Entity) -> dict[str, Any]:
    address = entity.get("Address") or {}
    postal = address.get("Postal") or {} if isinstance(address, Mapping) else {}
    country = entity.get("Country") or {}
    return {
        "address": text(postal.get("Address1")),
        "zipcode": text(postal.get("Zipcode")),
        "city": text(postal.get("City")),
        "country": text(country.get("TwoLetterISOCountry"))
        if isinstance(country, Mapping)
        else None,
    }


def person_row(entity: Entity) -> dict[str, Any]:
    """A `persons` row from a PersonEntity."""
    return {
        "personId": int(entity["PersonId"]),
        "contactId": ref_id(entity.get("Contact"), "ContactId"),
        "firstname": text(entity.get("Firstname")),
        "lastname": text(entity.get("Lastname")),
        "title": text(entity.get("Title")),
        "email": first_value(entity.get("Emails")),
        "phone": first_value(entity.get("OfficePhones")),
        "mobile": first_value(entity.get("MobilePhones")),
        **_postal(entity),
        "personRegisteredDate": iso_timestamp(entity.get("CreatedDate")),
        "personUpdatedDate": iso_timestamp(entity.get("UpdatedDate")),
        "deleted": False,
    }


def contact_row(entity: Entity) -> dict[str, Any]:
    """A `contacts` (companies) row from a ContactEntity."""
    return {
        "contactId": int(entity["ContactId"]),
        "name": text(entity.get("Name")),
        "department": text(entity.get("Department")),
        "orgnr": text(entity.get("OrgNr")),
        "email": first_value(entity.get("Emails")),
        "phone": first_value(entity.get("Phones")),
        "url": first_value(entity.get("Urls")),
        **_postal(entity),
        "registeredDate": iso_timestamp(entity.get("CreatedDate")),
        "updatedDate": iso_timestamp(entity.get("UpdatedDate")),
        "deleted": False,
    }


def product_row(entity: Entity, updated: Any) -> dict[str, Any]:
    """A `products` row from a Product carrier; `updated` is the archive row's `updatedDate`
    (the carrier has no timestamp of its own)."""
    return {
        "productId": int(entity["ProductId"]),
        "code": text(entity.get("Code")),
        "erpProductKey": text(entity.get("ERPProductKey")),
        "name": text(entity.get("Name")),
        "description": text(entity.get("Description")),
        "listPrice": number(entity.get("UnitListPrice")),
        "cost": number(entity.get("UnitCost")),
        "vat": number(entity.get("VAT")),
        "unit": text(entity.get("QuantityUnit")),
        "inAssortment": bool(entity.get("InAssortment", True)),
        "updatedDate": iso_timestamp(updated),
        "deleted": False,
    }


def shared_version(row: Mapping[str, Any], leave_out: Iterable[str] = ()) -> str | None:
    """The version of a row that has no timestamp of its own (alternatives, lines): its
    Sale's `UpdatedDate`, `#`, and a fingerprint of the row's own values (crmsync's
    `receipts.FINGERPRINT` convention).

    Writing one line moves the `UpdatedDate` of every alternative and line of the Sale; the
    fingerprint moves only for the row whose values changed, so a sync can tell a row still
    as it read it from one a user edited. `leave_out`: columns computed from other rows or
    looked up elsewhere (totals, the product found by its ERP key).
    """
    moment = row.get("updatedDate")
    if moment is None:
        return None
    skipped = {"updatedDate", "version", "deleted", *leave_out}
    own = {key: value for key, value in row.items() if key not in skipped}
    text = json.dumps(own, sort_keys=True, default=str).encode()
    return f"{moment}#{hashlib.blake2b(text, digest_size=6).hexdigest()}"


def quote_alternative_row(
    alternative: Entity, version: Entity, quote: Entity, sale: Entity
) -> dict[str, Any]:
    """A `quote_alternatives` row; QuoteAlternative has no timestamp (superoffice-api.md
    §0.4), so its version is the owning Sale's `UpdatedDate` with a fingerprint of its own
    values (`shared_version`)."""
    currency = sale.get("Currency") or {}
    row = {
        "quoteAlternativeId": int(alternative["QuoteAlternativeId"]),
        "quoteVersionId": int(version["QuoteVersionId"]),
        "quoteId": int(quote["QuoteId"]),
        "saleId": int(sale["SaleId"]),
        "contactId": ref_id(sale.get("Contact"), "ContactId"),
        "personId": ref_id(sale.get("Person"), "PersonId"),
        "heading": text(sale.get("Heading")),
        "name": text(alternative.get("Name")),
        "description": text(alternative.get("Description")),
        "state": text(version.get("State")),
        "currency": text(currency.get("Value")) if isinstance(currency, Mapping) else None,
        "saleDate": iso_date(sale.get("Saledate")),
        "expirationDate": iso_date(version.get("ExpirationDate")),
        "discountPercent": number(alternative.get("DiscountPercent")),
        "subTotal": number(alternative.get("SubTotal")),
        "totalPrice": number(alternative.get("TotalPrice")),
        "updatedDate": iso_timestamp(sale.get("UpdatedDate")),
        "deleted": False,
    }
    return {**row, "version": shared_version(row, ("subTotal", "totalPrice"))}


def quote_line_row(line: Entity, product_id: int | None, sale_updated: Any) -> dict[str, Any]:
    """A `quote_lines` row; `product_id` is the product whose ERPProductKey the line names,
    and its version is the owning Sale's `UpdatedDate` with a fingerprint of its own values,
    like its alternative's."""
    row = {
        "quoteLineId": int(line["QuoteLineId"]),
        "quoteAlternativeId": int(line["QuoteAlternativeId"]),
        "productId": product_id,
        "erpProductKey": text(line.get("ERPProductKey")),
        "name": text(line.get("Name")),
        "description": text(line.get("Description")),
        "quantity": number(line.get("Quantity")),
        "unitListPrice": number(line.get("UnitListPrice")),
        "discountPercent": number(line.get("DiscountPercent")),
        "totalPrice": number(line.get("TotalPrice")),
        "rank": int(line["Rank"]) if line.get("Rank") not in (None, "") else None,
        "updatedDate": iso_timestamp(sale_updated),
        "deleted": False,
    }
    return {**row, "version": shared_version(row, ("productId", "totalPrice"))}
