"""Every setting the tap declares is documented in its README."""

from __future__ import annotations

from pathlib import Path

from tap_customcrm.tap import TapCustomcrm

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")


def test_readme_documents_every_setting() -> None:
    settings = TapCustomcrm.config_jsonschema["properties"]
    missing = [name for name in settings if f"`{name}`" not in README]
    assert missing == []


def test_token_setting_is_declared_secret() -> None:
    token = TapCustomcrm.config_jsonschema["properties"]["api_token"]
    assert token["secret"] is True
    assert token["writeOnly"] is True
