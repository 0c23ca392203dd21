"""Flat rows (the tap's vocabulary) -> SuperOffice entity payloads, nested the API's way.

Pure functions, no I/O: the destination reads the current entity (or the blank `/default` one)
and these functions overlay the changed columns onto it, keeping what the row does not carry
(a person's second e-mail, the street address, udefs). References become `{"ContactId": n}` /
`{"PersonId": n}` / `{"CountryId": n}` carriers; e-mails and phones become the first entry of
their `{Value, Description}` lists.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

__all__ = [
    "COUNTRY_IDS",
    "UnknownCountryError",
    "contact_payload",
    "line_payload",
    "person_payload",
    "product_payload",
    "quote_alternative_payload",
    "quote_version_payload",
    "sale_payload",
]

# SuperOffice country ids are ISO 3166-1 numeric codes (Norway 578, Sweden 752).
COUNTRY_IDS: dict[str, int] = {
    "NO": 578, "SE": 752, "DK": 208, "FI": 246, "IS": 352, "DE": 276, "NL": 528, "GB": 826,
    "US": 840, "FR": 250, "ES": 724, "IT": 380, "PL": 616, "EE": 233, "LV": 428, "LT": 440,
    "BE": 56, "AT": 40, "CH": 756, "IE": 372,
}  # fmt: skip

Entity = dict[str, Any]


class UnknownListValueError(ValueError):
    """A value the tenant's list (countries, currencies) does not hold: the record is refused."""


class UnknownCountryError(UnknownListValueError):
    """A country code the tenant's country list does not hold."""


def _first_of(items: Any, value: Any) -> list[dict[str, Any]]:
    """The list with its first entry's Value replaced (or removed when value is empty)."""
    rest = [dict(item) for item in (items or [])[1:]] if isinstance(items, list) else []
    if value in (None, ""):
        return rest
    first = dict(items[0]) if isinstance(items, list) and items else {"Description": ""}
    first["Value"] = str(value)
    first.pop("StrippedValue", None)
    return [first, *rest]


def _country(code: Any) -> dict[str, int] | None:
    if code in (None, ""):
        return None
    iso = str(code).strip().upper()
    if iso not in COUNTRY_IDS:
        raise UnknownCountryError(f"unknown country code {code!r} (ISO 3166-1 alpha-2 expected)")
    return {"CountryId": COUNTRY_IDS[iso]}


def _ref(key: str, value: Any) -> dict[str, int] | None:
    return {key: int(value)} if value not in (None, "", 0) else None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _postal(entity: Entity, changes: Mapping[str, Any]) -> None:
    parts = {"address": "Address1", "zipcode": "Zipcode", "city": "City"}
    if not any(column in changes for column in parts):
        return
    address = entity.setdefault("Address", {}) or {}
    postal = dict(address.get("Postal") or {})
    for column, field in parts.items():
        if column in changes:
            postal[field] = _text(changes[column])
    postal.pop("Formatted", None)  # recomputed by SuperOffice from the lines
    address["Postal"] = postal
    entity["Address"] = address


def _apply(entity: Entity, changes: Mapping[str, Any], plain: Mapping[str, str]) -> None:
    for column, field in plain.items():
        if column in changes:
            entity[field] = _text(changes[column])


_PERSON_TEXT = {"firstname": "Firstname", "lastname": "Lastname", "title": "Title"}
_PERSON_LISTS = {"email": "Emails", "phone": "OfficePhones", "mobile": "MobilePhones"}


def person_payload(current: Mapping[str, Any], changes: Mapping[str, Any]) -> Entity:
    """The PersonEntity `current` with the changed `persons` columns applied."""
    entity = copy.deepcopy(dict(current))
    _apply(entity, changes, _PERSON_TEXT)
    for column, field in _PERSON_LISTS.items():
        if column in changes:
            entity[field] = _first_of(entity.get(field), changes[column])
    if "contactId" in changes:
        entity["Contact"] = _ref("ContactId", changes["contactId"])
    if "country" in changes:
        entity["Country"] = _country(changes["country"])
    _postal(entity, changes)
    return entity


_CONTACT_TEXT = {"name": "Name", "department": "Department", "orgnr": "OrgNr"}
_CONTACT_LISTS = {"email": "Emails", "phone": "Phones", "url": "Urls"}


def contact_payload(current: Mapping[str, Any], changes: Mapping[str, Any]) -> Entity:
    """The ContactEntity `current` with the changed `contacts` columns applied."""
    entity = copy.deepcopy(dict(current))
    _apply(entity, changes, _CONTACT_TEXT)
    for column, field in _CONTACT_LISTS.items():
        if column in changes:
            entity[field] = _first_of(entity.get(field), changes[column])
    if "country" in changes:
        entity["Country"] = _country(changes["country"])
    _postal(entity, changes)
    return entity


_PRODUCT_TEXT = {
    "code": "Code",
    "erpProductKey": "ERPProductKey",
    "name": "Name",
    "description": "Description",
    "unit": "QuantityUnit",
}
_PRODUCT_NUMBERS = {"listPrice": "UnitListPrice", "cost": "UnitCost", "vat": "VAT"}


def product_payload(current: Mapping[str, Any], changes: Mapping[str, Any]) -> Entity:
    """The full Product carrier for a PUT (Product has no PATCH): `current` plus changes.

    A new product without an ERP key gets its code as key, because quote lines name
    products by ERPProductKey."""
    entity = copy.deepcopy(dict(current))
    _apply(entity, changes, _PRODUCT_TEXT)
    for column, field in _PRODUCT_NUMBERS.items():
        if column in changes:
            entity[field] = float(changes[column] or 0)
    if "inAssortment" in changes:
        entity["InAssortment"] = changes["inAssortment"] is not False
    if not entity.get("ERPProductKey") and entity.get("Code"):
        entity["ERPProductKey"] = entity["Code"]
    return entity


def sale_payload(
    current: Mapping[str, Any],
    changes: Mapping[str, Any],
    currencies: Mapping[str, int] | None = None,
) -> Entity:
    """The SaleEntity part of a `quote_alternatives` row: heading, company, person, date, and
    currency (a code, looked up in `currencies`, the tenant's currency list by code)."""
    entity = copy.deepcopy(dict(current))
    if changes.get("currency"):
        code = str(changes["currency"]).strip().upper()
        if code not in (currencies or {}):
            known = ", ".join(sorted(currencies or {}))
            raise UnknownListValueError(
                f"unknown currency {changes['currency']!r}: the tenant's currency list holds "
                f"{known or 'none'}"
            )
        entity["Currency"] = {"Id": (currencies or {})[code]}
    if "heading" in changes:
        entity["Heading"] = _text(changes["heading"])
    if "contactId" in changes:
        entity["Contact"] = _ref("ContactId", changes["contactId"])
    if "personId" in changes:
        entity["Person"] = _ref("PersonId", changes["personId"])
    if "saleDate" in changes:
        entity["Saledate"] = f"{changes['saleDate']}T00:00:00" if changes["saleDate"] else None
    return entity


SALE_COLUMNS = frozenset({"heading", "contactId", "personId", "saleDate", "currency"})
VERSION_COLUMNS = frozenset({"expirationDate", "state"})
ALTERNATIVE_COLUMNS = frozenset({"name", "description", "discountPercent"})


def quote_version_payload(current: Mapping[str, Any], changes: Mapping[str, Any]) -> Entity:
    """The QuoteVersion with a changed expiration date or state (Draft, Sent, Sold, Lost,
    Expired)."""
    entity = copy.deepcopy(dict(current))
    if changes.get("state"):
        entity["State"] = str(changes["state"])
    if "expirationDate" in changes:
        date = changes["expirationDate"]
        entity["ExpirationDate"] = f"{date}T00:00:00" if date else None
    return entity


def quote_alternative_payload(current: Mapping[str, Any], changes: Mapping[str, Any]) -> Entity:
    """The QuoteAlternative for SaveQuoteAlternative: name, description, discount."""
    entity = copy.deepcopy(dict(current))
    if "name" in changes:
        entity["Name"] = _text(changes["name"])
    if "description" in changes:
        entity["Description"] = _text(changes["description"])
    if "discountPercent" in changes:
        entity["DiscountPercent"] = float(changes["discountPercent"] or 0)
        entity["UserValueOverride"] = "OverridePercent" if changes["discountPercent"] else "None"
    return entity


_LINE_TEXT = {"name": "Name", "description": "Description"}
_LINE_NUMBERS = {
    "quantity": "Quantity",
    "unitListPrice": "UnitListPrice",
    "discountPercent": "DiscountPercent",
}


def line_payload(
    current: Mapping[str, Any], changes: Mapping[str, Any], erp_product_key: str | None = None
) -> Entity:
    """The QuoteLine for SaveQuoteLine; `erp_product_key` is the key of a changed product."""
    entity = copy.deepcopy(dict(current))
    _apply(entity, changes, _LINE_TEXT)
    for column, field in _LINE_NUMBERS.items():
        if column in changes:
            entity[field] = float(changes[column] or 0)
    if "rank" in changes and changes["rank"] is not None:
        entity["Rank"] = int(changes["rank"])
    if erp_product_key is not None:
        entity["ERPProductKey"] = erp_product_key
    return entity
