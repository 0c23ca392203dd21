"""What each Customcrm resource is: its fields, defaults, lookups and references, and
how match keys are normalised. Pure declarations and functions; no I/O."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["RESOURCES", "Resource", "decode_cursor", "encode_cursor", "normalise"]


@dataclass(frozen=True)
class Resource:
    """One collection of the API (`quote_lines` lives under `/quotes/{id}/lines`)."""

    name: str
    prefix: str
    singular: str
    fields: tuple[str, ...]
    create_schema: str
    update_schema: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    lookups: tuple[str, ...] = ()
    references: Mapping[str, str] = field(default_factory=dict)
    parent: str | None = None


_ADDRESS = ("street", "postal_code", "city", "country")

RESOURCES: Mapping[str, Resource] = MappingProxyType(
    {
        "customers": Resource(
            name="customers",
            prefix="cus",
            singular="customer",
            fields=("name", "org_number", "email", "phone", "website", *_ADDRESS),
            create_schema="CustomerCreate",
            update_schema="CustomerUpdate",
            lookups=("email", "org_number"),
        ),
        "contacts": Resource(
            name="contacts",
            prefix="con",
            singular="contact",
            fields=(
                "customer_id",
                "first_name",
                "last_name",
                "email",
                "phone",
                "mobile",
                "title",
                *_ADDRESS,
            ),
            create_schema="ContactCreate",
            update_schema="ContactUpdate",
            lookups=("email",),
            references={"customer_id": "customers"},
        ),
        "products": Resource(
            name="products",
            prefix="prd",
            singular="product",
            fields=(
                "sku",
                "name",
                "description",
                "unit_price",
                "unit_cost",
                "vat_rate",
                "unit",
                "active",
            ),
            create_schema="ProductCreate",
            update_schema="ProductUpdate",
            defaults={"active": True},
            lookups=("sku",),
        ),
        "quotes": Resource(
            name="quotes",
            prefix="quo",
            singular="quote",
            fields=(
                "customer_id",
                "contact_id",
                "title",
                "description",
                "status",
                "currency",
                "quote_date",
                "valid_until",
                "discount_percent",
            ),
            create_schema="QuoteCreate",
            update_schema="QuoteUpdate",
            defaults={"status": "draft"},
            references={"customer_id": "customers", "contact_id": "contacts"},
        ),
        "quote_lines": Resource(
            name="quote_lines",
            prefix="qln",
            singular="quote line",
            fields=(
                "product_id",
                "description",
                "quantity",
                "unit_price",
                "discount_percent",
                "position",
            ),
            create_schema="QuoteLineCreate",
            update_schema="QuoteLineUpdate",
            defaults={"quantity": 1.0},
            references={"product_id": "products"},
            parent="quotes",
        ),
    }
)

_SPACES = re.compile(r"\s+")


def normalise(key: str, value: str | None) -> str | None:
    """A match key as compared: e-mail and SKU trimmed and case-folded, org number digits
    only, name case-folded with whitespace collapsed (docs/sync-contract.md)."""
    if value is None:
        return None
    if key == "org_number":
        return "".join(ch for ch in value if ch.isdigit()) or None
    if key == "name":
        return _SPACES.sub(" ", value).strip().casefold() or None
    return value.strip().casefold() or None


def encode_cursor(updated_at: str, seq: int) -> str:
    """The opaque `next_cursor`: the last (updated_at, id) a page returned."""
    raw = json.dumps([updated_at, seq], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    """Raises:
    ValueError: not a cursor this server issued."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        updated_at, seq = json.loads(raw)
    except (ValueError, TypeError) as error:
        raise ValueError("cursor is not one this server issued") from error
    if not isinstance(updated_at, str) or not isinstance(seq, int) or isinstance(seq, bool):
        raise ValueError("cursor is not one this server issued")
    return updated_at, seq
