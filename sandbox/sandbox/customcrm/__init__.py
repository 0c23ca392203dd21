"""The reference server of the Customcrm contract (docs/customcrm-openapi.yaml).

Moto shape: `models.py` holds state and rules in SQLite, `routes.py` only translates HTTP,
`errors.py` has one class per problem type, `contract.py` checks bodies against the
OpenAPI document itself. `create_emulator` plugs it into `sandbox.common`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from werkzeug.wrappers import Response

from sandbox.customcrm.errors import problem_for_status
from sandbox.customcrm.models import CustomcrmModel
from sandbox.customcrm.routes import customcrm_routes

__all__ = ["CustomcrmEmulator", "create_emulator"]


class CustomcrmEmulator:
    """What `sandbox.common.SandboxApp` serves for Customcrm."""

    name = "customcrm"

    def __init__(self, data_dir: Path, *, token: str) -> None:
        self.model = CustomcrmModel(data_dir)
        self.routes = customcrm_routes(self.model, token)

    def render_error(self, status: int, message: str, headers: Mapping[str, str]) -> Response:
        return problem_for_status(status, message, headers).response()


def create_emulator(data_dir: Path, *, token: str) -> CustomcrmEmulator:
    return CustomcrmEmulator(data_dir, token=token)
