"""Changed-record feeds over the archive lists: which ids changed since a moment, in order.

`changes()` pages an archive ordered by (updated column, id) with keyset paging: each page asks
again for `updated afterTime <last seen second>`, so a record edited while we page only moves
*later* in the feed and is never skipped. `afterTime` is inclusive and compares to the second
(superoffice-api.md §4), so the rows of that second already read are stepped over with `$skip`,
less one: the page must start with the last row read, else rows of that second moved (an edit or
a delete) and the second is walked again from its start. Rows already yielded are dropped here.
Yields archive rows; the caller reads the entities it needs.
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
    run: list[tuple[Any, Any]] = []  # the rows of second `boundary` in feed order, from its start
    seen: set[tuple[Any, Any]] = set()  # an edit makes a new (id, updated) key
    overlap = False  # whether the page starts again at the last row read (run[-1])
    select = (id_column, updated_column, *extra_columns)
    while True:
        query = ArchiveQuery(
            select=select,
            filter=all_of(updated_since(updated_column, boundary), restriction),
            orderby=(f"{updated_column} asc", f"{id_column} asc"),
            top=page_size + int(overlap),
            skip=len(run) - 1 if overlap else 0,
        )
        rows = client.archive_page(resource, query)
        if overlap and (not rows or _key(rows[0], id_column, updated_column) != run[-1]):
            overlap = False  # rows of this second moved since the last page: walk it again
            continue
        if not overlap:
            run = []  # this page starts at the first row of second `boundary`
        for row in rows[1:] if overlap else rows:
            key = _key(row, id_column, updated_column)
            moment = _second(parse_moment(row.get(updated_column)) or boundary)
            if moment > boundary:
                boundary, run, seen = moment, [], set()
            run.append(key)
            if key not in seen:
                seen.add(key)
                yield row
        if len(rows) < query.top:
            return
        overlap = True


def _key(row: dict[str, Any], id_column: str, updated_column: str) -> tuple[Any, Any]:
    return (row.get(id_column), row.get(updated_column))


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
