"""OData query text for SuperOffice archive lists (`GET /api/v1/Person?$filter=...`).

Pure string building, no I/O. String literals are single-quoted with backslash escapes, as the
archive restriction parser expects (superoffice-api.md §4); datetimes are sent in UTC without an
offset, to the second (`afterTime` is inclusive, so truncating can only re-read, never skip).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "ArchiveQuery",
    "all_of",
    "any_of",
    "contains",
    "equals",
    "literal",
    "one_of",
    "timestamp",
    "updated_since",
]


def literal(value: str | int | float | bool) -> str:
    """A value as an OData literal: numbers bare, strings quoted with `\\` and `'` escaped."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    escaped = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def timestamp(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS` in UTC (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def updated_since(column: str, moment: datetime) -> str:
    """`column afterTime 'ts'`: rows changed at or after `moment` (inclusive)."""
    return f"{column} afterTime {literal(timestamp(moment))}"


def equals(column: str, value: str | int) -> str:
    """`column eq value` (`eq` compares strings case-insensitively in the archives)."""
    return f"{column} eq {literal(value)}"


def contains(column: str, value: str) -> str:
    """`column contains 'value'`: a substring search (for loose candidate lookups)."""
    return f"{column} contains {literal(value)}"


def one_of(column: str, values: Iterable[str | int]) -> str:
    """`column oneOf (v1,v2,...)`: batch reads by id (docs: `$filter=category oneOf (3)`)."""
    return f"{column} oneOf ({','.join(literal(v) for v in values)})"


def all_of(*clauses: str | None) -> str:
    """The non-empty clauses joined with `and`, each in parentheses."""
    present = [c for c in clauses if c]
    if len(present) == 1:
        return present[0]
    return " and ".join(f"({c})" for c in present)


def any_of(*clauses: str | None) -> str:
    """The non-empty clauses joined with `or`, each in parentheses (string columns have no
    `oneOf`: a batch look-up by key is `(k eq 'a') or (k eq 'b')`)."""
    present = [c for c in clauses if c]
    if len(present) == 1:
        return present[0]
    return " or ".join(f"({c})" for c in present)


@dataclass(frozen=True)
class ArchiveQuery:
    """One archive list request's query options."""

    select: Sequence[str]
    filter: str | None = None
    orderby: Sequence[str] = ()
    top: int = 500
    skip: int = 0

    def params(self) -> dict[str, str]:
        """The `$select/$filter/$orderby/$top/$skip` query-string parameters."""
        params = {"$select": ",".join(self.select), "$top": str(self.top), "$skip": str(self.skip)}
        if self.filter:
            params["$filter"] = self.filter
        if self.orderby:
            params["$orderby"] = ",".join(self.orderby)
        return params

    def next_page(self) -> ArchiveQuery:
        """The same query, one page further."""
        return ArchiveQuery(self.select, self.filter, self.orderby, self.top, self.skip + self.top)
