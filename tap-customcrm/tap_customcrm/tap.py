"""tap-customcrm: reads Customcrm's customers, contacts, products, quotes and quote lines."""

from __future__ import annotations

import sys
from functools import cached_property

from customcrm_client import ClientSettings, CustomcrmClient
from customcrm_client.singer_settings import CONNECTION_SETTINGS
from singer_sdk import Stream, Tap
from singer_sdk import typing as th

from tap_customcrm import streams

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

__all__ = ["STREAM_TYPES", "TapCustomcrm"]

MAX_PAGE_SIZE = 500

STREAM_TYPES: tuple[type[Stream], ...] = (
    streams.CustomersStream,
    streams.ContactsStream,
    streams.ProductsStream,
    streams.QuotesStream,
    streams.QuoteLinesStream,
)
"""Dependency order: customers → contacts → products → quotes → quote_lines."""

STREAM_ORDER = ("customers", "contacts", "products", "quotes", "quote_lines")


class TapCustomcrm(Tap):
    """Singer tap for the Customcrm REST contract (docs/customcrm-openapi.yaml)."""

    name = "tap-customcrm"

    config_jsonschema = th.PropertiesList(
        *CONNECTION_SETTINGS.wrapped.values(),
        th.Property(
            "start_date",
            th.DateTimeType,
            description="Read only records updated at or after this instant (first run).",
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=MAX_PAGE_SIZE),
            default=100,
            description=f"Records per list request (`limit`), 1 to {MAX_PAGE_SIZE}.",
        ),
        th.Property(
            "include_deleted",
            th.BooleanType,
            default=True,
            description="Emit soft-deleted records (with `deleted_at`) so deletes can propagate.",
        ),
        th.Property(
            "include_deleted_lines",
            th.BooleanType,
            default=False,
            description=(
                "Also emit deleted quote lines (with `deleted_at`), so a line deleted in Customcrm "
                "is deleted on the other side. They come in the same line feed: no extra request."
            ),
        ),
    ).to_dict()

    @cached_property
    def client(self) -> CustomcrmClient:
        """The one HTTP client all streams share."""
        return CustomcrmClient(ClientSettings.from_config(self.config), user_agent=self.name)

    @override
    def discover_streams(self) -> list[Stream]:
        return [stream_type(tap=self) for stream_type in STREAM_TYPES]

    @override
    @property
    def streams(self) -> dict[str, Stream]:
        """Parents first (the SDK sorts by name): targets then meet no record before its parent."""
        loaded = super().streams
        ordered = {name: loaded[name] for name in STREAM_ORDER if name in loaded}
        return {**ordered, **loaded}


if __name__ == "__main__":
    TapCustomcrm.cli()
