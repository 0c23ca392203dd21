"""The engine against two dict-backed CRMs: every invariant of DESIGN.md §3 it owns."""

from __future__ import annotations

import pytest
from crmsync.destination import SystemicError

from crmsync import Incoming, Synchronizer, SyncSettings


def test_first_run_creates_every_record_on_the_other_side(world):
    acme = world.left.add("company", name="Acme AS", org_number="912 345 678")
    world.left.add("person", first_name="Kari", email="kari@acme.no", company_id=acme)

    report = world.leg(world.left, world.right)

    assert report.get("company", "created") == 1
    assert report.get("person", "created") == 1
    assert world.mirrored("company")
    assert world.mirrored("person")


def test_rerunning_never_creates_a_duplicate(world):
    acme = world.left.add("company", name="Acme AS", org_number="912345678")
    world.left.add("person", first_name="Kari", email="kari@acme.no", company_id=acme)
    for _ in range(3):
        world.both()

    assert len(world.right.live("company")) == 1
    assert len(world.right.live("person")) == 1
    assert len(world.left.live("company")) == 1


def test_a_run_without_changes_writes_nothing_on_either_side(world):
    acme = world.left.add("company", name="Acme AS", org_number="912345678")
    world.right.add("company", name="Nordlys AB", org_number="5560001111")
    world.left.add("person", first_name="Kari", email="kari@acme.no", company_id=acme)
    world.both()
    world.reset_calls()

    first, second = world.both()

    assert world.writes() == 0
    assert first.get("company", "echo") + first.get("company", "unchanged") == 2
    assert second.get("person", "echo") == 1


def test_echo_of_our_own_write_costs_zero_api_calls(world):
    world.left.add("company", name="Acme AS", org_number="912345678")
    world.leg(world.left, world.right)
    world.reset_calls()

    report = world.leg(world.right, world.left)

    assert report.get("company", "echo") == 1
    assert sum(world.left.calls.values()) == 0


def test_incoming_equal_to_base_costs_zero_api_calls(world):
    world.left.add("company", name="Acme AS", org_number="912345678")
    world.both()
    world.reset_calls()

    report = world.leg(world.left, world.right)

    assert report.get("company", "unchanged") == 1
    assert sum(world.right.calls.values()) == 0


def test_edits_to_different_fields_on_both_sides_both_survive_and_then_rest(world):
    acme = world.left.add("company", name="Acme AS", org_number="912345678", city="Oslo")
    world.both()
    partner = world.crosswalk.translate("company", "customcrm", acme, "superoffice")
    world.left.edit("company", acme, name="Acme Holding AS")
    world.right.edit("company", partner, city="Bergen")

    world.both()

    expected = {"name": "Acme Holding AS", "org_number": "912345678", "city": "Bergen"}
    assert world.left.values("company", acme) == expected
    assert world.right.values("company", partner) == expected
    assert world.writes_of_next_run() == 0


def test_same_field_conflict_goes_to_the_newer_change_and_is_recorded(world):
    acme = world.left.add("company", name="Acme AS", org_number="912345678", city="Oslo")
    world.both()
    partner = world.crosswalk.translate("company", "customcrm", acme, "superoffice")
    world.left.edit("company", acme, city="Drammen")
    world.right.edit("company", partner, city="Bergen")  # later on the fake clock

    world.both()

    assert world.left.values("company", acme)["city"] == "Bergen"
    assert world.right.values("company", partner)["city"] == "Bergen"
    [conflict] = world.crosswalk.conflicts.recent()  # met once: the second leg carries it
    assert conflict["field"] == "city"
    assert (conflict["base"], conflict["ours"], conflict["theirs"]) == ("Oslo", "Bergen", "Drammen")
    assert (conflict["winner"], conflict["rule"]) == ("superoffice", "newer_wins")
    assert conflict["source_id"] == acme
    assert conflict["destination_id"] == partner


def test_field_ownership_beats_the_newer_change(world):
    acme = world.left.add("company", name="Acme AS", org_number="912345678", city="Oslo")
    world.both()
    partner = world.crosswalk.translate("company", "customcrm", acme, "superoffice")
    world.left.edit("company", acme, city="Drammen")
    world.right.edit("company", partner, city="Bergen")

    world.both(field_ownership={"company.city": "customcrm"})

    assert world.right.values("company", partner)["city"] == "Drammen"
    assert world.left.values("company", acme)["city"] == "Drammen"
    assert world.crosswalk.conflicts.recent()[0]["rule"] == "field_ownership:city"


@pytest.mark.parametrize(
    ("policy", "kept"), [("destination_wins", "Bergen"), ("source_wins", "Drammen")]
)
def test_a_same_field_conflict_is_decided_once_and_both_sides_keep_the_decision(
    world, policy, kept
):
    """The first leg meets the clash and its policy decides; the second leg carries that
    decision back (Customcrm is still as the first leg read it), so the pair converges and
    the clash is recorded once. Before, `destination_wins` met it again on the second leg
    and kept Customcrm's city there: each side its own, for good."""
    acme = world.left.add("company", name="Acme AS", org_number="912345678", city="Oslo")
    world.both()
    partner = world.crosswalk.translate("company", "customcrm", acme, "superoffice")
    world.left.edit("company", acme, city="Drammen")
    world.right.edit("company", partner, city="Bergen")

    world.both(conflict_policy=policy)

    assert world.left.values("company", acme)["city"] == kept
    assert world.right.values("company", partner)["city"] == kept
    assert [c["field"] for c in world.crosswalk.conflicts.recent()] == ["city"]
    assert world.writes_of_next_run(conflict_policy=policy) == 0


def test_existing_records_are_matched_by_normalised_keys_not_duplicated(world):
    world.left.add("company", name="Acme AS", org_number="912 345 678")
    match = world.right.add("company", name="ACME  as", org_number="912345678")
    world.left.add("company", name="Nordlys  AB")
    by_name = world.right.add("company", name="nordlys ab")

    report = world.leg(world.left, world.right)

    assert report.get("company", "created") == 0
    assert len(world.right.live("company")) == 2
    assert world.crosswalk.find("company", "superoffice", match) is not None
    assert world.crosswalk.find("company", "superoffice", by_name) is not None


def test_a_value_the_destination_fills_on_create_travels_back_without_a_conflict(world):
    """SuperOffice gives a new Person its default country: the created record holds more
    than was sent, so its create keeps no receipt, and the filled value comes back to the
    source side in the same run as the other side's own value (its record is still as we
    carried it), not as a conflict and not as our echo."""
    world.right.fills = {"person": {"country": "NO"}}
    acme = world.left.add("company", name="Acme AS")
    ola = world.left.add(
        "person", first_name="Ola", email="ola@acme.no", company_id=acme, country=None
    )

    world.both(conflict_policy="destination_wins")

    assert world.left.values("person", ola)["country"] == "NO"
    assert world.crosswalk.conflicts.recent() == []
    assert world.mirrored("person")
    assert world.writes_of_next_run(conflict_policy="destination_wins") == 0


def test_a_clash_met_when_existing_records_are_matched_is_resolved_once(world):
    """Matched on first contact, Acme's city differs: the first leg meets the conflict and
    its policy decides; the second leg carries that decision back (Customcrm is still as
    carried), so both sides agree and the clash is recorded once. Before, the second leg
    met it again, and under `destination_wins` each side kept its own city."""
    acme = world.left.add("company", name="Acme AS", org_number="912345678", city="Oslo")
    partner = world.right.add("company", name="Acme AS", org_number="912345678", city="Bergen")

    world.both(conflict_policy="destination_wins")

    assert world.left.values("company", acme)["city"] == "Bergen"
    assert world.right.values("company", partner)["city"] == "Bergen"
    assert [c["field"] for c in world.crosswalk.conflicts.recent()] == ["city"]
    assert world.writes_of_next_run(conflict_policy="destination_wins") == 0


def test_ambiguous_match_is_quarantined_never_guessed_never_created(world):
    kari = world.left.add("person", first_name="Kari", email=" Kari@Acme.no")
    first = world.right.add("person", first_name="Kari", email="kari@acme.no")
    second = world.right.add("person", first_name="K.", email="KARI@acme.no ")

    report = world.leg(world.left, world.right)

    assert world.right.calls["create"] == 0
    assert report.get("person", "quarantined") == 1
    (item,) = world.crosswalk.quarantine.items(kind="ambiguous")
    assert item.source_id == kari
    assert item.reason == f"2 candidates with email = 'kari@acme.no': {first}, {second}"


def test_candidate_already_linked_to_another_record_is_not_matched_again(world):
    world.left.add("person", first_name="Kari", email="kari@acme.no")
    world.leg(world.left, world.right)
    world.left.add("person", first_name="Kari II", email="KARI@acme.no")

    report = world.leg(world.left, world.right)

    assert report.get("person", "created") == 1
    assert len(world.right.live("person")) == 2


def test_child_before_its_parent_is_deferred_then_attached_to_the_right_parent(world):
    acme = world.left.add("company", name="Acme AS", org_number="912345678")
    kari = world.left.add("person", first_name="Kari", email="kari@acme.no", company_id=acme)
    sync = Synchronizer(
        world.crosswalk,
        world.right,
        settings=SyncSettings(),
        specs=SPECS_FROM(world),
        leg="customcrm->superoffice",
    )

    (outcome,) = sync.receive("person", world.left.feed("person"))
    assert outcome.result == "deferred"
    assert outcome.reason == "company_id: company c1 of customcrm is not linked yet"
    sync.receive("company", world.left.feed("company"))
    report = sync.finish()

    partner = world.crosswalk.translate("person", "customcrm", kari, "superoffice")
    company = world.crosswalk.translate("company", "customcrm", acme, "superoffice")
    assert world.right.values("person", partner)["company_id"] == company
    assert report.get("person", "created") == 1
    assert report.get("person", "deferred") == 0
    assert world.crosswalk.quarantine.items() == []


def test_a_missing_parent_stays_deferred_across_runs_until_it_arrives(world):
    world.left.add("person", first_name="Kari", email="kari@acme.no", company_id="c99")
    report = world.leg(world.left, world.right)
    assert report.get("person", "deferred") == 1
    assert world.right.live("person") == {}

    second = world.leg(world.left, world.right)

    (item,) = world.crosswalk.quarantine.items(kind="deferred")
    assert item.attempts >= 2
    assert second.get("person", "deferred") == 1
    assert world.right.calls["create"] == 0


def test_a_null_reference_stays_null(world):
    kari = world.left.add("person", first_name="Kari", email="kari@acme.no", company_id=None)
    world.leg(world.left, world.right)
    partner = world.crosswalk.translate("person", "customcrm", kari, "superoffice")
    assert world.right.values("person", partner)["company_id"] is None


def test_a_rejected_record_is_quarantined_and_the_rest_continues(world):
    world.left.add("company", name="Acme AS", org_number="912345678")
    bad = world.left.add("company", name="", org_number="1")
    world.right.reject = lambda entity, values: (
        "name is required" if not values.get("name") else None
    )

    report = world.leg(world.left, world.right)

    assert report.get("company", "created") == 1
    assert report.get("company", "quarantined") == 1
    (item,) = world.crosswalk.quarantine.items(kind="rejected")
    assert (item.source_id, item.reason) == (bad, "name is required")
    assert item.payload["values"] == {"name": "", "org_number": "1"}


def test_a_quarantined_record_is_retried_on_a_later_run_from_its_payload(world):
    world.left.add("company", name="", org_number="1")
    world.right.reject = lambda entity, values: (
        "name is required" if not values.get("name") else None
    )
    world.leg(world.left, world.right)
    world.right.reject = lambda entity, values: None

    sync = Synchronizer(
        world.crosswalk,
        world.right,
        settings=SyncSettings(),
        specs=SPECS_FROM(world),
        leg="customcrm->superoffice",
    )
    report = sync.finish()  # nothing new arrives: the stored payload is retried

    assert report.get("company", "created") == 1
    assert world.crosswalk.quarantine.items() == []


def test_an_unexpected_error_is_quarantined_with_its_reason(world):
    world.left.add("company", name="Acme AS")

    def explode(entity, values):
        raise KeyError("boom")

    world.right.reject = explode
    report = world.leg(world.left, world.right)

    assert report.get("company", "quarantined") == 1
    assert world.crosswalk.quarantine.items()[0].reason == "KeyError: 'boom'"


def test_a_systemic_error_stops_the_run(world):
    world.left.add("company", name="Acme AS")

    def down(entity, values):
        raise SystemicError("401 Unauthorized: ticket expired")

    world.right.reject = down
    sync = Synchronizer(
        world.crosswalk,
        world.right,
        settings=SyncSettings(),
        specs=SPECS_FROM(world),
        leg="customcrm->superoffice",
    )
    with pytest.raises(SystemicError, match=r"^401 Unauthorized: ticket expired$"):
        sync.receive("company", world.left.feed("company"))
    sync.close("failed")
    assert world.crosswalk.runs.recent()[0]["status"] == "failed"


def test_a_create_interrupted_after_the_api_call_is_found_by_correlation_not_repeated(world):
    world.left.add("company", name="Acme AS", org_number="912345678")
    world.right.drop_after_create = True
    first = world.leg(world.left, world.right)
    assert first.get("company", "quarantined") == 1
    world.right.drop_after_create = False

    world.leg(world.left, world.right)

    assert world.right.calls["create"] == 1
    assert world.right.calls["find_by_correlation"] == 1
    assert len(world.right.live("company")) == 1
    assert world.mirrored("company")


def test_a_stale_version_is_reread_and_merged_again(world):
    acme = world.left.add("company", name="Acme AS", city="Oslo")
    world.both()
    world.left.edit("company", acme, city="Bergen")
    world.right.stale_updates = 2

    report = world.leg(world.left, world.right)

    assert report.get("company", "updated") == 1
    assert world.right.calls["update"] == 3


def test_a_record_that_stays_stale_is_quarantined(world):
    acme = world.left.add("company", name="Acme AS", city="Oslo")
    world.both()
    world.left.edit("company", acme, city="Bergen")
    world.right.stale_updates = 5

    report = world.leg(world.left, world.right)

    assert report.get("company", "quarantined") == 1
    assert world.crosswalk.quarantine.items()[0].reason == (
        "company kept changing under us (3 attempts)"
    )


def test_the_same_record_twice_in_one_batch_is_created_once(world):
    record = Incoming("customcrm", "c1", "2026-01-01T00:00:01Z", {"name": "Acme AS"})
    newer = Incoming("customcrm", "c1", "2026-01-01T00:00:02Z", {"name": "Acme ASA"})
    sync = Synchronizer(
        world.crosswalk,
        world.right,
        settings=SyncSettings(),
        specs=SPECS_FROM(world),
        leg="customcrm->superoffice",
    )
    sync.receive("company", [record, newer])
    sync.finish()

    assert list(world.right.live("company").values()) == [{"name": "Acme ASA"}]


def test_versions_are_compared_in_utc(world):
    world.left.add("company", name="Acme AS")
    world.leg(world.left, world.right)
    (partner,) = world.right.live("company")
    version = world.right.records["company"][partner]["version"]  # ...Z
    shifted = version.replace("2026-01-01T00", "2026-01-01T01").replace("Z", "+01:00")
    world.reset_calls()
    sync = Synchronizer(
        world.crosswalk,
        world.left,
        settings=SyncSettings(),
        specs=SPECS_FROM(world),
        leg="superoffice->customcrm",
    )

    (outcome,) = sync.receive("company", [Incoming("superoffice", partner, shifted, {"name": "x"})])

    assert outcome.result == "echo"
    assert sum(world.left.calls.values()) == 0


def SPECS_FROM(world):  # noqa: N802 - reads like the constant it returns
    from crmsync.records import EntitySpec, MatchKey, Reference

    return (
        EntitySpec(
            "company", match_keys=(MatchKey("org_number", "digits"), MatchKey("name", "name"))
        ),
        EntitySpec(
            "person",
            references=(Reference("company_id", "company"),),
            match_keys=(MatchKey("email", "email"),),
        ),
    )


def test_resending_the_same_record_before_the_other_leg_keeps_the_kept_edit(world):
    acme = world.left.add("company", name="Acme AS", city="Oslo")
    world.both()
    partner = world.crosswalk.translate("company", "customcrm", acme, "superoffice")
    world.left.edit("company", acme, name="Acme Holding AS")
    world.right.edit("company", partner, city="Bergen")

    world.leg(world.left, world.right)
    world.leg(world.left, world.right)  # inclusive bookmark: the same record again

    assert world.right.values("company", partner) == {"name": "Acme Holding AS", "city": "Bergen"}
    world.leg(world.right, world.left)
    assert world.left.values("company", acme) == {"name": "Acme Holding AS", "city": "Bergen"}


def test_after_convergence_the_next_edit_is_not_taken_for_a_conflict(world):
    acme = world.left.add("company", name="Acme AS", city="Oslo")
    world.both()
    partner = world.crosswalk.translate("company", "customcrm", acme, "superoffice")
    world.left.edit("company", acme, name="Acme Holding AS")
    world.right.edit("company", partner, city="Bergen")
    world.both()
    world.both()
    world.left.edit("company", acme, city="Stavanger")

    world.both(conflict_policy="destination_wins")

    assert world.right.values("company", partner)["city"] == "Stavanger"
    assert world.crosswalk.conflicts.recent() == []


def test_an_edit_that_overtakes_the_echo_of_our_carry_is_not_taken_for_a_conflict(world):
    """SuperOffice's edit is carried into Customcrm; a user edits the same field there again
    before the carry comes back as an echo. The stored base is then older than both sides,
    but SuperOffice is still as carried: the Customcrm edit is the only change."""
    acme = world.left.add("company", name="Acme AS", city="Oslo")
    world.both()
    partner = world.crosswalk.translate("company", "customcrm", acme, "superoffice")
    world.right.edit("company", partner, city="Bergen")
    world.leg(world.right, world.left)  # carried: Customcrm says Bergen too
    world.left.edit("company", acme, city="Tromsø")  # before the echo was read

    world.leg(world.left, world.right, conflict_policy="destination_wins")

    assert world.right.values("company", partner)["city"] == "Tromsø"
    assert world.crosswalk.conflicts.recent() == []
    world.both()
    assert world.left.values("company", acme)["city"] == "Tromsø"
    assert world.writes_of_next_run() == 0


def _linked_person(shared) -> tuple[str, str, str]:
    """Acme and its Ola, linked on both sides; returns the company, the person, its partner."""
    acme = shared.left.add("company", name="Acme AS", city="Oslo")
    ola = shared.left.add(
        "person", first_name="Ola", email="ola@acme.no", company_id=acme, title="Sales"
    )
    shared.both()
    return acme, ola, shared.crosswalk.translate("person", "customcrm", ola, "superoffice")


def _carried_then_edited_before_the_echo(shared) -> tuple[str, str, str]:
    """A person's SuperOffice edit (CEO) carried into Customcrm, then edited there (CTO)
    before the carry came back as an echo; returns the company, the person, its partner."""
    acme, ola, partner = _linked_person(shared)
    shared.right.edit("person", partner, title="CEO")
    shared.leg(shared.right, shared.left)  # carried: Customcrm says CEO too
    shared.left.edit("person", ola, title="CTO")  # before the echo was read
    return acme, ola, partner


@pytest.mark.parametrize("moved_by", ["our write", "a user"])
def test_an_edit_that_overtakes_our_carrys_echo_travels_though_a_shared_version_moved(
    shared, moved_by
):
    """Where records share a version (SuperOffice: a Sale's lines carry its `UpdatedDate`),
    a write of the company, ours or a user's, moves its person's version: the fingerprint in
    the version says the person is still as we carried it, so the user's later edit of it on
    the other side is the only change."""
    acme, ola, partner = _carried_then_edited_before_the_echo(shared)
    if moved_by == "our write":
        shared.left.edit("company", acme, city="Bergen")  # written first, moving the person
    else:
        company = shared.crosswalk.translate("company", "customcrm", acme, "superoffice")
        shared.right.edit("company", company, city="Bergen")

    shared.leg(shared.left, shared.right)

    assert shared.right.values("person", partner)["title"] == "CTO"
    assert shared.crosswalk.conflicts.recent() == []
    shared.both()
    assert shared.left.values("person", ola)["title"] == "CTO"
    assert shared.left.values("company", acme)["city"] == "Bergen"
    assert shared.writes_of_next_run() == 0


def test_our_carry_whose_shared_version_moved_still_comes_back_as_an_echo(shared):
    """Our write into the side of shared versions comes back with the version moved by a
    user's write of another record of its group: the same fingerprint says it holds what we
    wrote, so it is an echo, and a later edit on our side holds even under `source_wins`."""
    acme, ola, partner = _linked_person(shared)
    shared.left.edit("person", ola, title="CTO")
    shared.leg(shared.left, shared.right)  # carried: SuperOffice says CTO too
    company = shared.crosswalk.translate("company", "customcrm", acme, "superoffice")
    shared.right.edit("company", company, city="Bergen")  # moves the person's version
    shared.left.edit("person", ola, title="CIO")

    shared.leg(shared.right, shared.left, conflict_policy="source_wins")

    assert shared.left.values("person", ola)["title"] == "CIO"
    assert shared.left.values("company", acme)["city"] == "Bergen"
    assert shared.crosswalk.conflicts.recent() == []
    shared.both()
    assert shared.right.values("person", partner)["title"] == "CIO"
    assert shared.writes_of_next_run() == 0


def test_without_fingerprints_a_moved_shared_version_leaves_the_edit_to_the_conflict_rules(
    shared,
):
    """The same story where versions carry no fingerprint: the person may have changed, so
    the edit meets the conflict rules (here `source_wins`)."""
    shared.right.fingerprints = False
    acme, _ola, partner = _carried_then_edited_before_the_echo(shared)
    shared.left.edit("company", acme, city="Bergen")

    shared.leg(shared.left, shared.right, conflict_policy="source_wins")

    assert [c["field"] for c in shared.crosswalk.conflicts.recent()] == ["title"]
    assert shared.right.values("person", partner)["title"] == "CTO"


def test_an_edit_back_to_the_old_value_that_overtakes_our_carrys_echo_travels(world):
    """Before our carry's echo, the other side's base still holds the old value: an edit
    back to it must not pass for unchanged."""
    acme = world.left.add("company", name="Acme AS", city="Oslo")
    world.both()
    partner = world.crosswalk.translate("company", "customcrm", acme, "superoffice")
    world.right.edit("company", partner, city="Bergen")
    world.leg(world.right, world.left)  # carried: Customcrm says Bergen too
    world.left.edit("company", acme, city="Oslo")  # back, before the echo was read

    world.leg(world.left, world.right)

    assert world.right.values("company", partner)["city"] == "Oslo"


def test_an_edit_read_before_our_carry_landed_still_meets_the_conflict_rules(world):
    """The same record read by the other leg before our carry into it landed (a concurrent
    run): its values are older than the carry, and must not undo what it carried."""
    acme = world.left.add("company", name="Acme AS", city="Oslo")
    world.both()
    partner = world.crosswalk.translate("company", "customcrm", acme, "superoffice")
    world.left.edit("company", acme, city="Drammen")
    stale = world.left.feed("company")  # read now, processed after the carry below
    world.right.edit("company", partner, city="Bergen")  # the newer edit
    world.leg(world.right, world.left)  # Bergen wins the conflict and is carried

    sync = Synchronizer(
        world.crosswalk, world.right, settings=SyncSettings(), specs=SPECS_FROM(world),
        leg="customcrm->superoffice",
    )  # fmt: skip
    sync.receive("company", stale)
    sync.finish()

    assert world.right.values("company", partner)["city"] == "Bergen"
    assert world.left.values("company", acme)["city"] == "Bergen"


def test_a_matched_record_read_before_our_first_merge_landed_meets_the_conflict_rules(world):
    """The other leg of a concurrent run read SuperOffice's Acme before our first merge into
    it landed: that copy is older than the version our write left, so its old city is not
    taken for SuperOffice's own value; it meets the conflict rules (here the destination's
    Oslo is kept, and the clash recorded)."""
    acme = world.left.add("company", name="Acme AS", org_number="912345678", city="Oslo")
    world.right.add("company", name="Acme AS", org_number="912345678", city=None)
    stale = world.right.feed("company")  # read now, processed after the merge below
    world.leg(world.left, world.right, conflict_policy="source_wins")  # Oslo written over

    sync = Synchronizer(
        world.crosswalk, world.left, settings=SyncSettings(conflict_policy="destination_wins"),
        specs=SPECS_FROM(world), leg="superoffice->customcrm",
    )  # fmt: skip
    sync.receive("company", stale)
    sync.finish()

    assert world.left.values("company", acme)["city"] == "Oslo"
    assert [c["field"] for c in world.crosswalk.conflicts.recent()] == ["city", "city"]


def test_records_sharing_a_match_key_in_one_batch_never_take_the_same_candidate(world):
    existing = world.right.add("company", name="Acme AS")
    batch = [
        Incoming("customcrm", f"c{i}", "2026-01-01T00:00:01Z", {"name": "ACME  as"})
        for i in range(6)
    ]
    sync = Synchronizer(
        world.crosswalk,
        world.right,
        settings=SyncSettings(max_concurrency=6),
        specs=SPECS_FROM(world),
        leg="customcrm->superoffice",
    )

    outcomes = sync.receive("company", batch)
    sync.finish()

    assert outcomes[0].destination_id == existing
    assert [outcome.result for outcome in outcomes] == ["updated"] + ["created"] * 5
    assert world.crosswalk.quarantine.items() == []


def test_batch_groups_join_records_through_any_shared_key():
    from crmsync.identity import same_match_keys
    from crmsync.records import EntitySpec, MatchKey

    spec = EntitySpec("company", match_keys=(MatchKey("org", "digits"), MatchKey("name", "name")))
    records = [
        Incoming("customcrm", "a", None, {"org": "1", "name": "X"}),
        Incoming("customcrm", "b", None, {"org": "2", "name": "x "}),
        Incoming("customcrm", "c", None, {"org": "2", "name": "Y"}),
        Incoming("customcrm", "d", None, {"org": None, "name": "Z"}),
    ]

    groups = same_match_keys(spec, records, lambda record: record)

    assert [[record.id for record in group] for group in groups] == [["a", "b", "c"], ["d"]]


def test_a_rejected_child_is_kept_with_its_source_reference_and_retried_under_its_parent(world):
    acme = world.left.add("company", name="Acme AS", org_number="912345678")
    kari = world.left.add("person", name="Kari", email="", company_id=acme)
    world.right.reject = lambda entity, values: (
        "email is required" if entity == "person" and not values.get("email") else None
    )
    world.leg(world.left, world.right)
    (item,) = world.crosswalk.quarantine.items(kind="rejected")
    assert item.payload["values"]["company_id"] == acme  # the source id, not the translated one

    world.right.reject = lambda entity, values: None
    report = world.leg(world.left, world.right)

    assert report.get("person", "created") == 1
    partner = world.crosswalk.translate("person", "customcrm", kari, "superoffice")
    parent = world.crosswalk.translate("company", "customcrm", acme, "superoffice")
    assert world.right.values("person", partner)["company_id"] == parent


def test_a_create_interrupted_before_the_api_call_is_made_once_with_the_same_key(world):
    acme = world.left.add("company", name="Acme AS")
    crashed = world.crosswalk.runs.start("customcrm->superoffice", "superoffice", dry_run=False)
    intent = world.crosswalk.claim_intent("company", "customcrm", acme, "superoffice", crashed)
    world.crosswalk.runs.finish(crashed, "failed", {}, None)  # killed before create()

    world.leg(world.left, world.right)

    (created,) = world.right.records["company"].values()
    assert created["key"] == intent.correlation_key
    assert world.right.calls["find_by_correlation"] == 1
    assert world.right.calls["create"] == 1
    assert world.crosswalk.open_intent("company", "customcrm", acme) is None


def test_a_record_from_the_destination_itself_is_quarantined_not_looped(world):
    sync = Synchronizer(
        world.crosswalk,
        world.right,
        settings=SyncSettings(),
        specs=SPECS_FROM(world),
        leg="superoffice->superoffice",
    )

    (outcome,) = sync.receive("company", [Incoming("superoffice", "s1", None, {"name": "x"})])

    assert outcome.result == "quarantined"
    assert outcome.reason == (
        "the record comes from superoffice, the destination itself; set the target's "
        "source_system to the name of the side it reads from"
    )
    assert world.right.writes == 0


def test_an_edit_to_a_record_deleted_on_the_other_side_does_not_revive_it(world):
    acme = world.left.add("company", name="Acme AS", city="Oslo")
    world.both()
    partner = world.crosswalk.translate("company", "customcrm", acme, "superoffice")
    world.right.remove("company", partner)
    world.left.edit("company", acme, city="Bergen")
    world.reset_calls()

    world.both()

    assert world.right.calls["update"] == 0
    assert world.right.live("company") == {}
    assert world.left.live("company") == {}
    conflict = world.crosswalk.conflicts.recent()[0]
    assert (conflict["field"], conflict["winner"], conflict["rule"]) == (
        "_deleted",
        "superoffice",
        "delete_wins",
    )


def test_a_create_killed_before_its_key_was_stored_is_found_by_its_match_key(world):
    acme = world.left.add("company", name="Acme AS", org_number="912345678")
    world.right.drop_after_create = True
    world.right.keyless_creates = True
    world.leg(world.left, world.right)
    world.right.drop_after_create = False

    world.leg(world.left, world.right)

    assert world.right.calls["create"] == 1
    assert len(world.right.live("company")) == 1
    assert world.crosswalk.open_intent("company", "customcrm", acme) is None
    assert world.mirrored("company")


def test_a_first_load_into_a_bulk_api_creates_in_chunks_and_links_every_record(world):
    companies = [world.right.add("company", name=f"Company {i}") for i in range(250)]
    for i, company in enumerate(companies):
        world.right.add("person", first_name=f"P{i}", email=f"p{i}@x.no", company_id=company)

    report = world.leg(world.right, world.left, max_concurrency=4)

    assert report.get("company", "created") == 250
    assert report.get("person", "created") == 250
    assert world.left.calls["create_many"] == 8  # per entity: a chunk per worker, ≤ 100 each
    assert world.mirrored("company")
    assert world.mirrored("person")
    assert world.crosswalk.open_intents("company", "superoffice", companies) == set()
    assert world.writes_of_next_run() == 0


def test_a_batch_reads_its_links_ahead_instead_of_one_query_per_record(world, statements):
    companies = [world.right.add("company", name=f"Company {i}") for i in range(300)]
    for i, company in enumerate(companies):
        world.right.add("person", first_name=f"P{i}", email=f"p{i}@x.no", company_id=company)
    world.leg(world.right, world.left, max_concurrency=4)
    for i, company in enumerate(companies[:100]):
        world.right.edit("company", company, name=f"Renamed {i}")
    new_company = world.right.add("company", name="Newco")
    world.right.add("person", first_name="New", email="new@x.no", company_id=new_company)

    with statements(world.crosswalk.engine) as seen:
        report = world.leg(world.right, world.left, max_concurrency=4)

    assert report.get("company", "updated") == 100
    assert report.get("company", "created") == 1
    assert report.get("person", "created") == 1
    assert world.mirrored("company")
    assert world.mirrored("person")
    link_reads = [sql for sql in seen if sql.startswith("SELECT") and "link_members" in sql]
    assert len(link_reads) < 20  # 602 records and 301 references: one query each before


def test_a_rejected_item_of_a_bulk_create_is_quarantined_and_the_rest_are_created(world):
    world.right.add("company", name="Acme AS", org_number="912345678")
    nameless = world.right.add("company", org_number="5560001111")
    world.right.add("company", name="Nordlys AB")
    world.left.require("name")

    report = world.leg(world.right, world.left)

    assert report.get("company", "created") == 2
    assert report.get("company", "quarantined") == 1
    (item,) = world.crosswalk.quarantine.items()
    assert (item.source_id, item.reason) == (nameless, "name is required")
    assert world.crosswalk.open_intent("company", "superoffice", nameless) is None


def test_a_bulk_create_that_failed_midway_is_not_repeated_on_the_next_run(world):
    for i in range(5):
        world.right.add("company", name=f"Company {i}")
    world.left.drop_after_create = True  # the server creates, the answer never arrives

    first = world.leg(world.right, world.left)
    world.left.drop_after_create = False
    held, sent = world.crosswalk.quarantine.items(), world.left.calls["create"]
    world.leg(world.right, world.left)

    assert first.get("company", "created") == 0
    assert sent == 3  # three chunks, each call failing at its first record; none resent
    assert world.left.calls["create"] == 5  # the next run: those three found, two made
    assert [item.kind for item in held] == ["unconfirmed"] * 5
    assert "the bulk create failed as a whole (ConnectionError" in held[0].reason
    assert len(world.left.live("company")) == 5
    assert world.mirrored("company")


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk create", "one by one"])
def test_a_create_whose_answer_was_lost_is_looked_up_by_its_key_not_made_again(world, bulk):
    """The destination carried the create out but could not send it again (AnswerLostError):
    the record is held as unconfirmed with its intent kept, and the next run (not this one: a
    create the server still held could land after a lookup) finds it by its correlation key."""
    destination = world.left if bulk else world.right
    source = world.right if bulk else world.left
    for i in range(3):
        source.add("company", name=f"Company {i}")
    destination.lost_answers = 1

    first = world.leg(source, destination)

    assert (first.get("company", "created"), first.get("company", "deferred")) == (2, 1)
    (held,) = world.crosswalk.quarantine.items()
    assert held.kind == "unconfirmed"
    assert "the next run looks it up by its key" in held.reason
    assert destination.calls["find_by_correlation"] == 0  # not in the same run

    second = world.leg(source, destination)

    assert second.get("company", "deferred") == 0
    assert destination.calls["create"] == 3  # never sent twice
    assert destination.calls["find_by_correlation"] == 1
    assert len(destination.live("company")) == 3
    assert world.crosswalk.count_links("company") == 3
    assert world.crosswalk.quarantine.items() == []


def test_a_lost_create_no_match_key_finds_is_not_copied_back_and_is_found_by_its_values(world):
    """A person without e-mail, created on the right with its answer lost and its key never
    saved: the right-to-left leg holds the new right-side person back (it may be that create)
    instead of copying it, and the next run finds it by the values it was created with."""
    company = world.left.add("company", name="Acme AS", org_number="912345678")
    world.both()
    world.left.add("person", name="Kari", company_id=company)
    world.right.keyless_creates = True
    world.right.lost_answers = 1

    there, back = world.both()

    assert there.get("person", "deferred") == back.get("person", "deferred") == 1
    kinds = sorted((i.kind, i.destination_system) for i in world.crosswalk.quarantine.items())
    assert kinds == [("deferred", "customcrm"), ("unconfirmed", "superoffice")]
    assert "may be this record" in world.crosswalk.quarantine.items("deferred")[0].reason
    assert len(world.left.live("person")) == 1  # not copied back

    world.right.keyless_creates = False
    world.both()

    assert world.right.calls["create"] == 2  # the company and the person: none made twice
    assert world.right.calls["look_alikes"] == 1
    assert (len(world.left.live("person")), len(world.right.live("person"))) == (1, 1)
    assert world.mirrored("person")
    assert world.crosswalk.quarantine.items() == []
    assert world.writes_of_next_run() == 0


def test_a_record_that_may_be_a_create_in_flight_in_the_other_leg_is_not_copied_back(world):
    """The other leg, running at the same time, has sent a person's create and not linked it
    yet (its key is not saved either): a new keyless person it may be is held back."""
    left_person = world.left.add("person", name="Kari")
    other_leg = world.crosswalk.runs.start("customcrm->superoffice", "superoffice", False)
    world.crosswalk.claim_intent("person", "customcrm", left_person, "superoffice", other_leg)
    world.right.add("person", name="Kari")  # its create, landed

    report = world.leg(world.right, world.left)

    assert report.get("person", "deferred") == 1
    assert list(world.left.live("person")) == [left_person]  # nothing copied back


def test_two_look_alikes_of_a_lost_create_are_ambiguous(world):
    world.left.add("person", name="Kari")
    world.right.keyless_creates = True
    world.right.lost_answers = 1
    world.leg(world.left, world.right)
    world.right.add("person", name="Kari")  # a user makes the same person meanwhile

    world.leg(world.left, world.right)

    (item,) = world.crosswalk.quarantine.items()
    assert item.kind == "ambiguous"
    assert item.reason == "2 candidates holding the values of this record's create: s1, s2"
    assert len(world.right.live("person")) == 2  # nothing made a third
    world.right.remove("person", "s2")  # the operator removes the user's one, then retries
    world.crosswalk.quarantine.request_retry([item.id])

    world.leg(world.left, world.right)

    assert world.crosswalk.quarantine.items() == []
    assert list(world.right.live("person")) == ["s1"]  # the lost create, linked at last
    assert world.crosswalk.translate("person", "customcrm", "c1", "superoffice") == "s1"


def test_records_sharing_a_match_key_are_not_bulk_created_side_by_side(world):
    world.right.add("company", name="Acme AS", org_number="912345678")
    world.right.add("company", name="Acme Holding", org_number="912 345 678")

    world.leg(world.right, world.left)

    assert world.left.bulk_sizes == [1, 1]  # one after the other, as in the batch
    assert world.left.calls["create"] == 2  # those two (create_many creates one by one)
    assert len(world.left.live("company")) == 2
    assert world.mirrored("company")


def test_a_load_of_many_companies_sharing_names_is_still_created_in_bulk(world):
    """Shared names are common in a large world: the first of each name goes in one round,
    the second in the next, each round in bulk; never one create at a time per name."""
    names = [f"Company {n % 10}" for n in range(40)]  # ten names, four companies each
    for name in names:
        world.right.add("company", name=name)

    report = world.leg(world.right, world.left, max_concurrency=4)

    assert report.get("company", "created") == 40
    assert sum(world.left.bulk_sizes) == world.left.calls["create"] == 40  # none alone
    assert max(world.left.bulk_sizes) <= 3  # a round holds one of each name: 10 over 4 chunks
    assert sorted(c["name"] for c in world.left.live("company").values()) == sorted(names)
    assert world.mirrored("company")
    assert world.writes_of_next_run() == 0


def test_records_sharing_only_names_no_unlinked_record_holds_are_created_side_by_side(
    world, knowing_crm
):
    """When the destination knows no unlinked record holds a shared name, no record can
    take a candidate by it: the rounds are not needed, and the batch goes in even chunks."""
    names = [f"Company {n % 10}" for n in range(40)]
    for name in names:
        world.right.add("company", name=name)

    report = world.leg(world.right, knowing_crm, max_concurrency=4)

    assert report.get("company", "created") == 40
    assert knowing_crm.bulk_sizes == [10, 10, 10, 10]  # one round, a chunk per worker
    assert knowing_crm.calls["match"] == 0  # nor does a record ask: it could only find
    # another record's create, not linked yet
    assert sorted(c["name"] for c in knowing_crm.live("company").values()) == sorted(names)
    assert world.crosswalk.count_links("company") == 40
    world.reset_calls()
    knowing_crm.calls.clear()
    world.leg(world.right, knowing_crm)
    assert sum(knowing_crm.calls[name] for name in ("create", "update", "delete")) == 0


def test_a_shared_name_an_unlinked_record_holds_still_goes_one_record_at_a_time(world, knowing_crm):
    existing = knowing_crm.add("company", name="Acme AS")
    batch = [
        Incoming("superoffice", f"s{i}", "2026-01-01T00:00:01Z", {"name": "ACME  as"})
        for i in range(4)
    ]
    sync = Synchronizer(
        world.crosswalk,
        knowing_crm,
        settings=SyncSettings(max_concurrency=4),
        specs=SPECS_FROM(world),
        leg="superoffice->customcrm",
    )

    outcomes = sync.receive("company", batch)
    sync.finish()

    assert outcomes[0].destination_id == existing  # the first in the batch takes it
    assert [outcome.result for outcome in outcomes] == ["updated"] + ["created"] * 3
    assert knowing_crm.bulk_sizes == [1, 1, 1]  # the others one round each, as before


def test_a_shared_name_only_linked_records_hold_does_not_hold_the_batch_back(world, knowing_crm):
    world.right.add("company", name="Acme AS")
    world.leg(world.right, knowing_crm)  # linked: never a candidate again
    world.right.add("company", name="Acme AS", org_number="912345678")
    world.right.add("company", name="ACME AS", org_number="923456789")
    knowing_crm.bulk_sizes.clear()

    report = world.leg(world.right, knowing_crm, max_concurrency=1)

    assert report.get("company", "created") == 2
    assert knowing_crm.bulk_sizes == [2]
    assert len(knowing_crm.live("company")) == 3
    assert world.crosswalk.count_links("company") == 3


def test_deferred_records_are_retried_at_the_end_of_the_run_as_one_batch(world):
    company = world.right.add("company", name="Acme AS")
    for n in range(6):
        world.right.add("person", first_name=f"P{n}", email=f"p{n}@acme.no", company_id=company)
    sync = Synchronizer(
        world.crosswalk,
        world.left,
        settings=SyncSettings(max_concurrency=1),
        specs=SPECS_FROM(world),
        leg="superoffice->customcrm",
    )
    deferred = sync.receive("person", world.right.feed("person"))  # before their company
    sync.receive("company", world.right.feed("company"))
    report = sync.finish()

    assert {outcome.result for outcome in deferred} == {"deferred"}
    assert report.get("person", "created") == 6
    assert world.left.calls["create_many"] == 2  # the company, then all six persons at once
    assert world.mirrored("person")


def test_a_bulk_create_whose_links_cannot_be_stored_quarantines_its_records_and_resumes_them(
    world, monkeypatch
):
    for n in range(3):
        world.right.add("company", name=f"Company {n}")

    def crosswalk_down(*args, **kwargs):
        raise RuntimeError("the crosswalk is gone")

    with monkeypatch.context() as patched:
        patched.setattr(world.crosswalk, "link_many", crosswalk_down)
        first = world.leg(world.right, world.left)
    world.leg(world.right, world.left)

    assert first.get("company", "quarantined") == 3
    assert world.crosswalk.quarantine.items() == []
    assert len(world.left.live("company")) == 3  # created once, linked by key on the rerun
    assert world.mirrored("company")


def test_a_batch_primes_the_match_keys_of_its_unlinked_live_records_once_each(world, priming_crm):
    right = priming_crm()
    world.left.add("company", name="Acme AS", org_number="912345678")
    world.leg(world.left, right)
    world.left.add("company", name="Nordlys AS", org_number="923 456 789")
    world.left.add("company", name="NORDLYS AS", org_number="923456789")  # the same values
    right.primed.clear()

    world.leg(world.left, right)

    assert right.primed == [  # Acme is linked: its values are not asked for
        ("company", "org_number", ["923456789"]),
        ("company", "name", ["nordlys as"]),
    ]


def test_a_refused_prime_costs_the_speed_up_only(world, priming_crm):
    right = priming_crm(refuse=True)
    world.left.add("company", name="Acme AS", org_number="912345678")

    report = world.leg(world.left, right)

    assert right.primed  # asked, refused, and the batch went on record by record
    assert report.get("company", "created") == 1
    assert right.calls["match"] >= 1
