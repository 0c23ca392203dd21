"""The README documents every operation the emulator serves."""

from __future__ import annotations

from pathlib import Path

import sandbox.superoffice
from sandbox.superoffice import create_emulator


def test_every_agent_method_and_login_route_is_in_the_readme(tmp_path: Path) -> None:
    readme = (Path(sandbox.superoffice.__file__).parent / "README.md").read_text()
    emulator = create_emulator(tmp_path, token="t")
    try:
        missing = []
        for rule in emulator.routes.iter_rules():
            name = rule.endpoint.name
            if "/Agents/Quote/" in rule.rule and name not in readme:
                missing.append(name)
            if "/api/v1" not in rule.rule and rule.rule.split("<")[0].rstrip("/") not in readme:
                missing.append(rule.rule)
        assert missing == []
    finally:
        emulator.model.close()
