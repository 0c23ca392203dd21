"""`SuperOfficeStream`: the base of every stream; all HTTP goes through superoffice_client.

The SDK's RESTStream would own auth, retries and paging itself; here the tap and the target
share one SuperOffice client (ticket auth, 421 re-discovery, rate limit, error classes), so the
base stream is a plain SDK `Stream` that reads through it. Streams are short declarations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from importlib import resources
from typing import Any, TypeVar

from singer_sdk import Stream
from singer_sdk.helpers.types import Context
from singer_sdk.schema.source import SchemaDirectory
from superoffice_client import NotFoundError, SuperOfficeClient
from superoffice_client.fanout import each_at_once
from superoffice_client.feed import changes, parse_moment
from typing_extensions import override

from tap_superoffice.boundary import BOUNDARY_STATE, Boundary

__all__ = ["SCHEMAS", "SuperOfficeStream", "fetch_all"]

# The schemas live with the row vocabulary in superoffice_client: the target accepts the same.
SCHEMAS = SchemaDirectory(resources.files("superoffice_client") / "schemas")

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def fetch_all(work: Callable[[T], list[R]], items: Sequence[T], concurrency: int) -> Iterator[R]:
    """`work(item)` for every item, up to `concurrency` at once, rows in the items' order."""
    for rows in each_at_once(work, items, concurrency):
        yield from rows


class SuperOfficeStream(Stream):
    """A stream read through the tap's shared `SuperOfficeClient`.

    Subclasses name their archive (`archive`), its id and updated columns, and how to turn an
    id into a row (`read_row`); incremental reading, boundary de-duplication and concurrency
    live here.
    """

    archive: str
    id_column: str
    updated_column: str
    archive_columns: tuple[str, ...] = ()
    is_sorted = False  # entities are re-read after the archive query: times may move forward
    scannable = False
    """Whether `full_id_scan` applies (products and alternatives have no deletion feed)."""

    @property
    def full_scan(self) -> bool:
        """Read every record, ignoring the bookmark, as one complete version of the stream."""
        return self.scannable and bool(self.config.get("full_id_scan"))

    @property
    @override
    def replication_method(self) -> str:
        return "FULL_TABLE" if self.full_scan else super().replication_method

    @property
    @override
    def emit_activate_version_messages(self) -> bool:
        # A complete scan is announced as a new table version: a target may treat records of
        # older versions as deleted (Singer's ACTIVATE_VERSION).
        return self.full_scan or super().emit_activate_version_messages

    @property
    def client(self) -> SuperOfficeClient:
        client: SuperOfficeClient = self._tap.client  # type: ignore[attr-defined]
        return client

    @property
    def concurrency(self) -> int:
        return int(self.config.get("max_concurrency") or 4)

    @property
    def page_size(self) -> int:
        return int(self.config.get("page_size") or 200)

    def since(self, context: Context | None) -> datetime | None:
        """The bookmark (or start_date) to read from; the SDK never filters by it itself."""
        return None if self.full_scan else self.get_starting_timestamp(context)

    def read_rows(self, archive_row: dict[str, Any]) -> list[dict[str, Any]]:
        """The stream's rows for one archive row (usually one; a sale gives its alternatives)."""
        raise NotImplementedError

    def _read_or_skip(self, archive_row: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            return self.read_rows(archive_row)
        except NotFoundError:
            key = archive_row.get(self.id_column)
            log.info("%s %s vanished while reading; skipped", self.name, key)
            return []

    def changed_rows(self, context: Context | None, boundary: Boundary) -> Iterator[dict[str, Any]]:
        """Rows of records changed since the bookmark, read a page at a time; archive rows whose
        version `boundary` holds (read by an earlier run) are skipped before any read."""
        feed = changes(
            self.client,
            self.archive,
            id_column=self.id_column,
            updated_column=self.updated_column,
            since=self.since(context),
            extra_columns=tuple(
                c for c in self.archive_columns if c not in (self.id_column, self.updated_column)
            ),
            page_size=self.page_size,
        )
        page: list[dict[str, Any]] = []
        for archive_row in feed:
            version = (archive_row.get(self.id_column), archive_row.get(self.updated_column))
            if boundary.read_before(*version):
                continue
            boundary.add(*version)
            page.append(archive_row)
            if len(page) >= self.page_size:
                yield from fetch_all(self._read_or_skip, page, self.concurrency)
                page = []
        yield from fetch_all(self._read_or_skip, page, self.concurrency)

    def deleted_rows(self, context: Context | None) -> Iterator[dict[str, Any]]:
        """Deletion markers, for streams with a recycle archive; none by default."""
        return iter(())

    def _next_start(self, context: Context | None, newest: datetime | None) -> datetime | None:
        """Where the next run starts: the newest version emitted, capped by the SDK's signpost
        (the bookmark the SDK will store), or the current start if nothing newer came."""
        signpost = self.get_replication_key_signpost(context)
        if newest is not None and isinstance(signpost, datetime):
            return min(newest, signpost)
        return newest

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        yield from self.rows(context)
        if self.full_scan and self._stream_version is not None:
            # Every row of the scan is written (the SDK writes each before asking for the
            # next): its version again closes it (Singer's full-table convention; the SDK only
            # opens it), so a target may take the linked records it lacked as gone.
            self._write_activate_version_message(self._stream_version)

    def rows(self, context: Context | None) -> Iterator[dict[str, Any]]:
        """The stream's rows: changed since the bookmark (all of them in a full scan), then
        the deletion markers when `include_deleted` is on."""
        state = self.get_context_state(context)
        boundary = Boundary() if self.full_scan else Boundary.from_state(state)
        newest = self.since(context)
        emitted: set[Any] = set()
        for row in self.changed_rows(context, boundary):
            key = (row[self.primary_keys[0]], row.get(self.replication_key or ""))
            if key in emitted:  # the same version twice in one run: a paging boundary repeat
                continue
            emitted.add(key)
            moment = parse_moment(row.get(self.replication_key or ""))
            if moment is not None and (newest is None or moment > newest):
                newest = moment
                boundary.keep_from(self._next_start(context, newest) or moment)
            yield row
        if not self.full_scan:  # written once every row is out: it never names unread rows
            start = self._next_start(context, newest)
            if start is not None:
                boundary.keep_from(start)
            state[BOUNDARY_STATE] = boundary.as_state()
        if self.config.get("include_deleted"):
            yield from self.deleted_rows(context)
