"""The tenant's MDO lists (category, business, position, country, currency, associate): the items
`GET /MDOList/{name}` serves and the `{Id, Value, Tooltip}` references entities carry.

A fixed, small set of lists; list names match case-insensitively. Pure data and lookups.
"""

from __future__ import annotations

from typing import Any

from .shapes import ASSOCIATES, COUNTRIES, CURRENCIES

__all__ = ["LISTS", "list_item", "list_ref", "mdo_list"]

LISTS: dict[str, dict[int, str]] = {
    "category": {1: "Customer", 2: "Prospect", 3: "Vendor", 4: "Partner"},
    "business": {1: "IT", 2: "Retail", 3: "Fishing", 4: "Shipping", 5: "Consulting"},
    "perspos": {1: "CEO", 2: "CFO", 3: "Sales manager", 4: "Buyer", 5: "Engineer"},
    "country": {country_id: name for country_id, (name, _, _, _) in COUNTRIES.items()},
    "currency": dict(CURRENCIES),
    "associate": {associate_id: full for associate_id, (_, full) in ASSOCIATES.items()},
}


def list_ref(name: str, item_id: int) -> dict[str, Any] | None:
    """The `{Id, Value, Tooltip}` reference an entity carries, or None for an unknown id."""
    value = LISTS[name].get(item_id)
    return None if value is None else {"Id": item_id, "Value": value, "Tooltip": value}


def list_item(item_id: int, name: str, rank: int) -> dict[str, Any]:
    """One item of `GET /MDOList/{name}` (MDOListItem)."""
    return {
        "Id": item_id,
        "Name": name,
        "ToolTip": name,
        "Deleted": False,
        "Rank": rank,
        "Type": "",
        "ChildItems": [],
        "IconHint": "",
        "ColorBlock": 0,
        "ExtraInfo": "",
        "StyleHint": "",
        "FullName": name,
    }


def mdo_list(name: str) -> list[dict[str, Any]] | None:
    """The items of list `name`, or None when the tenant has no such list."""
    items = LISTS.get(name.lower())
    if items is None:
        return None
    return [
        list_item(item_id, value, rank) for rank, (item_id, value) in enumerate(items.items(), 1)
    ]
