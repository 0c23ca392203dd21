"""Properties of whole two-way runs: any edits on either side converge in one run, then rest."""

from __future__ import annotations

from crmsync.records import EntitySpec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmsync import Incoming, Synchronizer, SyncSettings

FIELDS = ("name", "city", "phone")
values = st.sampled_from(["Oslo", "Bergen", "Acme", "", None])
edits = st.lists(
    st.tuples(
        st.sampled_from(["left", "right"]), st.integers(0, 2), st.sampled_from(FIELDS), values
    ),
    max_size=6,
)
new_records = st.lists(st.tuples(st.sampled_from(["left", "right"]), values), max_size=2)
property_settings = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,  # the same examples on every run and machine
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@property_settings
@given(
    edits=edits,
    added=new_records,
    policy=st.sampled_from(["newer_wins", "source_wins", "destination_wins"]),
)
def test_any_edits_converge_in_one_run_and_the_next_run_writes_nothing(
    make_world, edits, added, policy
):
    world = make_world()
    ids = [
        world.left.add("company", name=f"Company {i}", city="Oslo", phone=None) for i in range(3)
    ]
    world.both(conflict_policy=policy)
    partners = [world.crosswalk.translate("company", "customcrm", i, "superoffice") for i in ids]
    for side, index, field, value in edits:
        if side == "left":
            world.left.edit("company", ids[index], **{field: value})
        else:
            world.right.edit("company", partners[index], **{field: value})
    for side, city in added:
        getattr(world, side).add("company", name=f"New {len(added)}", city=city, phone=None)

    world.both(conflict_policy=policy)

    assert world.mirrored("company")
    world.reset_calls()
    world.both(conflict_policy=policy)
    assert world.writes() == 0


@property_settings
@given(
    record=st.fixed_dictionaries(dict.fromkeys(FIELDS, values)),
    ours_edit=st.dictionaries(st.sampled_from(FIELDS), values, max_size=2),
)
def test_applying_the_same_incoming_record_twice_changes_nothing(make_world, record, ours_edit):
    world = make_world()
    spec = [EntitySpec("company")]
    incoming = Incoming("customcrm", "c1", "2026-01-01T00:00:01Z", record)
    first = Synchronizer(
        world.crosswalk,
        world.right,
        settings=SyncSettings(),
        specs=spec,
        leg="customcrm->superoffice",
    )
    first.receive("company", [incoming])
    first.finish()
    (partner,) = world.right.live("company")
    if ours_edit:
        world.right.edit("company", partner, **ours_edit)
    once = Synchronizer(
        world.crosswalk,
        world.right,
        settings=SyncSettings(),
        specs=spec,
        leg="customcrm->superoffice",
    )
    once.receive("company", [incoming])
    once.finish()
    after_once = world.right.values("company", partner)
    world.reset_calls()

    twice = Synchronizer(
        world.crosswalk,
        world.right,
        settings=SyncSettings(),
        specs=spec,
        leg="customcrm->superoffice",
    )
    twice.receive("company", [incoming])
    twice.finish()

    assert world.right.values("company", partner) == after_once
    assert world.right.writes == 0
