"""The version a sync compares for a Customcrm record.

A quote's `updated_at` (and integer `version`) moves when any of its lines is written
(docs/sync-contract.md), so two reads of a quote whose own values never changed can carry
different versions. A quote's sync version is therefore its `updated_at`, `#`, and a
fingerprint of its own values (crmsync's `receipts.FINGERPRINT` convention): a sync tells a
quote a line write moved from one a user edited. Other records' `updated_at` moves only
with their own values and is their version as it is.

tap-customcrm emits it (`sync_version`) and target-customcrm reads its own records through
it, so the two spellings of one read are equal (an echo is recognised).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = ["QUOTE_FIELDS", "sync_version"]

QUOTE_FIELDS = (
    "customer_id",
    "contact_id",
    "title",
    "description",
    "status",
    "currency",
    "quote_date",
    "valid_until",
    "discount_percent",
)
"""A quote's writable values (docs/customcrm-openapi.yaml): not its lines, totals or
bookkeeping. Its fingerprint covers them and `deleted_at`."""


def sync_version(stream: str, record: Mapping[str, Any]) -> str | None:
    """The record's version for a sync: `updated_at`, with a fingerprint for quotes."""
    updated_at = record.get("updated_at")
    if updated_at is None or stream != "quotes":
        return None if updated_at is None else str(updated_at)
    own = {key: _canonical(record.get(key)) for key in (*QUOTE_FIELDS, "deleted_at")}
    text = json.dumps(own, sort_keys=True, default=str).encode()
    return f"{updated_at}#{hashlib.blake2b(text, digest_size=6).hexdigest()}"


def _canonical(value: Any) -> Any:
    """One spelling per number: the tap's reader parses decimals (`Decimal("5.0")`), the
    client's `json` gives 5.0 or 5; the fingerprints of one read must be equal."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return float(value)
    return value
