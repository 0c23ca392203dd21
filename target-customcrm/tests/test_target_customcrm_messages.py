"""target-customcrm fed Singer messages in-process: duplicates, schema updates, missing keys,
rejections, refused tokens, faults and unknown streams, each with the behaviour a user expects."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from crmsync.destination import SystemicError
from sandbox.testing import RunningSandbox, running_sandbox
from singer_sdk.exceptions import MissingKeyPropertiesError
from tap_customcrm import schemas
from target_customcrm.target import TargetCustomcrm

from crmsync import Crosswalk


def schema_message(stream: str, **extra_properties: Any) -> dict[str, Any]:
    """The tap's own SCHEMA message for `stream` (the target accepts exactly these)."""
    schema = json.loads((resources.files(schemas) / f"{stream}.json").read_text())
    schema["properties"].update(extra_properties)
    return {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": ["id"]}


def record(stream: str, **values: Any) -> dict[str, Any]:
    return {"type": "RECORD", "stream": stream, "record": values}


def customer(cid: str, name: str, *, at: str = "2026-11-01T10:00:00.000000Z", **more: Any) -> Any:
    return record("customers", id=cid, name=name, updated_at=at, version=1, **more)


def contact(pid: str, first_name: str, **more: Any) -> dict[str, Any]:
    at = "2026-11-01T10:00:00.000000Z"
    return record("contacts", id=pid, first_name=first_name, updated_at=at, version=1, **more)


@pytest.fixture(scope="module")
def crm_module() -> Iterator[RunningSandbox]:
    with running_sandbox("customcrm", seed=0) as sandbox:
        yield sandbox


@pytest.fixture
def crm(crm_module: RunningSandbox) -> RunningSandbox:
    crm_module.reset(seed=0)
    crm_module.clear_faults()
    crm_module.clear_requests()
    return crm_module


@pytest.fixture
def config(crm: RunningSandbox, tmp_path: Path) -> dict[str, Any]:
    return {
        "api_url": crm.url,
        "api_token": crm.token,
        "crosswalk_url": f"sqlite:///{tmp_path / 'crosswalk.db'}",
        "source_system": "upstream",
        "backoff_base": 0.01,
    }


def run_target(config: dict[str, Any], messages: list[dict[str, Any]]) -> TargetCustomcrm:
    target = TargetCustomcrm(config=config, parse_env_config=False)
    lines = "".join(json.dumps(message) + "\n" for message in messages)
    target.listen(io.StringIO(lines))
    return target


def quarantined(config: dict[str, Any]) -> list[Any]:
    crosswalk = Crosswalk.connect(config["crosswalk_url"])
    try:
        return list(crosswalk.quarantine.items())
    finally:
        crosswalk.close()


def test_duplicate_records_in_one_batch_land_once_with_the_last_values(
    crm: RunningSandbox, config: dict[str, Any]
) -> None:
    run_target(
        config,
        [
            schema_message("customers"),
            customer("u1", "Nordlys AS", city="Oslo"),
            customer("u1", "Nordlys AS", city="Oslo"),
            customer("u1", "Nordlys AS", at="2026-11-02T10:00:00.000000Z", city="Bergen"),
        ],
    )

    stored = crm.records("customers")
    assert [(row["name"], row["city"]) for row in stored] == [("Nordlys AS", "Bergen")]
    routes = crm.requests()["by_route"]
    assert routes.get("POST /api/v1/customers/batch") == 1
    assert "POST /api/v1/customers" not in routes


def test_a_schema_update_mid_stream_keeps_writing_and_ignores_unknown_properties(
    crm: RunningSandbox, config: dict[str, Any]
) -> None:
    run_target(
        config,
        [
            schema_message("customers"),
            customer("u1", "Før AS"),
            schema_message("customers", nickname={"type": ["string", "null"]}),
            customer("u2", "Etter AS", nickname="etter"),
        ],
    )

    assert sorted(row["name"] for row in crm.records("customers")) == ["Etter AS", "Før AS"]
    assert quarantined(config) == []


def test_a_record_missing_its_key_property_stops_the_run_naming_the_key(
    crm: RunningSandbox, config: dict[str, Any]
) -> None:
    bad = record("customers", name="Uten Id AS", updated_at="2026-11-01T10:00:00.000000Z")
    with pytest.raises(MissingKeyPropertiesError, match=r"Key Properties: \['id'\]"):
        run_target(config, [schema_message("customers"), bad])
    assert crm.requests()["writes"] == 0


def test_a_rejected_record_is_quarantined_with_the_apis_message_and_the_run_goes_on(
    crm: RunningSandbox, config: dict[str, Any]
) -> None:
    target = run_target(
        config,
        [
            schema_message("customers"),
            customer("u1", "Feil Epost AS", email="not-an-email"),
            customer("u2", "Riktig AS", email="post@riktig.no"),
        ],
    )

    assert [row["name"] for row in crm.records("customers")] == ["Riktig AS"]
    items = quarantined(config)
    assert [(item.entity, item.source_id) for item in items] == [("company", "u1")]
    assert "422 " in items[0].reason
    assert "email" in items[0].reason
    assert target.synchronizer.report.get("company", "quarantined") == 1


def test_a_refused_token_stops_the_run_without_showing_the_token(
    crm: RunningSandbox, config: dict[str, Any]
) -> None:
    config = {**config, "api_token": "not-the-token-42"}
    with pytest.raises(SystemicError) as caught:
        run_target(config, [schema_message("customers"), customer("u1", "Nordlys AS")])
    assert str(caught.value).startswith("Customcrm refused the credentials: 401 ")
    assert "not-the-token-42" not in str(caught.value)


def test_injected_429_5xx_and_drops_are_retried_without_duplicates(
    crm: RunningSandbox, config: dict[str, Any]
) -> None:
    names = [f"Kunde {n} AS" for n in range(30)]
    # A first load is a few batch creates: faults are frequent so that they hit those.
    crm.set_faults(
        rate_429=0.2, rate_5xx=0.2, rate_drop=0.1, rate_drop_after_write=0.2, retry_after=0, seed=3
    )

    run_target(
        {**config, "max_retries": 20},
        [schema_message("customers")] + [customer(f"u{n}", name) for n, name in enumerate(names)],
    )

    injected = crm.faults()["injected"]
    assert injected["429"] + injected["5xx"] + injected["drop"] >= 3
    assert injected["drop_after_write"] >= 1  # a batch stored whose answer was lost
    assert sorted(row["name"] for row in crm.records("customers")) == sorted(names)


def test_an_unknown_stream_is_skipped_not_fatal(
    crm: RunningSandbox, config: dict[str, Any]
) -> None:
    test_stream = {
        "type": "SCHEMA",
        "stream": "meltano_test_stream",
        "schema": {"type": "object", "properties": {"id": {"type": "integer"}}},
        "key_properties": ["id"],
    }
    target = run_target(config, [test_stream, record("meltano_test_stream", id=1)])

    assert crm.requests()["writes"] == 0
    assert target.synchronizer.report.skipped_streams == {"meltano_test_stream": 1}


def test_references_follow_links_and_a_missing_parent_is_deferred(
    crm: RunningSandbox, config: dict[str, Any]
) -> None:
    run_target(
        config,
        [
            schema_message("customers"),
            customer("u1", "Forelder AS"),
            schema_message("contacts"),
            record(
                "contacts",
                id="p1",
                customer_id="u1",
                first_name="Kari",
                updated_at="2026-11-01T10:00:00.000000Z",
            ),
            record(
                "contacts",
                id="p2",
                customer_id="u404",
                first_name="Ola",
                updated_at="2026-11-01T10:00:00.000000Z",
            ),
        ],
    )

    parent = crm.records("customers")[0]
    people = {row["first_name"]: row for row in crm.records("contacts")}
    assert list(people) == ["Kari"]
    assert people["Kari"]["customer_id"] == parent["id"]
    assert [(i.entity, i.source_id, i.kind) for i in quarantined(config)] == [
        ("person", "p2", "deferred")
    ]


def mapped_schema(stream: str) -> dict[str, Any]:
    """The tap's schema plus the sync metadata a mapper adds (docs/sync-contract.md)."""
    return schema_message(
        stream,
        _source_system={"type": ["string", "null"]},
        _source_id={"type": ["string", "null"]},
        _source_version={"type": ["string", "null"]},
        _source_deleted={"type": ["boolean", "null"]},
    )


def mapped_product(source_id: str, version: str, *, deleted: bool = False, **values: Any) -> Any:
    return record(
        "products",
        id=source_id,
        _source_system="superoffice",
        _source_id=source_id,
        _source_version=version,
        _source_deleted=deleted,
        **values,
    )


def test_mapped_records_link_by_source_id_and_their_deletion_soft_deletes(
    crm: RunningSandbox, config: dict[str, Any]
) -> None:
    values = {"sku": "SO-7", "name": "Support", "unit_price": 120.5}
    run_target(
        config,
        [mapped_schema("products"), mapped_product("7", "2026-11-01T10:00:00Z", **values)],
    )
    run_target(
        config,
        [
            mapped_schema("products"),
            mapped_product("7", "2026-11-03T10:00:00Z", deleted=True, **values),
        ],
    )

    stored = crm.records("products")
    assert [(row["sku"], row["unit_price"]) for row in stored] == [("SO-7", 120.5)]
    assert stored[0]["deleted_at"] is not None
    assert stored[0]["external_ids"]["crmsync"]


def test_a_deletion_sent_again_after_its_answer_was_lost_finds_its_work_done(
    crm: RunningSandbox, config: dict[str, Any]
) -> None:
    """The soft delete was stored and its answer lost; sent again, it meets 412 (the version
    moved). crmsync reads the product again, finds it deleted, and counts it deleted."""
    values = {"sku": "SO-7", "name": "Support", "unit_price": 120.5}
    messages = [mapped_schema("products"), mapped_product("7", "2026-11-01T10:00:00Z", **values)]
    run_target(config, messages)
    lost_before = crm.faults()["injected"]["drop_after_write"]  # counted since the start
    crm.set_faults(rate_drop_after_write=0.5, seed=10)  # DELETEs stored, answers lost
    crm.clear_requests()

    target = run_target(
        config,
        [
            mapped_schema("products"),
            mapped_product("7", "2026-11-03T10:00:00Z", deleted=True, **values),
        ],
    )

    lost = crm.faults()["injected"]["drop_after_write"] - lost_before
    assert lost >= 1
    assert crm.requests()["by_route"]["DELETE /api/v1/products/{id}"] == lost + 1
    assert crm.records("products")[0]["deleted_at"] is not None
    assert target.synchronizer.report.get("product", "deleted") == 1
    assert quarantined(config) == []


def test_values_spelled_differently_are_written_once_and_then_rest(
    crm: RunningSandbox, config: dict[str, Any]
) -> None:
    at = "2026-11-01T10:00:00.000000Z"
    messages = [
        schema_message("customers"),
        customer("u1", "Kunde AS", email="", country=""),
        schema_message("quotes", quote_date={"type": ["string", "null"], "format": "date-time"}),
        record(
            "quotes",
            id="q1",
            customer_id="u1",
            title="Tilbud",
            quote_date="2026-05-22T00:00:00Z",
            status="draft",
            updated_at=at,
            version=1,
        ),
    ]
    run_target(config, messages)
    crm.clear_requests()

    run_target(config, messages)

    assert [row["quote_date"] for row in crm.records("quotes")] == ["2026-05-22"]
    assert [(row["email"], row["country"]) for row in crm.records("customers")] == [(None, None)]
    assert crm.requests()["writes"] == 0
    assert quarantined(config) == []


def test_a_record_deleted_before_it_was_ever_linked_is_not_created(
    crm: RunningSandbox, config: dict[str, Any]
) -> None:
    gone = customer("u1", "Borte AS", deleted_at="2026-11-01T11:00:00.000000Z")
    run_target(config, [schema_message("customers"), gone, customer("u2", "Her AS")])

    assert [row["name"] for row in crm.records("customers")] == ["Her AS"]
    assert crm.requests()["writes"] == 1
