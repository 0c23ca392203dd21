"""A CRM where writing a child moves its parent (Customcrm: a quote line moves its quote).

Our own child writes must not make the parent look edited on the other leg (a read of it
there for nothing), and a user's edit of the parent must never be taken for ours.
"""

from __future__ import annotations

import pytest
from crmsync.destination import SystemicError
from crmsync.receipts import receipt_moved_by_children


def _company_with_person_on_the_right(world) -> str:
    acme = world.right.add("company", name="Acme AS", org_number="912345678")
    world.right.add("person", first_name="Kari", email="kari@acme.no", company_id=acme)
    return acme


def test_a_parent_moved_by_our_child_writes_comes_back_as_an_echo(moving):
    _company_with_person_on_the_right(moving)
    moving.leg(moving.right, moving.left)
    moving.reset_calls()

    report = moving.leg(moving.left, moving.right)

    assert report.get("company", "echo") == 1
    assert report.get("person", "echo") == 1
    assert moving.right.calls["fetch"] == 0, "the moved company was read from the other side"
    assert moving.writes() == 0


def test_a_parent_moved_by_a_child_update_or_delete_comes_back_as_an_echo(moving):
    _company_with_person_on_the_right(moving)
    moving.both()
    moving.leg(moving.right, moving.left)
    person = next(iter(moving.right.live("person")))
    moving.right.edit("person", person, first_name="Kari Anne")
    moving.leg(moving.right, moving.left)  # the update moves the company
    moving.reset_calls()

    updated = moving.leg(moving.left, moving.right)
    assert moving.right.calls["fetch"] == 0
    moving.right.remove("person", person)
    moving.leg(moving.right, moving.left)  # the delete moves it again
    deleted = moving.leg(moving.left, moving.right)

    assert updated.get("company", "echo") == 1
    assert deleted.get("company", "echo") == 1


@pytest.mark.parametrize(
    "user_edit",
    [{"name": "Acme Group AS"}, {"phone": "+47 22 00 00 00"}],
    ids=["a synced field", "a field the other side never sent"],
)
def test_a_user_edit_of_the_parent_while_children_are_written_still_travels(moving, user_edit):
    acme_right = _company_with_person_on_the_right(moving)
    edited: list[str] = []

    def user_edits_the_company() -> None:
        if not edited:
            (acme_left,) = moving.left.live("company")
            moving.left.edit("company", acme_left, **user_edit)
            edited.append(acme_left)

    moving.left.while_writing_a_person = user_edits_the_company
    moving.leg(moving.right, moving.left)
    assert edited

    report = moving.leg(moving.left, moving.right)

    assert report.get("company", "updated") == 1
    assert moving.right.values("company", acme_right).items() >= user_edit.items()


def test_a_dry_run_reads_no_parent(moving):
    _company_with_person_on_the_right(moving)

    moving.leg(moving.right, moving.left, dry_run=True)

    assert moving.left.calls["fetch"] == 0
    assert moving.left.writes == 0


BASE = {"name": "Acme AS", "org_number": "912345678"}


@pytest.mark.parametrize(
    ("base", "receipt", "values", "version", "expected"),
    [
        (BASE, "2026-01-01T00:00:01.000000+00:00", BASE, "2026-01-01T00:00:05Z",
         "2026-01-01T00:00:05.000000+00:00"),
        (BASE, "2026-01-01T00:00:01.000000+00:00", {**BASE, "name": "Acme Group"},
         "2026-01-01T00:00:05Z", None),
        (BASE, "2026-01-01T00:00:01.000000+00:00", {**BASE, "phone": "+47"},
         "2026-01-01T00:00:05Z", None),
        (BASE, "2026-01-01T00:00:01.000000+00:00", {"name": "Acme AS"},
         "2026-01-01T00:00:05Z", None),
        (BASE, None, BASE, "2026-01-01T00:00:05Z", None),
        (None, "2026-01-01T00:00:01.000000+00:00", BASE, "2026-01-01T00:00:05Z", None),
        (BASE, "2026-01-01T00:00:05.000000+00:00", BASE, "2026-01-01T00:00:05Z", None),
    ],
    ids=["holds the base", "a synced value differs", "a value the base lacks",
         "a base value missing", "no receipt: differs on purpose", "no base yet",
         "not moved"],
)  # fmt: skip
def test_the_receipt_moves_only_for_a_parent_holding_its_agreed_base(
    base, receipt, values, version, expected
):
    assert receipt_moved_by_children(base, receipt, values, version) == expected


def test_an_outage_when_reading_the_moved_parents_costs_only_their_receipts(moving, monkeypatch):
    _company_with_person_on_the_right(moving)

    def outage(entity, ids):
        raise SystemicError("Customcrm is unreachable")

    monkeypatch.setattr(moving.left, "fetch", outage)
    report = moving.leg(moving.right, moving.left)  # finishes: the read was only a saving

    assert report.get("person", "created") == 1
    monkeypatch.undo()
    assert moving.leg(moving.left, moving.right).get("company", "echo") == 0  # read again
