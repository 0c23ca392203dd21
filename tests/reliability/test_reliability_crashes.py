"""kill -9 of a target at seeded points, in both legs, during the first sync and during updates.

Each killed run is followed by a rerun of the same leg from the same state (the target never
emitted STATE, so the tap would send the same records again: the rerun replays them). After
every kill: no record exists twice on either side (counted by natural key) and every link
member exists on its side. A create interrupted by the kill is resumed by the rerun (the
killed run's intent is taken over at once: its process is gone) and looked up by its
correlation key first. After the last, complete rerun and one more two-way run, both sides
hold the same records and every edit made before the kills has arrived.

Kill points are "after the destination served N state-changing requests", with N drawn from a
seeded random generator, so a failing point can be replayed.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

pytestmark = pytest.mark.e2e
KILL_SEED = 20261125
LEGS = ("customcrm->superoffice", "superoffice->customcrm")


def kill_and_rerun(crms: Any, leg: str, kills: int, most: int, rng: random.Random) -> list[int]:
    """Replay one capture of `leg`, SIGKILL it after N writes until `kills` kills landed, then
    run it through.

    A try lands when the target is still writing at its point; one that ends first means the
    capture has no write left to die at, and ends the kills of this leg. A faster target
    writes more before the kill reaches it, so the count of tries is not the count of kills.
    Returns the write counts at which the target died (each is a point the test exercised).
    """
    messages = crms.capture(leg)
    points: list[int] = []
    for _ in range(3 * kills):
        if len(points) >= kills:
            break
        start = crms.destination_writes(leg)
        after = rng.randint(1, most)

        def reached(start: int = start, after: int = after) -> bool:
            return bool(crms.destination_writes(leg) >= start + after)

        run = crms.replay(leg, messages, kill_when=reached)
        if run.killed:
            points.append(crms.settle(leg) - start)
        assert crms.duplicates() == {}, f"duplicates after a kill at {after} writes in {leg}"
        assert crms.dangling_links() == [], f"dangling links after a kill in {leg}"
        if not run.killed:
            break
    final = crms.replay(leg, messages)
    assert final.target_code == 0, final.stderr[-3000:]
    return points


def edit_both_sides(crms: Any) -> dict[str, Any]:
    """Edits on both sides that the rerun after the kills must carry over."""
    people = sorted(
        (c for c in crms.customcrm.records("contacts") if not c["deleted_at"]),
        key=lambda c: c["id"],
    )
    for number, person in enumerate(people[:5]):
        crms.cc_patch(f"contacts/{person['id']}", {"title": f"Crash edit {number}"})
    taken = {crms.linked("person", "customcrm", p["id"]) for p in people[:5]}
    so_people = sorted(
        p["_id"]
        for p in crms.superoffice.records("persons")
        if not p["_deleted"] and str(p["_id"]) not in taken
    )
    for number, person_id in enumerate(so_people[-8:]):
        crms.so("PATCH", f"Person/{person_id}", json={"Title": f"SuperOffice crash edit {number}"})
    for number in range(4):
        crms.cc(
            "POST",
            "customers",
            json={"name": f"Kill Nine {number} AS", "org_number": f"99000{number}123"},
        )
    for number in range(4):
        crms.so(
            "POST",
            "Contact",
            json={"Name": f"Reboot Fjord {number} AS", "OrgNr": f"99887766{number}"},
        )
    return {"cc_people": [p["id"] for p in people[:5]], "so_people": so_people[-8:]}


KILLS = {  # leg: (kills during the first sync, most writes before one; kills during updates, ...)
    "superoffice->customcrm": (20, 1, 6, 1),
    "customcrm->superoffice": (14, 2, 5, 1),
}
LANDED = {  # kills that must land in each leg: 22 or more across both (the issue asks 20).
    # Toward Customcrm a kill lands after the writes in flight (up to max_concurrency batch
    # creates answered at once), so a faster target lands fewer kills in the same capture;
    # toward SuperOffice each record is a write of its own, and there are plenty to die at.
    "superoffice->customcrm": 10,
    "customcrm->superoffice": 12,
}


@pytest.mark.parametrize(
    "killed_leg",
    ["superoffice->customcrm", "customcrm->superoffice"],
)
def test_sigkill_of_a_target_at_seeded_points_loses_nothing_and_duplicates_nothing(
    fresh: Any, killed_leg: str
) -> None:
    crms = fresh(seed=12)  # enough writes that kills landing late still find one to die at
    rng = random.Random(KILL_SEED)
    first, most_first, later, most_later = KILLS[killed_leg]
    initial = {
        leg: kill_and_rerun(
            crms, leg, kills=first if leg == killed_leg else 0, most=most_first, rng=rng
        )
        for leg in LEGS
    }
    crms.sync()  # a second pass links what one leg deferred for the other
    crms.assert_same_records()
    assert crms.quarantine() == []

    edits = edit_both_sides(crms)
    updates = {
        leg: kill_and_rerun(
            crms, leg, kills=later if leg == killed_leg else 0, most=most_later, rng=rng
        )
        for leg in LEGS
    }
    crms.sync()  # a second pass links what one leg deferred for the other
    crms.assert_same_records()
    assert crms.quarantine() == []
    for number, person_id in enumerate(edits["cc_people"]):
        so_id = crms.linked("person", "customcrm", person_id)
        assert crms.so("GET", f"Person/{so_id}")["Title"] == f"Crash edit {number}"
    for number, so_id in enumerate(edits["so_people"]):
        cc_id = crms.linked("person", "superoffice", str(so_id))
        assert crms.cc("GET", f"contacts/{cc_id}")["title"] == f"SuperOffice crash edit {number}"

    points = initial[killed_leg] + updates[killed_leg]
    print(
        f"{killed_leg}: SIGKILL after these numbers of writes: "
        f"{initial[killed_leg]} + {updates[killed_leg]}"
    )
    assert len(points) >= LANDED[killed_leg], (initial, updates)


def test_a_rerun_right_after_a_kill_during_creates_converges(fresh: Any) -> None:
    crms = fresh(seed=3)
    leg = LEGS[0]
    messages = crms.capture(leg)
    killed = crms.replay(leg, messages, kill_when=lambda: crms.destination_writes(leg) >= 1)
    assert killed.killed
    crms.replay(leg, messages)
    crms.run_leg(LEGS[1])
    assert [q["reason"] for q in crms.quarantine()] == []
    crms.assert_same_records()
