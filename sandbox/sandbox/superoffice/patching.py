"""PATCH bodies: JSON Patch (RFC 6902) or JSON Merge Patch (RFC 7396), applied to a carrier.

As documented for PATCH Person/{id}: operations add, replace, remove and test (move and copy
are refused); paths are case-insensitive and the leading slash is optional. A merge patch
object describes the change directly. Pure functions; the model saves the result.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import jsonpatch
import jsonpointer

from .errors import BadRequestError, PatchTestFailedError

__all__ = ["apply_patch"]

SUPPORTED_OPS = ("add", "replace", "remove", "test")


def apply_patch(document: Mapping[str, Any], changes: Any) -> dict[str, Any]:
    """The document after the changes; raises 409 on a failed `test`, 400 on a bad patch."""
    if isinstance(changes, list):
        return _json_patch(document, changes)
    if isinstance(changes, Mapping):
        return _merge_patch(dict(document), changes)
    raise BadRequestError("PATCH body must be a JSON Patch array or a JSON Merge Patch object")


def _json_patch(document: Mapping[str, Any], operations: list[Any]) -> dict[str, Any]:
    canonical = []
    for index, operation in enumerate(operations):
        if not isinstance(operation, Mapping) or "op" not in operation or "path" not in operation:
            raise BadRequestError(f"Patch operation {index} needs 'op' and 'path'")
        op = str(operation["op"]).lower()
        if op not in SUPPORTED_OPS:
            raise BadRequestError(f"Patch operation '{op}' is not supported")
        fixed = {**operation, "op": op, "path": _canonical_path(document, str(operation["path"]))}
        canonical.append(fixed)
    try:
        result = jsonpatch.JsonPatch(canonical).apply(copy.deepcopy(dict(document)))
    except jsonpatch.JsonPatchTestFailed as failure:
        raise PatchTestFailedError(f"Patch test failed: {failure}") from None
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as failure:
        raise BadRequestError(f"Patch could not be applied: {failure}") from None
    if not isinstance(result, dict):
        raise BadRequestError("Patch replaced the whole entity")
    return result


def _canonical_path(document: Any, path: str) -> str:
    """Rewrite each segment to the document's own spelling (paths are case-insensitive)."""
    segments = path.strip().lstrip("/").split("/") if path.strip("/ ") else []
    node = document
    fixed = []
    for segment in segments:
        name = segment.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping):
            match = next((k for k in node if k.lower() == name.lower()), name)
            fixed.append(match)
            node = node.get(match)
        else:
            fixed.append(name)
            node = (
                node[int(name)]
                if isinstance(node, list) and name.isdigit() and int(name) < len(node)
                else None
            )
    return "/" + "/".join(s.replace("~", "~0").replace("/", "~1") for s in fixed)


def _merge_patch(target: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7396 merge with case-insensitive member names; arrays are replaced wholesale."""
    for name, value in patch.items():
        key = next((k for k in target if k.lower() == str(name).lower()), str(name))
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping):
            current = target.get(key)
            target[key] = _merge_patch(dict(current) if isinstance(current, Mapping) else {}, value)
        else:
            target[key] = copy.deepcopy(value)
    return target
