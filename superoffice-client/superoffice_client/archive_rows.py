"""The flat rows of rows.py built straight from archive columns, so many records cost one list
request instead of one entity GET each.

For contacts, persons and products, `COLUMNS[stream]` is what to `$select` and `archive_row()`
gives exactly the row `rows.contact_row` / `person_row` / `product_row` gives for the entity (a
test compares the two for every seeded record). Column names are the providers' own
(docs/en/api/archive-providers/reference/{contact,person,product}.md).

Two things the archives do not show, and how they are resolved:
- a country's two-letter code: the archives give only `countryId` / `personCountryId`. SuperOffice
  country ids are ISO 3166-1 numeric codes, so `COUNTRY_CODES` maps them; an id outside it raises
  `UnknownCountryError` and the caller reads that one entity instead (`read_rows` does).
- a record the archive does not list (deleted meanwhile, or a product out of assortment, which
  the Product archive may hide): `read_rows` reads those few by entity GET, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from superoffice_client import rows
from superoffice_client.errors import NotFoundError
from superoffice_client.http import SuperOfficeClient
from superoffice_client.query import ArchiveQuery, one_of

__all__ = [
    "COLUMNS",
    "COUNTRY_CODES",
    "SOURCES",
    "ArchiveSource",
    "UnknownCountryError",
    "archive_row",
    "read_rows",
]

# SuperOffice country ids are ISO 3166-1 numeric codes (Norway 578, Sweden 752).
COUNTRY_CODES: dict[int, str] = {
    578: "NO", 752: "SE", 208: "DK", 246: "FI", 352: "IS", 276: "DE", 528: "NL", 826: "GB",
    840: "US", 250: "FR", 724: "ES", 380: "IT", 616: "PL", 233: "EE", 428: "LV", 440: "LT",
    56: "BE", 40: "AT", 756: "CH", 372: "IE",
}  # fmt: skip


class UnknownCountryError(LookupError):
    """A country id whose two-letter code is not known here: read the entity instead."""


@dataclass(frozen=True)
class ArchiveSource:
    """Where a stream's rows come from: its archive list, id column and entity path."""

    stream: str
    archive: str
    id_column: str
    updated_column: str
    entity: str
    """The REST resource (`Person/{id}`) read for records the archive cannot give."""


SOURCES: dict[str, ArchiveSource] = {
    source.stream: source
    for source in (
        ArchiveSource("contacts", "Contact", "contactId", "updatedDate", "Contact"),
        ArchiveSource("persons", "Person", "personId", "personUpdatedDate", "Person"),
        ArchiveSource("products", "Product", "productId", "updatedDate", "Product"),
    )
}

COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": (
        "contactId", "name", "department", "orgnr", "email/emailAddress",
        "contactPhone/formattedNumber", "url/URLAddress", "postAddress/line1", "postAddress/zip",
        "postAddress/city", "countryId", "registeredDate", "updatedDate",
    ),
    "persons": (
        "personId", "contactId", "firstName", "lastName", "title", "email/emailAddress",
        "personDirectPhone/formattedNumber", "personMobilePhone/formattedNumber",
        "personAddress/line1", "personAddress/zip", "personAddress/city", "personCountryId",
        "personRegisteredDate", "personUpdatedDate",
    ),
    "products": (
        "productId", "code", "erpProductKey", "name", "description", "listPrice", "cost", "vat",
        "quantityUnit", "inAssortment", "updatedDate",
    ),
}  # fmt: skip

Row = dict[str, Any]


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _number(value: Any) -> float | None:
    return None if value in (None, "") else float(value)


def _id(value: Any) -> int | None:
    """An id column; 0 and empty mean 'none', as `rows.ref_id` reads them."""
    return int(value) if value not in (None, "", 0, "0") else None


def _flag(value: Any, default: bool) -> bool:
    if value in (None, ""):
        return default
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def country_code(country_id: Any) -> str | None:
    """The two-letter code of a country id; None when not set."""
    known = _id(country_id)
    if known is None:
        return None
    if known not in COUNTRY_CODES:
        raise UnknownCountryError(f"country id {known}")
    return COUNTRY_CODES[known]


def _place(row: Mapping[str, Any], prefix: str, country_column: str) -> Row:
    return {
        "address": _text(row.get(f"{prefix}/line1")),
        "zipcode": _text(row.get(f"{prefix}/zip")),
        "city": _text(row.get(f"{prefix}/city")),
        "country": country_code(row.get(country_column)),
    }


def contact_row(row: Mapping[str, Any]) -> Row:
    """A `contacts` row from a Contact archive row."""
    return {
        "contactId": int(row["contactId"]),
        "name": _text(row.get("name")),
        "department": _text(row.get("department")),
        "orgnr": _text(row.get("orgnr")),
        "email": _text(row.get("email/emailAddress")),
        "phone": _text(row.get("contactPhone/formattedNumber")),
        "url": _text(row.get("url/URLAddress")),
        **_place(row, "postAddress", "countryId"),
        "registeredDate": rows.iso_timestamp(row.get("registeredDate")),
        "updatedDate": rows.iso_timestamp(row.get("updatedDate")),
        "deleted": False,
    }


def person_row(row: Mapping[str, Any]) -> Row:
    """A `persons` row from a Person archive row (`personAddress` is the person's own address,
    `personCountryId` their own country; `countryId` would be the company's)."""
    return {
        "personId": int(row["personId"]),
        "contactId": _id(row.get("contactId")),
        "firstname": _text(row.get("firstName")),
        "lastname": _text(row.get("lastName")),
        "title": _text(row.get("title")),
        "email": _text(row.get("email/emailAddress")),
        "phone": _text(row.get("personDirectPhone/formattedNumber")),
        "mobile": _text(row.get("personMobilePhone/formattedNumber")),
        **_place(row, "personAddress", "personCountryId"),
        "personRegisteredDate": rows.iso_timestamp(row.get("personRegisteredDate")),
        "personUpdatedDate": rows.iso_timestamp(row.get("personUpdatedDate")),
        "deleted": False,
    }


def product_row(row: Mapping[str, Any]) -> Row:
    """A `products` row from a Product archive row."""
    return {
        "productId": int(row["productId"]),
        "code": _text(row.get("code")),
        "erpProductKey": _text(row.get("erpProductKey")),
        "name": _text(row.get("name")),
        "description": _text(row.get("description")),
        "listPrice": _number(row.get("listPrice")),
        "cost": _number(row.get("cost")),
        "vat": _number(row.get("vat")),
        "unit": _text(row.get("quantityUnit")),
        "inAssortment": _flag(row.get("inAssortment"), default=True),
        "updatedDate": rows.iso_timestamp(row.get("updatedDate")),
        "deleted": False,
    }


_BUILDERS = {"contacts": contact_row, "persons": person_row, "products": product_row}


def archive_row(stream: str, row: Mapping[str, Any]) -> Row:
    """The stream's row from an archive row holding `COLUMNS[stream]`.

    Raises UnknownCountryError when the row names a country id not in `COUNTRY_CODES`."""
    return _BUILDERS[stream](row)


def entity_row(client: SuperOfficeClient, stream: str, record_id: int) -> Row | None:
    """The row read by entity GET (the slow path); None when the record does not exist."""
    source = SOURCES[stream]
    try:
        entity = client.get_json(f"{source.entity}/{int(record_id)}")
    except NotFoundError:
        return None
    if stream == "contacts":
        return rows.contact_row(entity)
    if stream == "persons":
        return rows.person_row(entity)
    return rows.product_row(entity, None)


def _chunks(ids: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def read_rows(
    client: SuperOfficeClient, stream: str, ids: Iterable[int | str], *, chunk: int = 200
) -> dict[int, Row]:
    """Rows of `stream` (contacts, persons, products) by id: one archive request per `chunk` ids
    (`$filter=personId oneOf (1,2,3)`). Ids the archive does not list, or whose country code is
    unknown, are read by entity GET; ids that do not exist are absent from the result."""
    source = SOURCES[stream]
    wanted = sorted({int(i) for i in ids})
    found: dict[int, Row] = {}
    slow: list[int] = []
    for part in _chunks(wanted, chunk):
        query = ArchiveQuery(
            select=COLUMNS[stream],
            filter=one_of(source.id_column, part),
            orderby=(f"{source.id_column} asc",),
            top=len(part) + 1,  # a short page: no second request to learn it was the last
        )
        for page in client.archive(source.archive, query):
            for row in page:
                record_id = int(row[source.id_column])
                try:
                    found.setdefault(record_id, archive_row(stream, row))
                except UnknownCountryError:
                    slow.append(record_id)
    slow.extend(i for i in wanted if i not in found and i not in slow)
    for record_id in slow:
        row_read = entity_row(client, stream, record_id)
        if row_read is not None:
            found[record_id] = row_read
    return found
