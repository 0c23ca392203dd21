"""`make demo`: both sandboxes, then `meltano run two-way-sync` twice, then what happened.

1. starts the Customcrm and SuperOffice sandboxes with overlapping seed data (in var/);
2. installs the Meltano plugins;
3. runs the two-way sync twice: the first links what already exists on both sides and
   creates the rest both ways; the second finds nothing to do and writes nothing;
4. prints both run summaries and where to look next.

Every demo starts from fresh sandboxes, a fresh crosswalk and fresh Meltano state in var/.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
BIN = ROOT / ".venv" / "bin"
SEED = os.environ.get("DEMO_SEED", "60")
TENANT = "Cust12345"


def start_sandbox(stack: ExitStack, api: str, port: int) -> str:
    """Start `crm-sandbox <api>`; return its URL (a free port if `port` is taken)."""
    command = [str(BIN / "crm-sandbox"), api, "--port", str(port), "--data", str(VAR / api)]
    command += ["--seed", SEED, "--seed-value", "7", "--reset"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603 - our CLI
    stack.callback(stop, process)
    assert process.stdout is not None
    first = process.stdout.readline().strip()
    if not first.startswith("listening on "):
        process.kill()
        sys.exit(f"the {api} sandbox did not start on port {port}: {first!r}")
    if port and not first.endswith(f":{port}"):
        print(f"  port {port} is busy; {api} sandbox uses {first.rsplit(':', 1)[1]} instead")
    return first.removeprefix("listening on ")


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def control(url: str, method: str, path: str) -> Any:
    request = urllib.request.Request(f"{url}/_sandbox/{path}", method=method)  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.load(response)


def environment(customcrm: str, superoffice: str) -> dict[str, str]:
    crosswalk = f"sqlite:///{VAR}/crosswalk.db"
    return {
        **os.environ,
        "MELTANO_ENVIRONMENT": "sandbox",
        "MELTANO_DATABASE_URI": f"sqlite:///{VAR}/meltano.db",
        "TAP_CUSTOMCRM_API_URL": customcrm,
        "TARGET_CUSTOMCRM_API_URL": customcrm,
        "TAP_SUPEROFFICE_LOGIN_URL": superoffice,
        "TAP_SUPEROFFICE_API_URL": f"{superoffice}/{TENANT}",
        "TARGET_SUPEROFFICE_LOGIN_URL": superoffice,
        "TARGET_SUPEROFFICE_API_URL": f"{superoffice}/{TENANT}",
        "TARGET_SUPEROFFICE_CROSSWALK_URL": crosswalk,
        "TARGET_CUSTOMCRM_CROSSWALK_URL": crosswalk,
        "CRMSYNC_CROSSWALK_URL": crosswalk,
    }


def sync(number: int, env: dict[str, str], sandboxes: dict[str, str]) -> None:
    """One `meltano run two-way-sync`, then its report and the API calls it cost."""
    for url in sandboxes.values():
        control(url, "DELETE", "requests")
    log = VAR / f"run-{number}.log"
    print(f"\n== run {number}: meltano run two-way-sync   (log: {log.relative_to(ROOT)})")
    started = time.monotonic()
    with log.open("w") as out:
        result = subprocess.run(  # noqa: S603 - our venv's meltano
            [str(BIN / "meltano"), "run", "two-way-sync"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip
    seconds = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"run {number} failed (exit {result.returncode}); see {log}")
    report = subprocess.run(  # noqa: S603 - our venv's crmsync
        [str(BIN / "crmsync"), "report", "--limit", "2"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    print(report.stdout.rstrip())
    calls = {name: control(url, "GET", "requests") for name, url in sandboxes.items()}
    print(f"\n  took {seconds:.0f} s; API calls:")
    for name, counted in calls.items():
        print(f"    {name:<12} {counted['total']:>6} requests, {counted['writes']:>5} writes")


def main() -> int:
    VAR.mkdir(exist_ok=True)
    for stale in ("crosswalk.db", "meltano.db"):
        (VAR / stale).unlink(missing_ok=True)
    print("== installing the Meltano plugins (first time: a minute)")
    subprocess.run([str(BIN / "meltano"), "install"], cwd=ROOT, check=True)  # noqa: S603
    with ExitStack() as stack:
        print(f"\n== starting both sandboxes with {SEED} overlapping companies each")
        sandboxes = {
            "customcrm": start_sandbox(stack, "customcrm", 8766),
            "superoffice": start_sandbox(stack, "superoffice", 8765),
        }
        for name, url in sandboxes.items():
            print(f"  {name:<12} {url}")
        env = environment(sandboxes["customcrm"], sandboxes["superoffice"])
        sync(1, env, sandboxes)
        sync(2, env, sandboxes)
    print(
        f"""
== where to look next
  export CRMSYNC_CROSSWALK_URL=sqlite:///var/crosswalk.db   then, for what the sync did:
  {BIN.relative_to(ROOT)}/crmsync report | conflicts | quarantine list | links search
  docs/mappings.md           the property mappings of the four pairs
  meltano.yml, mappings/     the plugins, the job two-way-sync, the stream maps
  var/run-1.log, var/run-2.log   everything Meltano and the plugins logged
  crm-sandbox customcrm|superoffice --port ... --data var/...   to run the sandboxes yourself"""
    )
    shutil.rmtree(VAR / "tmp", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
