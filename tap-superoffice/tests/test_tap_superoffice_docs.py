"""Every setting and every stream column is documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from superoffice_client import connection_schema
from tap_superoffice.tap import TAP_SETTINGS, TapSuperOffice

README = (Path(__file__).parents[1] / "README.md").read_text()


# The tap's own settings (the SDK appends its built-in ones to the class schema at run time).
OWN_SETTINGS = sorted({**connection_schema(), **TAP_SETTINGS["properties"]})


@pytest.mark.parametrize("setting", OWN_SETTINGS)
def test_every_setting_is_documented(setting: str) -> None:
    assert re.search(rf"^\| `{setting}` \|", README, re.MULTILINE), setting


def test_every_column_is_documented() -> None:
    tap = TapSuperOffice(
        config={"auth_mode": "basic", "api_url": "http://x", "username": "u", "password": "p"}
    )
    for stream in tap.streams.values():
        for column in stream.schema["properties"]:
            assert f"`{column}`" in README, f"{stream.name}.{column}"
