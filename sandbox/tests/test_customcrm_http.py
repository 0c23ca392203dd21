"""The Customcrm server as a client sees it: statuses, headers and problem bodies over
real loopback HTTP, and nothing stored when a request is refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from sandbox.testing import RunningSandbox

PROBLEMS = "https://customcrm.example/problems/"


def _problem(response: requests.Response) -> dict[str, Any]:
    assert response.headers["Content-Type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


def test_a_wrong_token_gets_401_problem_and_a_bearer_challenge(crm: RunningSandbox) -> None:
    answer = requests.get(
        f"{crm.url}/api/v1/customers", headers={"Authorization": "Bearer nope"}, timeout=5
    )
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="customcrm"'
    assert _problem(answer) == {
        "type": PROBLEMS + "unauthorized",
        "title": "Unauthorized",
        "status": 401,
        "detail": "the bearer token is not valid",
    }


def test_malformed_json_gets_400_and_nothing_is_stored(
    crm: RunningSandbox, api: requests.Session
) -> None:
    answer = api.post(
        f"{crm.url}/api/v1/customers",
        data=b'{"name": "Fjord AS",',
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    problem = _problem(answer)
    assert (answer.status_code, problem["type"]) == (400, PROBLEMS + "malformed-request")
    assert problem["detail"].startswith("the body is not valid JSON: ")
    assert len(crm.records("customers")) == 3


def test_nan_is_not_a_json_number(crm: RunningSandbox, api: requests.Session) -> None:
    answer = api.post(
        f"{crm.url}/api/v1/products",
        data=b'{"sku": "X", "name": "Y", "unit_price": NaN}',
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert (answer.status_code, _problem(answer)["detail"]) == (
        400,
        "the body is not valid JSON: NaN is not a JSON number",
    )


def test_bad_fields_get_422_with_one_entry_per_field_and_nothing_is_stored(
    crm: RunningSandbox, api: requests.Session
) -> None:
    body = {"name": "x" * 201, "email": "not-an-email", "colour": "red", "country": "Norway"}
    answer = api.post(f"{crm.url}/api/v1/customers", json=body, timeout=5)
    assert answer.status_code == 422
    assert _problem(answer) == {
        "type": PROBLEMS + "validation-failed",
        "title": "Validation failed",
        "status": 422,
        "detail": "the body breaks the contract at: colour, country, email, name",
        "errors": [
            {"field": "colour", "message": "unknown field"},
            {"field": "country", "message": "must be an ISO 3166-1 alpha-2 code (e.g. NO)"},
            {"field": "email", "message": "must be an e-mail address"},
            {"field": "name", "message": "must be at most 200 characters"},
        ],
    }
    assert len(crm.records("customers")) == 3
    assert crm.requests()["writes"] == 0


def test_wrong_types_get_422(crm: RunningSandbox, api: requests.Session) -> None:
    body = {"sku": 12, "name": "Chair", "active": "yes"}
    answer = api.post(f"{crm.url}/api/v1/products", json=body, timeout=5)
    assert answer.status_code == 422
    assert _problem(answer)["errors"] == [
        {"field": "active", "message": 'must be boolean, not "yes"'},
        {"field": "sku", "message": "must be string, not 12"},
    ]


def test_a_contact_of_a_missing_customer_gets_422_unknown_reference(
    crm: RunningSandbox, api: requests.Session
) -> None:
    body = {"first_name": "Kari", "customer_id": "cus_999"}
    answer = api.post(f"{crm.url}/api/v1/contacts", json=body, timeout=5)
    problem = _problem(answer)
    assert (answer.status_code, problem["type"]) == (422, PROBLEMS + "unknown-reference")
    assert problem["errors"] == [
        {"field": "customer_id", "message": "no customer with id 'cus_999'"}
    ]
    assert all(c["first_name"] != "Kari" for c in crm.records("contacts"))


def test_a_body_that_is_not_json_gets_415(crm: RunningSandbox, api: requests.Session) -> None:
    answer = api.post(f"{crm.url}/api/v1/customers", data={"name": "Fjord"}, timeout=5)
    assert (answer.status_code, _problem(answer)["detail"]) == (
        415,
        "send Content-Type: application/json (got application/x-www-form-urlencoded)",
    )


def test_a_body_over_one_mebibyte_gets_413(crm: RunningSandbox, api: requests.Session) -> None:
    body = json.dumps({"name": "x" * (1024 * 1024)})
    answer = api.post(
        f"{crm.url}/api/v1/customers",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert (answer.status_code, _problem(answer)["type"]) == (413, PROBLEMS + "payload-too-large")


def test_an_unknown_query_parameter_gets_400_instead_of_a_wider_list(
    crm: RunningSandbox, api: requests.Session
) -> None:
    answer = api.get(f"{crm.url}/api/v1/customers", params={"updated_after": "2020"}, timeout=5)
    assert answer.status_code == 400
    assert _problem(answer)["errors"] == [
        {"field": "query.updated_after", "message": "unknown query parameter"}
    ]


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor is not one this server issued"),
        ({"updated_since": "yesterday"}, "updated_since must be an ISO-8601 date-time"),
        ({"limit": "0"}, "bad parameters: query.limit"),
        ({"include_deleted": "yes"}, "bad parameters: query.include_deleted"),
    ],
)
def test_bad_list_parameters_get_400(
    crm: RunningSandbox, api: requests.Session, params: dict[str, str], detail: str
) -> None:
    answer = api.get(f"{crm.url}/api/v1/customers", params=params, timeout=5)
    assert (answer.status_code, _problem(answer)["detail"]) == (400, detail)


def test_every_single_record_answer_carries_its_etag(
    crm: RunningSandbox, api: requests.Session
) -> None:
    created = api.post(f"{crm.url}/api/v1/customers", json={"name": "Fjord AS"}, timeout=5)
    record = created.json()
    url = f"{crm.url}/api/v1/customers/{record['id']}"
    assert created.status_code == 201
    assert created.headers["Location"] == f"/api/v1/customers/{record['id']}"
    assert created.headers["ETag"] == '"1"'
    assert api.get(url, timeout=5).headers["ETag"] == '"1"'
    patched = api.patch(url, json={"city": "Oslo"}, headers={"If-Match": '"1"'}, timeout=5)
    assert (patched.status_code, patched.headers["ETag"]) == (200, '"2"')
    deleted = api.delete(url, headers={"If-Match": '"2"'}, timeout=5)
    assert (deleted.status_code, deleted.headers["ETag"]) == (200, '"3"')


def test_a_stale_if_match_gets_412_with_the_current_etag(
    crm: RunningSandbox, api: requests.Session
) -> None:
    record = api.post(f"{crm.url}/api/v1/customers", json={"name": "Fjord AS"}, timeout=5).json()
    url = f"{crm.url}/api/v1/customers/{record['id']}"
    api.patch(url, json={"city": "Oslo"}, timeout=5)
    stale = api.patch(url, json={"city": "Bergen"}, headers={"If-Match": '"1"'}, timeout=5)
    assert stale.status_code == 412
    assert stale.headers["ETag"] == '"2"'
    assert _problem(stale)["detail"] == 'If-Match "1" does not match the current ETag "2"'
    assert api.get(url, timeout=5).json()["city"] == "Oslo"


def test_a_retried_post_with_the_same_idempotency_key_creates_one_record(
    crm: RunningSandbox, api: requests.Session
) -> None:
    headers = {"Idempotency-Key": "crmsync-7f3a"}
    body = {"name": "Fjord AS", "external_ids": {"crmsync": "7f3a"}}
    first = api.post(f"{crm.url}/api/v1/customers", json=body, headers=headers, timeout=5)
    again = api.post(f"{crm.url}/api/v1/customers", json=body, headers=headers, timeout=5)
    other = api.post(
        f"{crm.url}/api/v1/customers", json={"name": "Other"}, headers=headers, timeout=5
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert (other.status_code, _problem(other)["type"]) == (
        422,
        PROBLEMS + "idempotency-key-reused",
    )
    assert [c["name"] for c in crm.records("customers")].count("Fjord AS") == 1


def test_lookups_and_batch_reads_answer_in_one_call(
    crm: RunningSandbox, api: requests.Session
) -> None:
    seeded = crm.records("customers")
    digits_only = "".join(ch for ch in seeded[0]["org_number"] if ch.isdigit())
    found = api.get(f"{crm.url}/api/v1/customers", params={"org_number": digits_only}, timeout=5)
    assert [c["id"] for c in found.json()["items"]] == [seeded[0]["id"]]
    ids = ",".join([seeded[2]["id"], seeded[0]["id"], "cus_404"])
    batch = api.get(f"{crm.url}/api/v1/customers", params={"ids": ids}, timeout=5)
    assert sorted(c["id"] for c in batch.json()["items"]) == sorted(
        [seeded[0]["id"], seeded[2]["id"]]
    )
    wrong = api.get(f"{crm.url}/api/v1/products", params={"email": "a@b.no"}, timeout=5)
    assert (wrong.status_code, _problem(wrong)["detail"]) == (
        400,
        "bad parameters: query.email",
    )


def test_a_repeated_match_key_matches_any_of_its_values_in_one_call(
    crm: RunningSandbox, api: requests.Session
) -> None:
    seeded = [c for c in crm.records("contacts") if c["email"]][:3]
    emails = [seeded[0]["email"].upper(), f" {seeded[1]['email']} ", "nobody@example.no"]
    found = api.get(f"{crm.url}/api/v1/contacts", params={"email": emails}, timeout=5)
    assert sorted(c["id"] for c in found.json()["items"]) == sorted(
        [seeded[0]["id"], seeded[1]["id"]]
    )
    too_many = api.get(
        f"{crm.url}/api/v1/products", params={"sku": [f"S{n}" for n in range(101)]}, timeout=5
    )
    assert (too_many.status_code, _problem(too_many)["detail"]) == (
        400,
        "bad parameters: query.sku",
    )


def test_the_quote_line_feed_holds_every_quotes_lines_deleted_ones_too(
    crm: RunningSandbox, api: requests.Session
) -> None:
    quotes = crm.records("quotes")
    quote = next(q for q in quotes if q["lines"])
    line = quote["lines"][0]
    path = f"{crm.url}/api/v1/quotes/{quote['id']}/lines/{line['id']}"
    assert api.delete(path, timeout=5).status_code == 200
    live = api.get(f"{crm.url}/api/v1/quote-lines", params={"limit": 500}, timeout=5).json()
    with_deleted = {"limit": "500", "include_deleted": "true"}
    every = api.get(f"{crm.url}/api/v1/quote-lines", params=with_deleted, timeout=5).json()
    live_ids = {item["id"] for item in live["items"]}
    every_line = {(ln["id"], q["id"]) for q in quotes for ln in q["lines"]}
    assert {(item["id"], item["quote_id"]) for item in live["items"]} == every_line - {
        (line["id"], quote["id"])
    }
    assert line["id"] not in live_ids
    deleted = [item for item in every["items"] if item["id"] == line["id"]]
    assert [(item["quote_id"], item["deleted_at"] is not None) for item in deleted] == [
        (quote["id"], True)
    ]
    by_ids = api.get(f"{crm.url}/api/v1/quote-lines", params={"ids": line["id"]}, timeout=5)
    assert by_ids.json()["items"] == []  # deleted, and include_deleted is false by default


def test_counters_report_customcrm_routes_by_pattern_and_writes(
    crm: RunningSandbox, api: requests.Session
) -> None:
    record = api.post(f"{crm.url}/api/v1/customers", json={"name": "Fjord AS"}, timeout=5).json()
    api.get(f"{crm.url}/api/v1/customers/{record['id']}", timeout=5)
    api.patch(f"{crm.url}/api/v1/customers/{record['id']}", json={"city": "Oslo"}, timeout=5)
    api.get(f"{crm.url}/api/v1/quotes/quo_1/lines", timeout=5)
    counted = crm.requests()
    assert counted.pop("served_seconds") > 0
    assert counted == {
        "total": 4,
        "writes": 2,
        "peak_in_flight": 1,
        "by_route": {
            "GET /api/v1/customers/{id}": 1,
            "GET /api/v1/quotes/{id}/lines": 1,
            "PATCH /api/v1/customers/{id}": 1,
            "POST /api/v1/customers": 1,
        },
    }


def test_an_injected_429_is_a_problem_with_retry_after(
    crm: RunningSandbox, api: requests.Session
) -> None:
    crm.set_faults(rate_429=1, retry_after=3)
    answer = api.get(f"{crm.url}/api/v1/customers", timeout=5)
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "3"
    assert _problem(answer)["type"] == PROBLEMS + "rate-limited"


def test_an_unknown_path_is_a_404_problem(crm: RunningSandbox, api: requests.Session) -> None:
    answer = api.get(f"{crm.url}/api/v2/customers", timeout=5)
    assert (answer.status_code, _problem(answer)["type"]) == (404, PROBLEMS + "not-found")


def test_concurrent_retries_with_one_idempotency_key_create_one_record(
    crm: RunningSandbox, api: requests.Session
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def post(_: int) -> tuple[int, str]:
        answer = requests.post(
            f"{crm.url}/api/v1/customers",
            json={"name": "Racing AS"},
            headers={"Authorization": f"Bearer {crm.token}", "Idempotency-Key": "race-1"},
            timeout=10,
        )
        return answer.status_code, answer.json()["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = set(pool.map(post, range(16)))
    assert len(answers) == 1
    assert next(iter(answers))[0] == 201
    assert [c["name"] for c in crm.records("customers")].count("Racing AS") == 1


def test_paging_over_http_misses_nothing_while_another_client_edits(
    crm: RunningSandbox, api: requests.Session
) -> None:
    crm.reset(seed=12, seed_value=2)
    url = f"{crm.url}/api/v1/contacts"
    feed = {"limit": "5", "include_deleted": "true"}
    page = api.get(url, params=feed, timeout=5).json()
    seen = {c["id"]: c["version"] for c in page["items"]}
    everyone = [c["id"] for c in crm.records("contacts")]
    unseen = next(i for i in everyone if i not in seen)
    api.patch(f"{url}/{unseen}", json={"title": "Moved"}, timeout=5).raise_for_status()
    api.delete(f"{url}/{everyone[0]}", timeout=5).raise_for_status()
    cursor = page["next_cursor"]
    while cursor:
        page = api.get(url, params={**feed, "cursor": cursor}, timeout=5).json()
        seen.update({c["id"]: c["version"] for c in page["items"]})
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(everyone)
    assert (seen[unseen], seen[everyone[0]]) == (2, 2)


def test_a_create_whose_answer_was_lost_is_found_by_retrying_its_idempotency_key(
    crm: RunningSandbox, api: requests.Session
) -> None:
    headers = {"Idempotency-Key": "crmsync-lost-1"}
    body = {"name": "Lost Reply AS", "external_ids": {"crmsync": "lost-1"}}
    crm.set_faults(rate_drop_after_write=1)
    with pytest.raises(requests.ConnectionError):
        api.post(f"{crm.url}/api/v1/customers", json=body, headers=headers, timeout=5)
    crm.clear_faults()
    retried = api.post(f"{crm.url}/api/v1/customers", json=body, headers=headers, timeout=5)
    found = api.get(
        f"{crm.url}/api/v1/customers", params={"external_id": "crmsync:lost-1"}, timeout=5
    )
    assert retried.status_code == 201
    assert [c["id"] for c in found.json()["items"]] == [retried.json()["id"]]
