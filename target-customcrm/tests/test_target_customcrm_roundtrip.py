"""`tap-customcrm | target-customcrm` via the real CLIs, from a seeded sandbox into an empty one."""

from __future__ import annotations

import json
from typing import Any

import requests
from crmsync.receipts import normalise_version
from customcrm_client import sync_version
from sandbox.testing import RunningSandbox

from crmsync import Crosswalk

STREAMS = ("customers", "contacts", "products", "quotes", "quote_lines")
MONEY = ("unit_price", "unit_cost", "vat_rate", "discount_percent", "quantity")


def live(sandbox: RunningSandbox, collection: str) -> list[dict[str, Any]]:
    return [row for row in sandbox.records(collection) if row.get("deleted_at") is None]


def natural_view(sandbox: RunningSandbox) -> dict[str, set[tuple[Any, ...]]]:
    """Every live record by natural keys, references resolved to their targets' natural keys,
    so two sandboxes with different ids compare equal when they hold the same data."""
    customers = {row["id"]: row for row in live(sandbox, "customers")}
    contacts = {row["id"]: row for row in live(sandbox, "contacts")}
    products = {row["id"]: row for row in live(sandbox, "products")}
    quotes = {row["id"]: row for row in live(sandbox, "quotes")}

    def customer_key(cid: Any) -> Any:
        row = customers.get(cid)
        return (row["org_number"], row["name"]) if row else cid

    def contact_key(cid: Any) -> Any:
        return contacts[cid]["email"] if cid in contacts else cid

    def quote_key(qid: Any) -> Any:
        row = quotes[qid]
        return (customer_key(row["customer_id"]), row["title"], row["quote_date"])

    def fields(row: dict[str, Any], drop: tuple[str, ...]) -> tuple[Any, ...]:
        meta = ("id", "version", "created_at", "updated_at", "deleted_at", "external_ids")
        return tuple(sorted((k, v) for k, v in row.items() if k not in (*meta, *drop)))

    lines = [row for row in live(sandbox, "quote_lines") if row["quote_id"] in quotes]
    return {
        "customers": {fields(row, ()) for row in customers.values()},
        "contacts": {
            (customer_key(row["customer_id"]), fields(row, ("customer_id",)))
            for row in contacts.values()
        },
        "products": {fields(row, ()) for row in products.values()},
        "quotes": {
            (
                customer_key(row["customer_id"]),
                contact_key(row["contact_id"]),
                fields(row, ("customer_id", "contact_id", "lines")),
            )
            for row in quotes.values()
        },
        "quote_lines": {
            (
                quote_key(row["quote_id"]),
                products[row["product_id"]]["sku"] if row["product_id"] in products else None,
                fields(row, ("quote_id", "product_id")),
            )
            for row in lines
        },
    }


def test_roundtrip_copies_every_live_record_with_its_references(copied: Any) -> None:
    leg, pipe = copied.leg, copied.first

    assert (pipe.tap_code, pipe.target_code) == (0, 0), pipe.target_stderr[-3000:]
    assert leg.source.token not in pipe.tap_stderr
    assert leg.source.token not in pipe.target_stderr
    ours, theirs = natural_view(leg.source), natural_view(leg.destination)
    for stream in ours:
        assert ours[stream], f"the seed has no live {stream}"
        assert theirs[stream] == ours[stream], stream


def test_roundtrip_rests_then_carries_exactly_one_edit(copied: Any) -> None:
    leg, first = copied.leg, copied.first
    assert first.target_code == 0, first.target_stderr[-3000:]
    leg.destination.clear_requests()

    resting = leg.run(first.state)

    assert resting.target_code == 0, resting.target_stderr[-3000:]
    assert leg.destination.requests()["writes"] == 0
    assert resting.state["bookmarks"].keys() >= {"customers", "contacts", "products", "quotes"}

    customer = live(leg.source, "customers")[0]
    edit = requests.patch(
        f"{leg.source.url}/api/v1/customers/{customer['id']}",
        json={"city": "Hammerfest"},
        headers={
            "Authorization": f"Bearer {leg.source.token}",
            "If-Match": f'"{customer["version"]}"',
        },
        timeout=10,
    )
    assert edit.status_code == 200
    leg.destination.clear_requests()

    leg.run_in_process(resting.state)  # the CLIs' path is proven above; spare their start-up

    counts = leg.destination.requests()
    assert counts["writes"] == 1
    assert counts["by_route"].get("PATCH /api/v1/customers/{id}") == 1
    copies = [row for row in live(leg.destination, "customers") if row["name"] == customer["name"]]
    assert [row["city"] for row in copies] == ["Hammerfest"]


def test_a_quote_moved_by_its_written_lines_keeps_its_receipt(copied: Any) -> None:
    """Customcrm moves a quote's `updated_at` when a line is written under it: the receipt
    follows, so the quote read back on the other leg is our own write, not an edit."""
    leg = copied.leg
    quotes = {row["id"]: row for row in live(leg.destination, "quotes") if row["lines"]}
    assert quotes, "the seed has no quote with lines"
    config = json.loads(leg.target_config.read_text())
    crosswalk = Crosswalk.connect(config["crosswalk_url"])
    try:
        links = crosswalk.find_many("quote", "customcrm", list(quotes))
    finally:
        crosswalk.close()

    receipts = {qid: link.members["customcrm"].receipt_version for qid, link in links.items()}
    assert receipts == {
        qid: normalise_version(sync_version("quotes", row)) for qid, row in quotes.items()
    }
    assert all(row["version"] > 1 for row in quotes.values()), "no line moved its quote"


def test_target_cli_exits_non_zero_on_a_refused_token_and_never_prints_it(leg: Any) -> None:
    config = json.loads(leg.target_config.read_text())
    schema = {
        "type": "object",
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}},
    }
    messages = "\n".join(
        json.dumps(m)
        for m in (
            {"type": "SCHEMA", "stream": "customers", "schema": schema, "key_properties": ["id"]},
            {"type": "RECORD", "stream": "customers", "record": {"id": "u1", "name": "Nord AS"}},
        )
    )

    result = leg.target_cli({**config, "api_token": "wrong-secret-5d1e"}, messages + "\n")

    assert result.returncode != 0
    assert "Customcrm refused the credentials: 401" in result.stderr
    assert "wrong-secret-5d1e" not in result.stderr + result.stdout
    assert result.stdout.strip() == ""


def test_a_first_load_creates_through_the_batch_create(leg: Any) -> None:
    leg.run_in_process()

    counts = leg.destination.requests()
    written = counts["writes"]
    reads = counts["total"] - written
    assert [len(live(leg.destination, s)) for s in STREAMS] == [
        len(live(leg.source, s)) for s in STREAMS
    ]
    writes = [route for route in counts["by_route"] if not route.startswith("GET")]
    assert writes == [route for route in writes if route.startswith("POST") and "/batch" in route]
    # per stream at most one batch per worker thread (4), as the records are fewer than 100 each
    assert written <= 4 * len(STREAMS), counts["by_route"]
    # one primed match read per match-keyed stream, plus the once-per-run company name scan,
    # plus one read of the quotes the lines' batch moved (their receipts follow)
    assert reads <= 5, counts["by_route"]
    assert counts["by_route"].get("GET /api/v1/quotes") == 1, counts["by_route"]
