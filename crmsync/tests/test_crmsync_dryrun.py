"""Dry run: reads, plans, and changes nothing anywhere."""

from __future__ import annotations

import sqlalchemy as sa

from crmsync import store


def snapshot(crosswalk):
    with crosswalk.engine.connect() as connection:
        return {
            table.name: connection.execute(sa.select(table)).all()
            for table in (
                store.links,
                store.link_members,
                store.intents,
                store.quarantine,
                store.conflicts,
            )
        }


def test_dry_run_plans_creates_updates_and_conflicts_and_writes_nothing(world):
    acme = world.left.add("company", name="Acme AS", org_number="912345678", city="Oslo")
    world.both()
    partner = world.crosswalk.translate("company", "customcrm", acme, "superoffice")
    world.left.edit("company", acme, name="Acme Holding AS", city="Drammen")
    world.right.edit("company", partner, city="Bergen")
    new = world.left.add("company", name="Nordlys AB")
    world.left.add("person", first_name="Kari", email="kari@nordlys.se", company_id=new)
    before = snapshot(world.crosswalk)
    world.reset_calls()

    report = world.leg(world.left, world.right, dry_run=True)

    assert world.right.writes == 0
    assert snapshot(world.crosswalk) == before
    plan = world.crosswalk.runs.latest_plan()
    assert plan["run_id"] == report.run_id
    assert [(c["entity"], c["source_id"]) for c in plan["creates"]] == [
        ("company", new),
        ("person", "c3"),
    ]
    assert plan["creates"][1]["values"]["company_id"] == f"(new:{new})"
    (update,) = plan["updates"]
    assert update["changes"] == {"name": ["Acme AS", "Acme Holding AS"]}
    (conflict,) = plan["conflicts"]
    assert (conflict["field"], conflict["winner"]) == ("city", "superoffice")
    assert report.dry_run


def test_dry_run_plans_matches_as_links(world):
    world.left.add("company", name="Acme AS", org_number="912345678")
    existing = world.right.add("company", name="ACME AS", org_number="912 345 678")

    world.leg(world.left, world.right, dry_run=True)

    plan = world.crosswalk.runs.latest_plan()
    assert [(link["source_id"], link["destination_id"]) for link in plan["links"]] == [
        ("c1", existing)
    ]
    assert world.crosswalk.find("company", "superoffice", existing) is None
