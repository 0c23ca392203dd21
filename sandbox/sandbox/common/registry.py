"""Finds an emulator by name. Emulator packages are imported lazily, so the CLI and the
test helpers work while one of them is still being built."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Literal

from sandbox.common.app import Emulator

__all__ = ["EMULATORS", "create_emulator"]

EmulatorName = Literal["customcrm", "superoffice"]
EMULATORS: dict[str, str] = {
    "customcrm": "sandbox.customcrm",
    "superoffice": "sandbox.superoffice",  # exposes create_emulator(data_dir, *, token)
}


def create_emulator(name: str, data_dir: Path, *, token: str) -> Emulator:
    """Build emulator `name` on a SQLite store under `data_dir`.

    Raises:
        ValueError: no emulator of that name.
    """
    if name not in EMULATORS:
        raise ValueError(f"unknown emulator {name!r}; known: {', '.join(EMULATORS)}")
    data_dir.mkdir(parents=True, exist_ok=True)
    module = importlib.import_module(EMULATORS[name])
    emulator: Emulator = module.create_emulator(data_dir, token=token)
    return emulator
