"""Runs a WSGI app on a threaded cheroot server on loopback (port 0 = a free port).

cheroot keeps HTTP/1.1 connections alive, as the real APIs do: Werkzeug's development server
answers every request with `Connection: close`, so each request paid a TCP connect and a new
server thread on both sides, which no client of a real tenant pays.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from cheroot import wsgi

__all__ = ["SOCKET_KEY", "RunningServer", "serve"]

LOOPBACK = "127.0.0.1"
WORKERS = 32
"""Requests served at once (idle keep-alive connections hold none): more than any client's
concurrency, as requests sleep through the injected latency while they hold a worker."""
SOCKET_KEY = "sandbox.socket"
"""The environ key of the request's socket (a dropped-connection fault closes it)."""


class _Gateway(wsgi.Gateway_10):
    """cheroot's WSGI 1.0 gateway, with the connection's socket in the environ."""

    def get_environ(self) -> Any:
        environ: dict[str, Any] = super().get_environ()  # type: ignore[no-untyped-call]
        environ[SOCKET_KEY] = self.req.conn.socket
        return environ


@dataclass
class RunningServer:
    """A server answering in a background thread until `stop()`."""

    server: wsgi.Server
    thread: threading.Thread = field(repr=False)

    @property
    def port(self) -> int:
        return int(self.server.bind_addr[1])

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def stop(self) -> None:
        """Stop accepting, close the open connections and end the serve loop."""
        self.server.stop()
        self.thread.join(timeout=10)


def serve(app: Any, port: int = 0, *, quiet: bool = True) -> RunningServer:
    """Start `app` on 127.0.0.1:`port` in a daemon thread and return once it listens.

    `quiet=False` logs one line per request to stderr (cheroot writes no access log)."""
    server = wsgi.Server(
        (LOOPBACK, port), app if quiet else _logged(app), numthreads=WORKERS, timeout=30
    )
    server.gateway = _Gateway
    server.prepare()  # binds: `bind_addr` now holds the port a port 0 got
    thread = threading.Thread(target=server.serve, name="sandbox", daemon=True)
    thread.start()
    return RunningServer(server=server, thread=thread)


def _logged(app: Any) -> Any:
    """`app`, printing `METHOD path status` for each request."""

    def logged(environ: dict[str, Any], start_response: Any) -> Any:
        def start(status: str, headers: Any, *args: Any) -> Any:
            print(
                f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']} {status}",
                file=sys.stderr,
                flush=True,
            )
            return start_response(status, headers, *args)

        return app(environ, start)

    return logged
