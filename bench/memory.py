"""Measure 4: peak RSS of every plugin process at growing record counts (goal: flat, ≤200 MB).

Per size and direction: the source is seeded with enough companies for about that many
records; the tap writes a Singer file, the mapper maps it, the target loads it into an empty
destination with a fresh crosswalk. Each process's own peak RSS comes from `os.wait4`.
Targets are slow (a few dozen records/s here), so they run only up to `target_limit`
records; the taps and mappers run at every size.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.crms import Plugins, two_crms
from bench.load import DIRECTIONS
from bench.pipes import count_records, run_plugin

__all__ = ["RECORDS_PER_COMPANY", "measure_memory"]

RECORDS_PER_COMPANY = 5.27
"""Records one seeded company brings on Customcrm (people, products, quotes and lines):
5265 records from 1000 companies, measured with tap-customcrm."""


def _one(plugins: Plugins, name: str, records: int, target_limit: int) -> dict[str, Any]:
    direction = DIRECTIONS[name]
    source_name, destination_name = name.split("->")
    companies = max(1, round(records / RECORDS_PER_COMPANY))
    getattr(plugins, source_name).reset(companies)
    getattr(plugins, destination_name).reset(0)
    raw, mapped = plugins.workdir / "memory.tap.singer", plugins.workdir / "memory.singer"
    processes = [
        run_plugin(plugins, direction["tap"], None, raw),
        run_plugin(plugins, direction["mapper"], raw, mapped),
    ]
    emitted = sum(count_records(mapped).values())
    if emitted <= target_limit:
        Path(plugins.crosswalk_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        processes.append(run_plugin(plugins, direction["target"], mapped, None))
    raw.unlink()
    mapped.unlink()
    return {
        "direction": name,
        "companies_seeded": companies,
        "records": emitted,
        "processes": [
            {"plugin": p.plugin, "seconds": p.seconds, "peak_rss_mb": p.peak_rss_mb}
            for p in processes
        ],
    }


def measure_memory(workdir: Path, sizes: Sequence[int], target_limit: int) -> dict[str, Any]:
    """Every plugin's peak RSS per direction and size."""
    with two_crms(workdir, 0) as crms:
        runs = [
            _one(crms.plugins, name, size, target_limit) for size in sizes for name in DIRECTIONS
        ]
    return {"sizes": list(sizes), "target_limit": target_limit, "goal_mb": 200, "runs": runs}
