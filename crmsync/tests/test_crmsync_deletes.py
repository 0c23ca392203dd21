"""Deletes: held to the end of the run, applied by policy, stopped by the circuit breaker."""

from __future__ import annotations

import pytest
from crmsync.deletes import DeleteCircuitBreakerError, breaker_trips
from crmsync.records import EntitySpec

from crmsync import Incoming, Synchronizer, SyncSettings

COMPANY = (EntitySpec("company"),)


def linked_companies(world, n):
    ids = [world.left.add("company", name=f"Company {i}") for i in range(n)]
    world.leg(world.left, world.right, specs=COMPANY)
    return ids


def test_a_deletion_soft_deletes_the_linked_record(world):
    ids = linked_companies(world, 10)
    world.left.remove("company", ids[0])

    report = world.leg(world.left, world.right, specs=COMPANY)

    assert report.get("company", "deleted") == 1
    assert len(world.right.live("company")) == 9
    assert world.right.calls["delete"] == 1


def test_deletes_wait_for_the_end_of_the_run(world):
    (acme,) = linked_companies(world, 1)
    world.left.remove("company", acme)
    sync = Synchronizer(
        world.crosswalk,
        world.right,
        settings=SyncSettings(),
        specs=COMPANY,
        leg="customcrm->superoffice",
    )

    (outcome,) = sync.receive("company", world.left.feed("company"))

    assert outcome.result == "held"
    assert world.right.calls["delete"] == 0
    sync.finish()
    assert world.right.calls["delete"] == 1


def test_an_already_deleted_partner_is_not_deleted_again(world):
    (acme,) = linked_companies(world, 1)
    world.left.remove("company", acme)
    world.leg(world.left, world.right, specs=COMPANY)
    world.reset_calls()

    report = world.leg(world.left, world.right, specs=COMPANY)

    assert world.right.calls["delete"] == 0
    assert report.get("company", "deleted") == 0


@pytest.mark.parametrize(
    ("before", "deletes"),
    [(["edited"], 2), (["deleted"], 1), (["edited", "edited", "edited"], 3)],
    ids=["edited meanwhile", "deleted by a lost attempt", "edited every time"],
)
def test_a_delete_whose_version_went_stale_reads_the_record_again(world, before, deletes):
    ids = linked_companies(world, 10)
    world.left.remove("company", ids[0])
    world.right.stale_deletes = list(before)

    report = world.leg(world.left, world.right, specs=COMPANY)

    assert world.right.calls["delete"] == deletes
    if len(before) < 3:
        assert report.get("company", "deleted") == 1
        assert len(world.right.live("company")) == 9
    else:  # it kept changing: held with the reason, tried again on the next run
        (item,) = world.crosswalk.quarantine.items()
        assert "kept changing under the delete" in item.reason
        assert len(world.right.live("company")) == 10
        world.leg(world.left, world.right, specs=COMPANY)
        assert len(world.right.live("company")) == 9


def test_a_delete_whose_record_cannot_be_read_is_held_and_the_run_ends_well(world):
    ids = linked_companies(world, 10)
    world.left.remove("company", ids[0])
    world.right.refused_reads = "400: the filter is refused"

    report = world.leg(world.left, world.right, specs=COMPANY)

    assert report.get("company", "quarantined") == 1
    (item,) = world.crosswalk.quarantine.items()
    assert (item.source_id, item.reason) == (ids[0], "400: the filter is refused")
    assert world.crosswalk.runs.recent(1)[0]["status"] == "finished"
    world.right.refused_reads = ""
    again = world.leg(world.left, world.right, specs=COMPANY)
    assert again.get("company", "deleted") == 1
    assert len(world.right.live("company")) == 9


def test_unlink_policy_forgets_the_link_and_deletes_nothing(world):
    (acme,) = linked_companies(world, 1)
    world.left.remove("company", acme)

    report = world.leg(world.left, world.right, specs=COMPANY, delete_policy="unlink")

    assert report.get("company", "deleted") == 1
    assert world.crosswalk.find("company", "customcrm", acme) is None
    assert len(world.right.live("company")) == 1


def test_ignore_policy_leaves_everything(world):
    (acme,) = linked_companies(world, 1)
    world.left.remove("company", acme)

    world.leg(world.left, world.right, specs=COMPANY, delete_policy="ignore")

    assert world.crosswalk.find("company", "customcrm", acme) is not None
    assert len(world.right.live("company")) == 1


def test_too_many_deletes_trip_the_breaker_and_nothing_is_deleted(world):
    ids = linked_companies(world, 20)
    for record_id in ids[:5]:
        world.left.remove("company", record_id)

    with pytest.raises(DeleteCircuitBreakerError) as tripped:
        world.leg(world.left, world.right, specs=COMPANY, min_deletes_for_breaker=3)

    assert str(tripped.value) == (
        "delete circuit breaker tripped for company; no delete applied, held deletes are in "
        "quarantine (crmsync quarantine list)"
    )
    assert world.right.calls["delete"] == 0
    held = world.crosswalk.quarantine.items(kind="held_delete")
    assert sorted(item.source_id for item in held) == sorted(ids[:5])
    assert held[0].reason == "circuit breaker: 5 of 20 company links deleted in one run"
    run = world.crosswalk.runs.recent()[0]
    assert run["status"] == "tripped"
    assert run["report"]["circuit_breaker_tripped"] == ["company"]


def test_an_operator_approved_held_delete_is_applied_on_the_next_run(world):
    ids = linked_companies(world, 20)
    for record_id in ids[:5]:
        world.left.remove("company", record_id)
    with pytest.raises(DeleteCircuitBreakerError):
        world.leg(world.left, world.right, specs=COMPANY, min_deletes_for_breaker=3)
    held = world.crosswalk.quarantine.items(kind="held_delete")
    world.crosswalk.quarantine.request_retry([held[0].id])

    sync = Synchronizer(
        world.crosswalk,
        world.right,
        settings=SyncSettings(),
        specs=COMPANY,
        leg="customcrm->superoffice",
    )
    report = sync.finish()

    assert report.get("company", "deleted") == 1
    assert len(world.right.live("company")) == 19
    assert len(world.crosswalk.quarantine.items(kind="held_delete")) == 4


@pytest.mark.parametrize(
    ("held", "linked", "trips"),
    [(9, 10, False), (10, 100, False), (21, 100, True), (20, 100, False), (10, 10, True)],
)
def test_breaker_needs_both_the_share_and_the_minimum(held, linked, trips):
    assert breaker_trips(held, linked, max_share=0.2, min_deletes=10) is trips


def test_a_missing_record_is_never_taken_for_a_delete(world):
    ids = linked_companies(world, 3)
    del world.left.records["company"][ids[0]]  # absent from the feed, not deleted

    report = world.leg(world.left, world.right, specs=COMPANY)

    assert report.get("company", "deleted") == 0
    assert len(world.right.live("company")) == 3


def test_a_complete_scan_without_a_linked_record_deletes_its_partner(world):
    ids = linked_companies(world, 10)
    del world.left.records["company"][ids[0]]  # gone without a trace: no deletion feed
    sync = Synchronizer(
        world.crosswalk, world.right, settings=SyncSettings(), specs=COMPANY, leg="left->right"
    )
    sync.receive("company", world.left.feed("company"))

    (outcome,) = sync.scanned("company", "customcrm", set(ids[1:]))
    report = sync.finish()

    assert outcome.result == "held"
    assert report.get("company", "deleted") == 1
    assert len(world.right.live("company")) == 9
    assert world.right.calls["delete"] == 1
    assert sync.scanned("company", "customcrm", set(ids)) == []  # a whole scan infers nothing


def test_a_complete_scan_missing_most_records_trips_the_breaker(world):
    ids = linked_companies(world, 20)
    sync = Synchronizer(
        world.crosswalk, world.right, settings=SyncSettings(), specs=COMPANY, leg="left->right"
    )

    sync.scanned("company", "customcrm", set(ids[:5]))  # e.g. a scan of the wrong tenant

    with pytest.raises(DeleteCircuitBreakerError):
        sync.finish()
    assert world.right.calls["delete"] == 0
    assert len(world.right.live("company")) == 20


def test_an_edit_held_because_its_partner_is_gone_clears_when_the_deletion_comes_round(world):
    """SuperOffice hides a deleted person from reads: an edit of its partner arriving first
    is held ("gone"); once the deletion has travelled and comes back, the edit is moot."""
    ids = linked_companies(world, 10)
    partner = world.crosswalk.translate("company", "customcrm", ids[0], "superoffice")
    world.right.records["company"].pop(partner)  # deleted there, unreadable now
    world.left.edit("company", ids[0], name="Company 0 renamed")

    world.leg(world.left, world.right, specs=COMPANY)
    assert world.crosswalk.quarantine.keys("superoffice") == {("company", "customcrm", ids[0])}
    back = Synchronizer(  # the other leg carries the deletion (a recycle-bin marker)
        world.crosswalk, world.left, settings=SyncSettings(), specs=COMPANY,
        leg="superoffice->customcrm",
    )  # fmt: skip
    marker = Incoming("superoffice", partner, world.right.tick(), {}, deleted=True)
    back.receive("company", [marker])
    back.finish()
    assert ids[0] not in world.left.live("company")

    world.leg(world.left, world.right, specs=COMPANY)

    assert world.crosswalk.quarantine.keys("superoffice") == set()


def test_a_held_record_deleted_at_its_source_before_it_was_linked_leaves_quarantine(world):
    world.left.require("org_number")
    held = world.right.add("company", name="Held AS")  # refused by the left: no org number
    world.leg(world.right, world.left, specs=COMPANY)
    assert world.crosswalk.quarantine.keys("customcrm") == {("company", "superoffice", held)}
    world.right.remove("company", held)

    world.leg(world.right, world.left, specs=COMPANY)

    assert world.crosswalk.quarantine.keys("customcrm") == set()
    assert world.left.live("company") == {}


def test_a_reference_to_a_deleted_record_is_carried_as_empty(world):
    """A person whose company was deleted on both sides keeps pointing at it on one side;
    carried over, the reference is empty rather than an id the API cannot find."""
    acme = world.left.add("company", name="Acme AS", org_number="912345678")
    kari = world.left.add("person", first_name="Kari", email="kari@acme.no", company_id=acme)
    world.both()
    partner = world.crosswalk.translate("company", "customcrm", acme, "superoffice")
    other_kari = world.crosswalk.translate("person", "customcrm", kari, "superoffice")
    world.right.remove("company", partner)
    world.leg(world.right, world.left)  # the delete travels: Acme is gone on both sides
    assert acme not in world.left.live("company")
    world.left.edit("person", kari, first_name="Kari Anne")

    world.leg(world.left, world.right)

    assert world.right.values("person", other_kari) == {
        "first_name": "Kari Anne",
        "email": "kari@acme.no",
        "company_id": None,
    }
    assert world.crosswalk.quarantine.keys("superoffice") == set()
