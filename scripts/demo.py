"""`make demo`: start the Customcrm sandbox with seed data in var/, show it answering, stop it.

It grows into the full two-way demo once the sync lands; for now it proves the local
Customcrm API runs from a fresh clone with one command.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "var" / "customcrm"
PREFERRED_PORT = 8766
TOKEN = "sandbox-token"  # noqa: S105 - the documented token of the local emulator
RESOURCES = ("customers", "contacts", "products", "quotes")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _get(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})  # noqa: S310 - loopback URL we started
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.load(response)


def _count(base: str, resource: str) -> int:
    total, cursor = 0, None
    while True:
        page = _get(f"{base}/api/v1/{resource}?limit=500" + (f"&cursor={cursor}" if cursor else ""))
        total += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return total


def _show(base: str) -> None:
    print(f"\nCustomcrm sandbox answering at {base} (token: the documented local default)\n")
    for customer in _get(f"{base}/api/v1/customers?limit=5")["items"]:
        name, org, city = customer["name"], customer["org_number"], customer["city"]
        print(f"  {customer['id']:<8} {name:<36} {org:<14} {city}")
    print("\n  records per resource:")
    for resource in RESOURCES:
        print(f"    {resource:<10} {_count(base, resource):>5}")
    counters = _get(f"{base}/_sandbox/requests")
    print(f"\n  API calls served: {counters['total']} (writes: {counters['writes']})")


def main() -> int:
    port = PREFERRED_PORT if _free(PREFERRED_PORT) else 0
    command = [sys.executable, "-m", "sandbox.cli", "customcrm", "--port", str(port)]
    command += ["--data", str(DATA), "--seed", "200", "--seed-value", "7", "--reset"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as sandbox:  # noqa: S603 - our own CLI
        try:
            assert sandbox.stdout is not None
            first = sandbox.stdout.readline().strip()
            if not first.startswith("listening on "):
                print(f"the sandbox did not start: {first!r}", file=sys.stderr)
                return 1
            _show(first.removeprefix("listening on "))
        finally:
            sandbox.send_signal(signal.SIGTERM)
            sandbox.wait(timeout=15)
    where = DATA.relative_to(ROOT)
    print(f"\nsandbox stopped (exit {sandbox.returncode}); its data stays in {where}/")
    return 0 if sandbox.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
