"""Archive/OData lists over real HTTP: row shape, filters, match-key lookups, paging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox.testing import RunningSandbox, running_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox("superoffice", seed=12, seed_value=3) as running:
        yield running


@pytest.fixture(scope="module")
def session(sandbox: RunningSandbox) -> Iterator[requests.Session]:
    with requests.Session() as client:
        client.headers["Authorization"] = f"Bearer {sandbox.token}"
        yield client


def _get(session: requests.Session, sandbox: RunningSandbox, path: str, **params: str) -> Any:
    response = session.get(f"{sandbox.url}/Cust12345/api/v1/{path}", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_rows_carry_primary_key_entity_name_and_camel_case_columns(
    session: requests.Session, sandbox: RunningSandbox
) -> None:
    page = _get(
        session,
        sandbox,
        "Person",
        **{"$select": "personId,firstName,personUpdatedDate,contactId", "$top": "1"},
    )
    assert page["odata.metadata"].endswith("/Cust12345/api/v1/Archive/$metadata")
    row = page["value"][0]
    assert list(row) == [
        "PrimaryKey",
        "EntityName",
        "personId",
        "firstName",
        "personUpdatedDate",
        "contactId",
    ]
    assert row["EntityName"] == "person"
    assert row["PrimaryKey"] == row["personId"]


def test_person_archive_finds_a_person_by_email_ignoring_case(
    session: requests.Session, sandbox: RunningSandbox
) -> None:
    person = sandbox.records("persons")[3]
    email = person["Emails"][0]["Value"]
    page = _get(
        session,
        sandbox,
        "Person",
        **{
            "$select": "personId,email/emailAddress",
            "$filter": f"email/emailAddress eq '{email.upper()}'",
        },
    )
    assert [row["personId"] for row in page["value"]] == [person["_id"]]


def test_contact_archive_finds_companies_by_org_number_and_by_name(
    session: requests.Session, sandbox: RunningSandbox
) -> None:
    contact = sandbox.records("contacts")[2]
    by_number = _get(
        session,
        sandbox,
        "Contact",
        **{"$select": "contactId,orgnr,name", "$filter": f"orgnr eq '{contact['OrgNr']}'"},
    )
    assert [row["contactId"] for row in by_number["value"]] == [contact["_id"]]
    name = contact["Name"].replace("\\", "\\\\").replace("'", "\\'")
    by_name = _get(
        session, sandbox, "Contact", **{"$select": "contactId", "$filter": f"name eq '{name}'"}
    )
    assert contact["_id"] in [row["contactId"] for row in by_name["value"]]


def test_product_archive_finds_a_product_by_code_and_erp_key(
    session: requests.Session, sandbox: RunningSandbox
) -> None:
    product = sandbox.records("products")[0]
    for column in ("code", "erpProductKey"):
        page = _get(
            session,
            sandbox,
            "Product",
            **{
                "$select": f"productId,{column}",
                "$filter": f"{column} eq '{product['Code'].lower()}'",
            },
        )
        assert [row["productId"] for row in page["value"]] == [product["_id"]]


def test_person_archive_shows_the_persons_postal_address_as_their_address(
    session: requests.Session, sandbox: RunningSandbox
) -> None:
    person_id = sandbox.records("persons")[1]["_id"]
    postal = {"Address1": "Storgata 1", "Zipcode": "0155", "City": "Oslo"}
    response = session.patch(
        f"{sandbox.url}/Cust12345/api/v1/Person/{person_id}",
        json={"Address": {"Postal": postal}},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    page = _get(
        session,
        sandbox,
        "Person",
        **{
            "$select": "personId,personAddress/line1,personAddress/zip,personAddress/city",
            "$filter": f"personId eq {person_id}",
        },
    )
    row = page["value"][0]
    assert (row["personAddress/line1"], row["personAddress/zip"], row["personAddress/city"]) == (
        "Storgata 1",
        "0155",
        "Oslo",
    )


def test_after_time_includes_the_boundary_record(
    session: requests.Session, sandbox: RunningSandbox
) -> None:
    contacts = sandbox.records("contacts")
    boundary = sorted(contacts, key=lambda c: c["_updated"])[5]
    page = _get(
        session,
        sandbox,
        "Contact",
        **{
            "$select": "contactId,updatedDate",
            "$filter": f"updatedDate afterTime '{boundary['_updated']}'",
            "$orderby": "updatedDate,contactId",
        },
    )
    assert page["value"][0]["contactId"] == boundary["_id"]
    assert len(page["value"]) == len(contacts) - 5


def test_paging_with_order_by_updated_date_and_id_visits_every_row_once(
    session: requests.Session, sandbox: RunningSandbox
) -> None:
    url: str | None = (
        f"{sandbox.url}/Cust12345/api/v1/Person?$select=personId,personUpdatedDate&$orderby=personUpdatedDate,personId&$top=7"
    )
    seen: list[int] = []
    stamps: list[str] = []
    while url:
        page = session.get(url, timeout=30).json()
        seen += [row["personId"] for row in page["value"]]
        stamps += [row["personUpdatedDate"] for row in page["value"]]
        url = page["odata.nextLink"]
    assert sorted(seen) == sorted(p["_id"] for p in sandbox.records("persons"))
    assert len(seen) == len(set(seen))
    assert stamps == sorted(stamps)


def test_top_zero_returns_no_rows_and_no_next_link(
    session: requests.Session, sandbox: RunningSandbox
) -> None:
    page = _get(session, sandbox, "Contact", **{"$top": "0"})
    assert (page["value"], page["odata.nextLink"]) == ([], None)


def test_next_link_is_null_on_the_last_page(
    session: requests.Session, sandbox: RunningSandbox
) -> None:
    page = _get(session, sandbox, "Contact", **{"$top": "1000"})
    assert page["odata.nextLink"] is None


def test_or_and_parentheses_combine_conditions(
    session: requests.Session, sandbox: RunningSandbox
) -> None:
    page = _get(
        session,
        sandbox,
        "Contact",
        **{
            "$select": "contactId",
            "$filter": "(contactId eq 1 or contactId eq 3) and contactId ne 3",
        },
    )
    assert [row["contactId"] for row in page["value"]] == [1]
    listed = _get(
        session, sandbox, "Contact", **{"$select": "contactId", "$filter": "contactId oneOf (2,4)"}
    )
    assert [row["contactId"] for row in listed["value"]] == [2, 4]


def test_sale_archive_shows_the_quote_of_each_sale(
    session: requests.Session, sandbox: RunningSandbox
) -> None:
    page = _get(
        session,
        sandbox,
        "Archive/Sale",
        **{"$select": "saleId,hasQuote,quote/quoteId,updatedDate", "$orderby": "PrimaryKey asc"},
    )
    assert page["value"]
    assert all(row["hasQuote"] is True and row["quote/quoteId"] for row in page["value"])


@pytest.mark.parametrize(
    ("params", "status", "error_type", "message"),
    [
        (
            {"$filter": "name eq 'x"},
            400,
            "ArchiveQueryException",
            "Malformed $filter: unexpected character at position 9",
        ),
        (
            {"$filter": "nosuch eq 1"},
            400,
            "ArchiveQueryException",
            "Unknown column 'nosuch' in $filter",
        ),
        (
            {"$select": "name;drop"},
            400,
            "ArchiveQueryException",
            "Unknown column 'name;drop' in $select",
        ),
        (
            {"$orderby": "deletedDate"},
            400,
            "ArchiveQueryException",
            "Column 'deletedDate' cannot be used in $orderby",
        ),
        ({"$top": "-1"}, 400, "ArgumentException", "$top must be a non-negative integer, got '-1'"),
        ({"$skip": "x"}, 400, "ArgumentException", "$skip must be a non-negative integer, got 'x'"),
    ],
)
def test_bad_query_options_answer_400_with_the_error_body(
    session: requests.Session,
    sandbox: RunningSandbox,
    params: dict[str, str],
    status: int,
    error_type: str,
    message: str,
) -> None:
    response = session.get(f"{sandbox.url}/Cust12345/api/v1/Contact", params=params, timeout=30)
    assert response.status_code == status
    body = response.json()
    assert (body["Error"], body["ErrorType"], body["ErrorMessage"]) == (True, error_type, message)


def test_unknown_archive_provider_answers_404(
    session: requests.Session, sandbox: RunningSandbox
) -> None:
    response = session.get(f"{sandbox.url}/Cust12345/api/v1/Archive/Dynamic", timeout=30)
    assert response.status_code == 404
    assert response.json()["ErrorMessage"] == "Archive provider 'Dynamic' not found"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=80))
def test_no_filter_text_makes_the_server_answer_500(
    session: requests.Session, sandbox: RunningSandbox, text: str
) -> None:
    response = session.get(
        f"{sandbox.url}/Cust12345/api/v1/Person", params={"$filter": text, "$top": "1"}, timeout=30
    )
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert response.json()["ErrorType"] == "ArchiveQueryException"


def test_sale_archive_gives_one_row_per_alternative_when_alternative_columns_are_selected(
    session: requests.Session, sandbox: RunningSandbox
) -> None:
    alternative_columns = ("quoteAlternativeId", "totalPrice", "quoteline/updatedDate")
    select = "saleId,quote/version/quoteVersionId," + ",".join(
        f"quote/version/alternative/{column}" for column in alternative_columns
    )
    rows = _get(session, sandbox, "Archive/Sale", **{"$select": select})["value"]
    alternatives = sandbox.records("quote_alternatives")
    assert sorted(row["quote/version/alternative/quoteAlternativeId"] for row in rows) == sorted(
        a["_id"] for a in alternatives
    )
    by_id = {a["_id"]: a for a in alternatives}
    for row in rows:
        alternative = by_id[row["quote/version/alternative/quoteAlternativeId"]]
        assert row["quote/version/alternative/totalPrice"] == alternative["TotalPrice"]
        assert row["quote/version/alternative/quoteline/updatedDate"] is not None
    plain = _get(session, sandbox, "Archive/Sale", **{"$select": "saleId"})["value"]
    assert len(plain) == len(sandbox.records("sales"))
