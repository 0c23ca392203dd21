"""The Customcrm streams, in dependency order: parents before the records that point at them."""

from __future__ import annotations

import sys
import typing as t
from importlib import resources

from singer_sdk import SchemaDirectory, Stream, StreamSchema

from tap_customcrm import schemas
from tap_customcrm.client import CustomcrmStream, wire_timestamp

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context, Record

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

__all__ = [
    "ContactsStream",
    "CustomersStream",
    "ProductsStream",
    "QuoteLinesStream",
    "QuotesStream",
]

SCHEMAS = SchemaDirectory(resources.files(schemas))


class CustomersStream(CustomcrmStream):
    """Companies (link entity `company`)."""

    name = "customers"
    schema = StreamSchema(SCHEMAS)


class ContactsStream(CustomcrmStream):
    """People (link entity `person`); `customer_id` points at a customer."""

    name = "contacts"
    schema = StreamSchema(SCHEMAS)


class ProductsStream(CustomcrmStream):
    """Products (link entity `product`), matched by `sku`."""

    name = "products"
    schema = StreamSchema(SCHEMAS)


class QuotesStream(CustomcrmStream):
    """Quotes (link entity `quote`); their lines leave as the `quote_lines` child stream."""

    name = "quotes"
    schema = StreamSchema(SCHEMAS)

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending_lines: dict[str, list[dict[str, t.Any]]] = {}

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        """Keep the lines for the child stream; the quote record itself stays flat."""
        lines = list(row.pop("lines", None) or [])
        if any(child.selected for child in self.child_streams):
            self.pending_lines[row["id"]] = lines
        return row

    @override
    def get_child_context(self, record: Record, context: Context | None) -> Context:
        return {"quote_id": record["id"]}

    def take_lines(self, quote_id: str) -> list[dict[str, t.Any]]:
        """The lines read with this quote, handed over once (memory stays flat)."""
        return self.pending_lines.pop(quote_id, [])


class QuoteLinesStream(Stream):
    """Lines of each quote, taken from the quote's own `lines` array: no extra HTTP calls.

    A child stream rather than a nested array because stream maps cannot rename nested fields
    and each line is linked on its own. A line changes its quote's `updated_at`, so the quote's
    bookmark already selects every changed line; the lines themselves need no bookmark.
    """

    name = "quote_lines"
    schema = StreamSchema(SCHEMAS)
    primary_keys = ("id",)
    parent_stream_type = QuotesStream
    # One state entry for the stream, not one partition per quote.
    state_partitioning_keys: t.ClassVar[list[str]] = []

    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        if not context:
            return
        quotes = self._tap.streams["quotes"]
        assert isinstance(quotes, QuotesStream)
        quote_id = context["quote_id"]
        for line in quotes.take_lines(quote_id):
            yield {"quote_id": quote_id, **line}
        if self.config.get("include_deleted_lines") and self.config.get("include_deleted", True):
            yield from self._deleted_lines(quotes, quote_id)

    def _deleted_lines(self, quotes: QuotesStream, quote_id: str) -> t.Iterable[dict[str, t.Any]]:
        """A quote's `lines` holds only live lines; deleted ones need their own (opt-in) read."""
        params: dict[str, t.Any] = {"include_deleted": "true", "limit": 500}
        since = quotes.get_starting_timestamp(None)
        if since is not None:
            params["updated_since"] = wire_timestamp(since)
        path = f"{quotes.client.settings.path('quotes')}/{quote_id}/lines"
        for page in quotes.client.list_pages_at(path, params):
            for line in page:
                if line.get("deleted_at") is not None:
                    yield {"quote_id": quote_id, **line}
