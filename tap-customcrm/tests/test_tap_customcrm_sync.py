"""tap-customcrm against the sandbox: order, incremental bookmarks, deletes, lines, faults."""

from __future__ import annotations

import contextlib
import io
from typing import Any

import pytest
from customcrm_client import CustomcrmClient, CustomcrmRejectedError, CustomcrmSystemicError
from sandbox.testing import RunningSandbox
from singer_sdk.exceptions import ConfigValidationError
from tap_customcrm.streams import QuotesStream
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


def test_tap_takes_quote_lines_from_the_quote_without_extra_requests(
    fresh_crm: RunningSandbox, tap_config: dict[str, Any], run_tap: Any
) -> None:
    output = run_tap(tap_config)
    lines = output.records["quote_lines"]
    expected = {(str(row["quote_id"]), str(row["id"])) for row in fresh_crm.records("quote_lines")}
    assert {(line["quote_id"], line["id"]) for line in lines} == expected
    assert lines, "the seed has no quote lines"
    assert all("lines" not in quote for quote in output.records["quotes"])
    routes = fresh_crm.requests()["by_route"]
    assert not [route for route in routes if "/lines" in route]


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
    for stream in ("contacts", "products", "quotes"):
        assert second.ids(stream) == [first.records[stream][-1]["id"]]


def test_tap_bookmarks_each_stream_by_updated_at(
    fresh_crm: RunningSandbox, tap_config: dict[str, Any], run_tap: Any
) -> None:
    output = run_tap(tap_config)
    bookmarks = output.state["bookmarks"]
    for stream in ("customers", "contacts", "products", "quotes"):
        assert bookmarks[stream]["replication_key"] == "updated_at"
        newest = max(record["updated_at"] for record in output.records[stream])
        assert bookmarks[stream]["replication_key_value"] == newest
    assert "partitions" not in bookmarks.get("quote_lines", {})


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
    lines_reads = fresh_crm.requests()["by_route"].get("GET /api/v1/quotes/{id}/lines")
    assert lines_reads == len(asked.records["quotes"])


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


def test_quotes_alone_hold_no_lines_in_memory_when_quote_lines_is_deselected(
    fresh_crm: RunningSandbox, tap_config: dict[str, Any]
) -> None:
    tap = TapCustomcrm(config=tap_config, parse_env_config=False)
    tap.streams["quote_lines"].selected = False
    with contextlib.redirect_stdout(io.StringIO()):
        tap.sync_all()

    quotes = tap.streams["quotes"]
    assert isinstance(quotes, QuotesStream)
    assert quotes.pending_lines == {}
