"""target-customcrm: upserts into Customcrm through crmsync (crosswalk, merge, echo receipts)."""

from __future__ import annotations

import sys
import typing as t
from collections.abc import Mapping

from crmsync.singer import SyncTarget
from customcrm_client import ClientSettings, CustomcrmClient
from customcrm_client.singer_settings import CONNECTION_SETTINGS
from singer_sdk import typing as th

from target_customcrm.destination import CustomcrmDestination
from target_customcrm.line_sets import LINE_IDS, LineSets
from target_customcrm.payloads import in_customcrm_terms
from target_customcrm.specs import ENTITY_SPECS

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    from crmsync.destination import Destination
    from crmsync.records import EntitySpec, Incoming
    from crmsync.sync import Synchronizer

__all__ = ["TargetCustomcrm"]


class TargetCustomcrm(SyncTarget):
    """Singer target for the Customcrm REST contract (docs/customcrm-openapi.yaml)."""

    name = "target-customcrm"
    config_jsonschema = th.PropertiesList(*CONNECTION_SETTINGS.wrapped.values()).to_dict()
    entity_specs: t.ClassVar[dict[str, EntitySpec]] = ENTITY_SPECS
    deleted_field = "deleted_at"
    read_only_fields = (
        "version",
        "created_at",
        "external_ids",
        "subtotal",
        "total",
        "line_total",
        "lines",
        LINE_IDS,
    )

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.line_sets = LineSets()

    @override
    def to_incoming(self, stream_name: str, record: Mapping[str, t.Any]) -> Incoming:
        """crmsync's reading of the record, its values spelled as Customcrm stores them."""
        incoming = super().to_incoming(stream_name, record)
        entity = self.entity_specs[stream_name].name
        if entity == "quote":
            self.line_sets.note(incoming, record)
        return incoming.with_values(in_customcrm_terms(entity, incoming.values))

    @override
    def before_finish(self, sync: Synchronizer) -> None:
        """Delete here the quote lines deleted in SuperOffice (it has no feed of them)."""
        destination = sync.destination
        if not isinstance(destination, CustomcrmDestination):
            return
        gone = self.line_sets.gone(sync.crosswalk, destination)
        if gone:
            sync.receive("quote_line", gone)

    @override
    def build_destination(self, config: Mapping[str, t.Any]) -> Destination:
        concurrency = int(config.get("max_concurrency") or 4)
        client = CustomcrmClient(
            ClientSettings.from_config(config), pool_size=concurrency + 2, user_agent=self.name
        )
        return CustomcrmDestination(client, concurrency=concurrency)


if __name__ == "__main__":
    TargetCustomcrm.cli()
