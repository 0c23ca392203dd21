"""The tap's streams, in dependency order: contacts, persons, products, quote_alternatives,
quote_lines. Each names its archive and columns (superoffice-api.md §4). Companies, persons and
products are built straight from their archive rows (`superoffice_client.archive_rows`), so a
page of changes costs one list request; quotes are read through the Quote agent."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

from singer_sdk.helpers.types import Context, Record
from singer_sdk.schema.source import StreamSchema
from superoffice_client import archive_rows, rows
from superoffice_client.feed import deletions
from superoffice_client.query import ArchiveQuery, any_of, equals
from typing_extensions import override

from tap_superoffice.client import SCHEMAS, SuperOfficeStream

__all__ = [
    "ContactsStream",
    "PersonsStream",
    "ProductsStream",
    "QuoteAlternativesStream",
    "QuoteLinesStream",
]


class _ArchiveRowsStream(SuperOfficeStream):
    """A stream whose rows are its archive rows: no entity read per record (only a row naming
    a country id without a known code is read by entity)."""

    @property
    @override
    def concurrency(self) -> int:
        return 1  # nothing to wait for: rows are built in memory

    @override
    def read_rows(self, archive_row: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            return [archive_rows.archive_row(self.name, archive_row)]
        except archive_rows.UnknownCountryError:
            record_id = int(archive_row[self.id_column])
            row = archive_rows.entity_row(self.client, self.name, record_id)
            return [row] if row else []


class _RecycledStream(_ArchiveRowsStream):
    """A stream whose soft-deleted records are listed by a recycle archive."""

    recycle_archive: str
    deleted_column: str

    @override
    def deleted_rows(self, context: Context | None) -> Iterator[dict[str, Any]]:
        feed = deletions(
            self.client,
            self.recycle_archive,
            id_column=self.id_column,
            deleted_column=self.deleted_column,
            since=self.since(context),
            page_size=self.page_size,
        )
        blank = dict.fromkeys(self.schema["properties"])
        for archive_row in feed:
            yield {  # every property, as a live row has: stream maps name them all
                **blank,
                self.id_column: int(archive_row[self.id_column]),
                str(self.replication_key): rows.iso_timestamp(archive_row.get(self.deleted_column)),
                "deleted": True,
            }


class ContactsStream(_RecycledStream):
    """Companies (SuperOffice calls them Contact)."""

    name = "contacts"
    primary_keys = ("contactId",)
    replication_key = "updatedDate"
    schema = StreamSchema(SCHEMAS)
    archive = "Contact"
    id_column = "contactId"
    updated_column = "updatedDate"
    recycle_archive = "Archive/RecycleContact"
    archive_columns = archive_rows.COLUMNS["contacts"]
    deleted_column = "deletedDate"


class PersonsStream(_RecycledStream):
    """Persons; `contactId` refers to their company in `contacts`."""

    name = "persons"
    primary_keys = ("personId",)
    replication_key = "personUpdatedDate"
    schema = StreamSchema(SCHEMAS)
    archive = "Person"
    id_column = "personId"
    # the person's own timestamp; `updatedDate` in person archives is the company's
    updated_column = "personUpdatedDate"
    recycle_archive = "Archive/RecyclePerson"
    archive_columns = archive_rows.COLUMNS["persons"]
    deleted_column = "personDeletedDate"


class ProductsStream(_ArchiveRowsStream):
    """Products of the built-in product register (no PATCH, no timestamp on the carrier)."""

    name = "products"
    primary_keys = ("productId",)
    replication_key = "updatedDate"
    schema = StreamSchema(SCHEMAS)
    archive = "Product"
    archive_columns = archive_rows.COLUMNS["products"]
    id_column = "productId"
    updated_column = "updatedDate"
    scannable = True


class QuoteAlternativesStream(SuperOfficeStream):
    """Alternatives of each sale's active quote version, driven by the Sale archive's
    `updatedDate` (QuoteAlternative has no timestamp) and read through the Quote agent; with
    their lines, when `quote_lines` is selected, so that each names every line it has."""

    name = "quote_alternatives"
    primary_keys = ("quoteAlternativeId",)
    replication_key = "updatedDate"
    schema = StreamSchema(SCHEMAS)
    archive = "Archive/Sale"
    id_column = "saleId"
    updated_column = "updatedDate"
    scannable = True

    @override
    def read_rows(self, archive_row: dict[str, Any]) -> list[dict[str, Any]]:
        sale_id = int(archive_row["saleId"])
        quote = self.client.agent("Quote/GetQuoteEntityFromSaleId", {"SaleId": sale_id})
        if not quote or not quote.get("QuoteId"):
            return []  # a sale without a quote
        sale = self.client.get_json(f"Sale/{sale_id}")
        version = _active_version(quote)
        if version is None:
            return []
        alternatives = []
        for alternative in version.get("QuoteAlternatives") or []:
            row = rows.quote_alternative_row(alternative, version, quote, sale)
            row["lineIds"] = None  # every property, as a stream map names them all
            if self.lines_selected:
                lines = list(
                    self.client.agent(
                        "Quote/GetQuoteLines", {"QuoteAlternativeId": row["quoteAlternativeId"]}
                    )
                    or []
                )
                self._lines[row["quoteAlternativeId"]] = lines
                # every line it has as read now: a linked line missing from it was deleted
                row["lineIds"] = sorted(int(line["QuoteLineId"]) for line in lines)
            alternatives.append(row)
        return alternatives

    @property
    def lines_selected(self) -> bool:
        """Whether the child stream wants lines (then they are read here, with their set)."""
        return any(child.selected for child in self.child_streams)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._waiting: list[dict[str, Any]] = []  # alternatives whose lines are not emitted yet
        self._lines: dict[int, list[dict[str, Any]]] = {}  # by alternative, till emitted
        self._at_last_row = False
        self.page: tuple[int, list[dict[str, Any]]] = (0, [])
        """The page of alternatives whose lines the child stream reads now (number, page)."""

    @override
    def rows(self, context: Context | None) -> Iterator[dict[str, Any]]:
        """The rows, the last one known as the last: it sends the waiting alternatives on."""
        rows = iter(super().rows(context))
        row = next(rows, None)
        while row is not None:
            following = next(rows, None)
            self._at_last_row = following is None
            yield row
            row = following

    @override
    def get_child_context(self, record: Record, context: Context | None) -> dict[str, Any]:
        return {
            "quoteAlternativeId": record["quoteAlternativeId"],
            "saleUpdated": record["updatedDate"],
        }

    @override
    def generate_child_contexts(
        self, record: Record, context: Context | None
    ) -> Iterable[Context | None]:
        """One child context per page of alternatives, not one per alternative: the SDK writes
        a SCHEMA and a STATE (the whole tap state) for each child context, which made a
        mass-created world's Singer output grow as quotes times state size. The context only
        names the page (the SDK logs it with every metric); the child reads `page`."""
        lines = self._lines.pop(record["quoteAlternativeId"], [])
        self._waiting.append({**self.get_child_context(record, context), "lines": lines})
        if len(self._waiting) >= self.page_size or self._at_last_row:
            self.page = (self.page[0] + 1, self._waiting)
            self._waiting = []
            yield {"alternatives_page": self.page[0], "alternatives": len(self.page[1])}


def _active_version(quote: dict[str, Any]) -> dict[str, Any] | None:
    """The quote's active version (`ActiveQuoteVersionId`), else its last one."""
    versions = quote.get("QuoteVersions") or []
    active = quote.get("ActiveQuoteVersionId")
    for version in versions:
        if active and version.get("QuoteVersionId") == active:
            return dict(version)
    return dict(versions[-1]) if versions else None


KEYS_PER_LOOKUP = 40
"""ERP keys per product look-up request (keeps the `$filter` text short)."""


class QuoteLinesStream(SuperOfficeStream):
    """Lines of the alternatives the parent stream emitted, a page of alternatives at a time
    (a child stream, one bookmark); the parent reads them with their alternative, so that the
    alternative can name them all (`lineIds`)."""

    name = "quote_lines"
    primary_keys = ("quoteLineId",)
    replication_key = None
    schema = StreamSchema(SCHEMAS)
    parent_stream_type = QuoteAlternativesStream
    state_partitioning_keys: list[str] = []  # one state entry, not one per alternative

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._product_ids: dict[str, int | None] = {}
        self._lock = threading.Lock()

    def product_ids(self, erp_keys: Iterable[str]) -> dict[str, int | None]:
        """The products whose ERPProductKey the lines name: keys not seen yet this run are
        looked up together, one archive request per `KEYS_PER_LOOKUP` keys (`eq` ignores case,
        so the lowest product id whose key matches ignoring case is the one)."""
        wanted = {key for key in erp_keys if key}
        with self._lock:
            missing = sorted(k for k in wanted if k.casefold() not in self._product_ids)
        for start in range(0, len(missing), KEYS_PER_LOOKUP):
            part = missing[start : start + KEYS_PER_LOOKUP]
            query = ArchiveQuery(
                select=("productId", "erpProductKey"),
                filter=any_of(*(equals("erpProductKey", key) for key in part)),
                orderby=("productId asc",),
                top=200,
            )
            found: dict[str, int | None] = {key.casefold(): None for key in part}
            for page in self.client.archive("Product", query):
                for row in page:
                    folded = str(row.get("erpProductKey") or "").casefold()
                    if folded in found and found[folded] is None:
                        found[folded] = int(row["productId"])
            with self._lock:
                self._product_ids.update(found)
        with self._lock:
            return {key: self._product_ids.get(key.casefold()) for key in wanted}

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        if context is None:  # only ever read as a child of quote_alternatives
            return
        parent = self._tap.streams[QuoteAlternativesStream.name]
        assert isinstance(parent, QuoteAlternativesStream)
        number, alternatives = parent.page
        if number != context["alternatives_page"]:  # the SDK syncs a child context at once
            raise RuntimeError(f"quote_lines: page {context['alternatives_page']} is gone")
        lines = [(line, alt["saleUpdated"]) for alt in alternatives for line in alt["lines"]]
        products = self.product_ids(str(line.get("ERPProductKey") or "") for line, _ in lines)
        for line, sale_updated in lines:
            product = products.get(str(line.get("ERPProductKey") or ""))
            yield rows.quote_line_row(line, product, sale_updated)
