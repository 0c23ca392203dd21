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

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from superoffice_client import rows
from superoffice_client.errors import NotFoundError
from superoffice_client.http import SuperOfficeClient
from superoffice_client.query import ArchiveQuery, one_of

__all__ = [
    "COLUMNS",
    "COUNTRY_CODES",
    "FIELDS",
    "SOURCES",
    "ArchiveSource",
    "Column",
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

Row = dict[str, Any]


def _id(value: Any) -> int | None:
    """An id column; 0 and empty mean 'none', as `rows.ref_id` reads them."""
    return int(value) if value not in (None, "", 0, "0") else None


def _in_assortment(value: Any) -> bool:
    """`inAssortment`, true unless the archive says otherwise."""
    if value in (None, ""):
        return True
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


@dataclass(frozen=True)
class Column:
    """One row column, the archive column it comes from, and how its value is read."""

    row: str
    archive: str
    read: Callable[[Any], Any] = rows.text


def _address(prefix: str, country: str) -> tuple[Column, ...]:
    return (
        Column("address", f"{prefix}/line1"),
        Column("zipcode", f"{prefix}/zip"),
        Column("city", f"{prefix}/city"),
        Column("country", country, country_code),
    )


FIELDS: dict[str, tuple[Column, ...]] = {
    "contacts": (
        Column("contactId", "contactId", int),
        Column("name", "name"),
        Column("department", "department"),
        Column("orgnr", "orgnr"),
        Column("email", "email/emailAddress"),
        Column("phone", "contactPhone/formattedNumber"),
        Column("url", "url/URLAddress"),
        *_address("postAddress", "countryId"),
        Column("registeredDate", "registeredDate", rows.iso_timestamp),
        Column("updatedDate", "updatedDate", rows.iso_timestamp),
    ),
    # `personAddress` is the person's own address and `personCountryId` their own country
    # (`countryId` would be the company's).
    "persons": (
        Column("personId", "personId", int),
        Column("contactId", "contactId", _id),
        Column("firstname", "firstName"),
        Column("lastname", "lastName"),
        Column("title", "title"),
        Column("email", "email/emailAddress"),
        Column("phone", "personDirectPhone/formattedNumber"),
        Column("mobile", "personMobilePhone/formattedNumber"),
        *_address("personAddress", "personCountryId"),
        Column("personRegisteredDate", "personRegisteredDate", rows.iso_timestamp),
        Column("personUpdatedDate", "personUpdatedDate", rows.iso_timestamp),
    ),
    "products": (
        Column("productId", "productId", int),
        Column("code", "code"),
        Column("erpProductKey", "erpProductKey"),
        Column("name", "name"),
        Column("description", "description"),
        Column("listPrice", "listPrice", rows.number),
        Column("cost", "cost", rows.number),
        Column("vat", "vat", rows.number),
        Column("unit", "quantityUnit"),
        Column("inAssortment", "inAssortment", _in_assortment),
        Column("updatedDate", "updatedDate", rows.iso_timestamp),
    ),
}
"""Each stream's row, column by column, from its archive (the rows of `rows.py`, which are
read from entities, have the same columns; a test compares the two for every seeded record)."""

COLUMNS: dict[str, tuple[str, ...]] = {
    stream: tuple(column.archive for column in columns) for stream, columns in FIELDS.items()
}
"""What to `$select` for a stream's rows."""


def archive_row(stream: str, row: Mapping[str, Any]) -> Row:
    """The stream's row from an archive row holding `COLUMNS[stream]`.

    Raises UnknownCountryError when the row names a country id not in `COUNTRY_CODES`."""
    built = {column.row: column.read(row.get(column.archive)) for column in FIELDS[stream]}
    built["deleted"] = False
    return built


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
