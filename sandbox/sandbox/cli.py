"""`crm-sandbox`: run one emulator on loopback until interrupted.

    crm-sandbox customcrm --port 8766 --data DIR --seed 200 [--seed-value 7] [--token T]
    crm-sandbox superoffice --port 8765 --data DIR --seed 200

Port 0 picks a free port; the first stdout line is `listening on http://127.0.0.1:<port>`.
A new data dir is seeded with `--seed` companies; an existing one keeps its records unless
`--reset` is given. The token is never printed.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from sandbox.common.app import SandboxApp
from sandbox.common.registry import EMULATORS, create_emulator
from sandbox.common.server import serve

__all__ = ["build_parser", "main"]

DEFAULT_TOKEN = "sandbox-token"  # noqa: S105 - the documented token of a local emulator


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crm-sandbox", description="Run a local CRM API emulator."
    )
    parser.add_argument("emulator", choices=sorted(EMULATORS), help="which API to serve")
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: free)")
    parser.add_argument("--data", type=Path, default=Path("var"), help="data directory")
    parser.add_argument("--seed", type=int, default=0, help="companies to seed a new store")
    parser.add_argument("--seed-value", type=int, default=0, help="random seed of the world")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the API token clients send")
    parser.add_argument("--reset", action="store_true", help="wipe and reseed existing data")
    parser.add_argument("--access-log", action="store_true", help="log every request")
    return parser


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.seed < 0 or args.seed_value < 0:
        print("crm-sandbox: --seed and --seed-value must not be negative", file=sys.stderr)
        return 2
    emulator = create_emulator(args.emulator, args.data, token=args.token)
    if args.reset or emulator.model.is_empty():
        emulator.model.reset(args.seed, args.seed_value)
    app = SandboxApp(emulator, seed=args.seed, seed_value=args.seed_value)
    try:
        running = serve(app, args.port, quiet=not args.access_log)
    except OSError as error:
        print(f"crm-sandbox: cannot listen on port {args.port}: {error}", file=sys.stderr)
        emulator.model.close()
        return 1
    print(f"listening on {running.url}", flush=True)
    signal.signal(signal.SIGTERM, _stop)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
        emulator.model.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
