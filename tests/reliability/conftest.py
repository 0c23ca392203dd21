"""Both sandboxes and the two legs of the sync, driven as plain Singer pipes.

`tap | meltano-map-transform | target`, with the mapper config read from `mappings/`, is what
`meltano run two-way-sync` runs, minus Meltano's start-up: the reliability tests need many runs
(kills, reruns, fault storms), so they keep each one cheap. Each leg keeps its own state
(the target's last STATE line, fed back to the tap), as Meltano does.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from sandbox.testing import RunningSandbox, running_sandbox
from target_customcrm.payloads import RESOURCES

from crmsync import Crosswalk

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / ".venv" / "bin"
TENANT = "Cust12345"
LEGS = {
    "customcrm->superoffice": ("tap-customcrm", "customcrm-to-superoffice", "target-superoffice"),
    "superoffice->customcrm": ("tap-superoffice", "superoffice-to-customcrm", "target-customcrm"),
}


def stream_maps(mapping: str) -> dict[str, Any]:
    """The stream maps of one direction, as meltano.yml includes them."""
    document = yaml.safe_load((ROOT / "mappings" / f"{mapping}.meltano.yml").read_text())
    mapper = document["plugins"]["mappers"][0]
    config: dict[str, Any] = next(m for m in mapper["mappings"] if m["name"] == mapping)["config"]
    return config


def project_config(extractor: str) -> dict[str, Any]:
    """The config meltano.yml gives a tap (what the job runs it with, e.g. deleted records)."""
    document = yaml.safe_load((ROOT / "meltano.yml").read_text())
    plugin = next(p for p in document["plugins"]["extractors"] if p["name"] == extractor)
    config: dict[str, Any] = plugin.get("config") or {}
    return config


@dataclass
class LegRun:
    """One run of one leg: exit codes, the target's last STATE and its stderr."""

    leg: str
    tap_code: int | None
    target_code: int
    state: dict[str, Any] | None
    stderr: str
    killed: bool = False


@dataclass
class TwoWay:
    """Two sandboxes, the config of the four plugins, the crosswalk, and per-leg state."""

    customcrm: RunningSandbox
    superoffice: RunningSandbox
    work: Path
    crosswalk_url: str
    tuning: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    states: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: list[LegRun] = field(default_factory=list)

    def superoffice_config(self) -> dict[str, Any]:
        so = self.superoffice
        return {
            "auth_mode": "basic",
            "username": "sandbox",
            "password": so.token,
            "client_secret": so.token,
            "login_url": so.url,
            "context_identifier": TENANT,
            "api_url": f"{so.url}/{TENANT}",
        }

    def configs(self, leg: str) -> dict[str, dict[str, Any]]:
        """Config of the tap, the mapper and the target of `leg`."""
        cc = {"api_url": self.customcrm.url, "api_token": self.customcrm.token}
        so = self.superoffice_config()
        sync = {"crosswalk_url": self.crosswalk_url, **self.tuning}
        start = {"start_date": "2000-01-01T00:00:00Z", **self.tuning}
        tap, mapping, _ = LEGS[leg]
        if tap == "tap-customcrm":
            return {
                "tap": {**cc, **start, **project_config(tap)},
                "mapper": stream_maps(mapping),
                "target": {**so, **sync, "source_system": "customcrm"},
            }
        return {
            "tap": {**so, **start, **project_config(tap)},
            "mapper": stream_maps(mapping),
            "target": {**cc, **sync, "source_system": "superoffice"},
        }

    def config_files(self, leg: str) -> dict[str, Path]:
        paths = {}
        for role, config in self.configs(leg).items():
            path = self.work / f"{leg.replace('->', '-to-')}.{role}.json"
            path.write_text(json.dumps(config), encoding="utf-8")
            paths[role] = path
        return paths

    def capture(self, leg: str) -> Path:
        """`tap | mapper` of `leg` from its current state, saved to a file for replays."""
        files = self.config_files(leg)
        tap, _, _ = LEGS[leg]
        stem = f"{leg.replace('->', '-to-')}.{len(self.runs)}"
        raw, mapped = self.work / f"{stem}.tap", self.work / f"{stem}.singer"
        log = self.work / f"{stem}.log"
        code = run_plugin(
            tap,
            ["--config", str(files["tap"]), *self._state_args(leg)],
            stdout=raw,
            stderr=log,
            env=self.env,
        )
        assert code == 0, f"{tap} failed: {log.read_text()[-3000:]}"
        code = run_plugin(
            "meltano-map-transform",
            ["--config", str(files["mapper"])],
            stdin=raw,
            stdout=mapped,
            stderr=log,
        )
        assert code == 0, f"the mapper failed: {log.read_text()[-3000:]}"
        return mapped

    def replay(
        self, leg: str, messages: Path, *, kill_when: Callable[[], bool] | None = None
    ) -> LegRun:
        """Feed captured messages to the target of `leg`; SIGKILL it once `kill_when()` holds."""
        files = self.config_files(leg)
        target = LEGS[leg][2]
        out = self.work / f"target.{len(self.runs)}.out"
        err = self.work / f"target.{len(self.runs)}.err"
        out.touch()  # a child killed before it opens its files leaves them empty, not missing
        err.touch()
        process = start_plugin(
            target,
            ["--config", str(files["target"])],
            stdin=messages,
            stdout=out,
            stderr=err,
            env=self.env,
        )
        killed = False
        while process.running():
            if kill_when is not None and kill_when():
                process.kill()
                killed = True
                break
            process.process.join(0.002 if kill_when else 0.05)
        run = LegRun(
            leg,
            None,
            process.wait(),
            last_state(out.read_text()),
            err.read_text(errors="replace"),
            killed,
        )
        if run.state is not None and run.target_code == 0:
            self.states[leg] = run.state
        self.runs.append(run)
        return run

    def run_leg(self, leg: str, **options: Any) -> LegRun:
        return self.replay(leg, self.capture(leg), **options)

    def sync(self) -> list[LegRun]:
        """Both legs once, in the job's order; each must succeed."""
        runs = [self.run_leg(leg) for leg in LEGS]
        for run in runs:
            assert run.target_code == 0, run.stderr[-4000:]
        return runs

    def _state_args(self, leg: str) -> list[str]:
        if leg not in self.states:
            return []
        path = self.work / f"{leg.replace('->', '-to-')}.state.json"
        path.write_text(json.dumps(self.states[leg]), encoding="utf-8")
        return ["--state", str(path)]

    def writes(self) -> int:
        return int(self.customcrm.requests()["writes"]) + int(self.superoffice.requests()["writes"])

    def writes_of_next_run(self) -> int:
        """One more `sync()`, and the writes it made on both sides (0 once settled)."""
        self.customcrm.clear_requests()
        self.superoffice.clear_requests()
        self.sync()
        return self.writes()

    def quarantine(self) -> list[dict[str, Any]]:
        """`crmsync quarantine list --json`: what the sync holds back, with reasons."""
        return self._crmsync_json("quarantine", "list")

    def conflicts(self, entity: str) -> list[dict[str, Any]]:
        """`crmsync conflicts --json --entity <entity>`: the conflicts met, newest first."""
        return self._crmsync_json("conflicts", "--entity", entity)

    def conflicts_after(self, run_id: int) -> list[dict[str, Any]]:
        """Every conflict met in the runs after `run_id`."""
        met = self._crmsync_json("conflicts", "--limit", "1000000")
        return [conflict for conflict in met if conflict["run_id"] > run_id]

    def last_run(self) -> int:
        """The id of the last run the crosswalk recorded (0 before any)."""
        runs = self._crmsync_json("report", "--limit", "1")
        return max((int(run["id"]) for run in runs), default=0)

    def _crmsync_json(self, *command: str) -> list[dict[str, Any]]:
        listed = subprocess.run(
            [str(BIN / "crmsync"), *command, "--json", "--crosswalk", self.crosswalk_url],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        items: list[dict[str, Any]] = json.loads(listed.stdout)
        return items

    # -- the two APIs, as a user edits them ----------------------------------------------------

    def cc(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.customcrm.token}", **kwargs.pop("headers", {})}
        response = requests.request(
            method, f"{self.customcrm.url}/api/v1/{path}", headers=headers, timeout=30, **kwargs
        )
        assert response.status_code < 400, response.text
        return response.json() if response.content else None

    def cc_patch(self, path: str, changes: dict[str, Any]) -> Any:
        etag = f'"{self.cc("GET", path)["version"]}"'
        return self.cc("PATCH", path, json=changes, headers={"If-Match": etag})

    def so(self, method: str, path: str, **kwargs: Any) -> Any:
        so = self.superoffice
        response = requests.request(
            method,
            f"{so.url}/{TENANT}/api/v1/{path}",
            auth=("sandbox", so.token),
            headers={"SO-AppToken": so.token, "Accept": "application/json"},
            timeout=30,
            **kwargs,
        )
        assert response.status_code < 400, response.text
        return response.json() if response.content else None

    def settle(self, leg: str) -> int:
        """Wait until requests a killed target left in flight are done; return the writes."""
        writes = self.destination_writes(leg)
        while True:
            time.sleep(0.3)
            now = self.destination_writes(leg)
            if now == writes:
                return now
            writes = now

    def destination_writes(self, leg: str) -> int:
        """State-changing requests the destination of `leg` has served (read in-process)."""
        sandbox = self.superoffice if leg.endswith("superoffice") else self.customcrm
        return int(sandbox.app.counters.summary()["writes"])

    def linked(self, entity: str, system: str, record_id: str) -> str | None:
        """The id on the other side of the record linked to `record_id` on `system`."""
        other = "superoffice" if system == "customcrm" else "customcrm"
        crosswalk = Crosswalk.connect(self.crosswalk_url)
        try:
            return crosswalk.translate(entity, system, str(record_id), other)
        finally:
            crosswalk.close()

    # -- what both CRMs hold ------------------------------------------------------------------

    def natural_keys(self) -> dict[str, Counter[str]]:
        """Live records of both sides counted by match key: a count above 1 is a duplicate."""
        cc = {
            r: [x for x in self.customcrm.records(r) if not x["deleted_at"]]
            for r in ("customers", "contacts", "products")
        }
        so = {
            r: [x for x in self.superoffice.records(r) if not x["_deleted"]]
            for r in ("contacts", "persons", "products")
        }
        return {
            "customcrm company": Counter(
                digits(c["org_number"]) or c["name"] for c in cc["customers"]
            ),
            "customcrm person": Counter(
                c["email"].casefold() for c in cc["contacts"] if c["email"]
            ),
            "customcrm product": Counter(p["sku"].casefold() for p in cc["products"]),
            "superoffice company": Counter(digits(c["OrgNr"]) or c["Name"] for c in so["contacts"]),
            "superoffice person": Counter(so_email(p) for p in so["persons"] if so_email(p)),
            "superoffice product": Counter(p["Code"].casefold() for p in so["products"]),
        }

    def record_counts(self) -> dict[str, int]:
        return {side: sum(counts.values()) for side, counts in self.natural_keys().items()}

    def duplicates(self) -> dict[str, dict[str, int]]:
        return {
            side: {key: n for key, n in counts.items() if n > 1}
            for side, counts in self.natural_keys().items()
            if any(n > 1 for n in counts.values())
        }

    def quote_counts(self) -> tuple[int, int]:
        cc = [q for q in self.customcrm.records("quotes") if not q["deleted_at"]]
        return len(cc), len(self.superoffice.records("quote_alternatives"))

    def live_counts(self) -> dict[str, tuple[int, int]]:
        """Live persons and quote lines (Customcrm, SuperOffice): what `natural_keys` cannot
        tell apart (a person without e-mail, any line) still has to be there once each."""
        return {
            entity: (
                sum(1 for r in self.customcrm.records(cc) if not r["deleted_at"]),
                sum(1 for r in self.superoffice.records(so) if not r["_deleted"]),
            )
            for entity, cc, so in (
                ("person", "contacts", "persons"),
                ("quote_line", "quote_lines", "quote_lines"),
            )
        }

    def assert_same_records(self) -> None:
        """Both sides hold the same records: by match key, and counted where none tells."""
        keys = self.natural_keys()
        for entity in ("company", "person", "product"):
            assert keys[f"customcrm {entity}"] == keys[f"superoffice {entity}"], entity
        cc_quotes, so_quotes = self.quote_counts()
        assert cc_quotes == so_quotes, f"quotes: {cc_quotes} in Customcrm, {so_quotes} in SO"
        for entity, (cc, so) in self.live_counts().items():
            assert cc == so, f"{entity}: {cc} in Customcrm, {so} in SuperOffice"

    def different_values(self) -> list[tuple[str, str, str, Any, Any]]:
        """Every synced field a live linked pair holds differently, as (entity, Customcrm id,
        field, Customcrm's value, SuperOffice's in Customcrm's vocabulary, references
        translated). Both sides are read in full by the taps (no state), SuperOffice's
        records through its stream map; totals, which each side works out on its own, are
        not synced and not compared. What `assert_same_records` cannot see: a value one side
        filled in, a clash each side kept its own way."""
        states, self.states = self.states, {}
        try:
            so_mapped = _singer_records(self.capture("superoffice->customcrm"))
            cc_raw = _singer_records(self.capture("customcrm->superoffice").with_suffix(".tap"))
        finally:
            self.states = states
        crosswalk = Crosswalk.connect(self.crosswalk_url)
        different = []
        try:
            for entity, resource in RESOURCES.items():
                for so_id, theirs in so_mapped.get(resource.stream, {}).items():
                    cc_id = crosswalk.translate(entity, "superoffice", so_id, "customcrm")
                    ours = cc_raw.get(resource.stream, {}).get(str(cc_id))
                    if ours is None or ours.get("deleted_at"):
                        continue
                    for key in resource.writable:
                        held, value = ours[key], theirs[key]
                        if key in CUSTOMCRM_REFERENCES:
                            parent = CUSTOMCRM_REFERENCES[key]
                            held = _pointing(crosswalk, parent, "customcrm", held)
                            value = _pointing(crosswalk, parent, "superoffice", value)
                        if _spelled_alike(held) != _spelled_alike(value):
                            different.append((entity, str(cc_id), key, held, value))
        finally:
            crosswalk.close()
        return different

    def dangling_links(self) -> list[tuple[str, str, str]]:
        """Link members whose record does not exist on its side (every member must)."""
        ids = {
            ("customcrm", e): {str(r["id"]) for r in self.customcrm.records(c)}
            for e, c in (
                ("company", "customers"),
                ("person", "contacts"),
                ("product", "products"),
                ("quote", "quotes"),
            )
        }
        ids |= {
            ("superoffice", e): {str(r["_id"]) for r in self.superoffice.records(c)}
            for e, c in (("company", "contacts"), ("person", "persons"), ("product", "products"))
        }
        ids[("superoffice", "quote")] = {
            str(r.get("QuoteAlternativeId", r.get("_id")))
            for r in self.superoffice.records("quote_alternatives")
        }
        crosswalk = Crosswalk.connect(self.crosswalk_url)
        try:
            rows = list(crosswalk.export())
        finally:
            crosswalk.close()
        missing = []
        for row in rows:
            for system in ("customcrm", "superoffice"):
                known = ids.get((system, row["entity"]))
                if known is not None and row.get(system) and row[system] not in known:
                    missing.append((row["entity"], system, row[system]))
        return missing


PLUGINS = {
    "tap-customcrm": "from tap_customcrm.tap import TapCustomcrm as plugin",
    "tap-superoffice": "from tap_superoffice.tap import TapSuperOffice as plugin",
    "target-customcrm": "from target_customcrm.target import TargetCustomcrm as plugin",
    "target-superoffice": "from target_superoffice.target import TargetSuperOffice as plugin",
    "meltano-map-transform": "from meltano_map_transform.mapper import StreamTransform as plugin",
}
FORKS = multiprocessing.get_context("forkserver")
FORKS.set_forkserver_preload(
    [
        "singer_sdk",
        "tap_customcrm.tap",
        "tap_superoffice.tap",
        "target_customcrm.target",
        "target_superoffice.target",
        "meltano_map_transform.mapper",
    ]
)
CHILD = """
import os, sys
os.environ.update({env!r})
for fd, path, flags in ((0, {stdin!r}, os.O_RDONLY),
                        (1, {stdout!r}, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                        (2, {stderr!r}, os.O_WRONLY | os.O_CREAT | os.O_APPEND)):
    os.dup2(os.open(path, flags, 0o600), fd)
sys.stdin = open(0, encoding="utf-8", closefd=False)
for module in [m for n, m in sys.modules.items() if n.startswith("singer_sdk.")]:
    for value in list(vars(module).values()):
        if isinstance(value, type) and "default_input" in vars(value):
            value.default_input = sys.stdin  # bound to the fork server's stdin at import
sys.argv = {argv!r}
{entry}
code = 1
try:
    plugin.cli()
except SystemExit as end:
    code = end.code if isinstance(end.code, int) else int(end.code is not None)
    raise
finally:  # output first, then the exit code: a status file means the run is over
    sys.stdout.flush()
    sys.stderr.flush()
    with open({status!r} + ".part", "w") as status:
        status.write(str(code))
    os.replace({status!r} + ".part", {status!r})
"""


@dataclass
class PluginRun:
    """A plugin's CLI running in a child of the fork server.

    Its exit code is the one the child writes itself: under load the fork server can lose a
    child's exit status and report 255 for a run that went fine (python/cpython#140867).
    """

    process: Any
    status: Path

    def running(self) -> bool:
        return self.process.exitcode is None

    def kill(self) -> None:
        self.process.kill()

    def wait(self, timeout: float = 300) -> int:
        self.process.join(timeout)
        reported = self.process.exitcode
        deadline = time.monotonic() + timeout
        while reported == 255 and not self.status.exists() and time.monotonic() < deadline:
            if not alive(self.process.pid):  # it really ended without writing its status
                break
            time.sleep(0.05)  # the fork server lost it; the child itself may still be running
        if self.status.exists():
            return int(self.status.read_text())
        return int(reported if reported is not None else -1)


CUSTOMCRM_REFERENCES = {
    "customer_id": "company",
    "contact_id": "person",
    "product_id": "product",
    "quote_id": "quote",
}


def _singer_records(path: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """A Singer file's records by stream and id (the source id where a map added one)."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        message = json.loads(line)
        if message.get("type") == "RECORD":
            record = message["record"]
            record_id = str(record.get("_source_id", record.get("id")))
            found.setdefault(message["stream"], {})[record_id] = record
    return found


def _pointing(crosswalk: Crosswalk, entity: str, system: str, record_id: Any) -> str | None:
    """The Customcrm id a reference points at; None for none, or for a pair deleted on both
    sides (the sync carries such a reference as empty; one side may still name it)."""
    if record_id is None:
        return None
    link = crosswalk.find(entity, system, str(record_id))
    if link is None:
        return f"{system}:{record_id} (not linked)"
    if link.deleted:
        return None
    member = link.side("customcrm")
    return None if member is None else member.record_id


def _spelled_alike(value: Any) -> Any:
    """Numbers one way (a tap may write 3 where the other writes 3.0)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def start_plugin(
    name: str,
    args: list[str],
    *,
    stdout: Path,
    stderr: Path,
    stdin: Path | None = None,
    env: dict[str, str] | None = None,
) -> PluginRun:
    """The plugin's CLI in a child of a fork server that has already imported the plugins.

    The CLI is exactly the console script's (`plugin.cli()`), with real stdin/stdout/stderr
    files; only the 8 s of imports on a loaded machine are paid once, which makes dozens of
    runs (and SIGKILLs) per test affordable.
    """
    status = stdout.with_name(stdout.name + ".exit")
    status.unlink(missing_ok=True)
    code = CHILD.format(
        env=env or {},
        stdin=str(stdin or os.devnull),
        stdout=str(stdout),
        stderr=str(stderr),
        status=str(status),
        argv=[name, *args],
        entry=PLUGINS[name],
    )
    process = FORKS.Process(target=exec, args=(code,), daemon=True)
    main = sys.modules["__main__"]
    main_file = vars(main).pop("__file__", None)  # else each child re-imports pytest's script
    try:
        process.start()
    finally:
        if main_file is not None:
            main.__file__ = main_file
    return PluginRun(process, status)


def run_plugin(name: str, args: list[str], **files: Any) -> int:
    return start_plugin(name, args, **files).wait()


def last_state(stdout: str) -> dict[str, Any] | None:
    lines = [line for line in stdout.splitlines() if line.strip()]
    return json.loads(lines[-1]) if lines else None


def digits(value: object) -> str:
    return re.sub(r"\D", "", str(value or ""))


def so_email(person: dict[str, Any]) -> str:
    emails = person.get("Emails") or []
    return str(emails[0]["Value"]).strip().casefold() if emails else ""


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[tuple[RunningSandbox, RunningSandbox]]:
    with (
        running_sandbox("customcrm", seed=0) as customcrm,
        running_sandbox("superoffice", seed=0) as superoffice,
    ):
        yield customcrm, superoffice


def fresh_two_way(
    sandboxes: tuple[RunningSandbox, RunningSandbox], work: Path, *, seed: int, seed_value: int = 7
) -> TwoWay:
    """Both sandboxes reseeded with the same world, no faults, counters and crosswalk fresh."""
    for sandbox in sandboxes:
        sandbox.reset(seed=seed, seed_value=seed_value)
        sandbox.clear_faults()
        sandbox.clear_requests()
    return TwoWay(*sandboxes, work=work, crosswalk_url=f"sqlite:///{work / 'crosswalk.db'}")


Fresh = Callable[..., TwoWay]


@pytest.fixture(scope="module")
def fresh_in(sandboxes: tuple[RunningSandbox, RunningSandbox]) -> Callable[..., TwoWay]:
    """`fresh_in(work, seed=2)`: like `fresh`, for module-scoped fixtures."""

    def make(work: Path, *, seed: int, seed_value: int = 7) -> TwoWay:
        return fresh_two_way(sandboxes, work, seed=seed, seed_value=seed_value)

    return make


@pytest.fixture
def fresh(fresh_in: Callable[..., TwoWay], tmp_path: Path) -> Fresh:
    """`fresh(seed=4)`: both sandboxes reseeded with one world, a new crosswalk and state."""

    def make(*, seed: int, seed_value: int = 7) -> TwoWay:
        return fresh_in(tmp_path, seed=seed, seed_value=seed_value)

    return make
