"""Incremental reads against the emulator: bookmarks, the inclusive boundary, edits while
paging, deleted records from the recycle archives, and what a run costs in API calls."""

from __future__ import annotations

import io
import json
import math
import time
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sandbox.testing import RunningSandbox
from superoffice_client import connect
from superoffice_client.feed import changes
from tap_superoffice.streams import KEYS_PER_LOOKUP
from tap_superoffice.tap import TapSuperOffice


def _sync(
    config: dict[str, Any], state: dict[str, Any] | None = None
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, Any]]:
    """Run the tap in-process: records per stream and the last state."""
    records: dict[str, list[dict[str, Any]]] = {}
    last_state: dict[str, Any] = {}
    for message in _messages(config, state):
        if message["type"] == "RECORD":
            records.setdefault(message["stream"], []).append(message["record"])
        elif message["type"] == "STATE":
            last_state = message["value"]
    return records, last_state


def _messages(config: dict[str, Any], state: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run the tap in-process: the Singer messages it writes."""
    out = io.StringIO()
    with redirect_stdout(out):
        TapSuperOffice(config=config, state=state or {}).sync_all()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _patch(so: RunningSandbox, path: str, body: dict[str, Any]) -> None:
    response = requests.patch(
        f"{so.url}/Cust12345/api/v1/{path}",
        json=body,
        auth=("admin", so.token),
        timeout=10,
    )
    response.raise_for_status()


def test_second_run_emits_only_changes_not_the_boundary_it_already_read(
    tenant: RunningSandbox, config: dict[str, Any]
) -> None:
    # afterTime compares to the second: give the bookmark a second of its own
    time.sleep(1.1)
    _patch(tenant, "Person/1", {"Title": "Bookmark"})
    first, state = _sync(config)
    time.sleep(1.1)
    _patch(tenant, "Person/2", {"Title": "Chief Sync Officer"})

    second, _ = _sync(config, state)

    assert len(first["persons"]) == len(tenant.records("persons"))
    # person 1 is listed again (afterTime is inclusive) but skipped: its version is in the state
    assert [p["personId"] for p in second["persons"]] == [2]
    assert second["persons"][0]["title"] == "Chief Sync Officer"
    assert state["bookmarks"]["persons"]["boundary_versions"]["versions"] == [
        [1, first["persons"][-1]["personUpdatedDate"]]
    ]


def test_a_record_edited_again_within_the_bookmarks_second_is_read_again(
    tenant: RunningSandbox, config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # every change from here on lands in one second, later than anything seeded
    frozen = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    monkeypatch.setattr(tenant.app.emulator.model.clock, "_now", lambda: frozen)
    _patch(tenant, "Person/1", {"Title": "First"})
    _, state = _sync(config)
    _patch(tenant, "Person/1", {"Title": "Second"})  # same second, new microseconds

    second, state = _sync(config, state)
    third, _ = _sync(config, state)

    assert [(p["personId"], p["title"]) for p in second["persons"]] == [(1, "Second")]
    assert "persons" not in third


def _api_calls(so: RunningSandbox) -> dict[str, int]:
    """Requests to the tenant's REST API by route (the login host's ticket and tenant-status
    calls, made once per process, left out)."""
    by_route: dict[str, int] = so.requests()["by_route"]
    return {route: n for route, n in by_route.items() if "/api/v1/" in route}


def test_an_idle_run_makes_one_list_request_per_stream_and_reads_nothing_else(
    tenant: RunningSandbox, config: dict[str, Any]
) -> None:
    first, state = _sync(config)
    tenant.clear_requests()

    second, _ = _sync(config, state)

    assert first["quote_alternatives"]
    assert first["quote_lines"]
    assert second == {}
    # contacts, persons, products, quote_alternatives (quote_lines only follow alternatives)
    assert _api_calls(tenant) == {
        "GET /{endpoint}/api/v1/Contact": 1,
        "GET /{endpoint}/api/v1/Person": 1,
        "GET /{endpoint}/api/v1/Product": 1,
        "GET /{endpoint}/api/v1/Archive/{provider}": 1,
    }


@pytest.mark.parametrize("one_second", [True, False])
def test_changed_persons_cost_list_requests_only(
    tenant: RunningSandbox,
    config: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    one_second: bool,
) -> None:
    page = 2
    config = {**config, "page_size": page}
    changed = [p["_id"] for p in tenant.records("persons")][:5]
    assert len(changed) == 5  # a short page at the end: ceil(5 / 2) requests
    time.sleep(1.1)  # the bookmark's second holds only person 1, which changes again below
    _patch(tenant, f"Person/{changed[0]}", {"Title": "Bookmark"})
    _, state = _sync(config)
    time.sleep(1.1)
    if one_second:  # all edits within one second: paged with $skip inside that second
        frozen = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
        monkeypatch.setattr(tenant.app.emulator.model.clock, "_now", lambda: frozen)
    for person_id in changed:
        _patch(tenant, f"Person/{person_id}", {"Title": f"Edited {person_id}"})
    tenant.clear_requests()

    second, _ = _sync(config, state)

    assert sorted(p["personId"] for p in second["persons"]) == changed
    calls = _api_calls(tenant)
    assert calls.pop("GET /{endpoint}/api/v1/Person") == math.ceil(len(changed) / page)
    assert not [route for route in calls if "{record_id}" in route]  # no entity GETs


def test_an_edited_alternative_is_read_again_with_its_sales_new_version(
    tenant: RunningSandbox, config: dict[str, Any]
) -> None:
    first, state = _sync(config)
    alternative = first["quote_alternatives"][0]
    _patch(tenant, f"Sale/{alternative['saleId']}", {"Heading": "Renamed sale"})

    second, _ = _sync(config, state)

    again = next(
        q
        for q in second["quote_alternatives"]
        if q["quoteAlternativeId"] == alternative["quoteAlternativeId"]
    )
    assert again["heading"] == "Renamed sale"
    assert again["updatedDate"] > alternative["updatedDate"]
    assert {line["quoteAlternativeId"] for line in second["quote_lines"]} >= {
        alternative["quoteAlternativeId"]
    }


def test_deleted_persons_come_from_the_recycle_archive_when_asked(
    tenant: RunningSandbox, config: dict[str, Any]
) -> None:
    requests.delete(
        f"{tenant.url}/Cust12345/api/v1/Person/2", auth=("admin", tenant.token), timeout=10
    ).raise_for_status()

    without, _ = _sync(config)
    with_deleted, _ = _sync({**config, "include_deleted": True})

    assert 2 not in {p["personId"] for p in without["persons"]}
    marker = [p for p in with_deleted["persons"] if p.get("deleted")]
    assert [(p["personId"], p["deleted"]) for p in marker] == [(2, True)]
    assert marker[0]["personUpdatedDate"] is not None
    # every property a live row has, null: a stream map naming any of them must not fail
    live = next(p for p in with_deleted["persons"] if not p.get("deleted"))
    assert marker[0].keys() == live.keys()
    named = {"personId", "personUpdatedDate", "deleted"}
    assert all(value is None for key, value in marker[0].items() if key not in named)


def test_a_record_edited_while_paging_is_read_later_not_skipped(
    tenant: RunningSandbox, config: dict[str, Any]
) -> None:
    client = connect(config)
    page = client.archive_page
    pages = 0

    def edit_after_first_page(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        nonlocal pages
        pages += 1
        if pages == 2:  # between pages, someone edits a person already read
            _patch(tenant, "Person/1", {"Title": "Edited"})
        return page(*args, **kwargs)

    client.archive_page = edit_after_first_page  # type: ignore[method-assign]
    seen = [
        row["personId"]
        for row in changes(
            client,
            "Person",
            id_column="personId",
            updated_column="personUpdatedDate",
            since=None,
            page_size=3,
        )
    ]

    total = len(tenant.records("persons"))
    assert sorted(set(seen)) == list(range(1, total + 1))  # nobody skipped
    assert seen.count(1) == 2  # person 1 again, after its edit
    assert seen[-1] == 1


def test_full_id_scan_reads_every_product_and_announces_a_table_version(
    tenant: RunningSandbox, config: dict[str, Any]
) -> None:
    _, state = _sync(config)
    out = io.StringIO()
    with redirect_stdout(out):
        TapSuperOffice(config={**config, "full_id_scan": True}, state=state).sync_all()
    messages = [json.loads(line) for line in out.getvalue().splitlines()]

    products = [
        m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "products"
    ]
    assert len(products) == len(tenant.records("products"))
    for stream in ("products", "quote_alternatives"):
        kinds = [m["type"] for m in messages if m.get("stream") == stream]
        versions = [m["version"] for m in messages if m["type"] == "ACTIVATE_VERSION"
                    and m["stream"] == stream]  # fmt: skip
        assert "RECORD" in kinds, stream
        assert kinds.index("ACTIVATE_VERSION") < kinds.index("RECORD")  # opens the scan
        assert kinds[-1] == "ACTIVATE_VERSION", stream  # and closes it after the last record
        assert len(versions) == 2
        assert versions[0] == versions[1]


def test_a_run_under_injected_429s_emits_the_same_records(
    tenant: RunningSandbox, config: dict[str, Any]
) -> None:
    calm, _ = _sync(config)
    tenant.set_faults(rate_429=0.3, retry_after=0, seed=5)

    throttled, _ = _sync({**config, "max_retries": 10})

    assert tenant.faults()["injected"]["429"] > 0
    assert throttled == calm


def test_quote_lines_look_up_the_products_of_an_alternative_together(
    tenant: RunningSandbox, config: dict[str, Any]
) -> None:
    tenant.reset(seed=40, seed_value=5)  # 20 quotes, 54 lines naming 14 products
    tenant.clear_requests()

    records, _ = _sync(config)

    calls = _api_calls(tenant)

    products = {p["erpProductKey"].casefold(): p["productId"] for p in records["products"]}
    lines = records["quote_lines"]
    assert all(line["productId"] == products[line["erpProductKey"].casefold()] for line in lines)
    keys = {line["erpProductKey"].casefold() for line in lines}
    alternatives = {line["quoteAlternativeId"] for line in lines}
    lookups = calls["GET /{endpoint}/api/v1/Product"] - 1  # less the products stream's own
    # the 20 alternatives are one page: one look-up per 40 keys, not one per alternative or key
    assert len(alternatives) > 1
    assert lookups == math.ceil(len(keys) / KEYS_PER_LOOKUP)


def test_quote_lines_are_read_a_page_of_alternatives_at_a_time(
    tenant: RunningSandbox, config: dict[str, Any]
) -> None:
    """One SCHEMA and one STATE per page of alternatives, not per alternative: each STATE
    holds the whole tap state, so one per quote grew the output as quotes times state."""
    tenant.reset(seed=40, seed_value=5)  # 20 quotes
    paged = _messages({**config, "page_size": 6})
    whole = _messages({**config, "page_size": 1000})

    def lines(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = [
            m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == "quote_lines"
        ]
        return sorted(found, key=lambda line: line["quoteLineId"])

    alternatives = [
        m for m in paged if m["type"] == "RECORD" and m["stream"] == "quote_alternatives"
    ]
    pages = math.ceil(len(alternatives) / 6)
    line_schemas = [m for m in paged if m["type"] == "SCHEMA" and m["stream"] == "quote_lines"]
    states = [m for m in paged if m["type"] == "STATE"]
    assert len(alternatives) >= 20
    assert len(line_schemas) == pages
    assert len(states) <= pages + 10  # a few per stream, one per page of lines
    assert lines(paged) == lines(whole) != []
    updated = {a["record"]["quoteAlternativeId"]: a["record"]["updatedDate"] for a in alternatives}
    assert all(line["updatedDate"] == updated[line["quoteAlternativeId"]] for line in lines(paged))


def test_each_alternative_names_every_line_it_has_as_read_with_it(
    tenant: RunningSandbox, config: dict[str, Any]
) -> None:
    """`lineIds` is how a line deleted in SuperOffice is told (it keeps no trace of it); an
    alternative with no line left says so with an empty list. Lines are read once, with their
    alternative."""
    tenant.reset(seed=40, seed_value=5)  # 20 quotes
    emptied = tenant.records("quote_lines")[0]["QuoteAlternativeId"]
    for line in tenant.records("quote_lines"):
        if line["QuoteAlternativeId"] == emptied:
            response = requests.post(
                f"{tenant.url}/Cust12345/api/v1/Agents/Quote/DeleteQuoteLine",
                json={"QuoteLineId": line["QuoteLineId"]},
                auth=("admin", tenant.token),
                timeout=10,
            )
            response.raise_for_status()
    tenant.clear_requests()

    records, _ = _sync(config)

    by_alternative: dict[int, list[int]] = {}
    for line in records["quote_lines"]:
        by_alternative.setdefault(line["quoteAlternativeId"], []).append(line["quoteLineId"])
    alternatives = records["quote_alternatives"]
    assert {a["quoteAlternativeId"]: a["lineIds"] for a in alternatives} == {
        a["quoteAlternativeId"]: sorted(by_alternative.get(a["quoteAlternativeId"], []))
        for a in alternatives
    }
    assert next(a for a in alternatives if a["quoteAlternativeId"] == emptied)["lineIds"] == []
    assert _api_calls(tenant)["POST /{endpoint}/api/v1/Agents/Quote/GetQuoteLines"] == len(
        alternatives
    )


def test_alternatives_read_no_lines_when_quote_lines_is_not_selected(
    tenant: RunningSandbox, config: dict[str, Any]
) -> None:
    catalog = TapSuperOffice(config=config).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = entry["tap_stream_id"] != "quote_lines"
    tenant.clear_requests()
    out = io.StringIO()
    with redirect_stdout(out):
        TapSuperOffice(config=config, catalog=catalog).sync_all()
    messages = [json.loads(line) for line in out.getvalue().splitlines()]

    records = [m for m in messages if m["type"] == "RECORD"]
    alternatives = [m["record"] for m in records if m["stream"] == "quote_alternatives"]
    assert alternatives
    assert all(a["lineIds"] is None for a in alternatives)
    assert not [m for m in records if m["stream"] == "quote_lines"]
    assert "POST /{endpoint}/api/v1/Agents/Quote/GetQuoteLines" not in _api_calls(tenant)
