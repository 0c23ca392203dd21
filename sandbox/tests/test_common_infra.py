"""The shared sandbox machinery over real loopback HTTP, with a two-route test emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from sandbox.common import Operation, SandboxApp, serve
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response


class NotebookModel:
    """A tiny in-memory model: notes that can be read and written."""

    def __init__(self) -> None:
        self.notes: dict[str, str] = {}
        self.resets: list[tuple[int, int]] = []

    def reset(self, seed: int, seed_value: int) -> None:
        self.notes = {str(i): f"note {i}" for i in range(seed)}
        self.resets.append((seed, seed_value))

    def is_empty(self) -> bool:
        return not self.notes

    def records(self, collection: str) -> list[dict[str, Any]]:
        return [{"id": k, "text": v} for k, v in self.notes.items()]

    def close(self) -> None:
        self.notes = {}


class NotebookEmulator:
    name = "notebook"

    def __init__(self) -> None:
        self.model = NotebookModel()
        self.routes = Map(
            [
                Rule("/notes/<id>", methods=["GET"], endpoint=Operation("get_note", self.get)),
                Rule("/notes/<id>", methods=["PUT"], endpoint=Operation("put", self.put, True)),
                Rule("/search", methods=["POST"], endpoint=Operation("search", self.search)),
            ]
        )

    def get(self, request: Request, id: str) -> Response:
        if id not in self.model.notes:
            return self.render_error(404, f"note {id} not found", {})
        return Response(json.dumps({"text": self.model.notes[id]}), mimetype="application/json")

    def put(self, request: Request, id: str) -> Response:
        self.model.notes[id] = request.get_data(as_text=True)
        return Response(status=204)

    def search(self, request: Request) -> Response:
        return Response("[]", mimetype="application/json")

    def render_error(self, status: int, message: str, headers: Mapping[str, str]) -> Response:
        body = json.dumps({"Error": True, "ErrorMessage": message})
        return Response(body, status=status, headers=dict(headers), mimetype="application/json")


@pytest.fixture
def notebook() -> Iterator[tuple[str, NotebookEmulator]]:
    emulator = NotebookEmulator()
    emulator.model.reset(3, 0)
    running = serve(SandboxApp(emulator, seed=3, seed_value=0))
    yield running.url, emulator
    running.stop()


def test_counters_key_requests_by_route_pattern_and_count_only_successful_writes(
    notebook: tuple[str, NotebookEmulator],
) -> None:
    url, _ = notebook
    requests.get(f"{url}/notes/1", timeout=5)
    requests.get(f"{url}/notes/2", timeout=5)
    requests.put(f"{url}/notes/9", data="new", timeout=5)
    requests.post(f"{url}/search", timeout=5)
    requests.get(f"{url}/_sandbox/faults", timeout=5)
    counted = requests.get(f"{url}/_sandbox/requests", timeout=5).json()
    assert counted.pop("served_seconds") > 0
    assert counted == {
        "total": 4,
        "writes": 1,
        "peak_in_flight": 1,  # one after the other
        "by_route": {"GET /notes/{id}": 2, "POST /search": 1, "PUT /notes/{id}": 1},
    }


def test_the_peak_in_flight_and_the_request_seconds_served_are_counted(
    notebook: tuple[str, NotebookEmulator],
) -> None:
    url, _ = notebook
    requests.put(f"{url}/_sandbox/faults", json={"latency_ms": 200}, timeout=5)
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda n: requests.get(f"{url}/notes/{n}", timeout=5), range(3)))
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    requests.get(f"{url}/notes/1", timeout=5)
    counted = requests.get(f"{url}/_sandbox/requests", timeout=5).json()
    assert counted["peak_in_flight"] == 3
    assert 0.8 <= counted["served_seconds"] < 1.6  # 4 requests of 200 ms or more, 3 at once
    requests.delete(f"{url}/_sandbox/requests", timeout=5)
    cleared = requests.get(f"{url}/_sandbox/requests", timeout=5).json()
    assert (cleared["peak_in_flight"], cleared["served_seconds"]) == (0, 0)


def test_clearing_requests_resets_every_counter(notebook: tuple[str, NotebookEmulator]) -> None:
    url, _ = notebook
    requests.put(f"{url}/notes/1", data="x", timeout=5)
    cleared = requests.delete(f"{url}/_sandbox/requests", timeout=5).json()
    assert cleared == {
        "total": 0, "writes": 0, "peak_in_flight": 0, "served_seconds": 0, "by_route": {}
    }  # fmt: skip


def test_reset_reseeds_the_model_with_the_given_seed(
    notebook: tuple[str, NotebookEmulator],
) -> None:
    url, emulator = notebook
    answer = requests.post(f"{url}/_sandbox/reset", json={"seed": 5, "seed_value": 7}, timeout=5)
    assert answer.status_code == 200
    assert answer.json() == {"seed": 5, "seed_value": 7}
    assert emulator.model.resets[-1] == (5, 7)
    assert len(emulator.model.notes) == 5


def test_reset_rejects_a_negative_seed_with_a_problem(
    notebook: tuple[str, NotebookEmulator],
) -> None:
    url, emulator = notebook
    answer = requests.post(f"{url}/_sandbox/reset", json={"seed": -1}, timeout=5)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["detail"] == "seed must be a non-negative integer"
    assert len(emulator.model.notes) == 3


def test_unknown_path_and_wrong_method_are_rendered_the_vendor_way(
    notebook: tuple[str, NotebookEmulator],
) -> None:
    url, _ = notebook
    missing = requests.get(f"{url}/nowhere", timeout=5)
    wrong = requests.delete(f"{url}/notes/1", timeout=5)
    assert (missing.status_code, missing.json()) == (
        404,
        {"Error": True, "ErrorMessage": "No such path"},
    )
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET, HEAD, PUT"


def test_injected_429_carries_retry_after_and_is_counted(
    notebook: tuple[str, NotebookEmulator],
) -> None:
    url, emulator = notebook
    requests.put(f"{url}/_sandbox/faults", json={"rate_429": 1, "retry_after": 7}, timeout=5)
    answer = requests.put(f"{url}/notes/1", data="lost", timeout=5)
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert emulator.model.notes["1"] == "note 1"
    faults = requests.get(f"{url}/_sandbox/faults", timeout=5).json()
    assert faults["injected"] == {
        "429": 1, "5xx": 0, "drop": 0, "slow": 0, "drop_after_write": 0, "504_after_write": 0
    }  # fmt: skip
    assert requests.get(f"{url}/_sandbox/requests", timeout=5).json()["writes"] == 0


def test_injected_server_errors_are_500_502_or_503(notebook: tuple[str, NotebookEmulator]) -> None:
    url, _ = notebook
    requests.put(f"{url}/_sandbox/faults", json={"rate_5xx": 1, "seed": 3}, timeout=5)
    statuses = {requests.get(f"{url}/notes/1", timeout=5).status_code for _ in range(20)}
    assert statuses == {500, 502, 503}


def test_dropped_connection_reaches_the_client_as_a_connection_error(
    notebook: tuple[str, NotebookEmulator],
) -> None:
    url, _ = notebook
    requests.put(f"{url}/_sandbox/faults", json={"rate_drop": 1}, timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/notes/1", timeout=5)
    requests.put(f"{url}/_sandbox/faults", json={"rate_drop": 0}, timeout=5)
    assert requests.get(f"{url}/notes/1", timeout=5).json() == {"text": "note 1"}


def test_slow_responses_and_latency_delay_the_answer(
    notebook: tuple[str, NotebookEmulator],
) -> None:
    url, _ = notebook
    settings = {"rate_slow": 1, "slow_seconds": 0.3, "latency_ms": 100}
    requests.put(f"{url}/_sandbox/faults", json=settings, timeout=5)
    started = time.monotonic()
    answer = requests.get(f"{url}/notes/1", timeout=5)
    assert answer.status_code == 200
    assert time.monotonic() - started >= 0.4
    with pytest.raises(requests.Timeout):
        requests.get(f"{url}/notes/1", timeout=0.2)


def test_same_fault_seed_gives_the_same_fault_sequence(
    notebook: tuple[str, NotebookEmulator],
) -> None:
    url, _ = notebook

    def sequence() -> list[int]:
        requests.put(f"{url}/_sandbox/faults", json={"rate_429": 0.5, "seed": 11}, timeout=5)
        return [requests.get(f"{url}/notes/1", timeout=5).status_code for _ in range(12)]

    first = sequence()
    assert first == sequence()
    assert set(first) == {200, 429}


def test_control_api_is_never_faulted(notebook: tuple[str, NotebookEmulator]) -> None:
    url, _ = notebook
    requests.put(f"{url}/_sandbox/faults", json={"rate_5xx": 1}, timeout=5)
    assert requests.get(f"{url}/_sandbox/requests", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("settings", "detail"),
    [
        ({"rate_429": 0.7, "rate_5xx": 0.7}, "the rates must add up to at most 1"),
        ({"rate_drop": 2}, "each rate must be between 0 and 1"),
        ({"latency": 5}, "unknown fault setting(s): latency"),
        ({"rate_429": "half"}, "rate_429 must be a number"),
        ({"latency_ms": 1.5}, "latency_ms must be an integer"),
    ],
)
def test_invalid_fault_settings_are_rejected_and_nothing_changes(
    notebook: tuple[str, NotebookEmulator], settings: dict[str, Any], detail: str
) -> None:
    url, _ = notebook
    answer = requests.put(f"{url}/_sandbox/faults", json=settings, timeout=5)
    assert (answer.status_code, answer.json()["detail"]) == (400, detail)
    current = requests.get(f"{url}/_sandbox/faults", timeout=5).json()
    assert (current["rate_429"], current["rate_drop"], current["latency_ms"]) == (0.0, 0.0, 0)


def test_drop_after_write_stores_the_change_but_the_client_hears_nothing(
    notebook: tuple[str, NotebookEmulator],
) -> None:
    url, emulator = notebook
    requests.put(f"{url}/_sandbox/faults", json={"rate_drop_after_write": 1}, timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.put(f"{url}/notes/7", data="kept", timeout=5)
    assert emulator.model.notes["7"] == "kept"
    assert requests.get(f"{url}/notes/7", timeout=5).json() == {"text": "kept"}
    counted = requests.get(f"{url}/_sandbox/requests", timeout=5).json()
    assert (counted["writes"], counted["total"]) == (1, 2)
    faults = requests.get(f"{url}/_sandbox/faults", timeout=5).json()
    assert faults["injected"]["drop_after_write"] == 1


def test_504_after_write_stores_the_change_and_answers_as_a_gateway_would(
    notebook: tuple[str, NotebookEmulator],
) -> None:
    url, emulator = notebook
    requests.put(f"{url}/_sandbox/faults", json={"rate_504_after_write": 1}, timeout=5)
    answer = requests.put(f"{url}/notes/8", data="kept", timeout=5)
    assert answer.status_code == 504
    assert emulator.model.notes["8"] == "kept"
    read = requests.get(f"{url}/notes/8", timeout=5)  # reads are never hit
    assert (read.status_code, read.json()) == (200, {"text": "kept"})
    counted = requests.get(f"{url}/_sandbox/requests", timeout=5).json()
    assert (counted["writes"], counted["total"]) == (1, 2)
    faults = requests.get(f"{url}/_sandbox/faults", timeout=5).json()
    assert faults["injected"]["504_after_write"] == 1
