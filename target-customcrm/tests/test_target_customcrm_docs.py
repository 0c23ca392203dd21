"""Every setting the target declares is documented, and it accepts exactly the tap's streams."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from tap_customcrm import schemas
from tap_customcrm.tap import STREAM_ORDER
from target_customcrm.payloads import RESOURCES
from target_customcrm.target import TargetCustomcrm

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_documents_every_setting() -> None:
    settings = TargetCustomcrm.config_jsonschema["properties"]
    missing = [name for name in settings if f"`{name}`" not in README]
    assert missing == []


def test_secrets_are_declared_secret() -> None:
    settings = TargetCustomcrm.config_jsonschema["properties"]
    assert settings["api_token"]["secret"] is True
    assert settings["crosswalk_url"]["secret"] is True


def test_target_syncs_exactly_the_taps_streams_in_the_taps_order() -> None:
    assert tuple(TargetCustomcrm.entity_specs) == STREAM_ORDER


def test_every_written_property_is_one_the_tap_emits() -> None:
    for resource in RESOURCES.values():
        schema = json.loads((resources.files(schemas) / f"{resource.stream}.json").read_text())
        assert set(resource.writable) <= set(schema["properties"]), resource.stream
