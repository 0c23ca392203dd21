"""Runs a WSGI app on a threaded Werkzeug server on loopback (port 0 = a free port)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

__all__ = ["QuietRequestHandler", "RunningServer", "serve"]

LOOPBACK = "127.0.0.1"


class QuietRequestHandler(WSGIRequestHandler):
    """Does not log one line per request (tests and benchmarks make thousands)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip the access log; errors are still logged."""


@dataclass
class RunningServer:
    """A server answering in a background thread until `stop()`."""

    server: BaseWSGIServer
    thread: threading.Thread = field(repr=False)

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def stop(self) -> None:
        """Stop accepting, finish the serve loop and close the listening socket."""
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


def serve(app: Any, port: int = 0, *, quiet: bool = True) -> RunningServer:
    """Start `app` on 127.0.0.1:`port` in a daemon thread and return at once."""
    handler = QuietRequestHandler if quiet else WSGIRequestHandler
    server = make_server(LOOPBACK, port, app, threaded=True, request_handler=handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sandbox", daemon=True
    )
    thread.start()
    return RunningServer(server=server, thread=thread)
