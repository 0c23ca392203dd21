"""A quote line deleted in SuperOffice is deleted in Customcrm.

SuperOffice keeps no trace of a deleted line; the tap gives each alternative the ids of all its
lines as read, and target-customcrm deletes the linked lines missing from it.
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
    _assert_settled(crms)


def _assert_settled(crms: Any) -> None:
    """Nothing quarantined, the next run writes nothing, and both sides hold the same."""
    assert not crms.quarantine()
    assert crms.writes_of_next_run() == 0
    crms.assert_same_records()


def test_a_quotes_last_lines_deleted_in_superoffice_are_deleted_in_customcrm(fresh: Any) -> None:
    """With no line left, no line row comes in: the alternative's empty set still tells."""
    crms = fresh(seed=WORLD)
    crms.sync()
    quotes = live(crms.customcrm.records("quotes"))
    quote = next(q for q in quotes if q["lines"] and crms.linked("quote", "customcrm", q["id"]))
    for line in quote["lines"]:
        so_line_id = int(str(crms.linked("quote_line", "customcrm", line["id"])))
        crms.so("POST", "Agents/Quote/DeleteQuoteLine", json={"QuoteLineId": so_line_id})

    crms.sync()

    lines = crms.customcrm.records("quote_lines")
    emptied = [r for r in lines if r["quote_id"] == quote["id"]]
    assert emptied
    assert all(r["deleted_at"] is not None for r in emptied)
    assert [r for r in live(lines) if r["quote_id"] != quote["id"]]  # no other quote's
    _assert_settled(crms)
