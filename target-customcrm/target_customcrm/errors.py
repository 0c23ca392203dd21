"""The seam between the client's errors and crmsync's: the same three kinds, crmsync's classes.

    CustomcrmRejectedError      → RecordRejectedError (the API's message, its status)
    CustomcrmStaleVersionError  → StaleVersionError
    CustomcrmSystemicError      → SystemicError

The client stays free of the sync engine (the tap installs without it); only the target,
which speaks to crmsync, translates. Decides nothing else.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from crmsync.destination import RecordRejectedError, StaleVersionError, SystemicError
from customcrm_client import (
    CustomcrmRejectedError,
    CustomcrmStaleVersionError,
    CustomcrmSystemicError,
)

__all__ = ["as_crmsync_errors"]

P = ParamSpec("P")
R = TypeVar("R")


def as_crmsync_errors(call: Callable[P, R]) -> Callable[P, R]:
    """Run `call`, re-raising the client's classified errors as crmsync's."""

    @functools.wraps(call)
    def translated(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return call(*args, **kwargs)
        except CustomcrmRejectedError as error:
            raise RecordRejectedError(error.reason, status=error.status) from error
        except CustomcrmStaleVersionError as error:
            raise StaleVersionError(str(error)) from error
        except CustomcrmSystemicError as error:
            raise SystemicError(str(error)) from error

    return translated
