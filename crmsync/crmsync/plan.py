"""The dry-run plan: what a run would create, update, link, delete, and which conflicts it met.

Collects and renders; never decides and never writes to a CRM.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from crmsync.tables import render_table

__all__ = ["SECTIONS", "Plan", "render_plan"]

SECTIONS = (
    "creates",
    "links",
    "updates",
    "deletes",
    "conflicts",
    "ambiguous",
    "deferred",
    "rejected",
)


@dataclass
class Plan:
    """Planned operations, by section; thread-safe to add to."""

    sections: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {section: [] for section in SECTIONS}
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, section: str, **entry: Any) -> None:
        """Note one planned operation."""
        with self._lock:
            self.sections[section].append(entry)

    def as_dict(self) -> dict[str, Any]:
        """The JSON stored with the run and printed by `crmsync plan --json`."""
        with self._lock:
            return {section: list(rows) for section, rows in self.sections.items()}


def _describe(section: str, entry: Mapping[str, Any]) -> str:
    if section == "updates":
        return ", ".join(
            f"{name}: {change[0]!r} -> {change[1]!r}" for name, change in entry["changes"].items()
        )
    if section == "conflicts":
        return (
            f"{entry['field']}: base {entry['base']!r}, ours {entry['ours']!r}, "
            f"theirs {entry['theirs']!r} -> {entry['winner']} ({entry['rule']})"
        )
    if section == "creates":
        return ", ".join(f"{name}={value!r}" for name, value in entry["values"].items())
    return str(entry.get("reason", ""))


def render_plan(plan: Mapping[str, Any]) -> str:
    """A stored plan as one readable table."""
    rows = [
        {
            "op": section.rstrip("s"),
            "entity": entry.get("entity"),
            "source": entry.get("source_id"),
            "destination": entry.get("destination_id"),
            "detail": _describe(section, entry),
        }
        for section in SECTIONS
        for entry in plan.get(section, [])
    ]
    title = f"plan of dry run {plan.get('run_id')} ({plan.get('leg')}): {len(rows)} operations"
    return title + "\n" + render_table(rows, ["op", "entity", "source", "destination", "detail"])
