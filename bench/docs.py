"""Renders docs/benchmarks.md and its plot from bench/results/*.json; it measures nothing.

Every figure on the page comes from a results file, with the machine and sizes it was
measured at, so the page cannot drift from the measurements.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.cost import DELETION_FEEDS, IDLE_LIST_REQUESTS, STREAMS
from bench.findings import findings, loader_of, summary
from bench.markdown import goal, table

__all__ = ["render"]


def _machine(result: dict[str, Any]) -> str:
    m = result["machine"]
    load = ", ".join(str(x) for x in m["load_average"])
    return (
        f"_Measured {m['measured_at']} at commit `{m['commit']}` on {m['cpus']} CPUs ({m['cpu']}), "
        f"{m['memory_mb']} MB RAM, {m['os']}, Python {m['python']}; load average when the "
        f"measure ended: {load}; the measure took {result['seconds']} s._"
    )


def _cost(result: dict[str, Any]) -> str:
    idle = result["idle_run"]
    rows = []
    for leg, figures in idle["legs"].items():
        for side, calls in figures["calls"]["sides"].items():
            rows.append([leg, side, figures["seconds"], calls["total"], calls["list_requests"],
                         calls["writes"]])  # fmt: skip
    routes = []
    for leg, figures in idle["legs"].items():
        for side, calls in figures["calls"]["sides"].items():
            routes += [[leg, side, route, n] for route, n in sorted(calls["by_route"].items())]
    changes = [
        [c["edits_per_side"], c["changed_records"], c["run"]["total_calls"], c["run"]["writes"],
         c["calls_per_changed_record"], c.get("calls_above_idle_per_changed_record", "-"),
         c["next_run"]["total_calls"],
         c.get("calls_above_idle_per_changed_record_with_next_run", "-"),
         goal(c.get("calls_above_idle_per_changed_record",
                    c["calls_per_changed_record"]) <= 2)]
        for c in result["changes"]
    ]  # fmt: skip
    first, second = result["initial_run"], result["second_run"]
    return "\n\n".join(part for part in [
        "## 1. Idle run cost",
        _machine(result),
        f"Both sandboxes seeded with {result['companies_seeded_per_side']} companies of the "
        "same world; `meltano run two-way-sync` three times (each leg run on its own so its "
        f"calls can be counted): the first run took {first['seconds']} s, "
        f"{first['total_calls']} calls and {first['writes']} writes; the second "
        f"{second['seconds']} s, {second['total_calls']} calls and {second['writes']} writes; "
        "the third, with no changes anywhere, is the idle run below. "
        f"Goal: one list request per stream per side ({STREAMS}: Customcrm's customers, "
        "contacts, products, quotes and quote lines, deleted records included; SuperOffice's "
        "companies, persons, products and quote archive), and SuperOffice's "
        f"{DELETION_FEEDS} deletion feeds (the recycle archives of companies and persons, "
        "which its lists leave out; read so that their deletes travel), "
        f"{IDLE_LIST_REQUESTS} calls in all; zero writes. SuperOffice's sign-in calls are "
        "counted apart: every process signs in once, whatever the data.",
        f"Idle run: **{idle['total_calls']} calls, {idle['writes']} writes, "
        f"{idle['seconds']} s** (writes goal met: {goal(idle['writes'] == 0)}).",
        table(["leg", "API", "leg wall s", "calls", "list requests", "writes"], rows),
        "<details><summary>Idle run calls per route</summary>\n\n"
        + table(["leg", "API", "route", "calls"], routes) + "\n\n</details>",
        "## 2. Change cost",
        f"On the same world ({result['linked_persons']} linked persons), N persons edited on "
        "each side (title; disjoint pairs), then one two-way run, then the next run (which "
        "carries the echoes of the last leg). Calls count both APIs and both legs. "
        "Goal: at most 2 calls per changed record, judged on the calls above the idle run "
        "(the list requests and sign-ins every run makes, changes or not).",
        (f"Not measured, the world being too small: {result['skipped_edit_counts']} edits per "
         "side (`--cost-companies`: about 3 linked persons per company, 2N needed)."
         if result.get("skipped_edit_counts") else ""),
        *(f"The {w['edits']} edits per side ran on a larger world of "
          f"{w['companies_seeded_per_side']} companies per side ({w['linked_persons']} linked "
          f"persons; measured {w['measured_at']}); its idle run made {w['idle_calls']} calls "
          f"and {w['idle_writes']} writes." for w in result.get("larger_worlds", [])),
        table(["edits per side", "changed records", "calls", "writes", "calls / changed",
                "above idle / changed", "next run calls", "above idle / changed incl. next run",
                "goal met"], changes),
    ] if part)  # fmt: skip


def _has_keyed(result: dict[str, Any]) -> bool:
    return any(loader_of(d, "raw_batches_keyed") for d in result["directions"].values())


def _load(result: dict[str, Any], title: str = "## 3. Initial load throughput") -> str:
    rows = []
    for name, d in result["directions"].items():
        for loader in d["loaders"]:
            keys = ("loader", "records", "seconds", "records_per_second", "requests", "writes")
            runs = loader.get("runs_seconds")
            rows.append([
                name, *(loader[key] for key in keys), loader.get("mean_in_flight", "n/a"),
                ", ".join(str(x) for x in runs) if runs else "1 run",
            ])  # fmt: skip
    ratios = [
        [name, d["records_in"], d["target_vs_naive"], goal(d["target_vs_naive"] >= 5),
         d["target_vs_raw"], goal(d["target_vs_raw"] >= 0.8),
         d["target_startup_seconds"], d["target_records_per_second_after_startup"],
         d["target_after_startup_vs_naive"], d["target_after_startup_vs_raw"],
         d["loaders"][0].get("peak_rss_mb")]
        for name, d in result["directions"].items()
    ]  # fmt: skip
    return "\n\n".join(part for part in [
        title,
        _machine(result),
        f"Source seeded with {result['companies_seeded_in_source']} companies (the issue's "
        "full size is 10k customers, 30k contacts, 2k products, 3k quotes: "
        "`python -m bench --measures load --load-companies 10000`); destination empty; "
        f"both sandboxes add {result['latency_ms']} ms to every request. The real target "
        "(process start included) loads the mapped Singer file; the naive loader (one request "
        "per record, sequential"
        + (f"; a sample of about {result['naive_sample']} of the records, the same share of "
           "every level" if result.get("naive_sample") else "")
        + ") and the raw concurrent client "
        f"({result['max_concurrency']} threads, as the targets' `max_concurrency`) then "
        "create the same records, read back from what the target made, into the emptied "
        "destination. Toward Customcrm, whose API has a batch create, the raw client also "
        "loads through it (`raw_batches`: 100 records per request, each level split over the "
        "threads"
        + ("; `raw_batches_keyed`: the same with an idempotency key per item, as the target "
           "sends them" if _has_keyed(result) else "")
        + "), and the target is compared with the fastest raw client (`÷ raw`). Toward "
        "SuperOffice only companies, persons and products are compared (a raw quote is a "
        "chain of agent calls the comparison loaders do not make). "
        + (f"The target and the raw clients took {result['repeats']} turns; each row is "
           "the loader's median run, its runs' seconds beside it. "
           if result.get("repeats", 1) > 1 else "")
        + "`in flight`: the request-seconds the destination served over the run's wall time, "
        "the requests it was serving on average.",
        table(["direction", "loader", "records", "seconds", "records/s", "requests",
                "writes", "in flight", "runs (s)"], rows),
        table(["direction", "records", "target ÷ naive", "≥ 5 times", "target ÷ raw", "≥80%",
                "target start s", "target records/s after start", "÷ naive", "÷ raw",
                "target peak RSS MB"], ratios),
        "The ratios use the target's whole wall time; the columns after them leave out its "
        "start-up (the same target run on an empty input), which dominates small sizes.",
        "![Throughput and memory](benchmarks.png)",
    ] if part)  # fmt: skip


def _memory(result: dict[str, Any]) -> str:
    rows = []
    for run in result["runs"]:
        for p in run["processes"]:
            within = goal(p["peak_rss_mb"] <= result["goal_mb"])
            rows.append([run["direction"], run["records"], p["plugin"], p["seconds"],
                         p["peak_rss_mb"], within])  # fmt: skip
    return "\n\n".join(part for part in [
        "## 4. Peak memory (RSS) per plugin process",
        _machine(result),
        f"Sizes asked: {', '.join(str(s) for s in result['sizes'])} records (the issue asks "
        "for 10k and 100k: `python -m bench --measures memory --memory-records 10000,100000`). "
        f"Targets run only up to {result['target_limit']} records (they load a few dozen "
        "records/s here); taps and mappers run at every size. Peak RSS from `os.wait4` of "
        f"each process. Goal: flat, at most {result['goal_mb']} MB.",
        table(["direction", "records", "plugin", "seconds", "peak RSS MB", "≤200 MB"], rows),
    ] if part)  # fmt: skip


def _crosswalk(result: dict[str, Any]) -> str:
    rows = [
        [db, f"{d['links']:,}", d["bulk_load"]["seconds"],
         *(f"{d[f'{op}_per_second']} ({d.get(f'{op}_per_cpu_second', '-')})"
           for op in ("find", "translate", "link", "agree"))]
        for db, d in result["databases"].items()
    ]  # fmt: skip
    return "\n\n".join(part for part in [
        "## 5. Crosswalk",
        _machine(result),
        "Person links bulk-loaded through SQLAlchemy Core into crmsync's own tables, then "
        "timed through the public API, one thread, each call its own transaction: `find` and "
        "`translate` (lookups) of random existing records; `link` (insert a new pair, the "
        "upsert of a create) and `agree` (compare-and-set of base and receipt, the upsert of "
        "an update). SQLite runs in WAL mode with synchronous=NORMAL (crmsync's settings); "
        "PostgreSQL 15 with its defaults (fsync on), on loopback. Each cell: calls per wall "
        "second (calls per CPU second of the client process, which shows the cost apart "
        "from waiting for a CPU on a busy machine).",
        table(["database", "links", "bulk load s", "find/s", "translate/s", "link/s",
                "agree/s"], rows),
    ] if part)  # fmt: skip


def _plot(results: dict[str, dict[str, Any]], path: Path) -> None:
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    if "load" in results:
        directions = results["load"]["directions"]
        names = list(directions)
        rates: dict[str, dict[str, float]] = {}
        for n in names:
            for loader in directions[n]["loaders"]:
                rates.setdefault(loader["loader"], {})[n] = loader["records_per_second"]
        width = 0.8 / len(rates)
        for i, (loader, rate) in enumerate(rates.items()):
            heights = [rate.get(n, 0.0) for n in names]
            left.bar([x + i * width for x in range(len(names))], heights, width, label=loader)
        left.set_xticks([x + width * (len(rates) - 1) / 2 for x in range(len(names))], names)
        left.set_ylabel("records / s")
        left.set_title(f"Initial load, {results['load']['latency_ms']} ms latency")
        left.legend()
    if "memory" in results:
        series: dict[str, list[tuple[int, float]]] = {}
        for run in results["memory"]["runs"]:
            for p in run["processes"]:
                series.setdefault(p["plugin"], []).append((run["records"], p["peak_rss_mb"]))
        for plugin, points in sorted(series.items()):
            points.sort()
            right.plot([x for x, _ in points], [y for _, y in points], marker="o", label=plugin)
        right.axhline(results["memory"]["goal_mb"], color="red", linestyle="--", label="goal")
        right.set_xscale("log")
        right.set_ylim(bottom=0)
        right.set_xlabel("records")
        right.set_ylabel("peak RSS (MB)")
        right.set_title("Peak memory per plugin process")
        right.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


SECTIONS = {"cost": _cost, "load": _load, "memory": _memory, "crosswalk": _crosswalk}


def render(results_dir: Path, page: Path) -> None:
    """Write `page` (Markdown) and the PNG beside it from every result in `results_dir`."""
    results = {
        path.stem: json.loads(path.read_text()) for path in sorted(results_dir.glob("*.json"))
    }
    parts = [
        "# Benchmarks",
        "Generated by `make bench` (`python -m bench`, see `python -m bench --help`) from "
        "`bench/results/*.json`; do not edit by hand. Every section names the machine, the "
        "sizes and the time it was measured at. Sandboxes run as separate `crm-sandbox` "
        "processes on loopback; every count of API calls comes from their request counters. "
        "Meltano runs from its own folder (`var/bench/.meltano`, `MELTANO_SYS_DIR_ROOT`): "
        "`meltano run`s of other jobs in the same checkout rewrite the shared "
        "`.meltano/run/<plugin>/` catalog files and made a benchmark run fail with "
        "`Invalid catalog`. Wall times depend on how busy the machine is; each section "
        "records the load average.",
    ]
    for extra in [stem for stem in results if stem.startswith("memory_")]:
        # A supplementary memory run (e.g. `memory_100k.json`, taps and mappers at 100k).
        more = results.pop(extra)
        if "memory" in results:
            results["memory"]["runs"] += more["runs"]
            results["memory"]["sizes"] += more["sizes"]
    for extra in [stem for stem in results if stem.startswith("cost_")]:
        # A supplementary change run on a larger world (e.g. `cost_1000.json`, 1000 edits).
        more = results.pop(extra)
        if "cost" in results:
            results["cost"]["changes"] += more["changes"]
            results["cost"].setdefault("larger_worlds", []).append(
                {key: more[key] for key in ("companies_seeded_per_side", "linked_persons")}
                | {"idle_calls": more["idle_run"]["total_calls"],
                   "idle_writes": more["idle_run"]["writes"],
                   "edits": [c["edits_per_side"] for c in more["changes"]],
                   "measured_at": more["machine"]["measured_at"]}
            )  # fmt: skip
    parts += [summary(results), findings(results)]
    extra_loads = {stem: results.pop(stem) for stem in list(results) if stem.startswith("load_")}
    parts += [SECTIONS[name](results[name]) for name in SECTIONS if name in results]
    for letter, load in zip("bcdefgh", extra_loads.values(), strict=False):
        # A supplementary load at another size or concurrency (e.g. `load_10000.json`).
        title = (
            f"## 3{letter}. Initial load throughput from {load['companies_seeded_in_source']} "
            f"companies at max_concurrency {load['max_concurrency']}"
        )
        parts.append(_load(load, title))
    page.write_text("\n\n".join(parts) + "\n")
    _plot(results, page.with_suffix(".png"))
