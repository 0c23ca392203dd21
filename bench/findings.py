"""The page's verdicts: each goal of issue 9 against its figure, and findings derived from
the figures (so the words follow the numbers). Measures nothing."""

from __future__ import annotations

from typing import Any

from bench.cost import AUTH_ROUTES, DELETION_FEEDS, IDLE_LIST_REQUESTS, LIST_ROUTES, STREAMS
from bench.markdown import goal, table

__all__ = ["findings", "loader_of", "summary"]


def summary(results: dict[str, dict[str, Any]]) -> str:
    """One row per goal of issue 9: what was measured and whether it is met."""
    rows: list[list[Any]] = []
    if "cost" in results:
        idle = results["cost"]["idle_run"]
        lists = sum(
            calls["list_requests"]
            for leg in idle["legs"].values()
            for calls in leg["calls"]["sides"].values()
        )
        rows.append(
            ["idle run: zero writes", f"{idle['writes']} writes", goal(idle["writes"] == 0)]
        )
        others = sum(_idle_extras_by_route(results["cost"]).values())
        signins = idle["total_calls"] - lists - others
        measured = (
            f"{idle['total_calls']} calls: {lists} list requests, {signins} sign-in calls, "
            f"{others} others"
        )
        wanted = (
            f"idle run: one list request per stream per side ({STREAMS}), and SuperOffice's "
            f"{DELETION_FEEDS} deletion feeds ({IDLE_LIST_REQUESTS} calls)"
        )
        rows.append([wanted, measured, goal(lists <= IDLE_LIST_REQUESTS and others == 0)])
        for change in results["cost"]["changes"]:
            per = change["calls_per_changed_record"]
            above = change.get("calls_above_idle_per_changed_record")
            with_next = change.get(
                "calls_above_idle_per_changed_record_with_next_run",
                change["calls_per_changed_record_with_next_run"],
            )
            edits = change["edits_per_side"]
            wanted = (
                f"{edits} edit{'s' if edits != 1 else ''} per side: ≤ 2 calls per changed record"
            )
            measured = f"{per} in all; {above} above the idle run" if above is not None else per
            met = goal((above if above is not None else per) <= 2)
            rows.append([wanted, f"{measured} (with the next run: {with_next})", met])
    for load in _loads(results):
        at = _at(load)
        for name, d in load["directions"].items():
            rows.append([f"{name}{at}: ≥ 5 times the naive loader", d["target_vs_naive"],
                         goal(d["target_vs_naive"] >= 5)])  # fmt: skip
            raw = capacity(d)
            rows.append([f"{name}{at}: ≥ 80% of raw capacity (`{raw['loader']}`)",
                         f"{d['target_vs_raw']:.0%}", goal(d["target_vs_raw"] >= 0.8)])  # fmt: skip
            for loader, what in OTHER_RAW_CLIENTS.items():
                other = loader_of(d, loader)
                if other is None or other is raw:
                    continue
                ratio = d["loaders"][0]["records_per_second"] / other["records_per_second"]
                rows.append([f"{name}{at}: ≥ 80% of {what} (`{loader}`)", f"{ratio:.0%}",
                             goal(ratio >= 0.8)])  # fmt: skip
    if "memory" in results:
        peak = max(p["peak_rss_mb"] for r in results["memory"]["runs"] for p in r["processes"])
        rows.append(["peak RSS of every plugin ≤ 200 MB", f"largest {peak} MB", goal(peak <= 200)])
    return "## Against the goals of issue 9\n\n" + table(["goal", "measured", "met"], rows)


OTHER_RAW_CLIENTS = {
    "raw_concurrent": "a raw client making one request per record",
    "raw_batches_keyed": "a raw client sending the target's keyed batches",
}
"""Raw clients the goal table also compares the target with, beside its raw capacity."""

NO_SUPEROFFICE_BATCH = (
    " SuperOffice has no batch create of entities: its Mass Operations API "
    "(`Agents/DatabaseTable/Insert`, `Upsert`) writes raw table rows as a system user, outside "
    "the rules of Person and Contact (docs.superoffice.com, api/netserver/bulk-operations/"
    "mass-operations), and its rate limits are undocumented."
)


def capacity(direction: dict[str, Any]) -> dict[str, Any]:
    """The raw loader the target is compared with (the fastest raw client of the API)."""
    found = loader_of(direction, direction.get("raw_capacity_loader", "raw_concurrent"))
    assert found is not None, direction["raw_capacity_loader"]
    return found


def loader_of(direction: dict[str, Any], name: str) -> dict[str, Any] | None:
    """One loader's figures in a direction's results, or None when it was not run."""
    return next((x for x in direction["loaders"] if x["loader"] == name), None)


def _in_flight(target: dict[str, Any], raw: dict[str, Any], concurrency: int) -> str:
    """How busy each kept the destination (absent from results measured before it was)."""
    if "mean_in_flight" not in target:
        return ""
    return (
        f" The destination served {target['mean_in_flight']} of the target's requests at a "
        f"time on average, {raw['mean_in_flight']} of the raw client's (at most {concurrency})."
    )


def _at(load: dict[str, Any]) -> str:
    """Which load a figure comes from: its size, concurrency and when it ran (a rerun of the
    same load shows the run-to-run spread)."""
    measured = str(load["machine"]["measured_at"])[:16].replace("T", " ")
    return (
        f" ({load['companies_seeded_in_source']} companies, "
        f"max_concurrency {load['max_concurrency']}, {measured})"
    )


def _loads(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The load results: the main one, then any supplementary `load_*` (other concurrency)."""
    return [results[stem] for stem in sorted(results) if stem == "load" or stem.startswith("load_")]


def _idle_extras_by_route(result: dict[str, Any]) -> dict[str, int]:
    """Calls of the idle run that are neither list requests nor sign-in, by route."""
    extras: dict[str, int] = {}
    for leg in result["idle_run"]["legs"].values():
        for side, calls in leg["calls"]["sides"].items():
            for route, n in calls["by_route"].items():
                if route not in LIST_ROUTES[side] and route not in AUTH_ROUTES:
                    extras[f"{side} `{route}`"] = extras.get(f"{side} `{route}`", 0) + n
    return extras


def _idle_extras(result: dict[str, Any]) -> list[str]:
    extras = _idle_extras_by_route(result)
    if not extras:
        return ["The idle run made list requests and SuperOffice sign-in calls only."]
    top = sorted(extras.items(), key=lambda item: -item[1])[:6]
    listed = "; ".join(f"{route}: {n}" for route, n in top)
    return [f"The idle run made {sum(extras.values())} calls besides list requests, "
            f"most of them: {listed}."]  # fmt: skip


def findings(results: dict[str, dict[str, Any]]) -> str:
    """What the figures say, derived from them (so the words follow the numbers)."""
    lines: list[str] = []
    if "cost" in results:
        lines += _idle_extras(results["cost"])
    for load in _loads(results):
        at = _at(load)
        for name, d in load["directions"].items():
            target, raw = d["loaders"][0], capacity(d)
            per = round(target["requests"] / max(target["records"], 1), 2)
            raw_per = round(raw["requests"] / max(raw["records"], 1), 2)
            lines.append(
                f"{name}{at}: the target made {per} "
                f"requests per record ({target['requests']} for {target['records']}) and "
                f"reached {d['target_records_per_second_after_startup']} records/s after its "
                f"{d['target_startup_seconds']} s start-up, against "
                f"{raw['records_per_second']} records/s of the raw client "
                f"(`{raw['loader']}`, {raw_per} requests per record)."
                + _in_flight(target, raw, load["max_concurrency"])
            )
            keyed = loader_of(d, "raw_batches_keyed")
            if keyed is not None and raw is not keyed:
                cost = raw["records_per_second"] / keyed["records_per_second"] - 1
                lines.append(
                    f"{name}{at}: with an idempotency key per item the sandbox took "
                    f"{keyed['records_per_second']} records/s against {raw['records_per_second']}"
                    f" bare ({cost:.0%} more time per record): the target sends keys so that "
                    "a retried batch creates nothing twice."
                )
            naive = d["loaders"][1]["records_per_second"]
            if raw["records_per_second"] / naive < 5:
                lines.append(
                    f"{name}{at}: the raw client "
                    f"itself reaches {raw['records_per_second'] / naive:.1f} times the naive "
                    "loader: one request per record with N requests in flight is at most N "
                    "times one at a time, so 5 times needs more requests in flight or fewer "
                    "requests than records (a batch create)."
                    + (NO_SUPEROFFICE_BATCH if name.endswith("superoffice") else "")
                )
    if "memory" in results:
        peaks: dict[str, list[tuple[int, float]]] = {}
        for run in results["memory"]["runs"]:
            for p in run["processes"]:
                peaks.setdefault(p["plugin"], []).append((run["records"], p["peak_rss_mb"]))
        for plugin, points in sorted(peaks.items()):
            points.sort()
            (small, low), (large, high) = points[0], points[-1]
            line = f"{plugin}: peak RSS {low} MB at {small} records, {high} MB at {large}"
            if large < 0.95 * 100_000:  # a run asked for 100k lands near it (whole companies)
                seconds = next(
                    p["seconds"]
                    for run in results["memory"]["runs"]
                    for p in run["processes"]
                    if p["plugin"] == plugin and run["records"] == large
                )
                minutes = round(100_000 * seconds / large / 60)
                pace = f"about {minutes} min" if minutes else "under a minute"
                line += f"; 100k records would take it {pace} at that pace"
            lines.append(line + ".")
    if "crosswalk" in results:
        for db, d in results["crosswalk"]["databases"].items():
            lines.append(
                f"crosswalk on {db} at {d['links']:,} links: {d['find_per_second']} lookups/s "
                f"(`find`), {d['link_per_second']} new links/s and {d['agree_per_second']} "
                f"base updates/s, one thread on this busy machine; in client CPU alone "
                f"{d.get('find_per_cpu_second', '-')} lookups and "
                f"{d.get('agree_per_cpu_second', '-')} updates per second."
            )
    return "## Findings\n\n" + "\n".join(f"- {line}" for line in lines)
