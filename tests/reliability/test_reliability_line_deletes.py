"""A quote line deleted in SuperOffice is deleted in Customcrm.

SuperOffice keeps no trace of a deleted line; the tap gives each line the ids of all its
alternative's lines as read, and target-customcrm deletes the linked lines missing from it.
"""

from __future__ import annotations

from typing import Any

from tests.reliability.test_reliability_soak import WORLD, live


def test_a_line_deleted_in_superoffice_is_deleted_in_customcrm(fresh: Any) -> None:
    crms = fresh(seed=WORLD)
    crms.sync()
    quotes = live(crms.customcrm.records("quotes"))
    quote = next(
        q for q in quotes if len(q["lines"]) >= 2 and crms.linked("quote", "customcrm", q["id"])
    )
    gone, kept = quote["lines"][-1], quote["lines"][0]
    so_line_id = int(str(crms.linked("quote_line", "customcrm", gone["id"])))
    crms.so("POST", "Agents/Quote/DeleteQuoteLine", json={"QuoteLineId": so_line_id})

    crms.sync()

    lines = {r["id"]: r for r in crms.customcrm.records("quote_lines")}
    assert lines[gone["id"]]["deleted_at"] is not None
    assert lines[kept["id"]]["deleted_at"] is None
    assert not crms.quarantine()
    crms.customcrm.clear_requests()
    crms.superoffice.clear_requests()
    crms.sync()
    assert crms.writes() == 0
    crms.assert_same_records()
