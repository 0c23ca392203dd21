"""JSON Merge Patch (RFC 7396) between two versions of an entity: only what changed.

SuperOffice's PATCH accepts a merge-patch object (superoffice-api.md §3). Objects are diffed
recursively, anything else (strings, numbers, lists such as Emails) is sent whole when it
differs. Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["merge_patch"]


def merge_patch(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The merge patch that turns `before` into `after` (keys missing from `after` are kept)."""
    patch: dict[str, Any] = {}
    for key, value in after.items():
        old = before.get(key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            nested = merge_patch(old, value)
            if nested:
                patch[key] = nested
        elif key not in before or old != value:
            patch[key] = value
    return patch
