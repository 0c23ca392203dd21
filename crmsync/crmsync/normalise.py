"""Match-key normalisers and JSON-safe values: how two spellings of one key compare equal.

Decides only how a value is compared; never decides whether two records are the same.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

__all__ = ["NORMALISERS", "normalise_key", "plain", "plain_values"]

_NON_DIGITS = re.compile(r"\D+")


def _email(value: str) -> str:
    return value.strip().casefold()


def _digits(value: str) -> str:
    return _NON_DIGITS.sub("", value)


def _name(value: str) -> str:
    return " ".join(value.casefold().split())


def _code(value: str) -> str:
    return value.strip().casefold()


NORMALISERS: Mapping[str, Callable[[str], str]] = {
    "email": _email,
    "digits": _digits,
    "name": _name,
    "code": _code,
}


def normalise_key(normaliser: str, value: Any) -> str | None:
    """The comparable form of a match-key value, or None when there is nothing to match on."""
    if value is None:
        return None
    try:
        rule = NORMALISERS[normaliser]
    except KeyError:
        raise ValueError(
            f"unknown match-key normaliser {normaliser!r}; expected one of {sorted(NORMALISERS)}"
        ) from None
    normalised = rule(str(value))
    return normalised or None


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """The JSON form of a value, so that a value read back from the crosswalk compares equal.

    The SDK hands targets `Decimal` numbers and `datetime` objects; stored bases are JSON.
    """
    if type(value) in _JSON_SCALARS:  # most values: answered before the isinstance checks
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def plain_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """`plain` applied to every value of a flat record."""
    return {key: plain(item) for key, item in values.items()}
