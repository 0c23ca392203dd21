"""SuperOfficeDestination against a seeded emulator: reading rows the tap's way, match keys,
optimistic concurrency, and soft deletes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from crmsync.destination import StaleVersionError
from crmsync.normalise import normalise_key
from sandbox.testing import RunningSandbox
from superoffice_client import connect, rows
from target_superoffice.destination import SuperOfficeDestination
from target_superoffice.entities import unmodified_since

Config = Callable[..., dict[str, Any]]


@pytest.fixture
def destination(source_tenant: RunningSandbox, plugin_config: Config) -> SuperOfficeDestination:
    return SuperOfficeDestination(connect(plugin_config(source_tenant)))


def test_fetch_returns_the_taps_row_without_id_and_version(
    destination: SuperOfficeDestination, source_tenant: RunningSandbox
) -> None:
    found = destination.fetch("person", ["1", "2", "999"])

    assert sorted(found) == ["1", "2"]
    person = source_tenant.records("persons")[0]
    row = rows.person_row(person)
    assert found["1"].values == {
        k: v for k, v in row.items() if k not in ("personId", "personUpdatedDate", "deleted")
    }
    assert found["1"].version == row["personUpdatedDate"] == found["1"].updated_at


@pytest.mark.parametrize(
    ("entity", "key", "normaliser", "column"),
    [
        ("person", "email", "email", "email"),
        ("company", "orgnr", "digits", "orgnr"),
        ("company", "name", "name", "name"),
        ("product", "code", "code", "code"),
    ],
)
def test_match_finds_a_record_by_its_normalised_key(
    destination: SuperOfficeDestination, entity: str, key: str, normaliser: str, column: str
) -> None:
    stream = {"person": "persons", "company": "contacts", "product": "products"}[entity]
    some = next(iter(destination.fetch(entity, ["1"]).values()))
    wanted = normalise_key(normaliser, some.values[column])
    assert wanted is not None

    candidates = destination.match(entity, key, wanted)

    assert some.id in {candidate.id for candidate in candidates}, stream
    assert all(normalise_key(normaliser, c.values[column]) == wanted for c in candidates)


@pytest.mark.parametrize(("entity", "told_apart_by"), [("person", "firstname"),
                                                     ("quote_line", "quantity")])  # fmt: skip
def test_look_alikes_are_the_records_holding_what_a_create_sent(
    destination: SuperOfficeDestination, entity: str, told_apart_by: str
) -> None:
    """What finds a create whose foreign key was never saved: one archive query (persons of
    the company by name) or one GetQuoteLines call, then the values compared exactly."""
    some = next(iter(destination.fetch(entity, ["1"]).values()))
    sent = {k: str(v) if k.endswith("Id") and v else v for k, v in some.values.items()}
    if entity == "quote_line":
        sent["discountPercent"] = None  # left out of the create: the server's 0 still holds it

    assert some.id in {found.id for found in destination.look_alikes(entity, sent)}
    other = {**sent, told_apart_by: 99 if told_apart_by == "quantity" else "Someone"}
    assert some.id not in {found.id for found in destination.look_alikes(entity, other)}
    left_out = {**sent, told_apart_by: None}  # the record holds one: not what this create made
    assert some.id not in {found.id for found in destination.look_alikes(entity, left_out)}
    assert destination.look_alikes("company", {"name": "Any"}) == []  # match keys find those


def test_an_update_of_a_record_changed_meanwhile_is_stale(
    destination: SuperOfficeDestination, source_tenant: RunningSandbox
) -> None:
    ours = destination.fetch("person", ["1"])["1"]
    requests.patch(
        f"{source_tenant.url}/Cust12345/api/v1/Person/1",
        json={"Title": "changed by a user"},
        auth=("someone", source_tenant.token),
        timeout=10,
    ).raise_for_status()
    stale = type(ours)(
        ours.id, "2000-01-01T00:00:00Z", ours.values, ours.updated_at, extra=ours.extra
    )

    with pytest.raises(StaleVersionError, match="412 PreconditionFailedException"):
        destination.update("person", stale, {"lastname": "Overwritten"})


def test_fetch_reads_many_records_with_one_archive_request(
    destination: SuperOfficeDestination, source_tenant: RunningSandbox
) -> None:
    source_tenant.clear_requests()

    found = destination.fetch("person", ["1", "2", "3", "4"])

    assert sorted(found) == ["1", "2", "3", "4"]
    api = {r: n for r, n in source_tenant.requests()["by_route"].items() if "/api/v1/" in r}
    assert api == {"GET /{endpoint}/api/v1/Person": 1}
    for person in source_tenant.records("persons")[:4]:
        row = rows.person_row(person)
        ours = found[str(row["personId"])]
        assert (ours.version, ours.values["email"]) == (row["personUpdatedDate"], row["email"])


def test_an_update_of_plain_columns_is_one_patch_of_just_those_fields(
    destination: SuperOfficeDestination, source_tenant: RunningSandbox
) -> None:
    ours = destination.fetch("company", ["2"])["2"]
    source_tenant.clear_requests()

    updated = destination.update("company", ours, {"city": "Tromsø", "name": "Nordlys AS"})

    assert (updated.values["city"], updated.values["name"]) == ("Tromsø", "Nordlys AS")
    assert updated.version > ours.version
    assert source_tenant.requests()["by_route"] == {
        "PATCH /{endpoint}/api/v1/Contact/{record_id}": 1
    }
    fresh = destination.fetch("company", ["2"])["2"]
    assert (fresh.version, fresh.values) == (updated.version, updated.values)


def test_an_update_of_a_list_column_reads_the_entity_to_keep_the_lists_other_entries(
    destination: SuperOfficeDestination, source_tenant: RunningSandbox
) -> None:
    requests.patch(
        f"{source_tenant.url}/Cust12345/api/v1/Person/1",
        json={"Emails": [{"Value": "first@fjord.no"}, {"Value": "second@fjord.no"}]},
        auth=("someone", source_tenant.token),
        timeout=10,
    ).raise_for_status()
    ours = destination.fetch("person", ["1"])["1"]
    source_tenant.clear_requests()

    destination.update("person", ours, {"email": "new@fjord.no"})

    assert source_tenant.requests()["by_route"] == {
        "GET /{endpoint}/api/v1/Person/{record_id}": 1,
        "PATCH /{endpoint}/api/v1/Person/{record_id}": 1,
    }
    stored = next(p for p in source_tenant.records("persons") if p["_id"] == 1)
    assert [e["Value"] for e in stored["Emails"]] == ["new@fjord.no", "second@fjord.no"]


def test_a_delete_sent_again_after_its_answer_was_lost_finds_the_person_gone_and_is_done(
    destination: SuperOfficeDestination, source_tenant: RunningSandbox
) -> None:
    ours = destination.fetch("person", ["3"])["3"]
    source_tenant.set_faults(rate_drop_after_write=0.5, seed=4)  # the first answer is lost
    source_tenant.clear_requests()

    destination.delete("person", ours)

    assert source_tenant.faults()["injected"]["drop_after_write"] == 1
    assert source_tenant.requests()["by_route"] == {
        "DELETE /{endpoint}/api/v1/Person/{record_id}": 2  # the second found it in the bin
    }
    assert destination.fetch("person", ["3"]) == {}


def test_deleting_a_person_moves_it_to_the_recycle_bin(
    destination: SuperOfficeDestination, source_tenant: RunningSandbox
) -> None:
    ours = destination.fetch("person", ["3"])["3"]

    destination.delete("person", ours)

    assert destination.fetch("person", ["3"]) == {}
    stored = next(p for p in source_tenant.records("persons") if p["_id"] == 3)
    assert stored["_deleted"] is not None


@pytest.mark.parametrize(
    "version", ["2026-11-27T10:00:00.5Z", "2026-11-27T10:00:00.5Z#0a1b2c3d4e5f"]
)
def test_the_sale_is_written_only_if_unmodified_since_the_versions_moment(version: str) -> None:
    """A quote's version carries a fingerprint after its Sale's moment; the header takes the
    moment (HTTP dates have whole seconds)."""
    assert unmodified_since(version) == {"If-Unmodified-Since": "Fri, 27 Nov 2026 10:00:00 GMT"}
