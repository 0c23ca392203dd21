"""Measures 1 and 2: what an idle two-way run costs, and what a change costs, in API calls.

Each leg is started as its own `meltano run` (the same state ids as the job `two-way-sync`),
so the calls of each leg are read from both sandboxes' counters between the legs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.crms import Sandbox, TwoCrms, two_crms
from crmsync import Crosswalk

__all__ = [
    "AUTH_ROUTES",
    "DELETION_FEEDS",
    "IDLE_LIST_REQUESTS",
    "LEGS",
    "LIST_ROUTES",
    "STREAMS",
    "measure_cost",
]

LEGS = {
    "customcrm->superoffice": ("tap-customcrm", "customcrm-to-superoffice", "target-superoffice"),
    "superoffice->customcrm": ("tap-superoffice", "superoffice-to-customcrm", "target-customcrm"),
}
LIST_ROUTES = {
    "customcrm": ("GET /api/v1/customers", "GET /api/v1/contacts", "GET /api/v1/products",
                  "GET /api/v1/quotes", "GET /api/v1/quote-lines"),
    "superoffice": ("GET /{endpoint}/api/v1/Contact", "GET /{endpoint}/api/v1/Person",
                    "GET /{endpoint}/api/v1/Product", "GET /{endpoint}/api/v1/Archive/{provider}"),
}  # fmt: skip
"""The list (archive) request of each stream's side (Customcrm's quote lines have their own
feed; SuperOffice's come with their quotes)."""
STREAMS = sum(len(routes) for routes in LIST_ROUTES.values())
"""Streams of both sides: the goal of an idle run is one list request each."""
DELETION_FEEDS = 2
"""SuperOffice keeps deleted companies and persons out of their lists, in the recycle archives
(`Archive/RecycleContact`, `Archive/RecyclePerson`; same route as the quote archive): one
more list request each, which the job makes so that their deletes travel (the project's
tap-superoffice has `include_deleted` on). Customcrm lists its deleted records in the same
request."""
IDLE_LIST_REQUESTS = STREAMS + DELETION_FEEDS
"""What an idle run may cost: a list request per stream per side, and the two deletion feeds."""
AUTH_ROUTES = (
    "POST /Login/api/PartnerSystemUser/Authenticate",
    "POST /login/common/oauth/tokens",
    "GET /api/state/{context}",
)
"""SuperOffice's sign-in (system user token → ticket, tenant status): once per process,
whatever the data; counted, but not as a request about records."""


def _calls(counted: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Totals, writes, list requests and the per-route counts of both sides."""
    sides = {}
    for side, summary in counted.items():
        lists = sum(summary["by_route"].get(route, 0) for route in LIST_ROUTES[side])
        sides[side] = {
            "total": summary["total"],
            "writes": summary["writes"],
            "list_requests": lists,
            "by_route": summary["by_route"],
        }
    return {
        "total": sum(s["total"] for s in sides.values()),
        "writes": sum(s["writes"] for s in sides.values()),
        "sides": sides,
    }


def two_way_run(crms: TwoCrms) -> dict[str, Any]:
    """Both legs in the job's order; each leg's wall time and API calls (both sandboxes)."""
    legs: dict[str, dict[str, Any]] = {}
    for name, blocks in LEGS.items():
        crms.clear_requests()
        seconds = crms.plugins.meltano(*blocks)
        legs[name] = {"seconds": round(seconds, 2), "calls": _calls(crms.counters())}
    return {
        "seconds": round(sum(leg["seconds"] for leg in legs.values()), 2),
        "total_calls": sum(leg["calls"]["total"] for leg in legs.values()),
        "writes": sum(leg["calls"]["writes"] for leg in legs.values()),
        "legs": legs,
    }


def _person_links(crms: TwoCrms) -> list[dict[str, Any]]:
    crosswalk = Crosswalk.connect(crms.plugins.crosswalk_url)
    try:
        return [
            link
            for link in crosswalk.export(entity="person")
            if "customcrm" in link and "superoffice" in link
        ]
    finally:
        crosswalk.close()


def _edit_customcrm(sandbox: Sandbox, ids: Sequence[str], tag: str) -> None:
    """A user edits the title of these Customcrm contacts (PATCH with If-Match)."""
    for start in range(0, len(ids), 100):
        batch = ",".join(ids[start : start + 100])
        found = sandbox.call("GET", "contacts", params={"ids": batch, "limit": 100}).json()
        for contact in found["items"]:
            sandbox.call(
                "PATCH",
                f"contacts/{contact['id']}",
                json={"title": f"Customcrm title {tag}"},
                headers={"If-Match": f'"{contact["version"]}"'},
            )


def _edit_superoffice(sandbox: Sandbox, ids: Sequence[str], tag: str) -> None:
    """A user edits the title of these SuperOffice persons (PATCH)."""
    for person_id in ids:
        sandbox.call("PATCH", f"Person/{person_id}", json={"Title": f"SuperOffice title {tag}"})


def change_run(crms: TwoCrms, edits: int, idle_calls: int) -> dict[str, Any]:
    """`edits` persons edited on each side (disjoint pairs), one two-way run, then the next.

    Calls above `idle_calls` (what the same run costs with no change) are what the changes
    themselves cost; the list requests every run makes are not theirs.
    """
    links = _person_links(crms)
    if 2 * edits > len(links):
        raise ValueError(
            f"{edits} edits per side need {2 * edits} linked persons, the world has {len(links)};"
            " raise --cost-companies"
        )
    tag = f"{edits}-{time.time_ns()}"
    _edit_customcrm(crms.customcrm, [link["customcrm"] for link in links[:edits]], tag)
    _edit_superoffice(
        crms.superoffice, [link["superoffice"] for link in links[edits : 2 * edits]], tag
    )
    run = two_way_run(crms)
    after = two_way_run(crms)
    changed = 2 * edits
    return {
        "edits_per_side": edits,
        "changed_records": changed,
        "run": run,
        "next_run": after,
        "calls_per_changed_record": round(run["total_calls"] / changed, 2),
        "calls_per_changed_record_with_next_run": round(
            (run["total_calls"] + after["total_calls"]) / changed, 2
        ),
        "calls_above_idle_per_changed_record": round(
            (run["total_calls"] - idle_calls) / changed, 2
        ),
        "calls_above_idle_per_changed_record_with_next_run": round(
            (run["total_calls"] + after["total_calls"] - 2 * idle_calls) / changed, 2
        ),
        "writes_per_changed_record": round(run["writes"] / changed, 2),
    }


def measure_cost(workdir: Path, companies: int, edit_counts: Sequence[int]) -> dict[str, Any]:
    """Initial sync, settle run, idle run, then one change run per edit count."""
    with two_crms(workdir, companies) as crms:
        crms.plugins.install()
        first = two_way_run(crms)
        settle = two_way_run(crms)
        idle = two_way_run(crms)
        linked = len(_person_links(crms))
        fits = [edits for edits in edit_counts if 2 * edits <= linked]
        changes = [change_run(crms, edits, idle["total_calls"]) for edits in fits]
    return {
        "companies_seeded_per_side": companies,
        "linked_persons": linked,
        "initial_run": first,
        "second_run": settle,
        "idle_run": idle,
        "changes": changes,
        "skipped_edit_counts": [edits for edits in edit_counts if edits not in fits],
    }
