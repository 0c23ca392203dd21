"""The Customcrm streams, in dependency order: parents before the records that point at them."""

from __future__ import annotations

import sys
import typing as t
from importlib import resources

from customcrm_client import sync_version
from singer_sdk import SchemaDirectory, StreamSchema

from tap_customcrm import schemas
from tap_customcrm.client import CustomcrmStream

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
    """Quotes (link entity `quote`); their lines leave as the `quote_lines` stream."""

    name = "quotes"
    schema = StreamSchema(SCHEMAS)

    @override
    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        """The quote record stays flat: its lines come from the line feed, deleted ones too.

        `sync_version` is the version a sync compares: a line write moves the quote's
        `updated_at`, its fingerprint only moves with the quote's own values.
        """
        row.pop("lines", None)
        row["sync_version"] = sync_version(self.name, row)
        return row


class QuoteLinesStream(CustomcrmStream):
    """Lines of every quote from the one line feed (`GET /quote-lines`), with its own bookmark.

    A stream of its own rather than a nested array because stream maps cannot rename nested
    fields and each line is linked on its own. Reading the feed instead of each quote's lines
    costs one list request per page, however many quotes changed, and returns deleted lines
    too (a quote's `lines` array holds live lines only).
    """

    name = "quote_lines"
    schema = StreamSchema(SCHEMAS)

    @property
    @override
    def resource(self) -> str:
        return "quote-lines"

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: str | None
    ) -> dict[str, t.Any]:
        """Deleted lines only when both `include_deleted` and `include_deleted_lines` say so."""
        params = super().get_url_params(context, next_page_token)
        wanted = self.config.get("include_deleted", True) and self.config.get(
            "include_deleted_lines", False
        )
        params["include_deleted"] = "true" if wanted else "false"
        return params
