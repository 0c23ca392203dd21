"""CustomcrmDestination against the sandbox over loopback HTTP: crmsync's calls, one by one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from crmsync.destination import Ours, RecordRejectedError, StaleVersionError
from customcrm_client import ClientSettings, CustomcrmClient
from sandbox.testing import RunningSandbox, running_sandbox
from target_customcrm.destination import CustomcrmDestination
from target_customcrm.line_sets import LineSets

from crmsync import Crosswalk, Incoming


@pytest.fixture(scope="module")
def seeded() -> Iterator[RunningSandbox]:
    with running_sandbox("customcrm", seed=4, seed_value=7) as sandbox:
        yield sandbox


@pytest.fixture
def crm(seeded: RunningSandbox) -> RunningSandbox:
    seeded.reset(seed=4, seed_value=7)
    seeded.clear_faults()
    seeded.clear_requests()
    return seeded


@pytest.fixture
def destination(crm: RunningSandbox) -> CustomcrmDestination:
    settings = ClientSettings.from_config({"api_url": crm.url, "api_token": crm.token})
    return CustomcrmDestination(CustomcrmClient(settings))


def test_fetch_reads_many_ids_in_one_request_and_leaves_unknown_ids_out(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    ids = [row["id"] for row in crm.records("contacts")]

    found = destination.fetch("person", [*ids, "con_999999"])

    assert sorted(found) == sorted(ids)
    assert crm.requests()["by_route"] == {"GET /api/v1/contacts": 1}
    some = found[ids[0]]
    assert some.version == crm.records("contacts")[0]["updated_at"]
    assert some.extra["version"] == crm.records("contacts")[0]["version"]


def test_match_uses_the_apis_own_filters(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    customer = crm.records("customers")[0]
    contact = crm.records("contacts")[0]
    product = crm.records("products")[0]

    digits = "".join(ch for ch in customer["org_number"] if ch.isdigit())
    assert [o.id for o in destination.match("company", "org_number", digits)] == [customer["id"]]
    email = contact["email"].upper()
    assert [o.id for o in destination.match("person", "email", email)] == [contact["id"]]
    assert [o.id for o in destination.match("product", "sku", product["sku"].lower())] == [
        product["id"]
    ]


def test_primed_match_keys_cost_one_request_for_the_batch(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    contacts = [row for row in crm.records("contacts") if row["email"]]
    known = [row["email"].casefold() for row in contacts]
    unknown = [f"new{n}@example.no" for n in range(120)]

    destination.prime("person", "email", [*known, *unknown])
    answers = {value: destination.match("person", "email", value) for value in known + unknown}

    assert crm.requests()["by_route"] == {"GET /api/v1/contacts": 2}  # 100 keys per request
    assert [[o.id for o in answers[row["email"].casefold()]] for row in contacts] == [
        [row["id"]] for row in contacts
    ]
    assert all(answers[value] == [] for value in unknown)


def test_a_primed_batch_reads_its_chunks_at_once_up_to_the_concurrency(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    crm.set_faults(latency_ms=100)  # long enough for the reads to overlap
    reading = CustomcrmDestination(destination.client, concurrency=3)
    unknown = [f"new{n}@example.no" for n in range(450)]

    reading.prime("person", "email", unknown)

    counted = crm.requests()
    assert counted["by_route"] == {"GET /api/v1/contacts": 5}  # 100 keys per request
    assert counted["peak_in_flight"] == 3
    assert reading.match("person", "email", unknown[-1]) == []
    assert crm.requests()["total"] == 5  # answered from the primed reads


def test_a_batched_fetch_reads_its_chunks_at_once_up_to_the_concurrency(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    crm.set_faults(latency_ms=100)  # long enough for the reads to overlap
    reading = CustomcrmDestination(destination.client, concurrency=3)
    contacts = [row["id"] for row in crm.records("contacts")]
    wanted = [*contacts, *(f"con_{n}" for n in range(100_000, 100_450))]

    found = reading.fetch("person", wanted)

    counted = crm.requests()
    assert counted["by_route"] == {"GET /api/v1/contacts": -(-len(wanted) // 100)}
    assert counted["peak_in_flight"] == 3
    assert sorted(found) == sorted(contacts)


def test_a_primed_answer_holds_for_the_batch_and_leaves_out_this_runs_creates(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    destination.prime("person", "email", ["kari@example.no", "ola@example.no"])
    destination.create("person", {"first_name": "Kari", "email": "Kari@Example.no"}, "ck-kari")
    crm.clear_requests()

    again = destination.match("person", "email", "kari@example.no")
    twice = destination.match("person", "email", "kari@example.no")

    # what was read: this run's create is linked, and crmsync never takes a linked candidate
    assert again == twice == []
    assert crm.requests()["total"] == 0


def test_an_update_of_this_run_drops_the_primed_answer_for_the_key_it_wrote(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    kari = destination.create("person", {"first_name": "Kari", "email": "kari@example.no"}, "ck")
    destination.prime("person", "email", ["ola@example.no"])
    destination.update("person", kari, {"email": "ola@example.no"})
    crm.clear_requests()

    found = destination.match("person", "email", "ola@example.no")

    assert [o.id for o in found] == [kari.id]  # read anew, not the primed "none"
    assert crm.requests()["by_route"] == {"GET /api/v1/contacts": 1}


def test_match_finds_companies_by_normalised_name_with_one_scan(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    customer = crm.records("customers")[1]
    shouted = "  " + customer["name"].upper().replace(" ", "   ") + " "

    assert [o.id for o in destination.match("company", "name", shouted)] == [customer["id"]]
    assert destination.match("company", "name", "no such company") == []
    assert crm.requests()["by_route"]["GET /api/v1/customers"] == 2  # one scan, one fetch


def test_a_name_match_among_companies_this_run_wrote_needs_no_read(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    destination.match("company", "name", "no such company")  # the one scan of the run
    name = "Nordkapp Fisk AS"
    (created,) = destination.create_many("company", [({"name": name}, "ck-first")])
    deleted = destination.create("company", {"name": name}, "ck-gone")
    destination.delete("company", deleted)
    existing = crm.records("customers")[1]
    crm.clear_requests()

    found = destination.match("company", "name", name)
    also_read = destination.match("company", "name", existing["name"])

    assert isinstance(created, Ours)
    assert [o.id for o in found] == [created.id]  # the deleted one is not a candidate
    assert [o.id for o in also_read] == [existing["id"]]
    # only the company this run did not write is read
    assert crm.requests()["by_route"] == {"GET /api/v1/customers": 1}


def test_known_matches_answers_without_a_request_or_says_it_cannot(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    destination.prime("person", "email", ["kari@example.no"])
    name = "Nordkapp Fisk AS"
    (created,) = destination.create_many("company", [({"name": name}, "ck-first")])
    existing = crm.records("customers")[1]
    crm.clear_requests()

    assert destination.known_matches("person", "email", "kari@example.no") == []  # primed
    assert destination.known_matches("person", "email", "ola@example.no") is None  # not primed
    assert destination.known_matches("company", "name", "nordkapp fisk as") == [created]
    assert destination.known_matches("company", "name", "no such company") == []
    # a company this run did not write would take a read: not known
    assert destination.known_matches("company", "name", existing["name"]) is None
    assert crm.requests()["by_route"] == {"GET /api/v1/customers": 1}  # the one name scan


def test_create_carries_the_correlation_key_and_repeats_safely(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    values = {"name": "Fjord Analytics AS", "org_number": "998 877 665", "country": "NO"}

    first = destination.create("company", values, "ck-company-1")
    again = destination.create("company", values, "ck-company-1")

    assert again.id == first.id
    assert first.correlation_key == "ck-company-1"
    assert destination.find_by_correlation("company", "ck-company-1") == first
    assert destination.find_by_correlation("company", "ck-never-used") is None
    assert len([r for r in crm.records("customers") if r["name"] == values["name"]]) == 1


def test_update_patches_only_the_changes_under_if_match(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    ours = destination.fetch("company", ["cus_1"])["cus_1"]

    updated = destination.update("company", ours, {"city": "Bodø"})

    assert updated.values["city"] == "Bodø"
    assert {k: v for k, v in updated.values.items() if k != "city"} == {
        k: v for k, v in ours.values.items() if k != "city"
    }
    assert updated.extra["version"] == ours.extra["version"] + 1


def test_update_against_a_stale_version_raises_stale_version_error(
    destination: CustomcrmDestination,
) -> None:
    stale = destination.fetch("company", ["cus_1"])["cus_1"]
    destination.update("company", stale, {"city": "Narvik"})

    with pytest.raises(StaleVersionError, match=r"^412 "):
        destination.update("company", stale, {"city": "Alta"})


def test_update_with_no_writable_change_sends_nothing(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    ours = destination.fetch("company", ["cus_1"])["cus_1"]
    crm.clear_requests()

    assert destination.update("company", ours, {"subtotal": 5}) is ours
    assert crm.requests()["total"] == 0


def test_rejected_values_carry_the_apis_message(destination: CustomcrmDestination) -> None:
    with pytest.raises(RecordRejectedError) as caught:
        destination.create("person", {"first_name": "Ola", "email": "not-an-email"}, "ck-bad-1")
    assert caught.value.status == 422
    assert caught.value.reason.startswith("422 ")
    assert "email" in caught.value.reason


def test_delete_is_soft_and_fetch_still_sees_the_record(
    destination: CustomcrmDestination,
) -> None:
    ours = destination.fetch("product", ["prd_1"])["prd_1"]

    destination.delete("product", ours)

    gone = destination.fetch("product", ["prd_1"])["prd_1"]
    assert gone.deleted is True


def test_quote_lines_are_created_read_updated_and_deleted_under_their_quote(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    quote_id = crm.records("quotes")[0]["id"]
    values = {"quote_id": quote_id, "product_id": "prd_1", "quantity": 3, "position": 9}

    line = destination.create("quote_line", values, "ck-line-1")
    fresh = CustomcrmDestination(destination.client)  # a new run: no line → quote memory
    read = fresh.fetch("quote_line", [line.id])[line.id]
    found = fresh.find_by_correlation("quote_line", "ck-line-1")
    updated = fresh.update("quote_line", read, {"quantity": 4})
    fresh.delete("quote_line", updated)

    assert read.values["quote_id"] == quote_id
    assert found is not None
    assert found.id == line.id
    assert updated.values["quantity"] == 4
    assert fresh.fetch("quote_line", [line.id])[line.id].deleted is True
    assert fresh.fetch("quote_line", ["qln_999999"]) == {}


def test_quote_lines_of_many_quotes_are_fetched_in_one_request(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    lines = crm.records("quote_lines")
    gone = lines[0]
    destination.client.delete(
        f"/api/v1/quotes/{gone['quote_id']}/lines/{gone['id']}", version=gone["version"]
    )
    crm.clear_requests()

    found = destination.fetch("quote_line", [line["id"] for line in lines])

    assert {i: o.extra["quote_id"] for i, o in found.items()} == {
        line["id"]: line["quote_id"] for line in lines
    }
    assert [i for i, o in found.items() if o.deleted] == [gone["id"]]
    assert len({line["quote_id"] for line in lines}) > 1
    assert crm.requests()["by_route"] == {"GET /api/v1/quote-lines": 1}


def test_a_quote_line_cannot_move_to_another_quote(
    crm: RunningSandbox, destination: CustomcrmDestination
) -> None:
    line = crm.records("quote_lines")[0]
    ours = destination.fetch("quote_line", [line["id"]])[line["id"]]
    with pytest.raises(RecordRejectedError, match="cannot move to another quote"):
        destination.update("quote_line", ours, {"quote_id": "quo_999"})


def test_lines_a_superoffice_read_lacks_are_deleted_unless_written_after_that_read(
    destination: CustomcrmDestination, crmsync_sqlite_crosswalk: Crosswalk
) -> None:
    """A linked line the alternative's line set lacks was deleted in SuperOffice; one whose
    partner we wrote after the set was read (our other leg created it meanwhile) may simply
    be newer than the read, and is kept."""
    quote = next(q for q in destination.client.list_all("quotes", {}) if len(q["lines"]) >= 2)
    first, second = (str(line["id"]) for line in quote["lines"][:2])
    crosswalk = crmsync_sqlite_crosswalk
    run = crosswalk.runs.start("test", "customcrm", False)
    read_at = "2026-11-27T10:00:00.000000Z"
    crosswalk.link(
        "quote", ("superoffice", "500", read_at), ("customcrm", str(quote["id"])), run_id=run
    )
    for line_id, partner, receipt in (
        (first, "601", "2026-11-27T09:00:00Z"),
        (second, "602", "2026-11-27T11:00:00Z"),
    ):
        crosswalk.link(
            "quote_line",
            ("customcrm", line_id, None),
            ("superoffice", partner),
            run_id=run,
            receipt=receipt,
        )
    sets = LineSets()
    alternative = Incoming("superoffice", "500", f"{read_at}#0a1b2c3d4e5f", {})
    sets.note(alternative, {"_line_ids": [609]})

    gone = sets.gone(crosswalk, destination)

    assert [(marker.system, marker.id, marker.deleted) for marker in gone] == [
        ("superoffice", "601", True)
    ]
