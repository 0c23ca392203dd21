"""A pair just made: the first record back from the other side.

SuperOffice gives a new Person its default Country (Norway here) and quote alternatives and
lines a `DiscountPercent` of 0 when the create sends none. The created record then holds
more than the record it was made from: that difference belongs to the other side too, and
travels back in the same job like an edit, with no conflict, so both sides agree.

Before, the create's receipt said "holds what we sent": its echo made the Customcrm base
say Norway though Customcrm held nothing, the difference never travelled, and no later carry
of the record kept a receipt (the merge always kept the other country), so a user's edit
overtaking a carry's echo met a stale base: a conflict, and under `destination_wins` the
sides stayed different for good.

Records on both sides before the first run are matched; where their values clash, the
first leg decides, and the second carries that decision back (before, it met the clash
again: two conflicts, and under `destination_wins` two values for good).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.reliability.conftest import digits
from tests.reliability.test_reliability_soak import WORLD, live


def _new_customcrm_person(crms: Any, first_name: str) -> dict[str, Any]:
    """A Customcrm contact without country, on a customer already linked."""
    customer = next(
        c
        for c in live(crms.customcrm.records("customers"))
        if crms.linked("company", "customcrm", c["id"])
    )
    body = {
        "customer_id": customer["id"],
        "first_name": first_name,
        "last_name": "Utenland",
        "email": f"{first_name.lower()}.utenland@example.no",
    }
    person: dict[str, Any] = crms.cc("POST", "contacts", json=body)
    assert person["country"] is None
    return person


def _both(crms: Any, person: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    so_id = crms.linked("person", "customcrm", person["id"])
    assert so_id is not None
    cc: dict[str, Any] = crms.cc("GET", f"contacts/{person['id']}")
    so: dict[str, Any] = crms.so("GET", f"Person/{so_id}")
    return cc, so


def test_the_country_superoffice_fills_on_create_travels_back(fresh: Any) -> None:
    crms = fresh(seed=WORLD)
    crms.sync()
    met = len(crms.conflicts("person"))
    person = _new_customcrm_person(crms, "Fylt")

    crms.sync()

    cc, so = _both(crms, person)
    assert so["Country"]["TwoLetterISOCountry"] == "NO"
    assert cc["country"] == "NO"
    assert len(crms.conflicts("person")) == met
    assert not crms.quarantine()
    assert crms.different_values() == []
    assert crms.writes_of_next_run() == 0  # settled: nothing travels twice


def test_quote_lines_superoffice_fills_on_create_travel_back(fresh: Any) -> None:
    crms = fresh(seed=WORLD)
    crms.sync()
    quote = next(
        q
        for q in live(crms.customcrm.records("quotes"))
        if crms.linked("quote", "customcrm", q["id"])
    )
    product = next(p for p in live(crms.customcrm.records("products")))
    body = {"product_id": product["id"], "quantity": 3, "unit_price": 10.0, "description": "Ny"}
    line = crms.cc("POST", f"quotes/{quote['id']}/lines", json=body)
    assert line["discount_percent"] is None
    met = len(crms.conflicts("quote_line"))

    crms.sync()

    so_id = str(crms.linked("quote_line", "customcrm", line["id"]))
    cc = {r["id"]: r for r in crms.customcrm.records("quote_lines")}[line["id"]]
    so = {str(r["_id"]): r for r in crms.superoffice.records("quote_lines")}[so_id]
    assert (cc["discount_percent"], so["DiscountPercent"]) == (0.0, 0.0)
    assert len(crms.conflicts("quote_line")) == met
    assert crms.writes_of_next_run() == 0


@pytest.mark.parametrize("policy", ["newer_wins", "destination_wins"])
def test_an_edit_overtaking_the_echo_of_a_filled_records_carry_holds(
    fresh: Any, policy: str
) -> None:
    """The pair made by a create SuperOffice filled keeps its receipts afterwards: a title
    carried into SuperOffice, then edited there before its echo, ends as SuperOffice's."""
    crms = fresh(seed=WORLD)
    crms.tuning["conflict_policy"] = policy
    crms.sync()
    person = _new_customcrm_person(crms, "Kappløp")
    crms.sync()
    met = len(crms.conflicts("person"))
    crms.cc_patch(f"contacts/{person['id']}", {"title": "Customcrm title"})
    assert crms.run_leg("customcrm->superoffice").target_code == 0  # carried, echo pending
    so_id = crms.linked("person", "customcrm", person["id"])
    crms.so("PATCH", f"Person/{so_id}", json={"Title": "SuperOffice title"})

    crms.sync()
    crms.sync()

    cc, so = _both(crms, person)
    assert (cc["title"], so["Title"]) == ("SuperOffice title", "SuperOffice title")
    assert len(crms.conflicts("person")) == met
    assert not crms.quarantine()


def test_a_clash_met_when_existing_records_are_matched_is_decided_once(fresh: Any) -> None:
    """A company on both sides before the first run (same org number), its name different:
    the first leg meets the clash and `destination_wins` keeps SuperOffice's name; the second
    leg carries that back, so both sides hold one name and one conflict is recorded (before,
    the second leg met the clash again and kept Customcrm's: two names for good)."""
    crms = fresh(seed=WORLD)
    crms.tuning["conflict_policy"] = "destination_wins"
    so_orgs = {digits(c["OrgNr"]): c for c in crms.superoffice.records("contacts") if c["OrgNr"]}
    customer = next(
        c for c in live(crms.customcrm.records("customers")) if digits(c["org_number"]) in so_orgs
    )
    company = so_orgs[digits(customer["org_number"])]
    crms.cc_patch(f"customers/{customer['id']}", {"name": "Named in Customcrm"})
    crms.so("PATCH", f"Contact/{company['_id']}", json={"Name": "Named in SuperOffice"})

    crms.sync()

    assert crms.linked("company", "customcrm", customer["id"]) == str(company["_id"])
    cc = crms.cc("GET", f"customers/{customer['id']}")
    so = crms.so("GET", f"Contact/{company['_id']}")
    assert (cc["name"], so["Name"]) == ("Named in SuperOffice", "Named in SuperOffice")
    clashes = [c for c in crms.conflicts("company") if c["field"] in ("name", "Name")]
    assert len(clashes) == 1, clashes
    assert crms.different_values() == []
    assert crms.writes_of_next_run() == 0
