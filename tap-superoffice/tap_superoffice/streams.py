"""The tap's streams, in dependency order: contacts, persons, products, quote_alternatives,
quote_lines. Each names its archive and columns (superoffice-api.md §4) and reads its entities
into the shared row vocabulary of `superoffice_client.rows`."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

from singer_sdk.helpers.types import Context, Record
from singer_sdk.schema.source import StreamSchema
from superoffice_client import rows
from superoffice_client.feed import deletions
from superoffice_client.query import ArchiveQuery, equals
from typing_extensions import override

from tap_superoffice.client import SCHEMAS, SuperOfficeStream

__all__ = [
    "ContactsStream",
    "PersonsStream",
    "ProductsStream",
    "QuoteAlternativesStream",
    "QuoteLinesStream",
]


class _RecycledStream(SuperOfficeStream):
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
        for archive_row in feed:
            yield {
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
    deleted_column = "deletedDate"

    @override
    def read_rows(self, archive_row: dict[str, Any]) -> list[dict[str, Any]]:
        entity = self.client.get_json(f"Contact/{int(archive_row['contactId'])}")
        return [rows.contact_row(entity)]


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
    deleted_column = "personDeletedDate"

    @override
    def read_rows(self, archive_row: dict[str, Any]) -> list[dict[str, Any]]:
        entity = self.client.get_json(f"Person/{int(archive_row['personId'])}")
        return [rows.person_row(entity)]


class ProductsStream(SuperOfficeStream):
    """Products of the built-in product register (no PATCH, no timestamp on the carrier)."""

    name = "products"
    primary_keys = ("productId",)
    replication_key = "updatedDate"
    schema = StreamSchema(SCHEMAS)
    archive = "Product"
    id_column = "productId"
    updated_column = "updatedDate"
    scannable = True

    @override
    def read_rows(self, archive_row: dict[str, Any]) -> list[dict[str, Any]]:
        entity = self.client.get_json(f"Product/{int(archive_row['productId'])}")
        return [rows.product_row(entity, archive_row.get("updatedDate"))]


class QuoteAlternativesStream(SuperOfficeStream):
    """Alternatives of each sale's active quote version, driven by the Sale archive's
    `updatedDate` (QuoteAlternative has no timestamp) and read through the Quote agent."""

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
        return [
            rows.quote_alternative_row(alternative, version, quote, sale)
            for alternative in version.get("QuoteAlternatives") or []
        ]

    @override
    def get_child_context(self, record: Record, context: Context | None) -> dict[str, Any]:
        return {
            "quoteAlternativeId": record["quoteAlternativeId"],
            "saleUpdated": record["updatedDate"],
        }


def _active_version(quote: dict[str, Any]) -> dict[str, Any] | None:
    """The quote's active version (`ActiveQuoteVersionId`), else its last one."""
    versions = quote.get("QuoteVersions") or []
    active = quote.get("ActiveQuoteVersionId")
    for version in versions:
        if active and version.get("QuoteVersionId") == active:
            return dict(version)
    return dict(versions[-1]) if versions else None


class QuoteLinesStream(SuperOfficeStream):
    """Lines of each alternative the parent stream emitted (a child stream, one bookmark)."""

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

    def product_id(self, erp_key: str | None) -> int | None:
        """The product whose ERPProductKey a line names (looked up once per run)."""
        if not erp_key:
            return None
        with self._lock:
            if erp_key in self._product_ids:
                return self._product_ids[erp_key]
        query = ArchiveQuery(select=("productId",), filter=equals("erpProductKey", erp_key), top=1)
        found = self.client.archive_page("Product", query)
        product = int(found[0]["productId"]) if found else None
        with self._lock:
            self._product_ids[erp_key] = product
        return product

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        if context is None:  # only ever read as a child of quote_alternatives
            return
        lines = self.client.agent(
            "Quote/GetQuoteLines", {"QuoteAlternativeId": context["quoteAlternativeId"]}
        )
        for line in lines or []:
            product = self.product_id(line.get("ERPProductKey"))
            yield rows.quote_line_row(line, product, context["saleUpdated"])
