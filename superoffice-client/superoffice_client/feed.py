"""Changed-record feeds over the archive lists: which ids changed since a moment, in order.

`changes()` pages an archive ordered by (updated column, id) with keyset paging: each page asks
again for `updated afterTime <last seen>` instead of `$skip`-ing, so a record edited while we page
only moves *later* in the feed and is never skipped. `afterTime` is inclusive and compares to
the second, so rows already yielded at the boundary second are dropped here (superoffice-api.md
§4). Yields archive rows; the caller reads the entities it needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from superoffice_client.http import SuperOfficeClient
from superoffice_client.query import ArchiveQuery, all_of, updated_since

__all__ = ["changes", "parse_moment"]

EPOCH = datetime(1900, 1, 1, tzinfo=UTC)


def parse_moment(value: Any) -> datetime | None:
    """An archive date-time (ISO-8601, naive means UTC) as an aware datetime."""
    if value in (None, ""):
        return None
    moment = datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def changes(
    client: SuperOfficeClient,
    resource: str,
    *,
    id_column: str,
    updated_column: str,
    since: datetime | None,
    extra_columns: tuple[str, ...] = (),
    restriction: str | None = None,
    page_size: int = 500,
) -> Iterator[dict[str, Any]]:
    """Archive rows of `resource` changed at or after `since`, oldest first, each version once
    (a record edited during paging comes again, later, with its new time)."""
    boundary = _second(since or EPOCH)
    seen_at_boundary: set[tuple[Any, Any]] = set()
    skip = 0
    select = (id_column, updated_column, *extra_columns)
    while True:
        query = ArchiveQuery(
            select=select,
            filter=all_of(updated_since(updated_column, boundary), restriction),
            orderby=(f"{updated_column} asc", f"{id_column} asc"),
            top=page_size,
            skip=skip,
        )
        rows = client.archive_page(resource, query)
        fresh = 0
        for row in rows:
            moment = parse_moment(row.get(updated_column)) or boundary
            key = (row.get(id_column), row.get(updated_column))  # an edit makes a new key
            if _second(moment) <= boundary and key in seen_at_boundary:
                continue
            if _second(moment) > boundary:
                boundary, seen_at_boundary = _second(moment), set()
            seen_at_boundary.add(key)
            fresh += 1
            yield row
        if len(rows) < page_size:
            return
        # A full page of one second's rows all seen already: step over them with $skip.
        skip = skip + page_size if fresh == 0 else 0


def deletions(
    client: SuperOfficeClient,
    recycle_archive: str,
    *,
    id_column: str,
    deleted_column: str,
    since: datetime | None,
    page_size: int = 500,
) -> Iterator[dict[str, Any]]:
    """Rows of a recycle archive deleted at or after `since`, in id order (the deleted-date
    columns cannot be ordered by, superoffice-api.md §4; the bin only grows while we page)."""
    query = ArchiveQuery(
        select=(id_column, deleted_column),
        filter=updated_since(deleted_column, _second(since or EPOCH)),
        orderby=(f"{id_column} asc",),
        top=page_size,
    )
    for page in client.archive(recycle_archive, query):
        yield from page
