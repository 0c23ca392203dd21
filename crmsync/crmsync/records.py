"""What crmsync receives and how entities are described: Incoming, EntitySpec, Reference, MatchKey.

Frozen values only; nothing here talks to a store or an API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from crmsync.normalise import NORMALISERS, plain, plain_values
from crmsync.receipts import normalise_version, parse_timestamp

__all__ = ["SYNC_METADATA", "EntitySpec", "Incoming", "MatchKey", "Reference"]

SYNC_METADATA = ("_source_system", "_source_id", "_source_version", "_source_deleted")
"""The properties the mappers add (docs/sync-contract.md)."""


@dataclass(frozen=True)
class Reference:
    """A field holding the id of a record of another link entity (e.g. a person's company)."""

    field: str
    entity: str


@dataclass(frozen=True)
class MatchKey:
    """A field compared, normalised, to find an existing record on first contact."""

    field: str
    normaliser: str

    def __post_init__(self) -> None:
        if self.normaliser not in NORMALISERS:
            raise ValueError(
                f"unknown match-key normaliser {self.normaliser!r}; "
                f"expected one of {sorted(NORMALISERS)}"
            )


@dataclass(frozen=True)
class EntitySpec:
    """How one link entity is synced: its references, its match keys and its merged fields."""

    name: str
    references: tuple[Reference, ...] = ()
    match_keys: tuple[MatchKey, ...] = ()
    fields: tuple[str, ...] | None = None
    """The value keys that take part in the merge; None means every key of the incoming values."""

    def merged_fields(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The part of `values` this entity syncs."""
        if self.fields is None:
            return dict(values)
        return {key: values[key] for key in self.fields if key in values}


def _is_deleted(value: Any) -> bool:
    """A deletion marker: a true boolean or a non-empty timestamp such as `deleted_at`."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0")
    return bool(value)


@dataclass(frozen=True)
class Incoming:
    """A record from the other side, its values already in the destination's vocabulary."""

    system: str
    id: str
    version: str | None
    values: Mapping[str, Any]
    deleted: bool = False
    updated_at: str | None = None
    """When the record changed on its side (ISO-8601), for the newer-wins rule."""
    received: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    """The values as they arrived, before references were translated (what quarantine keeps)."""

    @property
    def key(self) -> tuple[str, str]:
        """Who this record is, across runs: (source system, source id)."""
        return (self.system, self.id)

    @classmethod
    def from_record(
        cls,
        record: Mapping[str, Any],
        *,
        default_system: str,
        id_field: str = "id",
        version_field: str = "updated_at",
        deleted_field: str | None = None,
        drop_fields: Iterable[str] = (),
    ) -> Incoming:
        """Read a Singer record: sync metadata when the mapper added it, else the record's own.

        `drop_fields` are read-only properties of the destination (e.g. `created_at`) that
        must never be written back.

        Raises:
            ValueError: the record has no id.
        """
        mapped = record.get("_source_id") is not None
        own_version = record.get(version_field)
        if mapped:
            system = str(record.get("_source_system") or default_system)
            record_id = str(record["_source_id"])
            version = record.get("_source_version")
            deleted = _is_deleted(record.get("_source_deleted"))
        else:
            if record.get(id_field) is None:
                raise ValueError(
                    f"record has neither _source_id nor {id_field!r}; cannot tell who it is"
                )
            system, record_id, version = default_system, str(record[id_field]), own_version
            deleted = deleted_field is not None and _is_deleted(record.get(deleted_field))
        stamp = parse_timestamp(version) or parse_timestamp(own_version)
        dropped = {*SYNC_METADATA, id_field, version_field, *drop_fields}
        if deleted_field is not None:
            dropped.add(deleted_field)
        values = {
            key: plain(value)
            for key, value in record.items()
            if key not in dropped and not key.startswith("_sdc_")
        }
        return cls(
            system=system,
            id=record_id,
            version=normalise_version(version),
            values=values,
            deleted=deleted,
            updated_at=stamp.isoformat() if stamp else None,
        )

    def with_values(self, values: Mapping[str, Any]) -> Incoming:
        """The same record with other values (e.g. references translated)."""
        return Incoming(
            self.system,
            self.id,
            self.version,
            plain_values(values),
            self.deleted,
            self.updated_at,
            received=self.values if self.received is None else self.received,
        )
