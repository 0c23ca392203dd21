"""Archive rows against entity rows: for every record, `archive_rows` must give exactly what
`rows` gives from the entity (the test that keeps the two in step), and `read_rows` must read
many ids with one archive request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox.testing import RunningSandbox, running_sandbox
from superoffice_client import SuperOfficeClient, archive_rows, connect, rows
from superoffice_client.archive_rows import COLUMNS, SOURCES, archive_row, read_rows
from superoffice_client.query import ArchiveQuery

ENTITY_ROWS: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]] = {
    "contacts": lambda entity, _: rows.contact_row(entity),
    "persons": lambda entity, _: rows.person_row(entity),
    "products": rows.product_row,
}


def _client(so: RunningSandbox, config_for: Callable[..., dict[str, Any]]) -> SuperOfficeClient:
    return connect(config_for(so, "basic"))


def _archive(client: SuperOfficeClient, stream: str) -> list[dict[str, Any]]:
    source = SOURCES[stream]
    query = ArchiveQuery(select=COLUMNS[stream], orderby=(f"{source.id_column} asc",), top=10000)
    return [row for page in client.archive(source.archive, query) for row in page]


def _assert_archive_rows_equal_entity_rows(client: SuperOfficeClient, stream: str) -> int:
    source = SOURCES[stream]
    checked = 0
    for row in _archive(client, stream):
        entity = client.get_json(f"{source.entity}/{int(row[source.id_column])}")
        expected = ENTITY_ROWS[stream](entity, row.get("updatedDate"))
        assert archive_row(stream, row) == expected
        checked += 1
    return checked


@pytest.mark.parametrize("world", [3, 11])
@pytest.mark.parametrize("stream", ["contacts", "persons", "products"])
def test_archive_row_equals_entity_row_for_every_seeded_record(
    world: int, stream: str, config_for: Callable[..., dict[str, Any]]
) -> None:
    with running_sandbox("superoffice", seed=6, seed_value=world) as so:
        checked = _assert_archive_rows_equal_entity_rows(_client(so, config_for), stream)
    assert checked >= 3


@pytest.fixture(scope="module")
def tenant() -> Iterator[RunningSandbox]:
    with running_sandbox("superoffice", seed=1, seed_value=1) as so:
        yield so


def _post(so: RunningSandbox, resource: str, body: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(
        f"{so.url}/Cust12345/api/v1/{resource}", json=body, auth=("admin", so.token), timeout=10
    )
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()
    return created


def _patch(so: RunningSandbox, path: str, body: dict[str, Any]) -> None:
    response = requests.patch(
        f"{so.url}/Cust12345/api/v1/{path}", json=body, auth=("admin", so.token), timeout=10
    )
    assert response.status_code == 200, response.text


texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
channels = st.lists(st.fixed_dictionaries({"Value": texts}), max_size=3)
countries = st.sampled_from([0, 578, 752, 826, 840])
postal = st.fixed_dictionaries({"Address1": texts, "Zipcode": texts, "City": texts})


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    person=st.fixed_dictionaries(
        {
            "Firstname": texts,
            "Lastname": texts,
            "Title": texts,
            "Emails": channels,
            "OfficePhones": channels,
            "MobilePhones": channels,
            "Country": st.builds(lambda i: {"CountryId": i}, countries),
        }
    ),
    address=postal,
    company=st.sampled_from([None, 1]),
)
def test_archive_row_equals_entity_row_for_generated_persons(
    tenant: RunningSandbox,
    config_for: Callable[..., dict[str, Any]],
    person: dict[str, Any],
    address: dict[str, Any],
    company: int | None,
) -> None:
    contact = {"ContactId": company} if company else None
    created = _post(tenant, "Person", {**person, "Contact": contact})
    # as the target writes an address: the postal part only
    _patch(tenant, f"Person/{created['PersonId']}", {"Address": {"Postal": address}})
    client = _client(tenant, config_for)

    found = read_rows(client, "persons", [created["PersonId"]])

    entity = client.get_json(f"Person/{created['PersonId']}")
    assert found == {created["PersonId"]: rows.person_row(entity)}


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    contact=st.fixed_dictionaries(
        {
            "Name": texts.filter(str.strip),
            "Department": texts,
            "OrgNr": texts,
            "Emails": channels,
            "Phones": channels,
            "Urls": channels,
            "Country": st.builds(lambda i: {"CountryId": i}, countries),
            "Address": st.builds(lambda p: {"Postal": p}, postal),
        }
    )
)
def test_archive_row_equals_entity_row_for_generated_companies(
    tenant: RunningSandbox, config_for: Callable[..., dict[str, Any]], contact: dict[str, Any]
) -> None:
    created = _post(tenant, "Contact", contact)
    client = _client(tenant, config_for)

    found = read_rows(client, "contacts", [created["ContactId"]])

    entity = client.get_json(f"Contact/{created['ContactId']}")
    assert found == {created["ContactId"]: rows.contact_row(entity)}


numbers = st.one_of(st.none(), st.integers(0, 10_000), st.floats(0, 10_000, allow_nan=False))


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    product=st.fixed_dictionaries(
        {
            "Name": texts.filter(str.strip),
            "Code": texts,
            "ERPProductKey": texts,
            "Description": texts,
            "UnitListPrice": numbers,
            "UnitCost": numbers,
            "VAT": numbers,
            "QuantityUnit": texts,
            "InAssortment": st.booleans(),
        }
    )
)
def test_archive_row_equals_entity_row_for_generated_products(
    tenant: RunningSandbox, config_for: Callable[..., dict[str, Any]], product: dict[str, Any]
) -> None:
    created = _post(tenant, "Product", product)
    client = _client(tenant, config_for)

    found = read_rows(client, "products", [created["ProductId"]])

    archived = _archive(client, "products")
    updated = next(r for r in archived if r["productId"] == created["ProductId"])["updatedDate"]
    entity = client.get_json(f"Product/{created['ProductId']}")
    assert found == {created["ProductId"]: rows.product_row(entity, updated)}


def test_read_rows_reads_many_persons_with_one_archive_request_per_chunk(
    config_for: Callable[..., dict[str, Any]],
) -> None:
    with running_sandbox("superoffice", seed=8, seed_value=4) as so:
        client = _client(so, config_for)
        ids = [p["PersonId"] for p in so.records("persons")]
        client.get_json("Person/default")  # the ticket/tenant look-ups, out of the count
        so.clear_requests()

        found = read_rows(client, "persons", [*ids, 999_999], chunk=10)

        calls = so.requests()
    assert sorted(found) == sorted(ids)  # the unknown id is absent
    chunks = -(-(len(ids) + 1) // 10)
    by_route = calls["by_route"]
    assert calls["total"] == chunks + 1, by_route  # + the entity GET of the missing id
    assert calls["writes"] == 0


def test_read_rows_reads_a_person_of_an_unmapped_country_by_entity(
    tenant: RunningSandbox,
    config_for: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = _client(tenant, config_for)
    created = _post(tenant, "Person", {"Firstname": "Ada", "Country": {"CountryId": 578}})
    monkeypatch.delitem(archive_rows.COUNTRY_CODES, 578)
    tenant.clear_requests()

    row = read_rows(client, "persons", [created["PersonId"]])[created["PersonId"]]

    assert row["country"] == "NO"  # from the entity's TwoLetterISOCountry
    assert tenant.requests()["total"] == 2  # the archive request, then the entity GET
