"""Echo receipts: when an incoming record is our own write coming back.

Decides echo and whether a receipt may be written; never touches the store or an API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

__all__ = [
    "FINGERPRINT",
    "base_may_be_stale",
    "carried_unchanged",
    "first_back",
    "is_echo",
    "later",
    "normalise_version",
    "parse_timestamp",
    "receipt_for",
    "receipt_moved_by_children",
    "still_as_read",
]


FINGERPRINT = "#"
"""A version may end in `#` and a fingerprint of the record's own values: where records
share a version (SuperOffice: a Sale's alternatives and lines all carry the Sale's
`UpdatedDate`, and writing one moves them all; Customcrm: writing a line moves its quote),
the moment says when the group last changed, the fingerprint whether this record did."""


def _split(version: object) -> tuple[object, str | None]:
    """A version's moment and fingerprint (None when it has none)."""
    if isinstance(version, str) and FINGERPRINT in version:
        moment, _, mark = version.partition(FINGERPRINT)
        return moment, mark
    return version, None


def parse_timestamp(value: object) -> dt.datetime | None:
    """An ISO-8601 timestamp (or a version's moment) as an aware UTC datetime; None if
    `value` is not one."""
    value, _mark = _split(value)
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, str) and len(value) >= 10 and value[4:5] == "-":
        try:
            stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.astimezone(dt.UTC)


def normalise_version(version: object) -> str | None:
    """A version as a comparable string: ISO-8601 timestamps in UTC, anything else as text,
    and its fingerprint, if any, kept."""
    if version is None:
        return None
    moment, mark = _split(version)
    stamp = parse_timestamp(moment)
    text = stamp.isoformat(timespec="microseconds") if stamp is not None else str(moment)
    return text if mark is None else f"{text}{FINGERPRINT}{mark}"


def is_echo(incoming_version: object, receipt: str | None) -> bool:
    """True when the incoming version is the one our own write produced on its side.

    Where versions carry a fingerprint (`FINGERPRINT`), the same fingerprint is enough: the
    record holds exactly what we wrote, though a write of another record of its group (a
    user's edit of the quote heading, say) moved the shared moment since. Taken for an edit,
    our own values would meet a later edit of the destination as a conflict, and under
    `source_wins` overwrite it.
    """
    version = normalise_version(incoming_version)
    if receipt is None or version is None:
        return False
    mark, receipt_mark = _split(version)[1], _split(receipt)[1]
    if mark is not None and receipt_mark is not None:
        return mark == receipt_mark
    return version == receipt


def receipt_for(
    merged: Mapping[str, Any], theirs: Mapping[str, Any], version_after: str
) -> str | None:
    """The receipt to keep after writing `merged`: only when it equals what came in.

    If the merge kept changes of ours, the destination now differs from the source and
    that difference must travel back on the other leg, so no echo may be declared.
    """
    if all(merged.get(key) == value for key, value in theirs.items()):
        return normalise_version(version_after)
    return None


def receipt_moved_by_children(
    base: Mapping[str, Any] | None,
    receipt: str | None,
    values: Mapping[str, Any],
    version: object,
) -> str | None:
    """The new receipt of a parent whose version our own child writes moved, else None.

    In a CRM where writing a child moves its parent (Customcrm: a quote line moves its
    quote's `updated_at`), the parent comes back on the other leg looking edited although
    only we wrote. The moved version is ours too when the parent still holds exactly the
    agreed base and was ours before (a receipt): whoever else wrote in between changed
    nothing that syncs. A parent that differs may carry a user's edit, and one without a
    receipt differs from the other side on purpose: both must travel, so neither moves.
    """
    if receipt is None or base is None or dict(values) != dict(base):
        return None
    moved = normalise_version(version)
    return moved if moved != receipt else None


def carried_unchanged(
    seen_version: str | None,
    ours_version: object,
    carried_receipt: str | None,
    incoming_version: object,
) -> bool:
    """True when the destination record is still as we last read it and carried it to the
    source side, and the incoming record is an edit made there after that carry landed (its
    version is later than the carry's receipt).

    Then the destination holds the agreed values: the carry made the source equal to it (a
    receipt is only kept when it did), so whatever the source holds differently now was
    changed there since. The stored base can be older than that: it is brought up to date
    when the carry comes back as an echo, and a user's next edit of the source overtakes
    that echo. Merging against the stale base would see a conflict where there is none.

    "Still as we read it": `still_as_read`.
    """
    if carried_receipt is None:
        return False
    return still_as_read(seen_version, ours_version) and later(incoming_version, carried_receipt)


def first_back(made_version: str | None, incoming_version: object) -> bool:
    """True when the incoming record is no older than the version our last write into it
    that kept no receipt left it at, or than its last read (`made_version`: its seen
    version, see `crosswalk.Member.seen_version`).

    The record back is then what that write made or later, not a copy read before the
    write landed (a concurrent run's), which would pass its old values for its own.
    """
    return made_version is not None and not later(made_version, incoming_version)


def still_as_read(seen_version: str | None, ours_version: object) -> bool:
    """True when the record holds what it held when we last read it to carry it over: the
    same version, or, where versions carry a fingerprint (`FINGERPRINT`), the same
    fingerprint (a write of another record of its group moved only the shared moment)."""
    if seen_version is None:
        return False
    seen, ours = normalise_version(seen_version), normalise_version(ours_version)
    seen_mark, ours_mark = _split(seen)[1], _split(ours)[1]
    if seen_mark is not None and ours_mark is not None:
        return seen_mark == ours_mark
    return seen == ours


def base_may_be_stale(receipt: str | None, seen_version: str | None) -> bool:
    """True when our last write into the source side has not come back as an echo yet (the
    source member's receipt is later than the version last read from it).

    The other side's base is brought up to date by that echo; until then it can hold the
    value from before our write, and a user's edit of the source back to that value would
    look unchanged. Such a record is read and merged, not settled by the base check.
    """
    if receipt is None or parse_timestamp(receipt) is None:
        return False
    return parse_timestamp(seen_version) is None or later(receipt, seen_version)


def later(version: object, than: object) -> bool:
    """True when both are timestamps and `version` is the later one."""
    first, second = parse_timestamp(version), parse_timestamp(than)
    return first is not None and second is not None and first > second
