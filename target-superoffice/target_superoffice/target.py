"""`TargetSuperOffice`: writes the tap's streams into SuperOffice through crmsync."""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from crmsync.records import SYNC_METADATA
from crmsync.singer import SyncTarget
from superoffice_client import connect, connection_schema
from superoffice_client.rows import STREAMS, columns
from typing_extensions import override

from crmsync import EntitySpec, Incoming
from target_superoffice.destination import SuperOfficeDestination
from target_superoffice.specs import ENTITY_SPECS, READ_ONLY

if t.TYPE_CHECKING:
    from crmsync.destination import Destination

__all__ = ["TargetSuperOffice"]

TARGET_SETTINGS: dict[str, t.Any] = {
    "foreign_app": {
        "type": ["string"],
        "default": "crmsync",
        "description": "ForeignApp name under which crmsync's correlation keys are stored",
    },
    "foreign_device": {
        "type": ["string"],
        "default": "target-superoffice",
        "description": "ForeignDevice name of those keys (one per deployment if several write)",
    },
    "correlation_field": {
        "type": ["string"],
        "default": "",
        "description": (
            "CustomFields key (e.g. SuperOffice:3, or its ProgId) of a short-text user-defined "
            "field on Person, Contact and Sale that carries crmsync's correlation key inside "
            "each create; empty: foreign keys, written right after the create"
        ),
    },
}


class TargetSuperOffice(SyncTarget):
    """Singer target for SuperOffice CRM: upserts companies, persons, products and quotes."""

    name = "target-superoffice"
    config_jsonschema: t.ClassVar[dict[str, t.Any]] = {
        "type": "object",
        "properties": {**connection_schema(), **TARGET_SETTINGS},
    }
    entity_specs: t.ClassVar[dict[str, EntitySpec]] = ENTITY_SPECS
    deleted_field = "deleted"

    @override
    def build_destination(self, config: Mapping[str, t.Any]) -> Destination:
        return SuperOfficeDestination(
            connect(config),
            foreign_app=str(config.get("foreign_app") or "crmsync"),
            foreign_device=str(config.get("foreign_device") or "target-superoffice"),
            correlation_field=str(config.get("correlation_field") or ""),
            concurrency=int(config.get("max_concurrency") or 4),
        )

    @override
    def to_incoming(self, stream_name: str, record: Mapping[str, t.Any]) -> Incoming:
        """Each stream has its own id and version column (`personId`, `personUpdatedDate`);
        a column tap-superoffice does not emit is refused (the record is quarantined), so a
        misspelt mapping cannot silently drop a field."""
        spec = STREAMS[stream_name]
        unknown = sorted(
            key
            for key in record
            if key not in columns(stream_name)
            and key not in SYNC_METADATA
            and not key.startswith("_sdc_")
        )
        if unknown:
            raise ValueError(
                f"{stream_name} has no column {', '.join(unknown)} "
                "(target-superoffice accepts tap-superoffice's columns and the sync metadata)"
            )
        return Incoming.from_record(
            record,
            default_system=self.sync_settings.source_system or "superoffice",
            id_field=spec.id_column,
            version_field=spec.version_column,
            deleted_field=self.deleted_field,
            drop_fields=READ_ONLY[stream_name],
        )


if __name__ == "__main__":
    TargetSuperOffice.cli()
