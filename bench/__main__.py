"""`python -m bench` (`make bench`): run the measures, write bench/results/*.json and the docs.

Each measure writes its own JSON (its parameters, its figures and the machine's details), so
one measure can be re-run alone (`--measures crosswalk`); docs/benchmarks.md and its plot
are then rendered from every JSON in the results folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.crms import ROOT
from bench.machine import machine

MEASURES = ("cost", "load", "memory", "crosswalk")
FULL = {"load_companies": 10_000, "memory_records": "10000,100000", "links": 1_000_000}
"""The issue's full sizes (the defaults are smaller, to finish on a 2-core machine)."""


def _counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--measures",
        default=",".join(MEASURES),
        help=f"comma-separated subset of {', '.join(MEASURES)}",
    )
    parser.add_argument(
        "--cost-companies",
        type=int,
        default=70,
        help="companies seeded per side for the idle and change runs (about 3 linked persons "
        "per company; N edits per side need 2N)",
    )
    parser.add_argument(
        "--edits", default="1,10,100", help="edits per side of each change run (issue: 1,100,1000)"
    )
    parser.add_argument(
        "--load-companies",
        type=int,
        default=100,
        help="companies seeded in the source for the initial load "
        f"(full size: {FULL['load_companies']})",
    )
    parser.add_argument(
        "--latency-ms",
        type=int,
        default=20,
        help="latency the sandboxes add to every request during the load",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=4,
        help="the targets' max_concurrency during the load, and the raw client's threads "
        "(4: the targets' default)",
    )
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=None,
        help="load only about this many records with the naive loader, the same share of "
        "every level (default: all; at the full size it would take most of the measure)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="turns of the target and the raw clients in the load, each reported by its "
        "median run (one run on a shared machine spreads by 15-20%%)",
    )
    parser.add_argument(
        "--memory-records",
        default="2000,10000",
        help=f"records per plugin run for peak RSS (full size: {FULL['memory_records']})",
    )
    parser.add_argument(
        "--memory-target-limit",
        type=int,
        default=2500,
        help="run the targets only up to this many records (they are slow)",
    )
    parser.add_argument(
        "--links",
        type=int,
        default=200_000,
        help=f"links in the crosswalk before timing (full size: {FULL['links']})",
    )
    parser.add_argument(
        "--operations", type=int, default=2000, help="timed crosswalk calls of each kind"
    )
    parser.add_argument(
        "--no-postgres", action="store_true", help="measure the crosswalk on SQLite only"
    )
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--docs",
        type=Path,
        default=ROOT / "docs" / "benchmarks.md",
        help="the Markdown page to render ('-' to skip it)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="scratch folder (default: a temp folder, removed after)",
    )
    return parser.parse_args(argv)


def _run(name: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """One measure's figures (imports are lazy: each measure pulls in different parts)."""
    if name == "cost":
        from bench.cost import measure_cost

        return measure_cost(workdir / "cost", args.cost_companies, _counts(args.edits))
    if name == "load":
        from bench.load import measure_load

        return measure_load(
            workdir / "load",
            args.load_companies,
            args.latency_ms,
            args.concurrency,
            args.naive_sample,
            args.repeats,
        )
    if name == "memory":
        from bench.memory import measure_memory

        return measure_memory(
            workdir / "memory", _counts(args.memory_records), args.memory_target_limit
        )
    if name == "crosswalk":
        from bench.crosswalk import measure_crosswalk

        return measure_crosswalk(
            workdir / "crosswalk", args.links, args.operations, postgres=not args.no_postgres
        )
    raise SystemExit(f"unknown measure {name!r}; choose from {', '.join(MEASURES)}")


def _measure(args: argparse.Namespace, workdir: Path, log: Callable[[str], None]) -> None:
    args.results.mkdir(parents=True, exist_ok=True)
    for name in [part.strip() for part in args.measures.split(",") if part.strip()]:
        log(f"== {name}")
        started = time.perf_counter()
        figures = _run(name, args, workdir)
        seconds = round(time.perf_counter() - started, 1)
        result = {"measure": name, "machine": machine(), "seconds": seconds, **figures}
        path = args.results / f"{name}.json"
        path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        log(f"   {seconds} s -> {path}")


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    log: Callable[[str], None] = lambda line: print(line, flush=True)  # noqa: E731
    if args.workdir is not None:
        _measure(args, args.workdir, log)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
            _measure(args, Path(scratch), log)
    if str(args.docs) != "-":
        from bench.docs import render

        render(args.results, args.docs)
        log(f"== {args.docs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
