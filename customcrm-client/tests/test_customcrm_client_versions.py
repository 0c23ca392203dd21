"""A Customcrm quote's sync version: its `updated_at` with a fingerprint of its own values, so
a line write (which moves the quote's `updated_at`) is told from an edit of the quote."""

from __future__ import annotations

import decimal
import json
from typing import Any

import requests
from customcrm_client import sync_version
from sandbox.testing import RunningSandbox


def _get(crm: RunningSandbox, path: str, **options: Any) -> Any:
    response = requests.get(
        f"{crm.url}/api/v1/{path}", headers={"Authorization": f"Bearer {crm.token}"}, timeout=10
    )
    response.raise_for_status()
    return json.loads(response.text, **options)


def _patch(crm: RunningSandbox, path: str, changes: dict[str, Any]) -> None:
    version = _get(crm, path)["version"]
    response = requests.patch(
        f"{crm.url}/api/v1/{path}",
        json=changes,
        headers={"Authorization": f"Bearer {crm.token}", "If-Match": f'"{version}"'},
        timeout=10,
    )
    response.raise_for_status()


def _split(version: str | None) -> tuple[str, str]:
    moment, _, mark = str(version).partition("#")
    return moment, mark


def test_a_line_write_moves_a_quotes_moment_but_not_its_fingerprint(crm: RunningSandbox) -> None:
    quote = next(q for q in _get(crm, "quotes")["items"] if q["lines"])
    line = quote["lines"][0]

    _patch(crm, f"quotes/{quote['id']}/lines/{line['id']}", {"quantity": line["quantity"] + 1})
    moved = _get(crm, f"quotes/{quote['id']}")

    before, after = _split(sync_version("quotes", quote)), _split(sync_version("quotes", moved))
    assert moved["updated_at"] != quote["updated_at"]
    assert moved["total"] != quote["total"]
    assert after[0] == moved["updated_at"]
    assert after[1] == before[1] != ""


def test_an_edit_of_the_quote_changes_its_fingerprint(crm: RunningSandbox) -> None:
    quote = _get(crm, "quotes")["items"][0]

    _patch(crm, f"quotes/{quote['id']}", {"title": "Edited"})
    edited = _get(crm, f"quotes/{quote['id']}")

    assert _split(sync_version("quotes", edited))[1] != _split(sync_version("quotes", quote))[1]


def test_a_read_parsing_decimals_has_the_same_version(crm: RunningSandbox) -> None:
    """The tap's reader (the SDK's) parses numbers as `Decimal`; the target's as float."""
    plain = _get(crm, "quotes")["items"]
    decimals = _get(crm, "quotes", parse_float=decimal.Decimal)["items"]

    assert [sync_version("quotes", q) for q in decimals] == [
        sync_version("quotes", q) for q in plain
    ]
    assert any(isinstance(q["discount_percent"], decimal.Decimal) for q in decimals)


def test_other_records_are_versioned_by_updated_at_alone(crm: RunningSandbox) -> None:
    contact = _get(crm, "contacts")["items"][0]

    assert sync_version("contacts", contact) == contact["updated_at"]
    assert sync_version("quotes", {"id": "quo_1", "updated_at": None}) is None
