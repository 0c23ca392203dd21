"""The rules of the Customcrm model, called directly (no sockets)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox.customcrm.contract import body_errors
from sandbox.customcrm.errors import (
    IdempotencyKeyReusedError,
    PreconditionFailedError,
    RecordDeletedError,
    UnknownReferenceError,
    ValidationFailedError,
)
from sandbox.customcrm.models import CustomcrmModel
from sandbox.customcrm.resources import RESOURCES, decode_cursor, normalise
from sandbox.customcrm.store import ListQuery

CUSTOMERS, CONTACTS, PRODUCTS = RESOURCES["customers"], RESOURCES["contacts"], RESOURCES["products"]
QUOTES, LINES = RESOURCES["quotes"], RESOURCES["quote_lines"]


@pytest.fixture
def model(tmp_path: Path) -> Iterator[CustomcrmModel]:
    crm = CustomcrmModel(tmp_path)
    crm.reset(0, 0)
    yield crm
    crm.close()


def _customer(model: CustomcrmModel, name: str, **fields: Any) -> dict[str, Any]:
    record, _ = model.create_record(CUSTOMERS, {"name": name, **fields}, scope="test")
    return record


def _feed(model: CustomcrmModel, resource: Any = CUSTOMERS, **query: Any) -> list[dict[str, Any]]:
    items, _ = model.list_records(resource, ListQuery(**query))
    return items


def test_create_with_a_repeated_idempotency_key_and_body_replays_the_first_record(
    model: CustomcrmModel,
) -> None:
    body = {"name": "Fjord AS", "org_number": "923456783"}
    first, replayed_first = model.create_record(CUSTOMERS, body, scope="s", idempotency_key="k1")
    again, replayed_again = model.create_record(CUSTOMERS, body, scope="s", idempotency_key="k1")
    assert (replayed_first, replayed_again) == (False, True)
    assert again == first
    assert [c["id"] for c in _feed(model)] == [first["id"]]


def test_create_with_a_repeated_idempotency_key_and_another_body_is_refused(
    model: CustomcrmModel,
) -> None:
    model.create_record(CUSTOMERS, {"name": "Fjord AS"}, scope="s", idempotency_key="k1")
    with pytest.raises(IdempotencyKeyReusedError) as refused:
        model.create_record(CUSTOMERS, {"name": "Other AS"}, scope="s", idempotency_key="k1")
    assert str(refused.value) == "Idempotency-Key 'k1' was used with another body; use a new key"
    assert [c["name"] for c in _feed(model)] == ["Fjord AS"]


def test_the_same_idempotency_key_on_another_path_creates_its_own_record(
    model: CustomcrmModel,
) -> None:
    model.create_record(CUSTOMERS, {"name": "A"}, scope="POST /a", idempotency_key="k")
    model.create_record(CUSTOMERS, {"name": "A"}, scope="POST /b", idempotency_key="k")
    assert len(_feed(model)) == 2


def test_update_with_a_stale_if_match_fails_and_changes_nothing(model: CustomcrmModel) -> None:
    customer = _customer(model, "Fjord AS")
    model.update_record(CUSTOMERS, customer["id"], {"city": "Bergen"}, if_match='"1"')
    with pytest.raises(PreconditionFailedError) as stale:
        model.update_record(CUSTOMERS, customer["id"], {"city": "Oslo"}, if_match='"1"')
    assert str(stale.value) == 'If-Match "1" does not match the current ETag "2"'
    assert stale.value.headers == {"ETag": '"2"'}
    assert model.get_record(CUSTOMERS, customer["id"])["city"] == "Bergen"


def test_update_is_a_merge_patch_and_null_clears_a_field(model: CustomcrmModel) -> None:
    customer = _customer(model, "Fjord AS", city="Oslo", phone="+47 22 00 00 00")
    updated = model.update_record(
        CUSTOMERS, customer["id"], {"phone": None, "external_ids": {"superoffice": "17"}}
    )
    assert (updated["city"], updated["phone"], updated["version"]) == ("Oslo", None, 2)
    assert updated["external_ids"] == {"superoffice": "17"}
    removed = model.update_record(
        CUSTOMERS, customer["id"], {"external_ids": {"superoffice": None}}
    )
    assert removed["external_ids"] == {}


def test_update_that_changes_nothing_keeps_version_and_updated_at(model: CustomcrmModel) -> None:
    customer = _customer(model, "Fjord AS", city="Oslo")
    same = model.update_record(CUSTOMERS, customer["id"], {"city": "Oslo"})
    assert (same["version"], same["updated_at"]) == (1, customer["updated_at"])


def test_every_change_gets_a_strictly_later_updated_at(model: CustomcrmModel) -> None:
    stamps = [_customer(model, f"Firma {i}")["updated_at"] for i in range(50)]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 50


def test_pagination_stays_stable_while_records_change_between_pages(model: CustomcrmModel) -> None:
    ids = [_customer(model, f"Firma {i}")["id"] for i in range(9)]
    first, cursor = model.list_records(CUSTOMERS, ListQuery(limit=3))
    seen = [c["id"] for c in first]
    model.update_record(CUSTOMERS, ids[1], {"city": "Moved"})  # already seen: comes back at the end
    model.update_record(CUSTOMERS, ids[5], {"city": "Moved"})  # not seen yet: moves, not skipped
    while cursor is not None:
        page, cursor = model.list_records(
            CUSTOMERS, ListQuery(limit=3, after=decode_cursor(cursor))
        )
        seen += [c["id"] for c in page]
    assert seen == [*ids[:5], *ids[6:], ids[1], ids[5]]


def test_updated_since_is_inclusive(model: CustomcrmModel) -> None:
    _customer(model, "Before")
    pivot = _customer(model, "Pivot")
    _customer(model, "After")
    names = [c["name"] for c in _feed(model, updated_since=pivot["updated_at"])]
    assert names == ["Pivot", "After"]


def test_soft_delete_shows_in_the_incremental_feed_only_with_include_deleted(
    model: CustomcrmModel,
) -> None:
    kept, gone = _customer(model, "Kept"), _customer(model, "Gone")
    deleted = model.delete_record(CUSTOMERS, gone["id"], if_match='"1"')
    assert deleted["deleted_at"] == deleted["updated_at"]
    assert deleted["version"] == 2
    assert [c["id"] for c in _feed(model)] == [kept["id"]]
    feed = _feed(model, include_deleted=True, updated_since=gone["updated_at"])
    assert [(c["id"], c["deleted_at"] is not None) for c in feed] == [(gone["id"], True)]
    assert model.delete_record(CUSTOMERS, gone["id"]) == deleted  # deleting again: no change


def test_a_deleted_record_cannot_be_patched(model: CustomcrmModel) -> None:
    gone = _customer(model, "Gone")
    model.delete_record(CUSTOMERS, gone["id"])
    with pytest.raises(RecordDeletedError, match=f"customer {gone['id']} is deleted"):
        model.update_record(CUSTOMERS, gone["id"], {"city": "Oslo"})


def test_lookups_compare_normalised_match_keys(model: CustomcrmModel) -> None:
    fjord = _customer(model, "Fjord AS", org_number="923 456 783", email="Post@Fjord.NO")
    model.create_record(PRODUCTS, {"sku": "AB-123", "name": "Chair"}, scope="t")
    assert _feed(model, lookups={"org_number": _keys("org_number", "923-456-783")}) == [fjord]
    assert _feed(model, lookups={"email": _keys("email", " post@FJORD.no ")}) == [fjord]
    products = _feed(model, PRODUCTS, lookups={"sku": _keys("sku", " ab-123", "nope")})
    assert [p["sku"] for p in products] == ["AB-123"]


def _keys(key: str, *values: str) -> tuple[str, ...]:
    """Lookup values as the parser hands them to the store: normalised, any may match."""
    return tuple(str(normalise(key, value)) for value in values)


def test_external_id_lookup_finds_the_correlated_record(model: CustomcrmModel) -> None:
    record = _customer(model, "Fjord AS", external_ids={"crmsync": "link-7"})
    _customer(model, "Other AS", external_ids={"crmsync": "link-8"})
    assert _feed(model, external_id=("crmsync", "link-7")) == [record]


def test_contact_pointing_at_a_missing_customer_is_refused_and_nothing_stored(
    model: CustomcrmModel,
) -> None:
    with pytest.raises(UnknownReferenceError) as refused:
        model.create_record(CONTACTS, {"first_name": "Ola", "customer_id": "cus_404"}, scope="t")
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("customer_id", "no customer with id 'cus_404'")
    ]
    assert _feed(model, CONTACTS, include_deleted=True) == []


def test_a_line_change_bumps_its_quote_and_its_totals(model: CustomcrmModel) -> None:
    customer = _customer(model, "Fjord AS")
    chair, _ = model.create_record(
        PRODUCTS, {"sku": "C-1", "name": "Chair", "unit_price": 100.0}, scope="t"
    )
    quote, _ = model.create_record(
        QUOTES,
        {"customer_id": customer["id"], "title": "Chairs", "discount_percent": 10},
        scope="t",
    )
    line, _ = model.create_record(
        LINES, {"product_id": chair["id"], "quantity": 3}, scope="t", parent_id=quote["id"]
    )
    assert (line["unit_price"], line["description"], line["position"]) == (100.0, "Chair", 1)
    after_add = model.get_record(QUOTES, quote["id"])
    assert (after_add["version"], after_add["subtotal"], after_add["total"]) == (2, 300.0, 270.0)
    model.update_record(LINES, line["id"], {"quantity": 1}, parent_id=quote["id"])
    after_edit = model.get_record(QUOTES, quote["id"])
    assert after_edit["version"] == 3
    assert after_edit["updated_at"] > after_add["updated_at"]
    model.delete_record(LINES, line["id"], parent_id=quote["id"])
    after_delete = model.get_record(QUOTES, quote["id"])
    assert (after_delete["version"], after_delete["lines"], after_delete["total"]) == (4, [], 0.0)


def test_lines_of_a_deleted_quote_cannot_change(model: CustomcrmModel) -> None:
    customer = _customer(model, "Fjord AS")
    quote, _ = model.create_record(QUOTES, {"customer_id": customer["id"], "title": "Q"}, scope="t")
    model.delete_record(QUOTES, quote["id"])
    with pytest.raises(RecordDeletedError, match="its lines cannot change"):
        model.create_record(LINES, {"quantity": 1}, scope="t", parent_id=quote["id"])


def test_reset_seeds_the_customcrm_side_of_the_world(model: CustomcrmModel) -> None:
    model.reset(9, 7)
    customers = model.records("customers")
    contacts = model.records("contacts")
    assert len(customers) == 9
    assert {c["customer_id"] for c in contacts} <= {c["id"] for c in customers}
    assert len(model.records("products")) == 4
    assert all(q["lines"] for q in model.records("quotes"))


def test_reading_an_unknown_collection_names_the_known_ones(model: CustomcrmModel) -> None:
    with pytest.raises(ValueError, match="unknown collection 'persons'; known: customers, "):
        model.records("persons")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CustomcrmModel]:
    crm = CustomcrmModel(tmp_path_factory.mktemp("seeded"))
    crm.reset(60, 11)
    yield crm
    crm.close()


@pytest.mark.parametrize(
    "collection", ["customers", "contacts", "products", "quotes", "quote_lines"]
)
def test_seeded_records_are_valid_input_for_the_contract(
    seeded: CustomcrmModel, collection: str
) -> None:
    resource = RESOURCES[collection]
    for record in seeded.records(collection):
        writable = {name: record[name] for name in resource.fields if record[name] is not None}
        assert body_errors(resource.create_schema, writable) == [], record


def test_an_invalid_patch_is_a_validation_problem_even_with_a_stale_if_match(
    model: CustomcrmModel,
) -> None:
    customer = _customer(model, "Fjord AS")
    with pytest.raises(ValidationFailedError) as refused:
        model.update_record(CUSTOMERS, customer["id"], {"email": "nope"}, if_match='"9"')
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("email", "must be an e-mail address")
    ]


def test_new_ids_count_on_after_a_reseed_a_restart_and_a_folder_without_counters(
    tmp_path: Path,
) -> None:
    crm = CustomcrmModel(tmp_path)
    crm.reset(2, 7)
    seeded = len(_feed(crm, limit=500, include_deleted=True))
    assert _customer(crm, "Etter Frø AS")["id"] == f"cus_{seeded + 1}"
    crm.close()

    reopened = CustomcrmModel(tmp_path)  # the counter is stored with the records
    assert _customer(reopened, "Neste AS")["id"] == f"cus_{seeded + 2}"
    with reopened._store.transaction() as db:  # a data folder from before the counters
        db.execute("DELETE FROM id_counters")
    assert _customer(reopened, "Tredje AS")["id"] == f"cus_{seeded + 3}"
    reopened.reset(0, 0)
    assert _customer(reopened, "Først AS")["id"] == "cus_1"
    reopened.close()


def test_a_batch_keeps_what_its_creates_made_when_one_of_them_is_refused(
    model: CustomcrmModel,
) -> None:
    with model.batch():
        first = _customer(model, "Fjord AS")
        with pytest.raises(UnknownReferenceError):
            model.create_record(CONTACTS, {"first_name": "Kari", "customer_id": "cus_9"}, scope="s")
        second = _customer(model, "Vik AS")
    assert [c["id"] for c in _feed(model)] == [first["id"], second["id"]]
    assert _feed(model, CONTACTS) == []


def test_a_batch_the_server_fails_to_finish_commits_nothing_and_its_keys_replay_nothing(
    model: CustomcrmModel,
) -> None:
    body = {"name": "Fjord AS"}

    def stop_mid_batch() -> None:
        with model.batch():
            model.create_record(CUSTOMERS, body, scope="s", idempotency_key="k1")
            raise RuntimeError("the server stops mid-batch")

    with pytest.raises(RuntimeError):
        stop_mid_batch()
    assert _feed(model) == []
    again, replayed = model.create_record(CUSTOMERS, body, scope="s", idempotency_key="k1")
    assert not replayed
    assert [c["id"] for c in _feed(model)] == [again["id"]]


def test_a_create_refused_inside_a_batch_undoes_only_its_own_writes(
    model: CustomcrmModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A create that fails after it wrote (here: its answer cannot be kept) leaves neither
    its row nor its id counter behind, and the batch's other creates stay."""

    def fail_to_remember(*_: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    with model.batch():
        kept = _customer(model, "Fjord AS")
        monkeypatch.setattr(model._store, "remember_response", fail_to_remember)
        with pytest.raises(sqlite3.OperationalError):
            model.create_record(CUSTOMERS, {"name": "Vik AS"}, scope="s", idempotency_key="k")
        monkeypatch.undo()
        after = _customer(model, "Berg AS")
    assert [c["name"] for c in _feed(model)] == ["Fjord AS", "Berg AS"]
    assert int(after["id"].split("_")[1]) == int(kept["id"].split("_")[1]) + 1
