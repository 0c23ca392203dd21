"""The sandbox README documents every CLI option, control call and fault setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox.cli import build_parser
from sandbox.common.faults import FaultSettings

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "option",
    sorted(
        option
        for action in build_parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"  # argparse's own
    ),
)
def test_every_cli_option_is_documented(option: str) -> None:
    assert f"`{option}`" in README


@pytest.mark.parametrize("setting", sorted(FaultSettings().as_dict()))
def test_every_fault_setting_is_documented(setting: str) -> None:
    assert f"`{setting}`" in README


@pytest.mark.parametrize(
    "call",
    [
        "POST /_sandbox/reset",
        "GET /_sandbox/requests",
        "DELETE /_sandbox/requests",
        "GET /_sandbox/faults",
        "PUT /_sandbox/faults",
    ],
)
def test_every_control_call_is_documented(call: str) -> None:
    assert f"`{call}" in README
