"""Versions shared by a group of records, on both sides.

SuperOffice versions are coarse: a Sale's alternatives and lines all carry the Sale's
`UpdatedDate`, so writing one moves the version of every other.

A line edited in SuperOffice is carried into Customcrm; a user edits the same line in
Customcrm before that carry comes back as an echo, and also edits the quote, which the same
run writes into SuperOffice first; or a user in SuperOffice edits the quote's heading. The
line's SuperOffice version has then moved, though the line did not change: the Customcrm
edit, the latest, must hold on both sides (before, `newer_wins` took the Sale's move for a
SuperOffice edit of the line and the sides stayed different for good). The fingerprint in
the versions of lines and alternatives (`rows.shared_version`) tells the two apart. Another
line of the quote edited as well is the same story in one batch.

Customcrm is the mirror: writing a line moves its quote's `updated_at`. A quote's heading
edited in Customcrm is carried into SuperOffice; a user edits the heading in SuperOffice
before that carry comes back as an echo, and a user in Customcrm edits a line of the quote.
SuperOffice's edit, the latest, must hold on both sides with no conflict (before, the quote's
moved version made the stale base look like a Customcrm edit: a conflict, and under
`destination_wins` the sides stayed different for good). The fingerprint in Customcrm quote
versions (`customcrm_client.sync_version`) tells the two apart.

And our own carry coming back with its shared version moved is still an echo: the same
fingerprint says it holds what we wrote (before, it was taken for an edit, met the user's
later edit as a conflict, and under `source_wins` overwrote it).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.reliability.test_reliability_soak import WORLD, live, sale_of


@pytest.mark.parametrize("also_edited", ["heading", "other_line", "heading in superoffice"])
def test_a_line_edit_overtaking_our_carrys_echo_holds_when_its_sale_moved(
    fresh: Any, also_edited: str
) -> None:
    crms = fresh(seed=WORLD)
    crms.sync()
    quotes = live(crms.customcrm.records("quotes"))
    quote = next(
        q for q in quotes if len(q["lines"]) >= 2 and crms.linked("quote", "customcrm", q["id"])
    )
    line, other = quote["lines"][0], quote["lines"][-1]
    so_line_id = str(crms.linked("quote_line", "customcrm", line["id"]))
    alternative = int(str(crms.linked("quote", "customcrm", quote["id"])))
    so_lines = crms.so("POST", "Agents/Quote/GetQuoteLines",
                       json={"QuoteAlternativeId": alternative})  # fmt: skip
    so_line = next(one for one in so_lines if str(one["QuoteLineId"]) == so_line_id)
    crms.so("POST", "Agents/Quote/SaveQuoteLine", json={**so_line, "Quantity": 194.0})
    assert crms.run_leg("superoffice->customcrm").target_code == 0  # carried: 194 both sides
    crms.cc_patch(f"quotes/{quote['id']}/lines/{line['id']}", {"quantity": 50.0})
    if also_edited == "heading":
        crms.cc_patch(f"quotes/{quote['id']}", {"title": "Moved heading"})
    elif also_edited == "other_line":
        crms.cc_patch(f"quotes/{quote['id']}/lines/{other['id']}", {"quantity": 77.0})
    else:  # a user in SuperOffice moves the Sale, after the Customcrm edit
        crms.so("PATCH", f"Sale/{sale_of(crms, str(alternative))}", json={"Heading": "Moved"})

    crms.sync()
    crms.sync()

    cc = {r["id"]: r for r in crms.customcrm.records("quote_lines")}[line["id"]]
    so = {str(r["_id"]): r for r in crms.superoffice.records("quote_lines")}[so_line_id]
    assert (cc["quantity"], so["Quantity"]) == (50.0, 50.0)
    assert not crms.quarantine()
    crms.assert_same_records()


@pytest.mark.parametrize("policy", ["newer_wins", "destination_wins"])
def test_a_heading_edit_overtaking_our_carrys_echo_holds_when_a_line_moved_the_quote(
    fresh: Any, policy: str
) -> None:
    crms = fresh(seed=WORLD)
    crms.tuning["conflict_policy"] = policy
    crms.sync()
    quotes = live(crms.customcrm.records("quotes"))
    quote = next(q for q in quotes if q["lines"] and crms.linked("quote", "customcrm", q["id"]))
    alternative = str(crms.linked("quote", "customcrm", quote["id"]))
    sale = sale_of(crms, alternative)
    met = len(crms.conflicts("quote"))
    crms.cc_patch(f"quotes/{quote['id']}", {"title": "Customcrm heading"})
    assert crms.run_leg("customcrm->superoffice").target_code == 0  # carried, echo pending
    crms.so("PATCH", f"Sale/{sale}", json={"Heading": "SuperOffice heading"})
    line = quote["lines"][0]
    crms.cc_patch(f"quotes/{quote['id']}/lines/{line['id']}", {"quantity": 61.0})

    crms.sync()
    crms.sync()

    cc = {r["id"]: r for r in crms.customcrm.records("quotes")}[quote["id"]]
    so = {str(r["_id"]): r for r in crms.superoffice.records("sales")}[str(sale)]
    assert (cc["title"], so["Heading"]) == ("SuperOffice heading", "SuperOffice heading")
    assert len(crms.conflicts("quote")) == met
    assert not crms.quarantine()
    crms.assert_same_records()


@pytest.mark.parametrize("policy", ["newer_wins", "source_wins"])
def test_our_carry_whose_sale_moved_is_still_an_echo(fresh: Any, policy: str) -> None:
    """A line's quantity carried into SuperOffice comes back with its Sale moved (a user's
    heading edit there): it is still our own write (same fingerprint), not an edit, so a
    newer Customcrm edit of the line holds, under every policy, and no conflict is met."""
    crms = fresh(seed=WORLD)
    crms.tuning["conflict_policy"] = policy
    crms.sync()
    quotes = live(crms.customcrm.records("quotes"))
    quote = next(q for q in quotes if q["lines"] and crms.linked("quote", "customcrm", q["id"]))
    line = quote["lines"][0]
    alternative = str(crms.linked("quote", "customcrm", quote["id"]))
    met = len(crms.conflicts("quote_line"))
    crms.cc_patch(f"quotes/{quote['id']}/lines/{line['id']}", {"quantity": 400.0})
    assert crms.run_leg("customcrm->superoffice").target_code == 0  # carried, echo pending
    crms.so("PATCH", f"Sale/{sale_of(crms, alternative)}", json={"Heading": "Moved"})
    crms.cc_patch(f"quotes/{quote['id']}/lines/{line['id']}", {"quantity": 401.0})

    assert crms.run_leg("superoffice->customcrm").target_code == 0  # the echo comes back
    crms.sync()

    so_line_id = str(crms.linked("quote_line", "customcrm", line["id"]))
    cc = {r["id"]: r for r in crms.customcrm.records("quote_lines")}[line["id"]]
    so = {str(r["_id"]): r for r in crms.superoffice.records("quote_lines")}[so_line_id]
    assert (cc["quantity"], so["Quantity"]) == (401.0, 401.0)
    assert len(crms.conflicts("quote_line")) == met
    assert not crms.quarantine()
    crms.assert_same_records()
