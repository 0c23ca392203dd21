"""Secrets never leave the config: not in logs, state, crosswalk, quarantine or reports.
And TLS verification is on by default: a self-signed endpoint is refused.
"""

from __future__ import annotations

import datetime as dt
import http.server
import os
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sandbox.testing import running_sandbox

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SECRET = "Zq7-p7-SECRET-token-4f1e9b"
"""Distinctive enough that any occurrence in an output is a leak."""


def everything_written(work: Path, crosswalk_url: str) -> dict[str, bytes]:
    """Every file of the run (logs, captured messages, state, the crosswalk database) and the
    output of the operator commands that show what the crosswalk holds."""
    configs = (".tap.json", ".target.json", ".mapper.json")  # the secrets' one home
    found = {
        str(p): p.read_bytes()
        for p in work.rglob("*")
        if p.is_file() and not p.name.endswith(configs)
    }
    for command in (
        ["report", "--json"],
        ["quarantine", "list", "--json"],
        ["conflicts", "--json"],
        ["links", "export", "--csv"],
    ):
        shown = subprocess.run(
            [str(ROOT / ".venv" / "bin" / "crmsync"), *command, "--crosswalk", crosswalk_url],
            capture_output=True,
            check=True,
            timeout=120,
        )
        found[f"crmsync {' '.join(command)}"] = shown.stdout + shown.stderr
    return found


def test_a_two_way_sync_leaves_its_secrets_nowhere(fresh: Any, tmp_path: Path) -> None:
    with (
        running_sandbox("customcrm", seed=2, seed_value=7, token=SECRET) as customcrm,
        running_sandbox("superoffice", seed=2, seed_value=7, token=SECRET) as superoffice,
    ):
        crms = fresh(seed=0)
        crms.customcrm, crms.superoffice = customcrm, superoffice
        crms.sync()
        crms.sync()
        assert len(crms.runs) == 4
        assert crms.linked("company", "customcrm", customcrm.records("customers")[0]["id"])
    leaks = [
        name
        for name, content in everything_written(tmp_path, crms.crosswalk_url).items()
        if SECRET.encode() in content
    ]
    assert leaks == []
    states = [run.state for run in crms.runs]
    assert all(state is not None and SECRET not in str(state) for state in states)


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def https_url(tmp_path: Path) -> Iterator[str]:
    """A tiny HTTPS server with a self-signed certificate (it answers 200 to anything)."""
    cert, key = self_signed(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("tap", ["tap-customcrm", "tap-superoffice"])
def test_a_tap_refuses_a_self_signed_certificate_by_default(
    tap: str, https_url: str, fresh: Any, tmp_path: Path
) -> None:
    crms = fresh(seed=0)
    crms.customcrm = replace(
        crms.customcrm, url=https_url
    )  # copies: the sandboxes stay as they are
    crms.superoffice = replace(crms.superoffice, url=https_url)
    leg = "customcrm->superoffice" if tap == "tap-customcrm" else "superoffice->customcrm"
    crms.tuning = {"max_retries": 0}
    with pytest.raises(AssertionError, match=r"CERTIFICATE_VERIFY_FAILED|SSLError"):
        crms.capture(leg)


def meltano(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "meltano"), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


def test_meltano_run_two_way_sync_keeps_secrets_out_of_its_logs_and_state(tmp_path: Path) -> None:
    """The real `meltano run two-way-sync`: its output, its run logs and `meltano state get`."""
    with (
        running_sandbox("customcrm", seed=2, seed_value=7, token=SECRET) as customcrm,
        running_sandbox("superoffice", seed=2, seed_value=7, token=SECRET) as superoffice,
    ):
        so_api = f"{superoffice.url}/Cust12345"
        env = {
            **os.environ,
            # `prod` (every value from the environment): the `sandbox` environment pins the
            # emulators' well-known token in meltano.yml, which would win over ours.
            "MELTANO_ENVIRONMENT": "prod",
            **{f"{plugin}_{setting}": value
               for plugin in ("TAP_SUPEROFFICE", "TARGET_SUPEROFFICE")
               for setting, value in (("AUTH_MODE", "basic"), ("USERNAME", "sandbox"),
                                      ("CONTEXT_IDENTIFIER", "Cust12345"))},
            "TAP_SUPEROFFICE_START_DATE": "2000-01-01T00:00:00Z",
            "TAP_CUSTOMCRM_START_DATE": "2000-01-01T00:00:00Z",
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "TAP_CUSTOMCRM_API_URL": customcrm.url, "TARGET_CUSTOMCRM_API_URL": customcrm.url,
            "TAP_SUPEROFFICE_LOGIN_URL": superoffice.url, "TAP_SUPEROFFICE_API_URL": so_api,
            "TARGET_SUPEROFFICE_LOGIN_URL": superoffice.url, "TARGET_SUPEROFFICE_API_URL": so_api,
            "TARGET_SUPEROFFICE_CROSSWALK_URL": f"sqlite:///{tmp_path}/crosswalk.db",
            "TARGET_CUSTOMCRM_CROSSWALK_URL": f"sqlite:///{tmp_path}/crosswalk.db",
            **{f"{plugin}_{setting}": SECRET
               for plugin in ("TAP_CUSTOMCRM", "TARGET_CUSTOMCRM") for setting in ("API_TOKEN",)},
            **{f"{plugin}_{setting}": SECRET
               for plugin in ("TAP_SUPEROFFICE", "TARGET_SUPEROFFICE")
               for setting in ("CLIENT_SECRET", "PASSWORD")},
        }  # fmt: skip
        started = dt.datetime.now(dt.UTC).timestamp()
        run = meltano(["--log-level=debug", "run", "two-way-sync"], env)
        assert run.returncode == 0, run.stderr[-4000:]
        assert superoffice.requests()["writes"] > 0
    listed = meltano(["state", "list"], env)
    state_ids = [line.strip() for line in listed.stdout.splitlines() if line.strip()]
    assert len(state_ids) == 2, listed.stdout + listed.stderr
    outputs = {"meltano run": run.stdout + run.stderr}
    outputs |= {f"state {s}": meltano(["state", "get", s], env).stdout for s in state_ids}
    logs = ROOT / ".meltano" / "logs" / "elt"
    outputs |= {str(p): p.read_text(errors="replace") for p in logs.rglob("*.log")
                if p.stat().st_mtime >= started}  # fmt: skip
    written = everything_written(tmp_path, f"sqlite:///{tmp_path}/crosswalk.db")
    outputs |= {name: content.decode(errors="replace") for name, content in written.items()}
    assert all("bookmarks" in outputs[f"state {s}"] for s in state_ids), outputs
    assert [name for name, text in outputs.items() if SECRET in text] == []
