"""Markdown bits for the benchmark page: a table and a goal verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["goal", "table"]


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def goal(met: bool) -> str:
    return "yes" if met else "**no**"
