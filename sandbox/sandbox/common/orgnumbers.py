"""Valid-looking organisation numbers per Nordic country, with real check digits, so that
seed data survives the validators integrators write. Pure functions of a `random.Random`."""

from __future__ import annotations

import random

__all__ = ["org_number", "org_number_is_valid"]

_NO_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)  # Brønnøysund organisasjonsnummer, MOD11
_DK_WEIGHTS = (2, 7, 6, 5, 4, 3, 2, 1)  # CVR-nummer, MOD11 over all eight digits
_FI_WEIGHTS = (7, 9, 10, 5, 8, 4, 2)  # Y-tunnus, MOD11


def _mod11_check(digits: str, weights: tuple[int, ...]) -> int | None:
    """The MOD11 check digit, or None when the number has no valid one (remainder 1)."""
    remainder = sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11
    if remainder == 0:
        return 0
    return None if remainder == 1 else 11 - remainder


def _luhn_check(digits: str) -> int:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def org_number(country: str, rng: random.Random) -> str:
    """A valid organisation number as the country writes it (NO `923456789`,
    SE `556123-4567`, DK `12345674`, FI `1234567-8`)."""
    while True:
        if country == "SE":
            body = "55" + str(rng.randint(6, 9)) + f"{rng.randrange(10**6):06d}"
            digits = body + str(_luhn_check(body))
            return f"{digits[:6]}-{digits[6:]}"
        if country == "NO":
            body = rng.choice("89") + f"{rng.randrange(10**7):07d}"
            check = _mod11_check(body, _NO_WEIGHTS)
            if check is not None and check != 10:
                return body + str(check)
        elif country == "DK":
            body = str(rng.randint(1, 9)) + f"{rng.randrange(10**6):06d}"
            last = -sum(int(d) * w for d, w in zip(body, _DK_WEIGHTS, strict=False)) % 11
            if last < 10:
                return body + str(last)
        elif country == "FI":
            body = f"{rng.randrange(10**6, 10**7):07d}"
            check = _mod11_check(body, _FI_WEIGHTS)
            if check is not None:
                return f"{body}-{check}"
        else:
            raise ValueError(f"no organisation number scheme for country {country!r}")


def org_number_is_valid(country: str, number: str) -> bool:
    """Whether `number` (any punctuation) carries the right check digit for `country`."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if country == "SE":
        return len(digits) == 10 and _luhn_check(digits[:9]) == int(digits[9])
    if country == "NO":
        return len(digits) == 9 and _mod11_check(digits[:8], _NO_WEIGHTS) == int(digits[8])
    if country == "DK":
        weighted = sum(int(d) * w for d, w in zip(digits, _DK_WEIGHTS, strict=False))
        return len(digits) == 8 and weighted % 11 == 0
    if country == "FI":
        return len(digits) == 8 and _mod11_check(digits[:7], _FI_WEIGHTS) == int(digits[7])
    raise ValueError(f"no organisation number scheme for country {country!r}")
