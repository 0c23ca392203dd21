"""The plugins run as plain processes (no Meltano): tap → file, mapper file → file, target ← file.

Each process is waited for with `os.wait4`, which gives that one child's peak RSS.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from bench.crms import BIN, Plugins

__all__ = ["Ran", "count_records", "keep_streams", "run_plugin"]


@dataclass(frozen=True)
class Ran:
    """One finished plugin process: how long it took and its peak resident memory."""

    plugin: str
    seconds: float
    peak_rss_mb: float


def run_plugin(plugins: Plugins, plugin: str, source: Path | None, output: Path | None) -> Ran:
    """Run `plugin` with its config, reading Singer messages from `source` and writing to
    `output` (None: no input / discard); a non-zero exit raises with the log's path."""
    executable = "meltano-map-transform" if plugin.startswith("map-") else plugin
    log = plugins.workdir / f"{plugin}.log"
    command = [str(BIN / executable), "--config", str(plugins.config(plugin))]
    with (
        open(source or os.devnull, "rb") as stdin,
        open(output or os.devnull, "wb") as stdout,
        log.open("ab") as stderr,
    ):
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=stdin, stdout=stdout, stderr=stderr)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{plugin} exited with {process.returncode}; see {log}")
    return Ran(plugin, round(seconds, 2), round(usage.ru_maxrss / 1024, 1))  # kB on Linux


def count_records(path: Path) -> Counter[str]:
    """RECORD messages per stream in a Singer file."""
    counted: Counter[str] = Counter()
    with path.open() as lines:
        for line in lines:
            message = json.loads(line)
            if message.get("type") == "RECORD":
                counted[message["stream"]] += 1
    return counted


def keep_streams(source: Path, output: Path, streams: Iterable[str]) -> None:
    """Copy a Singer file, keeping only the messages of `streams` (and every STATE)."""
    wanted = set(streams)
    with source.open() as lines, output.open("w") as out:
        for line in lines:
            message = json.loads(line)
            if message.get("type") == "STATE" or message.get("stream") in wanted:
                out.write(line)
