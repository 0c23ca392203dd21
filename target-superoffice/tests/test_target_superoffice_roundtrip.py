"""`tap-superoffice | target-superoffice` through the real CLIs into an empty tenant."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.testing import RunningSandbox
from singer_sdk.testing import TapTestRunner
from tap_superoffice.tap import TapSuperOffice

BIN = Path(sys.executable).parent

Config = Callable[..., dict[str, Any]]


def _pipe(tmp_path: Path, tap_config: dict[str, Any], target_config: dict[str, Any]) -> str:
    """Run the tap into the target; the target's stderr (its report table)."""
    (tmp_path / "tap.json").write_text(json.dumps(tap_config))
    (tmp_path / "target.json").write_text(json.dumps(target_config))
    tap = subprocess.Popen(
        [BIN / "tap-superoffice", "--config", tmp_path / "tap.json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    target = subprocess.run(
        [BIN / "target-superoffice", "--config", tmp_path / "target.json"],
        stdin=tap.stdout,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert tap.stdout is not None
    tap.stdout.close()
    assert tap.wait(timeout=60) == 0
    assert target.returncode == 0, target.stderr[-2000:]
    return target.stderr


def _read(config: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every stream's rows as the tap reads them (in-process: the CLI is tested by `_pipe`)."""
    runner = TapTestRunner(TapSuperOffice, config=config)
    runner.sync_all()
    return dict(runner.records)


def _comparable(streams: dict[str, list[dict[str, Any]]]) -> dict[str, set[tuple[Any, ...]]]:
    """Rows by natural keys, references replaced by their targets' natural keys."""
    org = {c["contactId"]: c["orgnr"] for c in streams["contacts"]}
    mail = {p["personId"]: p["email"] for p in streams["persons"]}
    code = {p["productId"]: p["code"] for p in streams["products"]}
    heading = {q["quoteAlternativeId"]: q["heading"] for q in streams["quote_alternatives"]}

    def rows(stream: str, *columns: str, **refs: dict[Any, Any]) -> set[tuple[Any, ...]]:
        return {
            tuple(row[c] for c in columns) + tuple(m.get(row[f]) for f, m in refs.items())
            for row in streams[stream]
        }

    return {
        "contacts": rows("contacts", "orgnr", "name", "email", "phone", "city", "country"),
        "persons": rows("persons", "email", "firstname", "lastname", "mobile", contactId=org),
        "products": rows("products", "code", "name", "listPrice", "vat", "inAssortment"),
        "quotes": rows(
            "quote_alternatives", "heading", "name", "discountPercent", contactId=org, personId=mail
        ),
        "lines": rows(
            "quote_lines", "quantity", "discountPercent", quoteAlternativeId=heading, productId=code
        ),
    }


def test_round_trip_into_an_empty_tenant_copies_everything_then_rests(
    source_tenant: RunningSandbox,
    empty_tenant: RunningSandbox,
    plugin_config: Config,
    tmp_path: Path,
) -> None:
    tap_config = plugin_config(source_tenant)
    target_config = plugin_config(empty_tenant, source_system="source-tenant")

    report = _pipe(tmp_path, tap_config, target_config)

    source = _comparable(_read(tap_config))
    copied = _comparable(_read(plugin_config(empty_tenant)))
    assert copied == source
    entities = ("company", "person", "product", "quote", "quote_line")
    table = [
        line.split()
        for line in report.splitlines()
        if line.split()[:1] and line.split()[0] in entities
    ]
    created = {cells[0]: int(cells[1]) for cells in table}
    assert created == {
        "company": len(source["contacts"]),
        "person": len(source["persons"]),
        "product": len(source["products"]),
        "quote": len(source["quotes"]),
        "quote_line": len(source["lines"]),
    }
    assert min(created.values()) > 0

    empty_tenant.clear_requests()
    _pipe(tmp_path, tap_config, target_config)
    assert empty_tenant.requests()["writes"] == 0
