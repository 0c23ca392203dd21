"""Batch create over real loopback HTTP: every item answers exactly as its own single POST
would (record, problem, idempotency key), and only a malformed batch is refused whole."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from sandbox.testing import RunningSandbox

PROBLEMS = "https://customcrm.example/problems/"


def _batch(
    crm: RunningSandbox, api: requests.Session, path: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    answer = api.post(f"{crm.url}{path}/batch", json={"items": items}, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    results: list[dict[str, Any]] = answer.json()["results"]
    assert len(results) == len(items)
    return results


def _single(
    crm: RunningSandbox, api: requests.Session, path: str, body: Any, key: str | None = None
) -> requests.Response:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return api.post(f"{crm.url}{path}", json=body, headers=headers, timeout=5)


def _problem(response: requests.Response) -> dict[str, Any]:
    assert response.headers["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def test_a_batch_creates_every_record_readable_afterwards_in_one_write(
    crm: RunningSandbox, api: requests.Session
) -> None:
    items = [
        {"idempotency_key": f"load-{n}", "record": {"name": f"Fjord {n} AS", "city": "Oslo"}}
        for n in range(5)
    ]

    results = _batch(crm, api, "/api/v1/customers", items)

    assert [r["status"] for r in results] == [201] * 5
    assert [r["record"]["name"] for r in results] == [f"Fjord {n} AS" for n in range(5)]
    for result in results:
        read = api.get(f"{crm.url}/api/v1/customers/{result['record']['id']}", timeout=5)
        assert read.json() == result["record"]
    assert len(crm.records("customers")) == 3 + 5
    assert crm.requests()["by_route"]["POST /api/v1/customers/batch"] == 1
    assert crm.requests()["writes"] == 1


def test_refused_items_get_their_single_posts_problem_and_the_others_are_created(
    crm: RunningSandbox, api: requests.Session
) -> None:
    bad_fields = {"first_name": "", "email": "not-an-email"}
    unknown_customer = {"first_name": "Kari", "customer_id": "cus_999"}
    items = [
        {"record": {"first_name": "Ola"}},
        {"record": bad_fields},
        {"record": unknown_customer},
        {"idempotency_key": "two words", "record": {"first_name": "Per"}},
        {"record": {"first_name": "Eva", "customer_id": "cus_1"}},
    ]

    results = _batch(crm, api, "/api/v1/contacts", items)

    assert [r["status"] for r in results] == [201, 422, 422, 400, 201]
    assert results[1]["problem"] == _problem(_single(crm, api, "/api/v1/contacts", bad_fields))
    assert results[2]["problem"]["type"] == PROBLEMS + "unknown-reference"
    assert results[2]["problem"] == _problem(
        _single(crm, api, "/api/v1/contacts", unknown_customer)
    )
    refused_key = _single(crm, api, "/api/v1/contacts", {"first_name": "Per"}, "two words")
    assert results[3]["problem"] == _problem(refused_key)
    created = {c["first_name"] for c in crm.records("contacts")}
    assert {"Ola", "Eva"} <= created
    assert not {"Kari", "Per", ""} & created


def test_a_repeated_batch_creates_nothing_new_and_answers_the_same_records(
    crm: RunningSandbox, api: requests.Session
) -> None:
    items = [
        {"idempotency_key": f"prd-{n}", "record": {"sku": f"S-{n}", "name": "Chair"}}
        for n in range(3)
    ]
    first = _batch(crm, api, "/api/v1/products", items)
    again = _batch(crm, api, "/api/v1/products", items)
    other_body = [{"idempotency_key": "prd-1", "record": {"sku": "S-1", "name": "Table"}}]
    reused = _batch(crm, api, "/api/v1/products", other_body)

    assert again == first
    assert [r["status"] for r in again] == [201] * 3
    single_reuse = _single(crm, api, "/api/v1/products", other_body[0]["record"], "prd-1")
    assert reused == [{"status": 422, "problem": _problem(single_reuse)}]
    assert reused[0]["problem"]["type"] == PROBLEMS + "idempotency-key-reused"
    assert sorted(p["sku"] for p in crm.records("products") if p["sku"].startswith("S-")) == [
        "S-0",
        "S-1",
        "S-2",
    ]


def test_a_key_names_one_create_whether_sent_alone_or_in_a_batch(
    crm: RunningSandbox, api: requests.Session
) -> None:
    body = {"name": "Once AS", "external_ids": {"crmsync": "once"}}
    single = _single(crm, api, "/api/v1/customers", body, "once-1").json()
    in_batch = _batch(
        crm, api, "/api/v1/customers", [{"idempotency_key": "once-1", "record": body}]
    )
    later = {"name": "Later AS"}
    batched_first = _batch(
        crm, api, "/api/v1/customers", [{"idempotency_key": "later-1", "record": later}]
    )
    single_after = _single(crm, api, "/api/v1/customers", later, "later-1")

    assert in_batch == [{"status": 201, "record": single}]
    assert (single_after.status_code, single_after.json()) == (201, batched_first[0]["record"])
    names = [c["name"] for c in crm.records("customers")]
    assert (names.count("Once AS"), names.count("Later AS")) == (1, 1)


def test_one_key_twice_in_a_batch_is_one_create(crm: RunningSandbox, api: requests.Session) -> None:
    item = {"idempotency_key": "twice", "record": {"name": "Twice AS"}}
    results = _batch(crm, api, "/api/v1/customers", [item, item])
    assert results[0] == results[1]
    assert [c["name"] for c in crm.records("customers")].count("Twice AS") == 1


def test_quote_lines_go_to_the_quote_each_names_and_answer_as_their_single_post(
    crm: RunningSandbox, api: requests.Session
) -> None:
    quotes = _batch(
        crm,
        api,
        "/api/v1/quotes",
        [{"record": {"customer_id": "cus_1", "title": f"Offer {n}"}} for n in (1, 2)],
    )
    first, second = (q["record"]["id"] for q in quotes)
    lines = [
        {"idempotency_key": "ln-1", "record": {"quote_id": first, "description": "A"}},
        {"idempotency_key": "ln-2", "record": {"quote_id": second, "description": "B"}},
        {"record": {"quote_id": "quo_999", "description": "C"}},
        {"record": {"description": "D"}},
        {"idempotency_key": "ln-3", "record": {"quote_id": first, "description": "E"}},
    ]

    results = _batch(crm, api, "/api/v1/quote-lines", lines)

    assert [r["status"] for r in results] == [201, 201, 404, 422, 201]
    assert [r["record"]["quote_id"] for r in results if r["status"] == 201] == [
        first,
        second,
        first,
    ]
    unknown_quote = _single(crm, api, "/api/v1/quotes/quo_999/lines", {"description": "C"})
    assert results[2]["problem"] == _problem(unknown_quote)
    assert results[3]["problem"] == {
        "type": PROBLEMS + "validation-failed",
        "title": "Validation failed",
        "status": 422,
        "detail": "the body breaks the contract at: quote_id",
        "errors": [{"field": "quote_id", "message": "is required"}],
    }
    read = {q: api.get(f"{crm.url}/api/v1/quotes/{q}", timeout=5).json() for q in (first, second)}
    assert [ln["description"] for ln in read[first]["lines"]] == ["A", "E"]
    assert [ln["description"] for ln in read[second]["lines"]] == ["B"]
    # The key's scope is the line's single POST: the same key there is the same line.
    replayed = _single(crm, api, f"/api/v1/quotes/{first}/lines", {"description": "A"}, "ln-1")
    assert (replayed.status_code, replayed.json()["id"]) == (201, results[0]["record"]["id"])


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, [{"field": "items", "message": "is required"}]),
        ({"items": []}, [{"field": "items", "message": "must have at least 1 item(s)"}]),
        (
            {"items": [{"record": {"name": f"N{n}"}} for n in range(101)]},
            [{"field": "items", "message": "must have at most 100 items"}],
        ),
        (
            {"items": {"record": {}}},
            [{"field": "items", "message": 'must be array, not {"record": {}}'}],
        ),
        (
            {"items": [{"record": {"name": "Fine"}}, "Fjord AS", {"record": ["Fjord AS"]}]},
            [
                {"field": "items.1", "message": 'must be object, not "Fjord AS"'},
                {"field": "items.2.record", "message": 'must be object, not ["Fjord AS"]'},
            ],
        ),
    ],
    ids=["no-items", "empty", "101-items", "not-a-list", "item-and-record-not-objects"],
)
def test_a_malformed_batch_is_refused_whole_with_422_and_creates_nothing(
    crm: RunningSandbox, api: requests.Session, body: dict[str, Any], errors: list[Any]
) -> None:
    answer = api.post(f"{crm.url}/api/v1/customers/batch", json=body, timeout=5)

    problem = _problem(answer)
    assert (answer.status_code, problem["type"]) == (422, PROBLEMS + "validation-failed")
    assert problem["errors"] == errors
    assert len(crm.records("customers")) == 3
    assert crm.requests()["writes"] == 0


def test_a_batch_body_that_is_not_json_gets_the_single_posts_400(
    crm: RunningSandbox, api: requests.Session
) -> None:
    broken = b'{"items": [{"record": {"name": "Fjord AS"}}'
    json_headers = {"Content-Type": "application/json"}
    batch = api.post(
        f"{crm.url}/api/v1/customers/batch", data=broken, headers=json_headers, timeout=5
    )
    single = api.post(f"{crm.url}/api/v1/customers", data=broken, headers=json_headers, timeout=5)
    assert batch.status_code == single.status_code == 400
    assert _problem(batch) == _problem(single)


def test_a_batch_with_a_wrong_token_gets_401_and_creates_nothing(crm: RunningSandbox) -> None:
    crm.clear_requests()
    answer = requests.post(
        f"{crm.url}/api/v1/quote-lines/batch",
        json={"items": [{"record": {"quote_id": "quo_1"}}]},
        headers={"Authorization": "Bearer nope"},
        timeout=5,
    )
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="customcrm"'
    assert _problem(answer)["type"] == PROBLEMS + "unauthorized"
    assert crm.requests()["writes"] == 0
