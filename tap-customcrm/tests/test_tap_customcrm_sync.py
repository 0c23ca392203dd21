"""tap-customcrm against the sandbox: order, incremental bookmarks, deletes, lines, faults."""

from __future__ import annotations

from typing import Any

import pytest
from customcrm_client import CustomcrmClient, CustomcrmRejectedError, CustomcrmSystemicError
from sandbox.testing import RunningSandbox
from singer_sdk.exceptions import ConfigValidationError
from tap_customcrm.tap import TapCustomcrm

STREAMS = ["customers", "contacts", "products", "quotes", "quote_lines"]


def api_ids(crm: RunningSandbox, collection: str, *, deleted: bool = True) -> set[str]:
    return {
        str(row["id"])
        for row in crm.records(collection)
        if deleted or row.get("deleted_at") is None
    }


def test_tap_emits_every_record_parents_first(
    fresh_crm: RunningSandbox, tap_config: dict[str, Any], run_tap: Any
) -> None:
    output = run_tap(tap_config)
    for stream in ("customers", "contacts", "products", "quotes"):
        assert set(output.ids(stream)) == api_ids(fresh_crm, stream)
        assert output.ids(stream), f"the seed has no {stream}"
    first_seen = [output.order.index(stream) for stream in STREAMS[:4]]
    assert first_seen == sorted(first_seen)


def test_tap_reads_every_quotes_lines_from_the_one_line_feed(
    fresh_crm: RunningSandbox, tap_config: dict[str, Any], run_tap: Any
) -> None:
    output = run_tap({**tap_config, "page_size": 500})
    lines = output.records["quote_lines"]
    expected = {(str(row["quote_id"]), str(row["id"])) for row in fresh_crm.records("quote_lines")}
    assert {(line["quote_id"], line["id"]) for line in lines} == expected
    assert lines, "the seed has no quote lines"
    assert all("lines" not in quote for quote in output.records["quotes"])
    routes = fresh_crm.requests()["by_route"]
    assert not [route for route in routes if "/lines" in route]
    assert routes["GET /api/v1/quote-lines"] == 1


def test_an_idle_run_costs_one_list_request_per_stream(
    fresh_crm: RunningSandbox, tap_config: dict[str, Any], run_tap: Any
) -> None:
    config = {**tap_config, "page_size": 500, "include_deleted_lines": True}
    first = run_tap(config)
    fresh_crm.clear_requests()

    idle = run_tap(config, state=first.state)

    assert fresh_crm.requests()["by_route"] == {
        "GET /api/v1/customers": 1,
        "GET /api/v1/contacts": 1,
        "GET /api/v1/products": 1,
        "GET /api/v1/quotes": 1,
        "GET /api/v1/quote-lines": 1,
    }
    for stream in STREAMS:  # only the inclusive boundary comes back
        assert idle.ids(stream) == [first.records[stream][-1]["id"]]


def test_tap_second_run_emits_only_changes_plus_the_inclusive_boundary(
    fresh_crm: RunningSandbox,
    tap_config: dict[str, Any],
    run_tap: Any,
    crm_client: CustomcrmClient,
) -> None:
    first = run_tap(tap_config)
    last_customer = first.records["customers"][-1]
    changed = first.records["customers"][0]
    crm_client.patch(
        f"/api/v1/customers/{changed['id']}", {"city": "Tromsø"}, version=changed["version"]
    )

    second = run_tap(tap_config, state=first.state)

    assert second.ids("customers") == [last_customer["id"], changed["id"]]
    assert second.records["customers"][-1]["city"] == "Tromsø"
    for stream in ("contacts", "products", "quotes", "quote_lines"):
        assert second.ids(stream) == [first.records[stream][-1]["id"]]


def test_tap_bookmarks_each_stream_by_updated_at(
    fresh_crm: RunningSandbox, tap_config: dict[str, Any], run_tap: Any
) -> None:
    output = run_tap(tap_config)
    bookmarks = output.state["bookmarks"]
    for stream in STREAMS:
        assert bookmarks[stream]["replication_key"] == "updated_at"
        newest = max(record["updated_at"] for record in output.records[stream])
        assert bookmarks[stream]["replication_key_value"] == newest
    assert "partitions" not in bookmarks["quote_lines"]


def test_tap_emits_soft_deleted_records_with_their_marker(
    fresh_crm: RunningSandbox,
    tap_config: dict[str, Any],
    run_tap: Any,
    crm_client: CustomcrmClient,
) -> None:
    victim = run_tap(tap_config).records["products"][0]
    crm_client.delete(f"/api/v1/products/{victim['id']}", version=victim["version"])

    output = run_tap(tap_config)
    deleted = [r for r in output.records["products"] if r["id"] == victim["id"]]
    assert len(deleted) == 1
    assert deleted[0]["deleted_at"] is not None

    hidden = run_tap({**tap_config, "include_deleted": False})
    assert victim["id"] not in hidden.ids("products")


def test_tap_reads_everything_through_injected_429_and_5xx(
    fresh_crm: RunningSandbox, tap_config: dict[str, Any], run_tap: Any
) -> None:
    calm = run_tap(tap_config)
    fresh_crm.set_faults(rate_429=0.2, rate_5xx=0.2, rate_drop=0.1, retry_after=0, seed=11)

    stormy = run_tap({**tap_config, "page_size": 2, "max_retries": 8})

    injected = fresh_crm.faults()["injected"]
    assert injected["429"] > 0
    assert injected["5xx"] > 0
    assert injected["drop"] > 0
    for stream in STREAMS:
        assert sorted(stormy.ids(stream)) == sorted(calm.ids(stream))


def test_tap_gives_up_with_a_systemic_error_when_faults_never_stop(
    fresh_crm: RunningSandbox, tap_config: dict[str, Any], run_tap: Any
) -> None:
    fresh_crm.set_faults(rate_5xx=1.0)
    with pytest.raises(CustomcrmSystemicError, match=r"failed after 3 tries: 50\d "):
        run_tap({**tap_config, "max_retries": 2})


def test_tap_stops_on_a_refused_token_without_showing_it(
    fresh_crm: RunningSandbox, tap_config: dict[str, Any], run_tap: Any
) -> None:
    with pytest.raises(CustomcrmSystemicError) as caught:
        run_tap({**tap_config, "api_token": "wrong-token-123"})
    assert str(caught.value).startswith("Customcrm refused the credentials: 401 ")
    assert "wrong-token-123" not in str(caught.value)


@pytest.mark.parametrize("page_size", [0, 501])
def test_tap_refuses_a_page_size_out_of_bounds(page_size: int) -> None:
    config = {"api_url": "http://127.0.0.1:9", "api_token": "t", "page_size": page_size}
    with pytest.raises(ConfigValidationError, match="Config validation failed"):
        TapCustomcrm(config=config, parse_env_config=False, validate_config=True)


def test_deleted_quote_lines_are_emitted_only_when_asked(
    fresh_crm: RunningSandbox,
    tap_config: dict[str, Any],
    run_tap: Any,
    crm_client: CustomcrmClient,
) -> None:
    first = run_tap(tap_config)
    line = first.records["quote_lines"][0]
    crm_client.delete(
        f"/api/v1/quotes/{line['quote_id']}/lines/{line['id']}", version=line["version"]
    )
    fresh_crm.clear_requests()

    quiet = run_tap(tap_config, state=first.state)
    asked = run_tap({**tap_config, "include_deleted_lines": True}, state=first.state)

    assert line["id"] not in quiet.ids("quote_lines")
    deleted = [r for r in asked.records["quote_lines"] if r["id"] == line["id"]]
    assert len(deleted) == 1
    assert deleted[0]["deleted_at"] is not None
    assert deleted[0]["quote_id"] == line["quote_id"]
    routes = fresh_crm.requests()["by_route"]
    assert "GET /api/v1/quotes/{id}/lines" not in routes
    assert routes["GET /api/v1/quote-lines"] == 2  # one per run, deleted lines or not


def test_start_date_limits_a_first_run(
    fresh_crm: RunningSandbox, tap_config: dict[str, Any], run_tap: Any
) -> None:
    future = run_tap({**tap_config, "start_date": "2999-01-01T00:00:00Z"})
    past = run_tap({**tap_config, "start_date": "2000-01-01T00:00:00Z"})

    assert sum(len(records) for records in future.records.values()) == 0
    assert set(past.ids("customers")) == api_ids(fresh_crm, "customers")


def test_a_wrong_path_prefix_stops_with_the_apis_404(
    fresh_crm: RunningSandbox, tap_config: dict[str, Any], run_tap: Any
) -> None:
    with pytest.raises(CustomcrmRejectedError, match=r"^404 ") as caught:
        run_tap({**tap_config, "path_prefix": "/api/v9"})
    assert caught.value.status == 404


def test_resource_paths_point_a_stream_elsewhere(
    fresh_crm: RunningSandbox, tap_config: dict[str, Any], run_tap: Any
) -> None:
    output = run_tap({**tap_config, "resource_paths": {"products": "/customers"}})

    assert output.ids("products") == output.ids("customers")
    assert fresh_crm.requests()["by_route"]["GET /api/v1/customers"] == 2
    assert "GET /api/v1/products" not in fresh_crm.requests()["by_route"]


def test_a_line_edited_after_the_bookmark_comes_through_with_its_quote(
    fresh_crm: RunningSandbox,
    tap_config: dict[str, Any],
    run_tap: Any,
    crm_client: CustomcrmClient,
) -> None:
    first = run_tap(tap_config)
    line = first.records["quote_lines"][0]
    path = f"/api/v1/quotes/{line['quote_id']}/lines/{line['id']}"
    crm_client.patch(path, {"quantity": 42}, version=line["version"])

    second = run_tap(tap_config, state=first.state)

    edited = [r for r in second.records["quote_lines"] if r["id"] == line["id"]]
    assert [r["quantity"] for r in edited] == [42]
    assert line["quote_id"] in second.ids("quotes")  # a line's change bumps its quote
