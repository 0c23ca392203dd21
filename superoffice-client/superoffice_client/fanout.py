"""Many requests at once, answers in order: the tap's reads and the target's look-ups share it.

The client itself bounds how many requests are in flight; this only hands it the work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["each_at_once"]

T = TypeVar("T")
R = TypeVar("R")


def each_at_once(work: Callable[[T], R], items: Sequence[T], concurrency: int) -> list[R]:
    """`work(item)` for every item, up to `concurrency` at once, in the items' order."""
    if concurrency <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(items))) as pool:
        return list(pool.map(work, items))
