"""Pytest fixtures for crosswalks, registered through the `pytest11` entry point.

Loading it as a plugin also imports the real `crmsync` package before collection, so
`--import-mode=importlib` does not shadow it with the `crmsync/` project folder when it
imports `crmsync/tests/test_*.py` as `crmsync.tests.test_*`. Only pytest loads this module.

`crmsync_postgres_url` starts a throwaway PostgreSQL server (initdb + pg_ctl from
`CRMSYNC_PG_BIN`, default /usr/lib/postgresql/15/bin) once per session and gives each test
its own database. PostgreSQL refuses to run as root, so under root the server runs as the
`postgres` user. Tests using it are skipped, with the reason, when no server binaries exist.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from crmsync.crosswalk import Crosswalk

__all__ = ["crmsync_postgres_server", "crmsync_postgres_url", "crmsync_sqlite_crosswalk"]

_DATABASES = itertools.count(1)


@pytest.fixture
def crmsync_sqlite_crosswalk(tmp_path: Path) -> Iterator[Crosswalk]:
    """A fresh, migrated SQLite crosswalk file in the test's temporary folder."""
    crosswalk = Crosswalk.connect(f"sqlite:///{tmp_path / 'crosswalk.db'}")
    yield crosswalk
    crosswalk.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(folder: Path) -> list[str]:
    """The command prefix that runs the server binaries as a non-root user."""
    if os.geteuid() != 0:
        return []
    user = pwd.getpwnam("postgres")
    os.chown(folder, user.pw_uid, user.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="session")
def crmsync_postgres_server() -> Iterator[str]:
    """A running PostgreSQL server for this test session; yields its admin URL."""
    binaries = Path(os.environ.get("CRMSYNC_PG_BIN", "/usr/lib/postgresql/15/bin"))
    if not (binaries / "pg_ctl").exists():
        pytest.skip(f"no PostgreSQL server binaries in {binaries}")
    folder = Path(tempfile.mkdtemp(prefix="crmsync-pg-"))
    prefix = _as_server_user(folder)
    data, port = folder / "data", _free_port()
    subprocess.run(  # noqa: S603 - the machine's own PostgreSQL binaries
        [
            *prefix,
            str(binaries / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    options = f"-F -p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
    pg_ctl = [*prefix, str(binaries / "pg_ctl"), "-D", str(data)]
    subprocess.run(  # noqa: S603 - the machine's own PostgreSQL binaries
        [*pg_ctl, "-o", options, "-l", str(folder / "server.log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], check=False, capture_output=True)  # noqa: S603
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def crmsync_postgres_url(crmsync_postgres_server: str) -> Iterator[str]:
    """The URL of a fresh, empty database on the session's PostgreSQL server."""
    name = f"crosswalk_{os.getpid()}_{next(_DATABASES)}"
    admin = sa.create_engine(crmsync_postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield crmsync_postgres_server.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
