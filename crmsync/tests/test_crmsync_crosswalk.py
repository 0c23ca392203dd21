"""The crosswalk store on SQLite and on a real PostgreSQL: schema, constraints, races."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from crmsync.crosswalk import IDS_PER_QUERY, NewLink

from crmsync import Crosswalk, EntitySpec, Incoming, Synchronizer, SyncSettings, store

RACERS = 8


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, crosswalk_url):
    if request.param == "sqlite":
        return crosswalk_url
    return request.getfixturevalue("crmsync_postgres_url")


def race(n, action):
    """Run `action(i)` in n threads released at the same moment; return the results."""
    gate = threading.Barrier(n)

    def go(i):
        gate.wait()
        return action(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(go, range(n)))


def test_connect_creates_the_schema_and_records_its_version(url):
    crosswalk = Crosswalk.connect(url)
    with crosswalk.engine.connect() as connection:
        versions = connection.execute(sa.select(store.schema_version.c.version)).scalars().all()
    assert versions == list(range(1, store.SCHEMA_VERSION + 1))
    assert store.migrate(crosswalk.engine) == store.SCHEMA_VERSION
    crosswalk.close()


def test_a_schema_1_crosswalk_is_migrated_to_the_current_schema(url):
    crosswalk = Crosswalk.connect(url)
    with crosswalk.engine.begin() as connection:  # make it look like schema 1
        connection.execute(sa.text("ALTER TABLE runs DROP COLUMN host"))
        connection.execute(sa.text("ALTER TABLE runs DROP COLUMN pid"))
        connection.execute(store.schema_version.delete().where(store.schema_version.c.version > 1))
    crosswalk.close()

    migrated = Crosswalk.connect(url)

    columns = {column["name"] for column in sa.inspect(migrated.engine).get_columns("runs")}
    assert {"host", "pid"} <= columns
    run = migrated.runs.start("a->b", "superoffice", dry_run=False)
    assert migrated.runs.recent()[0]["id"] == run
    migrated.close()


def test_a_schema_2_crosswalk_is_migrated_and_its_links_are_kept(url):
    crosswalk = Crosswalk.connect(url)
    run = crosswalk.runs.start("a->b", "superoffice", dry_run=False)
    crosswalk.link("company", ("customcrm", "cus_1", "v1"), ("superoffice", "1"), run_id=run)
    with crosswalk.engine.begin() as connection:  # make it look like schema 2
        connection.execute(sa.text("ALTER TABLE link_members DROP COLUMN deleted_at"))
        connection.execute(store.schema_version.delete().where(store.schema_version.c.version > 2))
    crosswalk.close()

    migrated = Crosswalk.connect(url)

    link = migrated.find("company", "customcrm", "cus_1")
    assert link is not None
    assert not link.deleted
    migrated.mark_deleted(link.id)
    again = migrated.find("company", "superoffice", "1")
    assert again is not None
    assert again.deleted
    assert all(member.deleted for member in again.members.values())
    migrated.close()


def test_processes_opening_a_new_crosswalk_at_once_all_succeed(url):
    opened = race(RACERS, lambda _i: Crosswalk.connect(url))
    with opened[0].engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(store.schema_version))
        assert count.scalar() == store.SCHEMA_VERSION
    for crosswalk in opened:
        crosswalk.close()


def test_a_record_belongs_to_one_link_only(url):
    crosswalk = Crosswalk.connect(url)
    run = crosswalk.runs.start("a->b", "superoffice", dry_run=False)
    first = crosswalk.link("company", ("customcrm", "c1", None), ("superoffice", "s1"), run_id=run)
    again = crosswalk.link("company", ("customcrm", "c2", None), ("superoffice", "s1"), run_id=run)
    assert first is not None
    assert again is None
    assert crosswalk.translate("company", "superoffice", "s1", "customcrm") == "c1"
    assert crosswalk.find("company", "customcrm", "c2") is None
    crosswalk.close()


def test_racing_links_of_one_record_leave_exactly_one(url):
    crosswalks = [Crosswalk.connect(url) for _ in range(RACERS)]
    runs = [c.runs.start("a->b", "superoffice", dry_run=False) for c in crosswalks]

    links = race(
        RACERS,
        lambda i: crosswalks[i].link(
            "person", ("customcrm", "c1", None), ("superoffice", f"s{i}"), run_id=runs[i]
        ),
    )

    assert sum(link is not None for link in links) == 1
    for crosswalk in crosswalks:
        crosswalk.close()


def test_racing_claims_of_one_create_give_exactly_one_intent(url):
    crosswalks = [Crosswalk.connect(url) for _ in range(RACERS)]
    runs = [c.runs.start("a->b", "superoffice", dry_run=False) for c in crosswalks]

    intents = race(
        RACERS,
        lambda i: crosswalks[i].claim_intent("company", "customcrm", "c1", "superoffice", runs[i]),
    )

    claimed = [intent for intent in intents if intent is not None]
    assert len(claimed) == 1
    assert not claimed[0].resumed
    for crosswalk in crosswalks:
        crosswalk.close()


def test_an_intent_of_an_ended_run_is_taken_over_with_its_key(url):
    crosswalk = Crosswalk.connect(url)
    crashed = crosswalk.runs.start("a->b", "superoffice", dry_run=False)
    later = crosswalk.runs.start("a->b", "superoffice", dry_run=False)
    first = crosswalk.claim_intent("company", "customcrm", "c1", "superoffice", crashed)
    assert crosswalk.claim_intent("company", "customcrm", "c1", "superoffice", later) is None

    crosswalk.runs.finish(crashed, "failed", {}, None)
    taken = crosswalk.claim_intent("company", "customcrm", "c1", "superoffice", later)

    assert taken is not None
    assert (taken.correlation_key, taken.resumed) == (first.correlation_key, True)
    assert crosswalk.unfinished_creates("company", "superoffice") == 1  # one, taken over
    assert crosswalk.unfinished_creates("company", "customcrm") == 0
    crosswalk.release_intent(taken.correlation_key)
    assert crosswalk.unfinished_creates("company", "superoffice") == 0
    crosswalk.close()


def test_a_base_written_by_a_racing_run_is_not_overwritten(url):
    crosswalk = Crosswalk.connect(url)
    run = crosswalk.runs.start("a->b", "superoffice", dry_run=False)
    link = crosswalk.link("company", ("customcrm", "c1", None), ("superoffice", "s1"), run_id=run)
    member = link.side("superoffice")

    assert crosswalk.agree(member, {"name": "first"}, None)
    assert not crosswalk.agree(member, {"name": "stale"}, None)
    assert crosswalk.find("company", "superoffice", "s1").side("superoffice").base == {
        "name": "first"
    }
    crosswalk.close()


def test_racing_runs_create_a_record_exactly_once(url, right):
    spec = EntitySpec("company")
    record = Incoming("customcrm", "c1", "2026-01-01T00:00:01Z", {"name": "Acme AS"})
    crosswalks = [Crosswalk.connect(url) for _ in range(RACERS)]
    syncs = [
        Synchronizer(c, right, settings=SyncSettings(), specs=[spec], leg="customcrm->superoffice")
        for c in crosswalks
    ]

    race(RACERS, lambda i: syncs[i].receive("company", [record]))
    reports = [sync.finish() for sync in syncs]

    assert right.calls["create"] == 1
    assert len(right.live("company")) == 1
    assert sum(report.get("company", "created") for report in reports) == 1
    assert all(report.get("company", "deferred") == 0 for report in reports)
    for crosswalk in crosswalks:
        crosswalk.close()


def test_one_batch_written_on_many_threads_keeps_every_record(url, right):
    spec = EntitySpec("company")
    records = [
        Incoming("customcrm", f"c{i}", "2026-01-01T00:00:01Z", {"name": f"Company {i}"})
        for i in range(40)
    ]
    crosswalk = Crosswalk.connect(url)
    sync = Synchronizer(
        crosswalk,
        right,
        settings=SyncSettings(max_concurrency=8),
        specs=[spec],
        leg="customcrm->superoffice",
    )

    outcomes = sync.receive("company", records)
    sync.finish()

    assert sorted(outcome.result for outcome in outcomes) == ["created"] * 40
    assert len(right.live("company")) == 40
    assert len(list(crosswalk.export("company"))) == 40
    crosswalk.close()


def test_many_claims_in_one_transaction_resume_the_held_one_and_skip_the_live_one(url):
    crosswalk = Crosswalk.connect(url)
    crashed = crosswalk.runs.start("a->b", "superoffice", dry_run=False)
    racing = crosswalk.runs.start("a->b", "superoffice", dry_run=False)
    ours = crosswalk.runs.start("a->b", "superoffice", dry_run=False)
    left_over = crosswalk.claim_intent("company", "customcrm", "c1", "superoffice", crashed)
    crosswalk.runs.finish(crashed, "failed", {}, None)
    crosswalk.claim_intent("company", "customcrm", "c2", "superoffice", racing)

    sources = [("customcrm", "c1"), ("customcrm", "c2"), ("customcrm", "c3")]
    resumed, held, fresh = crosswalk.claim_intents("company", sources, "superoffice", ours)

    assert (resumed.correlation_key, resumed.resumed) == (left_over.correlation_key, True)
    assert held is None
    assert fresh is not None
    assert not fresh.resumed
    assert crosswalk.open_intents("company", "customcrm", ["c1", "c2", "c3"]) == {"c1", "c2", "c3"}
    crosswalk.close()


def test_many_links_are_stored_in_one_statement_each_for_links_members_and_intents(url, statements):
    crosswalk = Crosswalk.connect(url)
    run = crosswalk.runs.start("a->b", "superoffice", dry_run=False)
    sources = [("customcrm", f"c{i}") for i in range(50)]
    intents = crosswalk.claim_intents("company", sources, "superoffice", run)
    new_links = [
        NewLink((*source, "v1"), ("superoffice", f"s{i}"), {"name": f"{i}"}, "r1",
                intent.correlation_key)
        for i, (source, intent) in enumerate(zip(sources, intents, strict=True))
    ]  # fmt: skip

    with statements(crosswalk.engine) as seen:
        linked = crosswalk.link_many("company", new_links, run_id=run)

    assert linked == [True] * 50
    writes = [sql.split()[0] for sql in seen if sql.split()[0] in ("INSERT", "DELETE")]
    # PostgreSQL returns the 50 new link ids of one INSERT in parameter order; SQLAlchemy
    # cannot promise that order on SQLite, so it inserts those rows one by one there
    link_inserts = 1 if url.startswith("postgresql") else 50
    assert writes.count("INSERT") == link_inserts + 1  # then all 100 members at once
    assert writes.count("DELETE") == 1  # the 50 intents closed at once
    assert crosswalk.open_intents("company", "customcrm", [s[1] for s in sources]) == set()
    found = crosswalk.find_many("company", "customcrm", [s[1] for s in sources])
    assert {link.side("superoffice").record_id for link in found.values()} == {
        f"s{i}" for i in range(50)
    }
    crosswalk.close()


def test_many_links_in_one_transaction_close_their_intents_and_lose_only_the_raced_one(url):
    crosswalk = Crosswalk.connect(url)
    run = crosswalk.runs.start("a->b", "superoffice", dry_run=False)
    sources = [("customcrm", f"c{i}") for i in range(3)]
    intents = crosswalk.claim_intents("company", sources, "superoffice", run)
    crosswalk.link("company", ("customcrm", "c9", None), ("superoffice", "s1"), run_id=run)

    linked = crosswalk.link_many(
        "company",
        [
            NewLink(("customcrm", f"c{i}", "v1"), ("superoffice", f"s{i}"), {"name": f"{i}"},
                    "r1", intent.correlation_key)
            for i, intent in enumerate(intents)
        ],
        run_id=run,
    )  # fmt: skip

    assert linked == [True, False, True]  # s1 was linked to c9 first
    assert crosswalk.translate("company", "customcrm", "c2", "superoffice") == "s2"
    assert crosswalk.find("company", "superoffice", "s2").side("superoffice").base == {"name": "2"}
    assert crosswalk.find("company", "customcrm", "c1") is None
    assert crosswalk.open_intents("company", "customcrm", ["c0", "c1", "c2"]) == {"c1"}
    crosswalk.close()


def test_finding_many_records_gives_each_its_whole_link_as_finding_one_does(url):
    crosswalk = Crosswalk.connect(url)
    run = crosswalk.runs.start("a->b", "superoffice", dry_run=False)
    count = IDS_PER_QUERY + 100  # more than one statement's worth
    crosswalk.link_many(
        "company",
        [
            NewLink(("customcrm", f"c{i}", f"v{i}"), ("superoffice", f"s{i}"), {"name": f"{i}"})
            for i in range(count)
        ],
        run_id=run,
    )
    crosswalk.link("person", ("customcrm", "c1", None), ("superoffice", "p1"), run_id=run)
    wanted = [f"c{i}" for i in range(count)] + ["c1", "unlinked"]

    found = crosswalk.find_many("company", "customcrm", wanted)

    assert set(found) == {f"c{i}" for i in range(count)}  # not the unlinked, once each
    assert found["c7"] == crosswalk.find("company", "customcrm", "c7")
    assert found[f"c{count - 1}"].side("superoffice").base == {"name": f"{count - 1}"}
    assert found["c1"].side("superoffice").record_id == "s1"  # the company, not the person
    assert crosswalk.find_many("company", "superoffice", ["s3"])["s3"].id == found["c3"].id
    assert crosswalk.find_many("company", "customcrm", []) == {}
    crosswalk.close()
