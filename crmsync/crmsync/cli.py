"""The `crmsync` operator CLI: read the crosswalk (runs, conflicts, quarantine, links, plans).

It never calls a CRM API (it has no target config); `quarantine retry` only marks rows,
and the next run of the target that owns them retries them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any, TextIO

from crmsync.crosswalk import Crosswalk
from crmsync.plan import render_plan
from crmsync.quarantine import KINDS
from crmsync.report import render_report
from crmsync.settings import SyncSettings
from crmsync.tables import render_table

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS = (
    "report",
    "conflicts",
    "quarantine list",
    "quarantine retry",
    "quarantine drop",
    "links search",
    "links export",
    "plan",
)
"""Every command; a test checks each one is documented in crmsync/README.md."""


def _common(*, defaults: bool) -> argparse.ArgumentParser:
    """`--crosswalk` and `--json`, accepted before the command and after it.

    Only the top-level parser has defaults: a subcommand's default would overwrite the value
    given before the command (`crmsync --crosswalk URL report` read the default crosswalk).
    """
    url = os.environ.get("CRMSYNC_CROSSWALK_URL", SyncSettings().crosswalk_url)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--crosswalk",
        default=url if defaults else argparse.SUPPRESS,
        help=f"crosswalk URL (default: $CRMSYNC_CROSSWALK_URL or {url})",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="print JSON instead of a table",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    common = _common(defaults=False)
    parser = argparse.ArgumentParser(
        prog="crmsync", description=__doc__, parents=[_common(defaults=True)]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    report = commands.add_parser("report", parents=[common], help="recent runs and their counts")
    report.add_argument("--limit", type=int, default=10)
    conflicts = commands.add_parser("conflicts", parents=[common], help="recorded field conflicts")
    conflicts.add_argument("--limit", type=int, default=50)
    conflicts.add_argument("--run", type=int, help="only this run")
    conflicts.add_argument("--entity")
    _quarantine(commands, common)
    _links(commands, common)
    commands.add_parser("plan", parents=[common], help="the plan of the latest dry run")
    return parser


def _quarantine(commands: Any, common: argparse.ArgumentParser) -> None:
    quarantine = commands.add_parser("quarantine", help="records held back, with their reason")
    actions = quarantine.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", parents=[common], help="quarantined records")
    listing.add_argument("--kind", choices=KINDS)
    listing.add_argument("--entity")
    retry = actions.add_parser(
        "retry",
        parents=[common],
        help="mark rows for retry by the next run of their target (this command calls no API; "
        "for a held delete it approves the delete)",
    )
    retry.add_argument("ids", nargs="+", type=int)
    drop = actions.add_parser("drop", parents=[common], help="forget rows for good")
    drop.add_argument("ids", nargs="+", type=int)


def _links(commands: Any, common: argparse.ArgumentParser) -> None:
    links = commands.add_parser("links", help="the crosswalk's linked pairs")
    actions = links.add_subparsers(dest="action", required=True)
    search = actions.add_parser("search", parents=[common], help="links whose ids contain TEXT")
    search.add_argument("text")
    search.add_argument("--entity")
    export = actions.add_parser("export", parents=[common], help="every link")
    export.add_argument("--csv", action="store_true", required=True, help="as CSV")
    export.add_argument("--entity")


def _emit(
    rows: Sequence[dict[str, Any]], columns: Sequence[str], as_json: bool, out: TextIO
) -> None:
    if as_json:
        out.write(json.dumps(list(rows), indent=2, default=str) + "\n")
    else:
        out.write(render_table(rows, columns) + "\n")


def _report(crosswalk: Crosswalk, args: argparse.Namespace, out: TextIO) -> int:
    runs = crosswalk.runs.recent(args.limit)
    if args.json:
        _emit(runs, [], True, out)
        return 0
    _emit(runs, ["id", "leg", "status", "dry_run", "started_at", "finished_at"], False, out)
    for run in runs:
        if run["report"]:
            out.write("\n" + render_report(run["report"]) + "\n")
    return 0


def _conflicts(crosswalk: Crosswalk, args: argparse.Namespace, out: TextIO) -> int:
    rows = crosswalk.conflicts.recent(args.limit, run_id=args.run, entity=args.entity)
    columns = [
        "run_id",
        "entity",
        "source_id",
        "destination_id",
        "field",
        "base",
        "ours",
        "theirs",
        "winner",
        "rule",
    ]
    _emit(rows, columns, args.json, out)
    return 0


def _quarantine_run(crosswalk: Crosswalk, args: argparse.Namespace, out: TextIO) -> int:
    if args.action == "list":
        rows = [asdict(item) for item in crosswalk.quarantine.items(args.kind, args.entity)]
        columns = [
            "id",
            "kind",
            "entity",
            "source_system",
            "source_id",
            "destination_system",
            "attempts",
            "retry_requested",
            "reason",
        ]
        _emit(rows, columns, args.json, out)
        return 0
    if args.action == "retry":
        count = crosswalk.quarantine.request_retry(args.ids)
        out.write(f"{count} of {len(args.ids)} rows marked for retry on the next run\n")
    else:
        count = crosswalk.quarantine.drop(args.ids)
        out.write(f"{count} of {len(args.ids)} rows dropped\n")
    return 0 if count == len(args.ids) else 1


def _links_run(crosswalk: Crosswalk, args: argparse.Namespace, out: TextIO) -> int:
    if args.action == "search":
        rows = crosswalk.search(args.text, entity=args.entity)
        systems = sorted({key for row in rows for key in row} - {"link_id", "entity"})
        _emit(rows, ["link_id", "entity", *systems], args.json, out)
        return 0
    writer: Any = None
    for row in crosswalk.export(entity=args.entity):
        if writer is None:
            writer = csv.DictWriter(
                out,
                fieldnames=["link_id", "entity", "customcrm", "superoffice"],
                extrasaction="ignore",
            )
            writer.writeheader()
        writer.writerow(row)
    if writer is None:
        out.write("link_id,entity,customcrm,superoffice\r\n")
    return 0


def _plan(crosswalk: Crosswalk, args: argparse.Namespace, out: TextIO) -> int:
    plan = crosswalk.runs.latest_plan()
    if plan is None:
        sys.stderr.write("no dry-run plan stored yet: run a target with dry_run: true first\n")
        return 1
    out.write((json.dumps(plan, indent=2, default=str) if args.json else render_plan(plan)) + "\n")
    return 0


HANDLERS = {
    "report": _report,
    "conflicts": _conflicts,
    "quarantine": _quarantine_run,
    "links": _links_run,
    "plan": _plan,
}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one command; returns the exit status."""
    args = build_parser().parse_args(argv)
    crosswalk = Crosswalk.connect(args.crosswalk)
    try:
        return HANDLERS[args.command](crosswalk, args, out or sys.stdout)
    finally:
        crosswalk.close()


if __name__ == "__main__":
    sys.exit(main())
