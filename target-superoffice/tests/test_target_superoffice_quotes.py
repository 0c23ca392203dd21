"""The quote chain through crmsync and SuperOfficeDestination, over real HTTP to the emulator:
create Sale → Quote → QuoteVersion → QuoteAlternative → QuoteLines, then update it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sandbox.testing import RunningSandbox

from crmsync import Incoming

if TYPE_CHECKING:
    from conftest import Leg

V1, V2 = "2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z"

COMPANY = {"name": "Fjord AS", "orgnr": "912345678", "country": "NO", "city": "Bergen"}
PERSON = {
    "firstname": "Kari",
    "lastname": "Nordmann",
    "email": "kari@fjord.no",
    "contactId": "cus_1",
}
PRODUCT = {"code": "FJ-1", "name": "Fjord Widget", "listPrice": 100.0, "vat": 25.0}
QUOTE = {
    "contactId": "cus_1",
    "personId": "con_1",
    "heading": "Widgets for Fjord",
    "name": "Widgets",
    "description": "first offer",
    "discountPercent": 5.0,
    "saleDate": "2026-02-01",
    "expirationDate": "2026-03-01",
}
LINE = {
    "quoteAlternativeId": "quo_1",
    "productId": "prd_1",
    "quantity": 3.0,
    "name": "Fjord Widget",
}


def _incoming(source_id: str, version: str, values: dict[str, Any]) -> Incoming:
    return Incoming("customcrm", source_id, version, values, updated_at=version)


def _first_run(leg: Leg) -> dict[str, list[str]]:
    return leg.run(
        [
            ("company", [_incoming("cus_1", V1, COMPANY)]),
            ("person", [_incoming("con_1", V1, PERSON)]),
            ("product", [_incoming("prd_1", V1, PRODUCT)]),
            ("quote", [_incoming("quo_1", V1, QUOTE)]),
            ("quote_line", [_incoming("qln_1", V1, LINE)]),
        ]
    )


def test_a_new_quote_creates_the_whole_chain_with_translated_references(
    leg: Leg, empty_tenant: RunningSandbox
) -> None:
    results = _first_run(leg)

    assert results == {
        e: ["created"] for e in ("company", "person", "product", "quote", "quote_line")
    }
    quote = leg.destination.fetch("quote", [leg.link("quote", "quo_1")])[leg.link("quote", "quo_1")]
    assert quote.values["contactId"] == int(leg.link("company", "cus_1"))
    assert quote.values["personId"] == int(leg.link("person", "con_1"))
    assert {k: quote.values[k] for k in ("heading", "name", "description", "discountPercent")} == {
        "heading": "Widgets for Fjord",
        "name": "Widgets",
        "description": "first offer",
        "discountPercent": 5.0,
    }
    assert (quote.values["saleDate"], quote.values["expirationDate"]) == (
        "2026-02-01",
        "2026-03-01",
    )
    line_id = leg.link("quote_line", "qln_1")
    line = leg.destination.fetch("quote_line", [line_id])[line_id]
    assert line.values["productId"] == int(leg.link("product", "prd_1"))
    assert line.values["quoteAlternativeId"] == int(quote.id)
    assert (line.values["quantity"], line.values["totalPrice"]) == (3.0, 300.0)
    routes = empty_tenant.requests()["by_route"]
    for call in (
        "CreateAndSaveQuote",
        "SaveQuoteVersion",
        "SaveQuoteAlternative",
        "CreateQuoteLine",
        "SaveQuoteLine",
    ):
        assert routes[f"POST /{{endpoint}}/api/v1/Agents/Quote/{call}"] == 1, call
    assert routes["POST /{endpoint}/api/v1/Sale"] == 1


def test_an_edited_quote_saves_only_the_changed_parts(
    leg: Leg, empty_tenant: RunningSandbox
) -> None:
    _first_run(leg)
    empty_tenant.clear_requests()

    results = leg.run(
        [
            (
                "quote",
                [_incoming("quo_1", V2, {**QUOTE, "name": "Widgets v2", "discountPercent": 10.0})],
            ),
            ("quote_line", [_incoming("qln_1", V2, {**LINE, "quantity": 4.0})]),
        ]
    )

    assert results == {"quote": ["updated"], "quote_line": ["updated"]}
    routes = empty_tenant.requests()["by_route"]
    assert routes["POST /{endpoint}/api/v1/Agents/Quote/SaveQuoteAlternative"] == 1
    assert routes["POST /{endpoint}/api/v1/Agents/Quote/SaveQuoteLine"] == 1
    assert "PATCH /{endpoint}/api/v1/Sale/{record_id}" not in routes  # heading, dates unchanged
    assert "POST /{endpoint}/api/v1/Agents/Quote/SaveQuoteVersion" not in routes
    quote_id = leg.link("quote", "quo_1")
    quote = leg.destination.fetch("quote", [quote_id])[quote_id]
    assert (quote.values["name"], quote.values["discountPercent"]) == ("Widgets v2", 10.0)
    assert quote.values["totalPrice"] == 360.0  # 4 x 100, less 10 %


def test_a_changed_heading_patches_the_sale_guarded_by_its_version(
    leg: Leg, empty_tenant: RunningSandbox
) -> None:
    _first_run(leg)
    empty_tenant.clear_requests()

    results = leg.run([("quote", [_incoming("quo_1", V2, {**QUOTE, "heading": "Renamed"})])])

    assert results == {"quote": ["updated"]}
    assert empty_tenant.requests()["by_route"]["PATCH /{endpoint}/api/v1/Sale/{record_id}"] == 1
    quote_id = leg.link("quote", "quo_1")
    assert leg.destination.fetch("quote", [quote_id])[quote_id].values["heading"] == "Renamed"


@pytest.mark.parametrize("carrier", ["foreign key", "udef"])
@pytest.mark.parametrize("died_after", ["POST Sale", "CreateAndSaveQuote"])
def test_an_interrupted_quote_create_is_finished_on_its_sale(
    leg: Leg, empty_tenant: RunningSandbox, carrier: str, died_after: str
) -> None:
    _first_run(leg)
    destination = leg.destination
    destination.keys.field = "SuperOffice:1" if carrier == "udef" else ""
    values = {**QUOTE, "contactId": int(leg.link("company", "cus_1")), "personId": None}
    sale = destination.quotes.create_sale(values, destination.keys.udefs("sale", "intent-42"))
    destination.keys.save("sale", int(sale["SaleId"]), "intent-42")  # the run died here ...
    if died_after == "CreateAndSaveQuote":  # ... or one call later
        destination.client.agent("Quote/CreateAndSaveQuote", {"SaleId": sale["SaleId"]})
    empty_tenant.clear_requests()

    # ... and is run again: crmsync asks for the record by its key, then creates with that key
    assert destination.find_by_correlation("quote", "intent-42") is None
    created = destination.create("quote", values, "intent-42")

    assert created.values["saleId"] == sale["SaleId"]
    routes = empty_tenant.requests()["by_route"]
    assert "POST /{endpoint}/api/v1/Sale" not in routes
    made = "CreateAndSaveQuote" if died_after == "POST Sale" else "GetQuoteEntityFromSaleId"
    assert routes[f"POST /{{endpoint}}/api/v1/Agents/Quote/{made}"] == 1
    quotes_of_sale = [q for q in empty_tenant.records("quotes") if q["SaleId"] == sale["SaleId"]]
    assert len(quotes_of_sale) == 1
    fresh = destination.fetch("quote", [created.id])[created.id]
    assert fresh.values == created.values
    assert (fresh.values["name"], fresh.values["description"]) == ("Widgets", "first offer")


def test_a_record_superoffice_refuses_is_quarantined_with_its_message(leg: Leg) -> None:
    results = leg.run(
        [
            ("company", [_incoming("cus_1", V1, COMPANY)]),
            ("person", [_incoming("con_9", V1, {**PERSON, "firstname": "x" * 300})]),
            (
                "person",
                [_incoming("con_8", V1, {**PERSON, "email": "ok@fjord.no", "country": "XX"})],
            ),
            ("person", [_incoming("con_1", V1, PERSON)]),
        ]
    )

    assert results == {"company": ["created"], "person": ["quarantined", "quarantined", "created"]}
    reasons = {
        item.source_id: item.reason for item in leg.crosswalk.quarantine.items(entity="person")
    }
    assert (
        reasons["con_9"]
        == "FieldLengthException: Firstname is 300 characters long; at most 99 are allowed"
    )
    assert reasons["con_8"] == "unknown country code 'XX' (ISO 3166-1 alpha-2 expected)"


def test_a_quotes_state_and_currency_are_written_and_read_back_as_sent(
    leg: Leg, empty_tenant: RunningSandbox
) -> None:
    """A Customcrm quote that is sent, in euros, stays sent and in euros in SuperOffice; when
    it is read back the same values come back, so the return leg has nothing to overwrite."""
    leg.run(
        [
            ("company", [_incoming("cus_1", V1, COMPANY)]),
            ("person", [_incoming("con_1", V1, PERSON)]),
            ("quote", [_incoming("quo_1", V1, {**QUOTE, "state": "Sent", "currency": "EUR"})]),
        ]
    )
    quote_id = leg.link("quote", "quo_1")
    quote = leg.destination.fetch("quote", [quote_id])[quote_id]
    assert (quote.values["state"], quote.values["currency"]) == ("Sent", "EUR")
    sale = empty_tenant.records("sales")[0]
    assert sale["Currency"]["Value"] == "EUR"

    results = leg.run(
        [("quote", [_incoming("quo_1", V2, {**QUOTE, "state": "Sold", "currency": "SEK"})])]
    )

    assert results == {"quote": ["updated"]}
    quote = leg.destination.fetch("quote", [quote_id])[quote_id]
    assert (quote.values["state"], quote.values["currency"]) == ("Sold", "SEK")


def test_a_currency_the_tenant_does_not_list_is_quarantined_with_the_known_ones(
    leg: Leg,
) -> None:
    results = leg.run(
        [
            ("company", [_incoming("cus_1", V1, COMPANY)]),
            ("person", [_incoming("con_1", V1, PERSON)]),
            ("quote", [_incoming("quo_1", V1, {**QUOTE, "currency": "XBT"})]),
        ]
    )

    assert results["quote"] == ["quarantined"]
    (item,) = leg.crosswalk.quarantine.items(entity="quote")
    assert item.reason.startswith("unknown currency 'XBT': the tenant's currency list holds ")
    assert "EUR" in item.reason
    assert "NOK" in item.reason


def test_a_quote_line_deleted_twice_is_deleted(leg: Leg, empty_tenant: RunningSandbox) -> None:
    """A delete sent again after its answer was lost finds the line gone: that is done."""
    _first_run(leg)
    line_id = leg.link("quote_line", "qln_1")
    line = leg.destination.fetch("quote_line", [line_id])[line_id]

    leg.destination.delete("quote_line", line)
    leg.destination.delete("quote_line", line)

    assert leg.destination.fetch("quote_line", [line_id]) == {}
    assert (
        empty_tenant.requests()["by_route"]["POST /{endpoint}/api/v1/Agents/Quote/DeleteQuoteLine"]
        == 2
    )
