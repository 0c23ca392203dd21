"""The client against the Customcrm sandbox over loopback HTTP: paging, batching, faults."""

from __future__ import annotations

import pytest
from customcrm_client import (
    ClientSettings,
    CustomcrmClient,
    CustomcrmRejectedError,
    CustomcrmSystemicError,
    RetryPolicy,
)
from sandbox.testing import RunningSandbox


@pytest.fixture
def client(crm: RunningSandbox) -> CustomcrmClient:
    settings = ClientSettings.from_config(
        {"api_url": crm.url, "api_token": crm.token, "backoff_base": 0.01, "max_retries": 8}
    )
    return CustomcrmClient(settings)


def test_list_pages_follows_the_cursor_to_the_end(
    crm: RunningSandbox, client: CustomcrmClient
) -> None:
    pages = list(client.list_pages("contacts", {"limit": 3}))

    ids = [item["id"] for page in pages for item in page]
    assert sorted(ids) == sorted(
        row["id"] for row in crm.records("contacts") if not row["deleted_at"]
    )
    assert all(len(page) <= 3 for page in pages)
    assert crm.requests()["by_route"]["GET /api/v1/contacts"] == len(pages)


def test_read_matching_asks_for_100_match_keys_per_request(
    crm: RunningSandbox, client: CustomcrmClient
) -> None:
    emails = [row["email"] for row in crm.records("contacts") if row["email"]]
    unknown = [f"nobody{n}@example.no" for n in range(150)]

    found = client.read_matching("contacts", "email", [e.upper() for e in emails] + unknown)

    assert sorted(item["email"] for item in found) == sorted(emails)
    wanted = len(set(emails) | set(unknown))
    assert crm.requests()["by_route"]["GET /api/v1/contacts"] == -(-wanted // 100)


def test_read_many_asks_for_at_most_100_ids_at_a_time(
    crm: RunningSandbox, client: CustomcrmClient
) -> None:
    known = [row["id"] for row in crm.records("customers")]
    unknown = [f"cus_{n}" for n in range(1000, 1150)]

    found = client.read_many("customers", [*known, *unknown, known[0]])

    assert sorted(item["id"] for item in found) == sorted(known)
    assert crm.requests()["by_route"]["GET /api/v1/customers"] == 2


def test_client_retries_through_429_5xx_and_dropped_connections(
    crm: RunningSandbox, client: CustomcrmClient
) -> None:
    crm.set_faults(rate_429=0.3, rate_5xx=0.3, rate_drop=0.2, retry_after=0, seed=3)

    for _ in range(6):
        assert client.list_all("products", {"limit": 50})

    injected = crm.faults()["injected"]
    assert injected["429"] > 0
    assert injected["5xx"] > 0
    assert injected["drop"] > 0


def test_client_waits_as_long_as_retry_after_says(crm: RunningSandbox) -> None:
    waits: list[float] = []
    settings = ClientSettings.from_config({"api_url": crm.url, "api_token": crm.token})
    client = CustomcrmClient(settings, retry=RetryPolicy(max_retries=1, sleep=waits.append))
    crm.set_faults(rate_429=1.0, retry_after=7)

    with pytest.raises(CustomcrmSystemicError, match=r"failed after 2 tries: 429 "):
        client.list_all("products")
    assert waits == [7.0]


def test_client_gives_up_on_a_dead_server_with_a_systemic_error() -> None:
    settings = ClientSettings.from_config(
        {"api_url": "http://127.0.0.1:9", "api_token": "t", "max_retries": 1, "backoff_base": 0}
    )
    with pytest.raises(
        CustomcrmSystemicError,
        match=r"^Customcrm GET /api/v1/customers failed after 2 tries: ConnectionError$",
    ):
        CustomcrmClient(settings).list_all("customers")


def test_client_reports_a_bad_query_parameter_in_the_apis_words(client: CustomcrmClient) -> None:
    with pytest.raises(CustomcrmRejectedError) as caught:
        client.list_all("customers", {"limit": 9999})
    assert caught.value.status == 400
    assert "limit" in caught.value.reason
