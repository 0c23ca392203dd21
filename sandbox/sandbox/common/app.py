"""The WSGI app around an emulator: routes vendor requests to its operations, and wraps
them with request counting and fault injection. The control API lives in `control.py`."""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from sandbox.common.faults import Fault, FaultInjector
from sandbox.common.server import SOCKET_KEY

__all__ = ["Emulator", "Model", "Operation", "RequestCounters", "SandboxApp", "route_pattern"]

_log = logging.getLogger(__name__)
CONTROL_PREFIX = "/_sandbox/"
_PLACEHOLDER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


class Model(Protocol):
    """An emulator's state and rules."""

    def reset(self, seed: int, seed_value: int) -> None:
        """Wipe everything, then seed `seed` companies (and what belongs to them)."""
        ...

    def is_empty(self) -> bool:
        """Whether nothing is stored yet (the CLI seeds a new data dir only)."""
        ...

    def records(self, collection: str) -> list[dict[str, Any]]:
        """Every stored row of `collection`, deleted ones included, for tests."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Operation:
    """A vendor operation: the endpoint of a route rule."""

    name: str
    view: Callable[..., Response]
    writes: bool = False


class Emulator(Protocol):
    """What an emulator hands to `SandboxApp` (see the package docstring)."""

    name: str
    routes: Map
    model: Model

    def render_error(self, status: int, message: str, headers: Mapping[str, str]) -> Response:
        """An error response in the vendor's own shape."""
        ...


def route_pattern(rule: Rule) -> str:
    """`/api/v1/customers/<id>` → `/api/v1/customers/{id}` (the counters' route key)."""
    return _PLACEHOLDER.sub(r"{\1}", rule.rule)


class RequestCounters:
    """Requests per `METHOD /route/{pattern}`, how many of them changed state, the most
    vendor requests served at once (what tests of a client's concurrency bound read), and
    the request-seconds served: divided by a span of wall time, the mean number in flight
    (how a benchmark tells a client that keeps its slots busy from one that leaves them idle)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_route: Counter[str] = Counter()
        self._writes = 0
        self._in_flight = 0
        self._peak_in_flight = 0
        self._served_seconds = 0.0
        self._since = time.monotonic()

    def _advance(self) -> None:
        """Add the request-seconds served since the last change (under the lock)."""
        now = time.monotonic()
        self._served_seconds += self._in_flight * (now - self._since)
        self._since = now

    @contextlib.contextmanager
    def in_flight(self) -> Iterator[None]:
        """Count one request as being served for the duration of the block."""
        with self._lock:
            self._advance()
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._advance()
                self._in_flight -= 1

    def count(self, route: str, *, wrote: bool) -> None:
        with self._lock:
            self._by_route[route] += 1
            self._writes += int(wrote)

    def clear(self) -> None:
        with self._lock:
            self._by_route.clear()
            self._writes = 0
            self._peak_in_flight = self._in_flight
            self._advance()
            self._served_seconds = 0.0

    def summary(self) -> dict[str, Any]:
        with self._lock:
            self._advance()
            return {
                "total": sum(self._by_route.values()),
                "writes": self._writes,
                "peak_in_flight": self._peak_in_flight,
                "served_seconds": round(self._served_seconds, 3),
                "by_route": dict(sorted(self._by_route.items())),
            }


class SandboxApp:
    """The WSGI application of one emulator plus the shared control API."""

    def __init__(self, emulator: Emulator, *, seed: int = 0, seed_value: int = 0) -> None:
        from sandbox.common.control import ControlApi  # control imports this module

        self.emulator = emulator
        self.counters = RequestCounters()
        self.faults = FaultInjector()
        self.control = ControlApi(self, seed=seed, seed_value=seed_value)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        if request.path.startswith(CONTROL_PREFIX):
            response = self.control.dispatch(request)
        else:
            with self.counters.in_flight():
                response = self._serve_vendor_request(request)
        return response(environ, start_response)

    def _serve_vendor_request(self, request: Request) -> Response:
        adapter = self.emulator.routes.bind_to_environ(request.environ)
        try:
            rule, values = adapter.match(return_rule=True)
        except HTTPException as error:
            self.counters.count(f"{request.method} {request.path}", wrote=False)
            return self._routing_error(error)
        operation: Operation = rule.endpoint
        route = f"{request.method} {route_pattern(rule)}"
        fault = self._delay_and_draw(writes=operation.writes)
        if fault.kind in ("429", "5xx", "drop"):
            self.counters.count(route, wrote=False)
            return self._injected_response(fault, request)
        try:
            response = operation.view(request, **values)
        except Exception:  # an emulator bug must still answer the vendor way, never with HTML
            _log.exception("%s %s failed in the %s emulator", request.method, request.path,
                           self.emulator.name)  # fmt: skip
            response = self.emulator.render_error(500, "Internal error in the emulator", {})
        self.counters.count(route, wrote=operation.writes and response.status_code < 400)
        if fault.kind == "drop_after_write":  # the change is stored, the client never hears
            _drop_connection(request)
        if fault.kind == "504_after_write":  # stored; a gateway gave up waiting for the answer
            return self.emulator.render_error(504, "Gateway timeout (injected)", {})
        return response

    def _delay_and_draw(self, *, writes: bool) -> Fault:
        settings = self.faults.settings
        fault = self.faults.draw(writes=writes)
        delay = settings.latency_ms / 1000 + (settings.slow_seconds if fault.kind == "slow" else 0)
        if delay:
            time.sleep(delay)
        return fault

    def _injected_response(self, fault: Fault, request: Request) -> Response:
        if fault.kind == "drop":
            _drop_connection(request)
        settings = self.faults.settings
        if fault.kind == "429":
            headers = {"Retry-After": str(settings.retry_after)}
            return self.emulator.render_error(429, "Too many requests (injected)", headers)
        status = fault.status or 500
        return self.emulator.render_error(status, f"Injected server error {status}", {})

    def _routing_error(self, error: HTTPException) -> Response:
        if isinstance(error, MethodNotAllowed):
            allow = ", ".join(sorted(error.valid_methods or ()))
            message = f"Method not allowed; allowed: {allow}"
            return self.emulator.render_error(405, message, {"Allow": allow})
        return self.emulator.render_error(404, "No such path", {})  # NotFound, redirects


def _drop_connection(request: Request) -> None:
    """Close the socket without a response: the server's write of an error page then fails
    on the closed socket, and the client sees the connection drop."""
    connection = request.environ.get(SOCKET_KEY)
    if isinstance(connection, socket.socket):
        with contextlib.suppress(OSError):  # the client may have gone already
            connection.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError("connection dropped by fault injection")
