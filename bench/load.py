"""Measure 3: initial load throughput of each real target, against a naive loader and the
sandbox's raw capacity, with the sandboxes adding latency to every request.

Per direction: the source sandbox is seeded, `tap | mapper` writes the mapped Singer file
(not timed), then the real target loads it into the empty destination (timed, fresh
crosswalk). Its records are read back and loaded again into an emptied destination by the
naive loader, then by the concurrent raw client: the same records, the same latency.

With `repeats` > 1 the target and the raw clients take turns that many times (the naive
loader, one request at a time, runs once) and each is reported by its median run: one run
on a shared machine spreads by 15-20%, more than the distance to a goal's line.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.crms import Plugins, Sandbox, two_crms
from bench.loaders import (
    Create,
    concurrent,
    concurrent_batches,
    customcrm_creates,
    naive,
    sample,
    superoffice_creates,
)
from bench.pipes import count_records, keep_streams, run_plugin

__all__ = ["MAX_CONCURRENCY", "measure_load"]

MAX_CONCURRENCY = 4
"""Both targets' `max_concurrency` default (crmsync and superoffice-client); the raw client
uses the same (`--concurrency` sets both)."""

DIRECTIONS: dict[str, dict[str, Any]] = {
    "superoffice->customcrm": {
        "tap": "tap-superoffice", "mapper": "map-superoffice-to-customcrm",
        "target": "target-customcrm", "streams": None, "creates": customcrm_creates,
        "batches": True,
    },
    "customcrm->superoffice": {
        "tap": "tap-customcrm", "mapper": "map-customcrm-to-superoffice",
        "target": "target-superoffice", "streams": ("contacts", "persons", "products"),
        "creates": superoffice_creates, "batches": False,
    },
}  # fmt: skip
"""Toward SuperOffice, quotes are left out: a raw quote is a chain of agent calls
(Sale → Quote → Version → Alternative → Lines) that the comparison loaders do not make.
`batches`: the destination API has a batch create (Customcrm), so its raw capacity is also
measured through it, and the target is compared with the fastest raw client. The batches are
sent twice: bare (`raw_batches`), and with an idempotency key per item (`raw_batches_keyed`),
as the target sends them so that a retried batch creates nothing twice; the sandbox does more
per keyed item (it looks the key up and keeps the answer), and the two show how much."""


def _mapped(plugins: Plugins, direction: dict[str, Any], name: str) -> Path:
    raw, mapped = plugins.workdir / f"{name}.tap.singer", plugins.workdir / f"{name}.singer"
    run_plugin(plugins, direction["tap"], None, raw)
    run_plugin(plugins, direction["mapper"], raw, mapped)
    if direction["streams"]:
        kept = plugins.workdir / f"{name}.kept.singer"
        keep_streams(mapped, kept, direction["streams"])
        return kept
    return mapped


def _timed(
    destination: Sandbox, latency_ms: int, load: Callable[[], int]
) -> tuple[float, int, dict[str, Any]]:
    destination.reset(0)
    destination.set_latency(latency_ms)
    destination.clear_requests()
    started = time.perf_counter()
    created = load()
    seconds = time.perf_counter() - started
    calls = destination.counters()
    destination.set_latency(0)
    return seconds, created, calls


def _rates(name: str, seconds: float, records: int, calls: dict[str, Any]) -> dict[str, Any]:
    """One run's figures. `mean_in_flight`: the request-seconds the destination served over
    the run's wall time, the requests it was serving on average (a loader that keeps its
    slots busy comes near its concurrency)."""
    return {
        "loader": name,
        "seconds": round(seconds, 2),
        "records": records,
        "records_per_second": round(records / seconds, 1),
        "requests": calls["total"],
        "writes": calls["writes"],
        "mean_in_flight": round(calls["served_seconds"] / seconds, 2),
    }


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median run (the lower middle of an even count), with every run's seconds."""
    ordered = sorted(runs, key=lambda run: float(run["seconds"]))
    middle = ordered[(len(ordered) - 1) // 2]
    if len(runs) == 1:
        return middle
    spread = [run["seconds"] for run in runs]
    return {**middle, "runs_seconds": spread, "spread": _spread(spread)}


def _spread(seconds: list[float]) -> float:
    """(slowest - fastest) / median of the runs' seconds."""
    return round((max(seconds) - min(seconds)) / statistics.median(seconds), 2)


def _direction(
    plugins: Plugins,
    name: str,
    companies: int,
    latency_ms: int,
    concurrency: int,
    naive_records: int | None,
    repeats: int,
) -> dict[str, Any]:
    direction = DIRECTIONS[name]
    source_name, destination_name = name.split("->")
    source: Sandbox = getattr(plugins, source_name)
    destination: Sandbox = getattr(plugins, destination_name)
    source.reset(companies)
    mapped = _mapped(plugins, direction, name)
    records = sum(count_records(mapped).values())
    ran: list[Any] = []

    def target() -> int:
        ran.append(run_plugin(plugins, direction["target"], mapped, None))
        return records

    def target_run() -> dict[str, Any]:
        """The target into an emptied destination with a fresh crosswalk."""
        Path(plugins.crosswalk_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return _rates("target", *_timed(destination, latency_ms, target))

    runs: dict[str, list[dict[str, Any]]] = {"target": [target_run()]}
    creates: list[list[Create]] = direction["creates"](destination)
    made = sum(len(level) for level in creates)
    naive_creates = sample(creates, naive_records) if naive_records else creates
    runs["naive"] = [
        _rates("naive", *_timed(destination, latency_ms, lambda: naive(destination, naive_creates)))
    ]
    raw_loaders = {"raw_concurrent": lambda: concurrent(destination, creates, concurrency)}
    if direction["batches"]:
        raw_loaders["raw_batches"] = lambda: concurrent_batches(destination, creates, concurrency)
        raw_loaders["raw_batches_keyed"] = lambda: concurrent_batches(
            destination, creates, concurrency, keyed=True
        )
    for turn in range(repeats):
        if turn:
            runs["target"].append(target_run())
        for loader, load in raw_loaders.items():
            runs.setdefault(loader, []).append(
                _rates(loader, *_timed(destination, latency_ms, load))
            )
    results = [_median(loader_runs) for loader_runs in runs.values()]
    results[0]["peak_rss_mb"] = max(r.peak_rss_mb for r in ran)
    target_rate, naive_rate = (r["records_per_second"] for r in results[:2])
    raw = max(results[2:], key=lambda r: float(r["records_per_second"]))
    raw_rate = raw["records_per_second"]
    empty = plugins.workdir / "empty.singer"
    empty.write_text("")
    startup = run_plugin(plugins, direction["target"], empty, None).seconds
    steady = round(records / max(results[0]["seconds"] - startup, 0.01), 1)
    return {
        "target_startup_seconds": startup,
        "target_records_per_second_after_startup": steady,
        "target_after_startup_vs_naive": round(steady / naive_rate, 2),
        "target_after_startup_vs_raw": round(steady / raw_rate, 2),
        "raw_capacity_loader": raw["loader"],
        "records_in": records,
        "records_created_by_target": made,
        "loaders": results,
        "target_vs_naive": round(target_rate / naive_rate, 2),
        "target_vs_raw": round(target_rate / raw_rate, 2),
        "goals": {"target_vs_naive": 5.0, "target_vs_raw": 0.8},
    }


def measure_load(
    workdir: Path,
    companies: int,
    latency_ms: int,
    concurrency: int = MAX_CONCURRENCY,
    naive_records: int | None = None,
    repeats: int = 1,
) -> dict[str, Any]:
    """Both directions, each from `companies` seeded companies into an empty destination,
    the targets and the raw client `concurrency` requests at a time. `naive_records`: the
    naive loader loads a sample of about that many records (its rate is one request at a
    time whatever the size; at the full size it would take most of the measure).
    `repeats`: turns of the target and the raw clients, each reported by its median run."""
    with two_crms(workdir, 0) as crms:
        crms.plugins.max_concurrency = concurrency
        directions = {
            name: _direction(
                crms.plugins, name, companies, latency_ms, concurrency, naive_records, repeats
            )
            for name in DIRECTIONS
        }
    return {
        "companies_seeded_in_source": companies,
        "latency_ms": latency_ms,
        "max_concurrency": concurrency,
        "naive_sample": naive_records,
        "repeats": repeats,
        "directions": directions,
    }
