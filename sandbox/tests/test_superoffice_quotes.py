"""The Quote agent over real HTTP: Sale -> Quote -> Version -> Alternative -> Line, totals,
and what a change to an alternative or a line moves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox.testing import RunningSandbox, running_sandbox


class Agent:
    def __init__(self, sandbox: RunningSandbox) -> None:
        self.base = f"{sandbox.url}/Cust12345/api/v1"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {sandbox.token}"

    def call(self, method: str, body: Any = None, **params: Any) -> requests.Response:
        url = f"{self.base}/Agents/Quote/{method}"
        return self.session.post(url, json=body, params=params, timeout=30)

    def ok(self, method: str, body: Any = None, **params: Any) -> Any:
        response = self.call(method, body, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def rest(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.base}/{path}", timeout=30, **kwargs)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox("superoffice") as running:
        yield running


@pytest.fixture
def agent(sandbox: RunningSandbox) -> Iterator[Agent]:
    sandbox.reset()
    client = Agent(sandbox)
    contact = client.rest("POST", "Contact", json={"Name": "Fjord Fisk AS"}).json()
    client.rest(
        "POST", "Sale", json={"Heading": "Boats", "Contact": {"ContactId": contact["ContactId"]}}
    )
    for code, price, cost, vat in (("BOAT-1", 1000.0, 600.0, 25.0), ("OAR-2", 50.0, 20.0, 25.0)):
        product = {
            "Name": code,
            "Code": code,
            "ERPProductKey": code,
            "UnitListPrice": price,
            "UnitCost": cost,
            "VAT": vat,
        }
        assert client.rest("POST", "Product", json=product).status_code == 200
    yield client
    client.session.close()


def _sale_updated(agent: Agent) -> str:
    value: str = agent.rest("GET", "Sale/1").json()["UpdatedDate"]
    return value


def _line(agent: Agent, alternative_id: int, code: str, **changes: Any) -> dict[str, Any]:
    draft = agent.ok(
        "CreateQuoteLine", {"QuoteAlternativeId": alternative_id, "ERPProductKey": code}
    )
    saved: dict[str, Any] = agent.ok("SaveQuoteLine", {**draft, **changes})
    return saved


def test_create_and_save_quote_builds_the_chain_with_one_version_and_alternative(
    agent: Agent,
) -> None:
    before = _sale_updated(agent)
    quote = agent.ok(
        "CreateAndSaveQuote", {"SaleId": 1, "ConnectionId": 1, "FirstAlternativeName": "Main"}
    )
    assert (quote["QuoteId"], quote["SaleId"], quote["QuoteConnectionId"]) == (1, 1, 1)
    version = quote["QuoteVersions"][0]
    alternative = version["QuoteAlternatives"][0]
    assert quote["ActiveQuoteVersionId"] == version["QuoteVersionId"]
    assert version["LikelyQuoteAlternativeId"] == alternative["QuoteAlternativeId"]
    assert (alternative["Name"], alternative["QuoteVersionId"], alternative["TotalPrice"]) == (
        "Main",
        version["QuoteVersionId"],
        0.0,
    )
    assert _sale_updated(agent) > before
    assert agent.ok("GetQuoteFromSaleId", {"SaleId": 1})["QuoteId"] == 1
    assert agent.ok("GetQuoteEntity", {"QuoteId": 1})["QuoteVersions"][0]["QuoteAlternatives"] == [
        alternative
    ]


def test_create_quote_line_fills_an_unsaved_line_from_the_product(agent: Agent) -> None:
    agent.ok("CreateAndSaveQuote", {"SaleId": 1, "ConnectionId": 1})
    draft = agent.ok("CreateQuoteLine", {"QuoteAlternativeId": 1, "ERPProductKey": "boat-1"})
    assert (draft["QuoteLineId"], draft["Name"], draft["UnitListPrice"], draft["TotalPrice"]) == (
        0,
        "BOAT-1",
        1000.0,
        1000.0,
    )
    assert agent.ok("GetQuoteLines", {"QuoteAlternativeId": 1}) == []


def test_saving_lines_recalculates_the_alternative_and_moves_the_sale(agent: Agent) -> None:
    agent.ok("CreateAndSaveQuote", {"SaleId": 1, "ConnectionId": 1})
    before = _sale_updated(agent)
    boat = _line(agent, 1, "BOAT-1", Quantity=2, DiscountPercent=10)
    _line(agent, 1, "OAR-2", Quantity=4)
    assert (boat["ListPrice"], boat["DiscountAmount"], boat["TotalPrice"]) == (
        2000.0,
        200.0,
        1800.0,
    )
    alternative = agent.ok("GetQuoteAlternative", quoteAlternativeId=1)
    assert alternative["SubTotal"] == 2000.0
    assert alternative["TotalPrice"] == 2000.0
    assert alternative["VAT"] == 500.0
    assert alternative["EarningAmount"] == 2000.0 - 2 * 600.0 - 4 * 20.0
    sale = agent.rest("GET", "Sale/1").json()
    assert sale["UpdatedDate"] > before
    assert sale["Amount"] == 2000.0


def test_alternative_discount_applies_on_top_of_the_lines(agent: Agent) -> None:
    agent.ok("CreateAndSaveQuote", {"SaleId": 1, "ConnectionId": 1})
    _line(agent, 1, "BOAT-1", Quantity=1)
    alternative = agent.ok("GetQuoteAlternative", {"QuoteAlternativeId": 1})
    before = _sale_updated(agent)
    saved = agent.ok("SaveQuoteAlternative", {**alternative, "DiscountPercent": 5, "Name": "Offer"})
    assert (saved["Name"], saved["DiscountAmount"], saved["TotalPrice"]) == ("Offer", 50.0, 950.0)
    assert _sale_updated(agent) > before
    updated = agent.rest("GET", "Archive/Sale?$select=saleId,updatedDate").json()["value"][0][
        "updatedDate"
    ]
    assert updated == _sale_updated(agent)


def test_deleting_a_line_drops_it_from_the_totals(agent: Agent) -> None:
    agent.ok("CreateAndSaveQuote", {"SaleId": 1, "ConnectionId": 1})
    boat = _line(agent, 1, "BOAT-1")
    _line(agent, 1, "OAR-2")
    assert agent.call("DeleteQuoteLine", {"QuoteLineId": boat["QuoteLineId"]}).status_code == 204
    assert agent.ok("GetQuoteAlternative", quoteAlternativeId=1)["TotalPrice"] == 50.0
    assert [line["Code"] for line in agent.ok("GetQuoteLines", {"QuoteAlternativeId": 1})] == [
        "OAR-2"
    ]


def test_alternatives_can_be_added_listed_and_deleted(agent: Agent) -> None:
    quote = agent.ok("CreateAndSaveQuote", {"SaleId": 1, "ConnectionId": 1})
    version_id = quote["QuoteVersions"][0]["QuoteVersionId"]
    second = agent.ok(
        "CreateQuoteAlternative",
        {
            "QuoteVersionId": version_id,
            "QuoteAlternativeName": "Cheaper",
            "QuoteAlternativeDescription": "No oars",
        },
    )
    assert (second["Name"], second["Description"]) == ("Cheaper", "No oars")
    names = [a["Name"] for a in agent.ok("GetQuoteAlternatives", {"QuoteVersionId": version_id})]
    assert names == ["Alternative 1", "Cheaper"]
    assert (
        agent.call(
            "DeleteQuoteAlternative", {"QuoteAlternativeId": second["QuoteAlternativeId"]}
        ).status_code
        == 204
    )
    assert len(agent.ok("GetQuoteAlternatives", {"QuoteVersionId": version_id})) == 1


def test_deleting_the_sale_removes_its_quote_chain(agent: Agent) -> None:
    agent.ok("CreateAndSaveQuote", {"SaleId": 1, "ConnectionId": 1})
    _line(agent, 1, "BOAT-1")
    assert agent.rest("DELETE", "Sale/1").status_code == 204
    assert agent.call("GetQuoteEntity", {"QuoteId": 1}).status_code == 404


@pytest.mark.parametrize(
    ("method", "body", "status", "message"),
    [
        ("GetQuoteEntity", {"QuoteId": 9}, 404, "Quote id 9 not found"),
        ("GetQuoteAlternative", {"QuoteAlternativeId": 9}, 404, "QuoteAlternative id 9 not found"),
        ("GetQuoteEntity", {}, 400, "Parameter 'QuoteId' is missing"),
        ("CreateAndSaveQuote", {"SaleId": 9}, 404, "Sale id 9 not found"),
        (
            "CreateQuoteLine",
            {"QuoteAlternativeId": 1, "ERPProductKey": "NOPE"},
            404,
            "Product with ERPProductKey 'NOPE' not found",
        ),
        (
            "SaveQuoteAlternative",
            {"QuoteAlternativeId": 1, "Name": "x" * 60},
            400,
            "Name is 60 characters long; at most 59 are allowed",
        ),
    ],
)
def test_agent_errors_answer_with_the_error_body(
    agent: Agent, method: str, body: dict[str, Any], status: int, message: str
) -> None:
    agent.ok("CreateAndSaveQuote", {"SaleId": 1, "ConnectionId": 1})
    response = agent.call(method, body)
    assert response.status_code == status
    assert response.json()["Error"] is True
    assert response.json()["ErrorMessage"] == message


def test_a_sale_gets_only_one_quote(agent: Agent) -> None:
    agent.ok("CreateAndSaveQuote", {"SaleId": 1, "ConnectionId": 1})
    again = agent.call("CreateAndSaveQuote", {"SaleId": 1, "ConnectionId": 1})
    assert (again.status_code, again.json()["ErrorMessage"]) == (
        400,
        "Sale id 1 already has a quote",
    )


def test_agent_reads_are_not_counted_as_writes(agent: Agent, sandbox: RunningSandbox) -> None:
    agent.ok("CreateAndSaveQuote", {"SaleId": 1, "ConnectionId": 1})
    sandbox.clear_requests()
    agent.ok("GetQuoteEntity", {"QuoteId": 1})
    agent.ok("GetQuoteAlternatives", {"QuoteVersionId": 1})
    _line(agent, 1, "BOAT-1")
    counts = sandbox.requests()
    assert (counts["total"], counts["writes"]) == (4, 1)


def test_a_correlation_key_can_be_stored_on_an_alternative_and_goes_with_it(agent: Agent) -> None:
    agent.ok("CreateAndSaveQuote", {"SaleId": 1, "ConnectionId": 1})
    key = {"Key": "correlation", "Value": "q-1", "RecordId": 1, "TableName": "QuoteAlternative"}
    assert agent.rest("POST", "ForeignApp/crmsync/sync/default/Key", json=key).status_code == 200
    found = agent.rest(
        "GET", "ForeignApp/crmsync/sync/Key/correlation/quotealternative?keyValue=q-1"
    )
    assert found.json()["RecordId"] == 1
    assert agent.call("DeleteQuoteAlternative", {"QuoteAlternativeId": 1}).status_code == 204
    gone = agent.rest(
        "GET", "ForeignApp/crmsync/sync/Key/correlation/quotealternative?keyValue=q-1"
    )
    assert gone.status_code == 404
    missing = {**key, "RecordId": 99}
    refused = agent.rest("POST", "ForeignApp/crmsync/sync/default/Key", json=missing)
    assert (refused.status_code, refused.json()["ErrorMessage"]) == (
        404,
        "QuoteAlternative id 99 not found",
    )


def test_save_quote_version_sets_the_expiration_date_and_moves_the_sale(agent: Agent) -> None:
    quote = agent.ok("CreateAndSaveQuote", {"SaleId": 1, "ConnectionId": 1})
    version = {k: v for k, v in quote["QuoteVersions"][0].items() if k != "QuoteAlternatives"}
    before = _sale_updated(agent)
    saved = agent.ok("SaveQuoteVersion", {**version, "ExpirationDate": "2026-09-02T00:00:00"})
    assert saved["ExpirationDate"] == "2026-09-02T00:00:00"
    assert saved["Updated"] > version["Updated"]
    assert saved["QuoteAlternatives"] == quote["QuoteVersions"][0]["QuoteAlternatives"]
    assert _sale_updated(agent) > before
    listed = agent.ok("GetQuoteVersions", {"QuoteId": quote["QuoteId"]})
    assert [v["ExpirationDate"] for v in listed] == ["2026-09-02T00:00:00"]
    bad = agent.call("SaveQuoteVersion", {**version, "ExpirationDate": "soon"})
    assert (bad.status_code, bad.json()["ErrorMessage"]) == (
        400,
        "Error converting value 'soon' to type 'DateTime' (ExpirationDate)",
    )
