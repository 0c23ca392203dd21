"""The Customcrm emulator's state and rules: create with idempotency keys, merge-patch
with optimistic concurrency, soft delete, references that must exist, quote lines that
bump their quote, and the (updated_at, id) feed. Speaks dicts and problems, never HTTP."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sandbox.common.clock import Clock, format_timestamp, parse_timestamp
from sandbox.customcrm import rendering
from sandbox.customcrm.contract import body_errors
from sandbox.customcrm.errors import (
    FieldError,
    IdempotencyKeyReusedError,
    NotFoundError,
    PreconditionFailedError,
    RecordDeletedError,
    UnknownReferenceError,
    ValidationFailedError,
)
from sandbox.customcrm.resources import RESOURCES, Resource, encode_cursor
from sandbox.customcrm.store import ListQuery, Row, Store

__all__ = ["BatchItem", "Created", "CustomcrmModel", "batch_items", "quote_line_of_batch"]

IDEMPOTENCY_TTL = timedelta(hours=24)
Created = tuple[dict[str, Any], bool]
"""A created record as first answered, and whether this answer is a replay."""


class CustomcrmModel:
    """All state of one Customcrm server; every public method is atomic and thread-safe."""

    def __init__(self, data_dir: Path, clock: Clock | None = None) -> None:
        self._store = Store(data_dir / "customcrm.sqlite3")
        self._clock = clock or Clock()
        self._lock = threading.RLock()
        newest = self._store.newest_change()
        if newest:
            self._clock.observe(newest)

    # -- control -------------------------------------------------------------------------

    def reset(self, seed: int, seed_value: int) -> None:
        from sandbox.customcrm.seed import seed_rows  # seed imports this module's types

        with self._lock:
            self._store.wipe()
            with self._store.transaction():
                for resource, row in seed_rows(seed, seed_value, self._clock):
                    self._store.insert(resource, row)

    def is_empty(self) -> bool:
        with self._lock:
            return self._store.count() == 0

    def records(self, collection: str) -> list[dict[str, Any]]:
        if collection not in RESOURCES:
            raise ValueError(f"unknown collection {collection!r}; known: {', '.join(RESOURCES)}")
        with self._lock:
            rows = self._store.all_rows(collection)
            return [self._render(RESOURCES[collection], row) for row in rows]

    def close(self) -> None:
        with self._lock:
            self._store.close()

    # -- operations ----------------------------------------------------------------------

    def list_records(
        self, resource: Resource, query: ListQuery, parent_id: str | None = None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page in (updated_at, id) order and the cursor of the next, if any."""
        with self._lock:
            if parent_id is not None:
                self._existing(RESOURCES["quotes"], parent_id)
            rows = self._store.page(resource.name, query, parent_id)
            more = len(rows) > query.limit
            rows = rows[: query.limit]
            cursor = encode_cursor(rows[-1].updated_at, rows[-1].seq) if more else None
            return self._render_many(resource, rows), cursor

    def get_record(
        self, resource: Resource, record_id: str, parent_id: str | None = None
    ) -> dict[str, Any]:
        with self._lock:
            return self._render(resource, self._existing(resource, record_id, parent_id))

    def create_record(
        self,
        resource: Resource,
        body: Any,
        *,
        scope: str,
        idempotency_key: str | None = None,
        parent_id: str | None = None,
    ) -> Created:
        """Create from a validated body; a repeated idempotency key replays the first answer."""
        with self._lock:
            fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
            if idempotency_key is not None:
                replayed = self._replay(scope, idempotency_key, fingerprint)
                if replayed is not None:
                    return replayed, True
            _check_body(resource.create_schema, body)
            with self._store.transaction():
                row = self._insert(resource, body, parent_id)
                created = self._render(resource, row)
                if idempotency_key is not None:
                    now = self._clock.tick()
                    self._store.remember_response(scope, idempotency_key, fingerprint, created, now)
                    cutoff = format_timestamp(parse_timestamp(now) - IDEMPOTENCY_TTL)
                    self._store.forget_responses_before(cutoff)
            return created, False

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Hold the store for a batch's creates: one commit for them all, while each create
        is still a savepoint of its own, undone alone when it is refused. A batch the server
        fails to finish commits nothing; its keys replay nothing, so the retry creates it."""
        with self._lock, self._store.transaction():
            yield

    def update_record(
        self,
        resource: Resource,
        record_id: str,
        patch: Any,
        *,
        if_match: str | None = None,
        parent_id: str | None = None,
    ) -> dict[str, Any]:
        """Apply a JSON merge patch; a patch that changes nothing leaves the version alone."""
        with self._lock:
            row = self._existing(resource, record_id, parent_id)
            _check_body(resource.update_schema, patch)  # bad input is a 422 whatever the version
            _check_version(row, if_match)
            if row.deleted_at is not None:
                raise RecordDeletedError(f"{resource.singular} {record_id} is deleted")
            self._check_parent_alive(resource, row.parent_id)
            fields = {**row.fields, **{k: v for k, v in patch.items() if k != "external_ids"}}
            external_ids = _merged_external_ids(row.external_ids, patch.get("external_ids"))
            if fields == row.fields and external_ids == row.external_ids:
                return self._render(resource, row)
            self._check_references(resource, fields, changed=set(patch))
            with self._store.transaction():
                changed = replace(row, fields=fields, external_ids=external_ids)
                row = self._touch(resource, changed)
            return self._render(resource, row)

    def delete_record(
        self,
        resource: Resource,
        record_id: str,
        *,
        if_match: str | None = None,
        parent_id: str | None = None,
    ) -> dict[str, Any]:
        """Soft delete: set `deleted_at` and bump the version; deleting again changes nothing."""
        with self._lock:
            row = self._existing(resource, record_id, parent_id)
            _check_version(row, if_match)
            if row.deleted_at is None:
                self._check_parent_alive(resource, row.parent_id)
                with self._store.transaction():
                    row = self._touch(resource, row, deleting=True)
            return self._render(resource, row)

    # -- rules ---------------------------------------------------------------------------

    def _replay(self, scope: str, key: str, fingerprint: str) -> dict[str, Any] | None:
        remembered = self._store.remembered_response(scope, key)
        if remembered is None:
            return None
        if remembered[0] != fingerprint:
            raise IdempotencyKeyReusedError(
                f"Idempotency-Key {key!r} was used with another body; use a new key"
            )
        return remembered[1]

    def _insert(self, resource: Resource, body: Mapping[str, Any], parent_id: str | None) -> Row:
        fields = {name: resource.defaults.get(name) for name in resource.fields}
        fields.update({k: v for k, v in body.items() if k != "external_ids" and v is not None})
        self._check_parent_alive(resource, parent_id)
        self._check_references(resource, fields, changed=set(fields))
        if resource.name == "quote_lines":
            fields = rendering.line_defaults(self._store, str(parent_id), fields)
        now = self._clock.tick()
        row = Row(
            seq=0,
            collection=resource.name,
            id=self._store.next_id(resource),
            parent_id=parent_id,
            version=1,
            created_at=now,
            updated_at=now,
            deleted_at=None,
            fields=fields,
            external_ids=_merged_external_ids({}, body.get("external_ids")),
        )
        self._store.insert(resource, row)
        self._bump_parent(resource, parent_id)
        return self._existing(resource, row.id)

    def _touch(self, resource: Resource, row: Row, *, deleting: bool = False) -> Row:
        """Store a change: next version, a fresh `updated_at`, and bump the parent quote."""
        now = self._clock.tick()
        changed = replace(
            row, version=row.version + 1, updated_at=now, deleted_at=now if deleting else None
        )
        self._store.replace(changed)
        self._bump_parent(resource, row.parent_id)
        return changed

    def _bump_parent(self, resource: Resource, parent_id: str | None) -> None:
        if resource.parent and parent_id:
            quote = self._existing(RESOURCES[resource.parent], parent_id)
            now = self._clock.tick()
            self._store.replace(replace(quote, version=quote.version + 1, updated_at=now))

    def _check_parent_alive(self, resource: Resource, parent_id: str | None) -> None:
        if resource.parent and parent_id:
            quote = self._existing(RESOURCES[resource.parent], parent_id)
            if quote.deleted_at is not None:
                raise RecordDeletedError(f"quote {parent_id} is deleted; its lines cannot change")

    def _check_references(
        self, resource: Resource, fields: Mapping[str, Any], changed: set[str]
    ) -> None:
        missing = [
            FieldError(name, f"no {RESOURCES[target].singular} with id {fields[name]!r}")
            for name, target in resource.references.items()
            if name in changed
            and fields.get(name) is not None
            and self._store.find(target, str(fields[name])) is None
        ]
        if missing:
            raise UnknownReferenceError(
                "the record refers to records that do not exist", errors=missing
            )

    def _existing(self, resource: Resource, record_id: str, parent_id: str | None = None) -> Row:
        row = self._store.find(resource.name, record_id)
        if row is None or (parent_id is not None and row.parent_id != parent_id):
            where = f" on quote {parent_id}" if parent_id is not None else ""
            raise NotFoundError(f"no {resource.singular} with id {record_id!r}{where}")
        return row

    def _render(self, resource: Resource, row: Row) -> dict[str, Any]:
        return self._render_many(resource, [row])[0]

    def _render_many(self, resource: Resource, rows: list[Row]) -> list[dict[str, Any]]:
        lines = self._store.children(r.id for r in rows) if resource.name == "quotes" else {}
        return [rendering.record(resource, row, lines.get(row.id, [])) for row in rows]


@dataclass(frozen=True)
class BatchItem:
    """One item of a batch create: the body its own single POST would carry, and its key."""

    record: dict[str, Any]
    idempotency_key: str | None = None


def batch_items(body: Any) -> list[BatchItem]:
    """The items of a batch create (`BatchCreate`), or a 422 naming each field when the batch
    itself is malformed. Records are not checked here: each is checked as its own create."""
    _check_body("BatchCreate", body)
    return [BatchItem(item["record"], item.get("idempotency_key")) for item in body["items"]]


def quote_line_of_batch(record: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The quote of a batch's quote line, and the body the line's single POST to that quote
    would carry; a 422 naming `quote_id` when the record does not say which quote."""
    quote_id = record.get("quote_id")
    if not isinstance(quote_id, str):
        shown = json.dumps(quote_id)[:40]
        message = "is required" if quote_id is None else f"must be string, not {shown}"
        raise ValidationFailedError(
            "the body breaks the contract at: quote_id", errors=[FieldError("quote_id", message)]
        )
    return quote_id, {name: value for name, value in record.items() if name != "quote_id"}


def _check_body(schema_name: str, body: Any) -> None:
    errors = body_errors(schema_name, body)
    if errors:
        fields = ", ".join(dict.fromkeys(e.field for e in errors))
        raise ValidationFailedError(f"the body breaks the contract at: {fields}", errors=errors)


def _check_version(row: Row, if_match: str | None) -> None:
    """Optimistic concurrency: `If-Match` must name the current ETag (or be `*`)."""
    if if_match is None:
        return
    tags = {tag.strip().removeprefix("W/").strip('"') for tag in if_match.split(",")}
    if "*" not in tags and str(row.version) not in tags:
        raise PreconditionFailedError(
            f'If-Match {if_match} does not match the current ETag "{row.version}"',
            headers={"ETag": f'"{row.version}"'},
        )


def _merged_external_ids(current: Mapping[str, str], patch: Any) -> dict[str, str]:
    merged = dict(current)
    for system, value in (patch or {}).items():
        if value is None:
            merged.pop(system, None)
        else:
            merged[system] = value
    return merged
