"""Fault injection: decides, per request and deterministically from a seed, whether the
request gets a 429, a 5xx, a dropped connection or a slow answer, or a write is carried out
and its answer lost (the connection drops, or a gateway answers 504). It never touches the
network itself; `SandboxApp` carries the decision out."""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

__all__ = ["Fault", "FaultInjector", "FaultSettings", "InvalidFaultSettingsError"]

FaultKind = Literal["429", "5xx", "drop", "slow", "drop_after_write", "504_after_write"]
_RATES = ("rate_429", "rate_5xx", "rate_drop", "rate_slow", "rate_drop_after_write",
          "rate_504_after_write")  # fmt: skip
_KINDS: tuple[FaultKind, ...] = ("429", "5xx", "drop", "slow", "drop_after_write",
                                 "504_after_write")  # fmt: skip
_AFTER_WRITE = ("drop_after_write", "504_after_write")
_SERVER_ERRORS = (500, 502, 503)


class InvalidFaultSettingsError(ValueError):
    """A `PUT /_sandbox/faults` body the injector cannot honour; the message says why."""


@dataclass(frozen=True)
class FaultSettings:
    """Shares of requests (0..1, summing to at most 1) that get each fault, plus delays."""

    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_drop: float = 0.0
    rate_slow: float = 0.0
    rate_drop_after_write: float = 0.0
    """Write requests that change state and then lose their answer (the connection drops)."""
    rate_504_after_write: float = 0.0
    """Write requests that change state and then answer 504: a gateway in front of the server
    stopped waiting for it, and the server carried the write out all the same."""
    slow_seconds: float = 2.0
    latency_ms: int = 0
    retry_after: int = 1
    seed: int = 0

    def updated(self, changes: Mapping[str, Any]) -> FaultSettings:
        """These settings with `changes` applied, checked as a whole.

        Raises:
            InvalidFaultSettingsError: unknown key, wrong type or out-of-range value.
        """
        known = {f.name: f.type for f in fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise InvalidFaultSettingsError(f"unknown fault setting(s): {', '.join(unknown)}")
        for key, value in changes.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidFaultSettingsError(f"{key} must be a number")
            if key in ("latency_ms", "retry_after", "seed") and not float(value).is_integer():
                raise InvalidFaultSettingsError(f"{key} must be an integer")
            if value < 0:
                raise InvalidFaultSettingsError(f"{key} must not be negative")
        coerced = {
            k: int(v) if k in ("latency_ms", "retry_after", "seed") else float(v)
            for k, v in changes.items()
        }
        settings = FaultSettings(**{**self.as_dict(), **coerced})
        if any(getattr(settings, rate) > 1 for rate in _RATES):
            raise InvalidFaultSettingsError("each rate must be between 0 and 1")
        if sum(getattr(settings, rate) for rate in _RATES) > 1:
            raise InvalidFaultSettingsError("the rates must add up to at most 1")
        return settings

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Fault:
    """What to do to one request: `kind` None means answer normally."""

    kind: FaultKind | None = None
    status: int | None = None


class FaultInjector:
    """Draws faults from a seeded generator; reseeded whenever the settings change, so the
    same settings give the same fault sequence. Thread-safe."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self._settings = settings or FaultSettings()
        self._random = random.Random(self._settings.seed)
        self._injected: dict[str, int] = dict.fromkeys(_KINDS, 0)

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def configure(self, changes: Mapping[str, Any]) -> FaultSettings:
        """Apply a partial update and restart the sequence from the seed."""
        with self._lock:
            self._settings = self._settings.updated(changes)
            self._random = random.Random(self._settings.seed)
            return self._settings

    def injected(self) -> dict[str, int]:
        with self._lock:
            return dict(self._injected)

    def draw(self, *, writes: bool) -> Fault:
        """The fault for the next request (counted as injected when there is one); an answer
        lost after the write only hits operations that write."""
        with self._lock:
            settings, roll = self._settings, self._random.random()
            threshold = 0.0
            for rate, kind in zip(_RATES, _KINDS, strict=True):
                threshold += getattr(settings, rate)
                if roll < threshold:
                    if kind in _AFTER_WRITE and not writes:
                        return Fault()
                    self._injected[kind] += 1
                    status = {"429": 429, "5xx": self._random.choice(_SERVER_ERRORS),
                              "504_after_write": 504}.get(kind)  # fmt: skip
                    return Fault(kind=kind, status=status)
            return Fault()
