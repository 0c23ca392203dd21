"""The crmsync settings a target carries in its config, and their JSON schema.

Both targets add `SyncSettings.json_schema()` to their config schema, so the names live here once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["CONFLICT_POLICIES", "DELETE_POLICIES", "SyncSettings"]

CONFLICT_POLICIES = ("newer_wins", "source_wins", "destination_wins")
DELETE_POLICIES = ("soft_delete", "unlink", "ignore")


@dataclass(frozen=True)
class SyncSettings:
    """How the engine behaves for one target; every field is also a target setting."""

    crosswalk_url: str = "sqlite:///.crmsync/crosswalk.db"
    source_system: str | None = None
    conflict_policy: str = "newer_wins"
    field_ownership: Mapping[str, str] = field(default_factory=dict)
    delete_policy: str = "soft_delete"
    max_delete_share: float = 0.2
    min_deletes_for_breaker: int = 10
    dry_run: bool = False
    max_concurrency: int = 4

    def __post_init__(self) -> None:
        if self.conflict_policy not in CONFLICT_POLICIES:
            raise ValueError(
                f"conflict_policy must be one of {list(CONFLICT_POLICIES)}, "
                f"not {self.conflict_policy!r}"
            )
        if self.delete_policy not in DELETE_POLICIES:
            raise ValueError(
                f"delete_policy must be one of {list(DELETE_POLICIES)}, not {self.delete_policy!r}"
            )
        if not 0.0 <= self.max_delete_share <= 1.0:
            raise ValueError(
                f"max_delete_share must be between 0 and 1, not {self.max_delete_share!r}"
            )
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, not {self.max_concurrency!r}")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SyncSettings:
        """The settings found in a target's config dict; absent or null keys take defaults."""
        known = {item.name for item in fields(cls)}
        given = {key: value for key, value in config.items() if key in known and value is not None}
        if "field_ownership" in given and not isinstance(given["field_ownership"], Mapping):
            raise ValueError("field_ownership must be an object of entity[.field] -> side name")
        return cls(**given)

    @staticmethod
    def json_schema() -> dict[str, dict[str, Any]]:
        """The JSON-schema `properties` of these settings, for a target's `config_jsonschema`."""
        return {
            "crosswalk_url": {
                "type": "string",
                "default": "sqlite:///.crmsync/crosswalk.db",
                "description": "SQLAlchemy URL of the crosswalk database (SQLite or PostgreSQL).",
                "secret": True,
                "writeOnly": True,
            },
            "source_system": {
                "type": ["string", "null"],
                "description": "Side the records come from when they carry no _source_system.",
            },
            "conflict_policy": {
                "type": "string",
                "enum": list(CONFLICT_POLICIES),
                "default": "newer_wins",
                "description": "Who wins when both sides changed one field differently.",
            },
            "field_ownership": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "default": {},
                "description": (
                    'Owner side per entity or field, e.g. {"person.email": "superoffice"}.'
                ),
            },
            "delete_policy": {
                "type": "string",
                "enum": list(DELETE_POLICIES),
                "default": "soft_delete",
                "description": "What a deletion on the other side does here.",
            },
            "max_delete_share": {
                "type": "number",
                "default": 0.2,
                "description": (
                    "Circuit breaker: largest share of an entity's links deleted in one run."
                ),
            },
            "min_deletes_for_breaker": {
                "type": "integer",
                "default": 10,
                "description": "The breaker only trips from this many held deletes of one entity.",
            },
            "dry_run": {
                "type": "boolean",
                "default": False,
                "description": "Read and plan only; write nothing (see `crmsync plan`).",
            },
            "max_concurrency": {
                "type": "integer",
                "default": 4,
                "description": "Writes of one batch that may run at the same time.",
            },
        }
