"""Each example request and response quoted in reference/superoffice-api.md, replayed against
the emulator: same status, same shape."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from sandbox.testing import RunningSandbox, running_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox("superoffice", seed=6, seed_value=2) as running:
        yield running


@pytest.fixture(scope="module")
def api(sandbox: RunningSandbox) -> Iterator[Any]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {sandbox.token}"

        def call(method: str, path: str, **kwargs: Any) -> requests.Response:
            url = f"{sandbox.url}/Cust12345/api/v1/{path}"
            return session.request(method, url, timeout=30, **kwargs)

        yield call


def test_section_3_error_body_for_a_missing_contact(api: Any) -> None:
    response = api("GET", "Contact/99999")
    assert response.status_code == 404
    assert response.json() == {
        "Error": True,
        "ErrorType": "SoNotFoundException",
        "ErrorMessage": "Contact id 99999 not found",
        "ErrorSource": "SuperOffice.Services.Implementation",
    }


def test_section_4_archive_response_shape(api: Any) -> None:
    body = api("GET", "Person", params={"$select": "personId,fullName", "$top": "2"}).json()
    assert set(body) == {"odata.metadata", "odata.nextLink", "value"}
    assert body["odata.metadata"].endswith("/api/v1/Archive/$metadata")
    row = body["value"][0]
    assert set(row) == {"PrimaryKey", "EntityName", "personId", "fullName"}
    assert (row["EntityName"], row["PrimaryKey"]) == ("person", row["personId"])


def test_section_5_4_sesam_sale_query_pages_quotes_by_sale_updated_date(api: Any) -> None:
    params = {
        "$select": "saleId,quote/quoteId,quote/connectionId,updatedDate",
        "$filter": "(updatedDate afterTime '2020-01-01T00:00:00')",
        "$orderby": "PrimaryKey asc",
        "$top": "10000",
        "$skip": "0",
    }
    rows = api("GET", "archive/Sale", params=params).json()["value"]
    assert rows
    for row in rows:
        quote = api(
            "POST", "Agents/Quote/GetQuoteEntity", json={"QuoteId": row["quote/quoteId"]}
        ).json()
        alternative = quote["QuoteVersions"][0]["QuoteAlternatives"][0]
        again = api(
            "POST",
            f"Agents/Quote/GetQuoteAlternative?quoteAlternativeId={alternative['QuoteAlternativeId']}",
        )
        assert again.json() == alternative
        assert (
            api("POST", "Agents/Quote/GetQuoteFromSaleId", json={"SaleId": row["saleId"]}).json()[
                "QuoteId"
            ]
            == quote["QuoteId"]
        )


def test_section_3_patch_examples_json_patch_and_merge_patch(api: Any) -> None:
    json_patch = api(
        "PATCH", "Contact/1", json=[{"op": "replace", "path": "/Department", "value": "foo"}]
    )
    assert (json_patch.status_code, json_patch.json()["Department"]) == (200, "foo")
    merge_patch = api("PATCH", "Contact/2", json={"Department": "foo"})
    assert (merge_patch.status_code, merge_patch.json()["Department"]) == (200, "foo")
    missing = api("PATCH", "Contact/99999", json={"Department": "foo"})
    assert missing.status_code == 404


def test_section_3_post_answers_200_and_delete_204(api: Any) -> None:
    created = api(
        "POST",
        "Person",
        json={"Firstname": "Ola", "Lastname": "Normann", "Contact": {"ContactId": 1}},
    )
    assert created.status_code == 200
    assert api("DELETE", f"Person/{created.json()['PersonId']}").status_code == 204


def test_section_5_4_writing_alternatives_the_sesam_way(api: Any) -> None:
    sale = api("POST", "Sale", json={"Heading": "Via agent", "Contact": {"ContactId": 1}}).json()
    quote = api(
        "POST",
        "Agents/Quote/CreateAndSaveQuote",
        json={"SaleId": sale["SaleId"], "ConnectionId": 1},
    ).json()
    alternative = quote["QuoteVersions"][0]["QuoteAlternatives"][0]
    saved = api(
        "POST", "Agents/Quote/SaveQuoteAlternative", json={**alternative, "Name": "Tab 1"}
    ).json()
    product = api("GET", "Product", params={"$select": "erpProductKey", "$top": "1"}).json()[
        "value"
    ][0]
    line = api(
        "POST",
        "Agents/Quote/CreateQuoteLine",
        json={
            "QuoteAlternativeId": saved["QuoteAlternativeId"],
            "ERPProductKey": product["erpProductKey"],
        },
    ).json()
    stored = api("POST", "Agents/Quote/SaveQuoteLine", json=line).json()
    assert stored["QuoteLineId"] > 0
    total = api(
        "POST",
        "Agents/Quote/GetQuoteAlternative",
        json={"QuoteAlternativeId": saved["QuoteAlternativeId"]},
    ).json()["TotalPrice"]
    assert total == stored["TotalPrice"]


def test_section_7_foreign_key_example_path(api: Any) -> None:
    saved = api(
        "POST",
        "ForeignApp/Glops/Foobar/dev1/Key",
        json={"Key": "Lookup", "Value": "ext-123", "RecordId": 3, "TableName": "Contact"},
    )
    assert saved.status_code == 200
    found = api("GET", "ForeignApp/Glops/Foobar/Key/Lookup/Contact/3")
    assert (found.status_code, found.json()["Value"]) == (200, "ext-123")
    assert set(found.json()) >= {
        "Key",
        "Value",
        "RecordId",
        "CreatedDate",
        "UpdatedDate",
        "UpdatedBy",
        "CreatedBy",
        "TableName",
    }


def test_section_2_authenticate_request_body_is_answered_with_is_successful(
    sandbox: RunningSandbox,
) -> None:
    body = {
        "SignedSystemToken": "x",
        "ApplicationToken": sandbox.token,
        "ContextIdentifier": "Cust12345",
        "ReturnTokenType": "JWT",
    }
    answer = requests.post(
        f"{sandbox.url}/Login/api/PartnerSystemUser/Authenticate", json=body, timeout=30
    )
    assert answer.status_code == 200
    assert set(answer.json()) == {"IsSuccessful", "Token", "ErrorMessage"}


def test_section_1_tenant_status_example_shape(sandbox: RunningSandbox) -> None:
    state = requests.get(f"{sandbox.url}/api/state/Cust12345", timeout=30).json()
    assert set(state) == {
        "ContextIdentifier",
        "Endpoint",
        "State",
        "IsRunning",
        "ValidUntil",
        "Api",
    }
    assert state["Api"] == state["Endpoint"] + "/api"


def test_concurrent_creates_get_distinct_ids_and_distinct_updated_dates(api: Any) -> None:
    def create(n: int) -> dict[str, Any]:
        body: dict[str, Any] = api("POST", "Contact", json={"Name": f"Parallell {n}"}).json()
        return body

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(create, range(40)))
    assert len({c["ContactId"] for c in created}) == 40
    assert len({c["UpdatedDate"] for c in created}) == 40


def test_docs_example_category_one_of_restricts_on_the_id_and_shows_the_name(api: Any) -> None:
    vendor = api(
        "POST",
        "Contact",
        json={"Name": "Lena Trevare AS", "Number2": "10033", "Category": {"Id": 3}},
    )
    assert vendor.json()["Category"] == {"Id": 3, "Value": "Vendor", "Tooltip": "Vendor"}
    params = {"$select": "name,category,number", "$filter": "category oneOf (3)"}
    rows = api("GET", "Contact", params=params).json()["value"]
    assert [{k: r[k] for k in ("name", "category", "number")} for r in rows] == [
        {"name": "Lena Trevare AS", "category": "Vendor", "number": "10033"}
    ]
    unknown = api("POST", "Contact", json={"Name": "X", "Category": {"Id": 99}})
    assert (unknown.status_code, unknown.json()["ErrorMessage"]) == (
        400,
        "Category id 99 not found",
    )


def test_auth_docs_example_mdo_list_request(api: Any) -> None:
    items = api("GET", "MDOList/category", params={"flat": "True"}).json()
    assert [item["Name"] for item in items] == ["Customer", "Prospect", "Vendor", "Partner"]
    assert set(items[0]) >= {"Id", "Name", "ToolTip", "Deleted", "Rank", "ChildItems"}
    countries = {item["Id"]: item["Name"] for item in api("GET", "MDOList/country").json()}
    assert countries[578] == "Norway"
    missing = api("GET", "MDOList/nosuchlist")
    assert (missing.status_code, missing.json()["ErrorType"]) == (404, "SoNotFoundException")
