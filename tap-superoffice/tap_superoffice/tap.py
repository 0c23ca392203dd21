"""`TapSuperOffice`: the config schema and the stream list, in dependency order."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from singer_sdk import Stream, Tap
from singer_sdk import typing as th
from superoffice_client import SuperOfficeClient, connect, connection_schema
from typing_extensions import override

from tap_superoffice import streams

__all__ = ["TapSuperOffice"]

TAP_SETTINGS = th.PropertiesList(
    th.Property(
        "start_date",
        th.DateTimeType,
        description="Earliest updated time to read on the first run (ISO-8601)",
    ),
    th.Property(
        "page_size",
        th.IntegerType,
        default=200,
        description="Rows per archive request ($top), also the batch of entities read at once",
    ),
    th.Property(
        "include_deleted",
        th.BooleanType,
        default=False,
        description="Also emit soft-deleted companies and persons from the recycle archives "
        "(rows with `deleted: true`)",
    ),
    th.Property(
        "full_id_scan",
        th.BooleanType,
        default=False,
        description="Read every product and quote alternative on each run, ignoring the "
        "bookmark, framed by two ACTIVATE_VERSION messages (they have no deletion feed): the "
        "targets delete the linked records the complete scan lacks",
    ),
).to_dict()


class TapSuperOffice(Tap):
    """Singer tap for SuperOffice CRM: companies, persons, products, quote alternatives, lines."""

    name = "tap-superoffice"
    config_jsonschema = {
        "type": "object",
        "properties": {**connection_schema(), **TAP_SETTINGS["properties"]},
    }

    @cached_property
    def client(self) -> SuperOfficeClient:
        """One client for every stream: one ticket, one connection pool, one rate limit."""
        return connect(self.config)

    @override
    def discover_streams(self) -> list[Stream]:
        classes: list[Any] = [
            streams.ContactsStream,
            streams.PersonsStream,
            streams.ProductsStream,
            streams.QuoteAlternativesStream,
            streams.QuoteLinesStream,
        ]
        return [cls(tap=self) for cls in classes]


if __name__ == "__main__":
    TapSuperOffice.cli()
