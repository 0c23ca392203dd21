"""The two stream maps are inverses on every mapped property, and docs/mappings.md is current."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from singer_sdk.mapper import PluginMapper

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = {
    "customcrm": ROOT / "tap-customcrm" / "tap_customcrm" / "schemas",
    "superoffice": ROOT / "superoffice-client" / "superoffice_client" / "schemas",
}
KEYS = {
    "customcrm": dict.fromkeys(
        ["customers", "contacts", "products", "quotes", "quote_lines"], "id"
    ),
    "superoffice": {
        "contacts": "contactId",
        "persons": "personId",
        "products": "productId",
        "quote_alternatives": "quoteAlternativeId",
        "quote_lines": "quoteLineId",
    },
}
# Values the quote-status translation knows; SuperOffice's Draft sub-states collapse to "draft".
ENUMS = {
    ("customcrm", "status"): ["draft", "sent", "accepted", "rejected", "expired"],
    ("superoffice", "state"): ["Draft", "Sent", "Sold", "Lost", "Expired"],
}
# The one computed property per direction (quote status) and the property it is computed from.
COMPUTED_SOURCE = {"customcrm-to-superoffice": "status", "superoffice-to-customcrm": "state"}
PAIRS = [
    ("customers", "contacts"),
    ("contacts", "persons"),
    ("products", "products"),
    ("quotes", "quote_alternatives"),
    ("quote_lines", "quote_lines"),
]


@cache
def mapper(name: str) -> PluginMapper:
    project = yaml.safe_load((ROOT / "mappings" / f"{name}.meltano.yml").read_text())
    config = project["plugins"]["mappers"][0]["mappings"][0]["config"]
    return PluginMapper(plugin_config=config, logger=logging.getLogger(name))


@cache
def schema(side: str, stream: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS[side] / f"{stream}.json").read_text())
    return loaded


def value_strategy(side: str, name: str, prop: dict[str, Any]) -> st.SearchStrategy[Any]:
    if (side, name) in ENUMS:
        return st.sampled_from(ENUMS[(side, name)])
    declared = prop.get("type", "string")
    kinds = [declared] if isinstance(declared, str) else declared
    kind = next(k for k in kinds if k != "null")
    if kind == "string" and prop.get("format") == "date-time":
        present: st.SearchStrategy[Any] = st.datetimes().map(lambda d: d.isoformat() + "Z")
    elif kind == "string" and prop.get("format") == "date":
        present = st.dates().map(lambda d: d.isoformat())
    elif kind == "string":
        present = st.text(max_size=40)
    elif kind == "integer":
        present = st.integers(min_value=1, max_value=2**31 - 1)
    elif kind == "number":
        present = st.floats(allow_nan=False, allow_infinity=False, width=32)
    elif kind == "boolean":
        present = st.booleans()
    else:
        present = st.just({})
    return st.one_of(st.none(), present) if "null" in kinds else present


def records(side: str, stream: str) -> st.SearchStrategy[dict[str, Any]]:
    props = schema(side, stream)["properties"]
    return st.fixed_dictionaries({n: value_strategy(side, n, p) for n, p in props.items()})


@cache
def registered(name: str, side: str, stream: str) -> PluginMapper:
    m = mapper(name)
    m.register_raw_stream_schema(stream, schema(side, stream), [KEYS[side][stream]])
    return m


def transform(name: str, side: str, stream: str, record: dict[str, Any]) -> dict[str, Any]:
    out = registered(name, side, stream).stream_maps[stream][0].transform(record)
    assert out is not None
    return out


def round_trip(
    forth: str,
    back: str,
    side: str,
    other: str,
    stream: str,
    other_stream: str,
    record: dict[str, Any],
) -> dict[str, Any]:
    """Map a record to the other side and back, as the destination's tap would re-emit it."""
    mapped = transform(forth, side, stream, record)
    as_emitted = {**record_shape(other, other_stream), **mapped}
    return transform(back, other, other_stream, as_emitted)


def record_shape(side: str, stream: str) -> dict[str, Any]:
    """A record of the other side's tap before it is filled: every property present, unset."""
    return dict.fromkeys(schema(side, stream)["properties"])


def mapped_properties(forth: str, stream: str) -> list[str]:
    maps = mapper(forth).stream_maps_dict[stream]
    return [
        str(expr) if str(expr).isidentifier() else COMPUTED_SOURCE[forth]
        for prop, expr in maps.items()
        if not prop.startswith("_")
    ]


@pytest.mark.parametrize(("cc_stream", "so_stream"), PAIRS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_customcrm_to_superoffice_and_back_is_identity(
    cc_stream: str, so_stream: str, data: st.DataObject
) -> None:
    record = data.draw(records("customcrm", cc_stream))
    back = round_trip(
        "customcrm-to-superoffice",
        "superoffice-to-customcrm",
        "customcrm",
        "superoffice",
        cc_stream,
        so_stream,
        record,
    )
    for prop in mapped_properties("customcrm-to-superoffice", cc_stream):
        assert back[prop] == record[prop], prop


@pytest.mark.parametrize(("cc_stream", "so_stream"), PAIRS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_superoffice_to_customcrm_and_back_is_identity(
    cc_stream: str, so_stream: str, data: st.DataObject
) -> None:
    record = data.draw(records("superoffice", so_stream))
    back = round_trip(
        "superoffice-to-customcrm",
        "customcrm-to-superoffice",
        "superoffice",
        "customcrm",
        so_stream,
        cc_stream,
        record,
    )
    for prop in mapped_properties("superoffice-to-customcrm", so_stream):
        if prop.startswith("_"):
            continue
        assert back[prop] == record[prop], prop


@pytest.mark.parametrize(("cc_stream", "so_stream"), PAIRS)
def test_every_mapped_property_exists_in_both_taps_schemas(cc_stream: str, so_stream: str) -> None:
    cc = schema("customcrm", cc_stream)["properties"]
    so = schema("superoffice", so_stream)["properties"]
    forth = mapper("customcrm-to-superoffice").stream_maps_dict[cc_stream]
    for so_prop, expr in forth.items():
        if so_prop.startswith("_"):
            continue
        assert so_prop in so, f"{so_stream}.{so_prop} is not in tap-superoffice's schema"
        source = (
            str(expr) if str(expr).isidentifier() else COMPUTED_SOURCE["customcrm-to-superoffice"]
        )
        assert source in cc, f"{cc_stream}.{source} is not in tap-customcrm's schema"


def test_mapping_docs_are_generated_from_the_current_maps() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "mapping_tables.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
