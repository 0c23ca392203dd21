"""`create_many` against the Customcrm sandbox over loopback HTTP: order, splitting into
requests of `MAX_BATCH`, per-item rejections as `create` raises them, and retries."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from customcrm_client import (
    MAX_BATCH,
    ClientSettings,
    CustomcrmClient,
    CustomcrmRejectedError,
    CustomcrmSystemicError,
    RetryPolicy,
)
from sandbox.testing import RunningSandbox


def _client(crm: RunningSandbox, **retry: Any) -> CustomcrmClient:
    settings = ClientSettings.from_config({"api_url": crm.url, "api_token": crm.token})
    return CustomcrmClient(settings, retry=RetryPolicy(**retry) if retry else None)


@pytest.fixture
def client(crm: RunningSandbox) -> CustomcrmClient:
    return _client(crm)


def _batch_path(client: CustomcrmClient, resource: str) -> str:
    return client.settings.path(resource) + "/batch"


def test_create_many_answers_records_and_rejections_in_the_order_of_the_items(
    crm: RunningSandbox, client: CustomcrmClient
) -> None:
    bad = {"name": "", "email": "not-an-email"}
    items = [({"name": "Fjord AS"}, "c-1"), (bad, "c-2"), ({"name": "Vik AS"}, "c-3")]

    created, refused, other = client.create_many(_batch_path(client, "customers"), items)

    assert isinstance(created, dict)
    assert isinstance(other, dict)
    assert (created["name"], other["name"]) == ("Fjord AS", "Vik AS")
    assert isinstance(refused, CustomcrmRejectedError)
    with pytest.raises(CustomcrmRejectedError) as single:
        client.create(client.settings.path("customers"), bad, idempotency_key="c-2")
    assert type(refused) is type(single.value)
    assert (str(refused), refused.status, refused.problem) == (
        str(single.value),
        422,
        single.value.problem,
    )
    assert refused.problem.field_errors == {
        "email": "must be an e-mail address",
        "name": "must be at least 1 character(s)",
    }
    stored = {row["id"]: row for row in crm.records("customers")}
    assert stored[created["id"]] == created
    assert stored[other["id"]] == other


def test_create_many_sends_250_items_in_three_requests_and_keeps_their_order(
    crm: RunningSandbox, client: CustomcrmClient
) -> None:
    items = [({"sku": f"LOAD-{n}", "name": f"Chair {n}"}, f"p-{n}") for n in range(250)]

    answers = client.create_many(_batch_path(client, "products"), items)

    assert [answer["sku"] for answer in answers if isinstance(answer, dict)] == [
        f"LOAD-{n}" for n in range(250)
    ]
    assert len({answer["id"] for answer in answers if isinstance(answer, dict)}) == 250
    requests = crm.requests()
    assert requests["by_route"] == {"POST /api/v1/products/batch": -(-250 // MAX_BATCH)}
    assert requests["writes"] == 3


def test_create_many_of_nothing_sends_nothing(crm: RunningSandbox, client: CustomcrmClient) -> None:
    assert client.create_many(_batch_path(client, "customers"), []) == []
    assert crm.requests()["total"] == 0


def test_create_many_puts_quote_lines_on_the_quote_each_names(
    crm: RunningSandbox, client: CustomcrmClient
) -> None:
    quotes = client.create_many(
        _batch_path(client, "quotes"),
        [({"customer_id": "cus_1", "title": f"Offer {n}"}, f"q-{n}") for n in (1, 2)],
    )
    first, second = (quote["id"] for quote in quotes if isinstance(quote, dict))
    lines = [
        ({"quote_id": first, "description": "A"}, "l-1"),
        ({"quote_id": "quo_999", "description": "B"}, "l-2"),
        ({"quote_id": second, "description": "C"}, "l-3"),
    ]

    answers = client.create_many(_batch_path(client, "quote-lines"), lines)

    assert [a["quote_id"] if isinstance(a, dict) else a.status for a in answers] == [
        first,
        404,
        second,
    ]
    unknown_quote_lines = client.settings.path("quotes") + "/quo_999/lines"
    with pytest.raises(CustomcrmRejectedError) as single:
        client.create(unknown_quote_lines, {"description": "B"}, idempotency_key="l-2")
    assert str(answers[1]) == str(single.value)


def test_create_many_retries_a_503_and_creates_each_record_once(
    crm: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    crm.set_faults(rate_5xx=1, seed=3)  # seed 3 draws a 503 first
    client = _client(crm, max_retries=2, sleep=lambda _: crm.clear_faults())
    items = [({"name": f"Retried {n} AS"}, f"r-{n}") for n in range(3)]

    with caplog.at_level(logging.WARNING, logger="customcrm_client.retry"):
        answers = client.create_many(_batch_path(client, "customers"), items)

    assert [a["name"] for a in answers if isinstance(a, dict)] == [
        f"Retried {n} AS" for n in range(3)
    ]
    assert "POST /api/v1/customers/batch failed (503 " in caplog.text
    assert crm.requests()["by_route"] == {"POST /api/v1/customers/batch": 2}
    names = [row["name"] for row in crm.records("customers")]
    assert all(names.count(f"Retried {n} AS") == 1 for n in range(3))


def test_a_batch_whose_answer_was_lost_is_retried_without_creating_twice(
    crm: RunningSandbox,
) -> None:
    crm.set_faults(rate_drop_after_write=1)
    client = _client(crm, max_retries=2, sleep=lambda _: crm.clear_faults())
    items = [({"sku": f"LOST-{n}", "name": "Lamp"}, f"lost-{n}") for n in range(3)]

    answers = client.create_many(_batch_path(client, "products"), items)

    stored = [row for row in crm.records("products") if row["sku"].startswith("LOST-")]
    assert sorted(a["id"] for a in answers if isinstance(a, dict)) == sorted(
        row["id"] for row in stored
    )
    assert len(stored) == 3
    assert crm.faults()["injected"]["drop_after_write"] == 1


def test_create_many_with_a_refused_token_is_systemic(crm: RunningSandbox) -> None:
    settings = ClientSettings.from_config({"api_url": crm.url, "api_token": "wrong"})
    client = CustomcrmClient(settings)
    with pytest.raises(CustomcrmSystemicError, match="refused the credentials: 401 "):
        client.create_many(_batch_path(client, "customers"), [({"name": "Nope AS"}, "n-1")])
    assert crm.requests()["writes"] == 0
