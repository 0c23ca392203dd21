"""Every setting of the target, its own and crmsync's, is documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from singer_sdk import Target
from target_superoffice.target import TargetSuperOffice

README = (Path(__file__).parents[1] / "README.md").read_text()
SDK_SETTINGS = set(Target.config_jsonschema.get("properties", {})) | {
    "add_record_metadata", "load_method", "batch_size_rows", "validate_records", "stream_maps",
    "stream_map_config", "faker_config", "flattening_enabled", "flattening_max_depth",
    "flattening_max_key_length", "flattening_separator",
}  # fmt: skip


@pytest.mark.parametrize(
    "setting", sorted(set(TargetSuperOffice.config_jsonschema["properties"]) - SDK_SETTINGS)
)
def test_every_setting_is_documented(setting: str) -> None:
    assert re.search(rf"^\| `{setting}` \|", README, re.MULTILINE), setting
