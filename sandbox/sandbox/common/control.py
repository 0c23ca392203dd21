"""The control API both sandboxes share (docs/sync-contract.md): reset and seed, request
counters, fault settings. Never counted, never faulted; errors are problem+json."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from sandbox.common.faults import InvalidFaultSettingsError

if TYPE_CHECKING:
    from sandbox.common.app import SandboxApp

__all__ = ["ControlApi"]

_MAX_SEED = 100_000


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def _problem(status: int, title: str, detail: str) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


class ControlApi:
    """Serves `/_sandbox/reset`, `/_sandbox/requests` and `/_sandbox/faults`."""

    def __init__(self, app: SandboxApp, *, seed: int, seed_value: int) -> None:
        self._app = app
        self.seed = seed
        self.seed_value = seed_value

    def dispatch(self, request: Request) -> Response:
        action = {
            ("POST", "/_sandbox/reset"): self.reset,
            ("GET", "/_sandbox/requests"): self.requests,
            ("DELETE", "/_sandbox/requests"): self.clear_requests,
            ("GET", "/_sandbox/faults"): self.faults,
            ("PUT", "/_sandbox/faults"): self.set_faults,
        }.get((request.method, request.path.rstrip("/")))
        if action is None:
            return _problem(404, "Not Found", f"no control call {request.method} {request.path}")
        return action(request)

    def reset(self, request: Request) -> Response:
        body = _read_object(request)
        if isinstance(body, Response):
            return body
        seed, seed_value = body.get("seed", self.seed), body.get("seed_value", self.seed_value)
        for key, value in (("seed", seed), ("seed_value", seed_value)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                return _problem(400, "Bad Request", f"{key} must be a non-negative integer")
        if seed > _MAX_SEED:
            return _problem(400, "Bad Request", f"seed must be at most {_MAX_SEED}")
        self._app.emulator.model.reset(seed, seed_value)
        self.seed, self.seed_value = seed, seed_value
        return _json({"seed": seed, "seed_value": seed_value})

    def requests(self, request: Request) -> Response:
        return _json(self._app.counters.summary())

    def clear_requests(self, request: Request) -> Response:
        self._app.counters.clear()
        return _json(self._app.counters.summary())

    def faults(self, request: Request) -> Response:
        injector = self._app.faults
        return _json({**injector.settings.as_dict(), "injected": injector.injected()})

    def set_faults(self, request: Request) -> Response:
        body = _read_object(request)
        if isinstance(body, Response):
            return body
        try:
            self._app.faults.configure(body)
        except InvalidFaultSettingsError as error:
            return _problem(400, "Bad Request", str(error))
        return self.faults(request)


def _read_object(request: Request) -> dict[str, Any] | Response:
    """The JSON object in the body ({} when empty), or a 400 problem."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        return _problem(400, "Bad Request", f"body is not valid JSON: {error}")
    if not isinstance(body, dict):
        return _problem(400, "Bad Request", "body must be a JSON object")
    return body
