"""A throwaway PostgreSQL server in a temp folder, for the crosswalk benchmark only.

PostgreSQL refuses to run as root, so under root the server runs as the `postgres` user.
The server keeps its default durability (fsync on), as a deployment would.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["PG_BIN", "postgres_server"]

PG_BIN = Path(os.environ.get("BENCH_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(folder: Path) -> list[str]:
    if os.geteuid() != 0:
        return []
    user = pwd.getpwnam("postgres")
    os.chown(folder, user.pw_uid, user.pw_gid)
    return ["runuser", "-u", "postgres", "--"]


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start PostgreSQL on a free loopback port; yield its SQLAlchemy URL; stop and remove it."""
    if not (PG_BIN / "pg_ctl").exists():
        raise FileNotFoundError(f"no PostgreSQL server binaries in {PG_BIN} (set BENCH_PG_BIN)")
    folder = Path(tempfile.mkdtemp(prefix="bench-pg-"))
    prefix = _as_server_user(folder)
    data, port = folder / "data", _free_port()
    initdb = [*prefix, str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run([*initdb, "-E", "UTF8"], check=True, capture_output=True)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
    pg_ctl = [*prefix, str(PG_BIN / "pg_ctl"), "-D", str(data)]
    log = str(folder / "server.log")
    subprocess.run(
        [*pg_ctl, "-o", options, "-l", log, "-w", "start"], check=True, capture_output=True
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "-w", "stop"], check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
