"""Rows of records without a timestamp of their own: the Sale's moment and a fingerprint."""

from __future__ import annotations

from superoffice_client import rows

LINE = {"QuoteLineId": 7, "QuoteAlternativeId": 3, "ERPProductKey": "P-1", "Name": "Desk",
        "Quantity": 2.0, "UnitListPrice": 100.0, "TotalPrice": 200.0, "Rank": 1}  # fmt: skip
MOMENT, LATER = "2026-11-27T10:00:00.100000Z", "2026-11-27T10:05:00.200000Z"


def test_a_line_keeps_its_fingerprint_when_only_its_sale_moved() -> None:
    before = rows.quote_line_row(LINE, 11, MOMENT)
    moved = rows.quote_line_row(LINE, 11, LATER)

    assert before["version"].startswith(f"{MOMENT}#")
    assert moved["version"].startswith(f"{LATER}#")
    assert before["version"].split("#")[1] == moved["version"].split("#")[1]


def test_a_line_edit_changes_its_fingerprint_but_totals_and_the_looked_up_product_do_not() -> None:
    before = rows.quote_line_row(LINE, 11, MOMENT)["version"]

    edited = rows.quote_line_row({**LINE, "Quantity": 3.0}, 11, MOMENT)["version"]
    recomputed = rows.quote_line_row({**LINE, "TotalPrice": 180.0}, 12, MOMENT)["version"]

    assert edited != before
    assert recomputed == before


def test_a_row_without_a_moment_has_no_version() -> None:
    assert rows.quote_line_row(LINE, 11, None)["version"] is None
