"""Invariant 6 for real: a run killed with SIGKILL right after a create, then run again."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import sqlalchemy as sa

from crmsync import Crosswalk, store

RUN = textwrap.dedent(
    '''
    """One leg into a CRM kept in a SQLite file, so it outlives a killed process."""
    import json, sqlite3, sys, time
    from crmsync import Crosswalk, EntitySpec, Incoming, SyncSettings, Synchronizer
    from crmsync.destination import Ours

    crm_path, crosswalk_url, pause_after = sys.argv[1], sys.argv[2], int(sys.argv[3])

    class FileCrm:
        system = "superoffice"

        def __init__(self):
            self.db = sqlite3.connect(crm_path, isolation_level=None, check_same_thread=False)
            self.db.execute("CREATE TABLE IF NOT EXISTS rec (id INTEGER PRIMARY KEY, body, key)")

        def _ours(self, row):
            return Ours(str(row[0]), "v1", json.loads(row[1]), None, False, row[2])

        def fetch(self, entity, ids):
            rows = [self.db.execute("SELECT * FROM rec WHERE id=?", (i,)).fetchone() for i in ids]
            return {str(row[0]): self._ours(row) for row in rows if row}

        def match(self, entity, key, value):
            return []

        def find_by_correlation(self, entity, key):
            row = self.db.execute("SELECT * FROM rec WHERE key=?", (key,)).fetchone()
            return self._ours(row) if row else None

        def create(self, entity, values, key):
            cursor = self.db.execute(
                "INSERT INTO rec (body, key) VALUES (?, ?)", (json.dumps(dict(values)), key)
            )
            count = self.db.execute("SELECT count(*) FROM rec").fetchone()[0]
            print(f"created {count}", flush=True)
            if count == pause_after:
                time.sleep(30)  # the API answered; the link is not committed: kill me here
            return self._ours((cursor.lastrowid, json.dumps(dict(values)), key))

        def update(self, entity, ours, changes):
            raise AssertionError("nothing changes in this test")

        def delete(self, entity, ours):
            raise AssertionError("nothing is deleted in this test")

    records = [Incoming("customcrm", f"c{i}", "2026-01-01T00:00:00Z", {"name": f"Company {i}"})
               for i in range(20)]
    sync = Synchronizer(Crosswalk.connect(crosswalk_url), FileCrm(),
                        settings=SyncSettings(max_concurrency=1),
                        specs=[EntitySpec("company")], leg="customcrm->superoffice")
    sync.receive("company", records)
    print(json.dumps(sync.finish().as_dict()), flush=True)
    '''
)


def test_a_run_killed_between_create_and_link_loses_nothing_and_duplicates_nothing(tmp_path):
    script = tmp_path / "leg.py"
    script.write_text(RUN)
    crm, crosswalk_url = tmp_path / "crm.db", f"sqlite:///{tmp_path / 'crosswalk.db'}"
    command = [sys.executable, str(script), str(crm), crosswalk_url]
    with subprocess.Popen([*command, "7"], stdout=subprocess.PIPE, text=True) as victim:
        for line in victim.stdout:
            if line.strip() == "created 7":
                os.kill(victim.pid, signal.SIGKILL)
                break
        victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL

    rerun = subprocess.run([*command, "0"], capture_output=True, text=True, check=True, timeout=120)

    with sqlite3.connect(crm) as db:
        names = [row[0] for row in db.execute("SELECT json_extract(body, '$.name') FROM rec")]
    assert sorted(names) == sorted(f"Company {i}" for i in range(20))
    assert '"created": 13' in rerun.stdout
    crosswalk = Crosswalk.connect(crosswalk_url)
    with crosswalk.engine.connect() as connection:
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(store.links)).scalar() == 20
        )
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(store.intents)).scalar() == 0
        )
    crosswalk.close()
