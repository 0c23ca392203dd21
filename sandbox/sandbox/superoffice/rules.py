"""What a save does to an incoming carrier: types, documented lengths, derived fields.

Decides how a PUT/POST body becomes the stored entity (missing properties fall back to the
blank entity, exactly like a full save of the carrier; property names match case-insensitively
like the .NET deserializer). Never touches the store: references are resolved through callbacks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from sandbox.common.clock import parse_timestamp

from .errors import BadRequestError, FieldLengthError
from .lists import list_ref
from .shapes import CHANNEL_FIELDS, associate_ref, country_ref, currency_ref, default_address

__all__ = [
    "FIELD_LIMITS",
    "UDEF_KEYS",
    "Resolver",
    "check_lengths",
    "check_sale",
    "normalise_address",
    "normalise_channels",
    "normalise_custom_fields",
    "normalise_date",
    "overlay",
    "resolve_references",
    "stripped",
]

# Column lengths from the database reference (docs/en/database/tables/<table>.md).
FIELD_LIMITS: dict[str, dict[str, int]] = {
    "person": {
        "Firstname": 99,
        "MiddleName": 99,
        "Lastname": 99,
        "Mrmrs": 239,
        "Title": 239,
        "Salutation": 239,
        "PersonNumber": 49,
        "Description": 2047,
        "DbiKey": 255,
    },
    "contact": {
        "Name": 219,
        "Department": 219,
        "OrgNr": 49,
        "Number1": 49,
        "Number2": 49,
        "Description": 2047,
    },
    "product": {
        "ERPProductKey": 254,
        "Name": 254,
        "Description": 2047,
        "Code": 254,
        "QuantityUnit": 79,
        "PriceUnit": 79,
        "SubscriptionUnit": 254,
        "ItemNumber": 79,
        "Url": 1023,
        "ProductCategoryKey": 254,
        "ProductFamilyKey": 254,
        "ProductTypeKey": 254,
        "VATInfo": 254,
        "Supplier": 254,
        "SupplierCode": 254,
        "Rights": 2047,
        "Rule": 254,
        **{f"ExtraField{n}": 1023 for n in range(1, 6)},
    },
    "sale": {},
    "quote_alternative": {"ERPQuoteAlternativeKey": 254, "Name": 59, "Description": 2047},
}
EMAIL_LIMIT = 239  # Email.email_address String(239)
CHANNEL_DESCRIPTION_LIMIT = 254

# The tenant's published user-defined fields (string udefs without ProgId).
UDEF_KEYS: dict[str, tuple[str, ...]] = {
    "person": tuple(f"SuperOffice:{n}" for n in range(1, 6)),
    "contact": tuple(f"SuperOffice:{n}" for n in range(1, 6)),
    "sale": tuple(f"SuperOffice:{n}" for n in range(1, 3)),
}

Resolver = Callable[[str, int], dict[str, Any] | None]
"""(kind, id) -> the reference carrier for that record, or None when it does not exist."""


def overlay(blank: Mapping[str, Any], incoming: Mapping[str, Any]) -> dict[str, Any]:
    """The blank entity with every known incoming property set (names case-insensitive)."""
    if not isinstance(incoming, Mapping):
        raise BadRequestError("Entity to save is not in request body")
    canonical = {name.lower(): name for name in blank}
    result = dict(blank)
    for name, value in incoming.items():
        key = canonical.get(str(name).lower())
        if key is not None:
            result[key] = _coerce(key, blank[key], value)
    return result


def _coerce(name: str, blank: Any, value: Any) -> Any:
    """Accept what the .NET deserializer accepts for the blank value's type, refuse the rest."""
    if value is None:
        return "" if isinstance(blank, str) else (blank if isinstance(blank, list | dict) else None)
    if isinstance(blank, bool):
        if isinstance(value, bool):
            return value
    elif isinstance(blank, int | float):
        number = _number(value)
        if number is not None and isinstance(blank, float):
            return number
        if number is not None and -(2**31) <= number < 2**31:  # .NET Int32
            return int(number)
    elif isinstance(blank, str):
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
    elif isinstance(blank, list):
        if isinstance(value, list):
            return value
    elif isinstance(blank, dict) or blank is None:
        return value
    shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
    raise BadRequestError(f"Error converting value {shown} to the type of property '{name}'")


def _number(value: Any) -> float | None:
    """A finite number from a JSON number or numeric string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,30}(\.\d{1,30})?", value.strip()):
        value = float(value)
    if isinstance(value, int) and abs(value) < 2**63:
        return float(value)
    if isinstance(value, float) and math.isfinite(value):
        return value
    return None


def check_lengths(kind: str, body: Mapping[str, Any]) -> None:
    """Refuse strings longer than the database column (the real service would fail the save)."""
    for field, limit in FIELD_LIMITS.get(kind, {}).items():
        value = body.get(field)
        if isinstance(value, str) and len(value) > limit:
            raise FieldLengthError(field, len(value), limit)
    for field in CHANNEL_FIELDS.get(kind, ()):
        for index, item in enumerate(body.get(field) or []):
            value = item.get("Value") or ""
            if field in ("Emails", "ChatEmails") and len(value) > EMAIL_LIMIT:
                raise FieldLengthError(f"{field}[{index}].Value", len(value), EMAIL_LIMIT)
            description = item.get("Description") or ""
            if len(description) > CHANNEL_DESCRIPTION_LIMIT:
                raise FieldLengthError(
                    f"{field}[{index}].Description", len(description), CHANNEL_DESCRIPTION_LIMIT
                )


SALE_STATUSES = ("Open", "Sold", "Lost", "Stalled")


def check_sale(body: Mapping[str, Any]) -> None:
    """Status is the SaleStatus enum; Probability a percentage."""
    if body.get("Status") not in SALE_STATUSES:
        given = str(body.get("Status"))[:40]
        raise BadRequestError(f"Status must be one of {', '.join(SALE_STATUSES)}, not {given!r}")
    if not 0 <= int(body.get("Probability") or 0) <= 100:
        raise BadRequestError("Probability must be between 0 and 100")


def stripped(field: str, value: str) -> str:
    """StrippedValue: phone numbers keep digits (and a leading +); other values are trimmed."""
    if "Phone" in field or field == "Faxes":
        text = value.strip()
        return ("+" if text.startswith("+") else "") + re.sub(r"\D", "", text)
    return value.strip()


def normalise_channels(kind: str, body: dict[str, Any]) -> None:
    """Emails/phones/urls become `{Value, StrippedValue, Description}` items; blanks are dropped."""
    for field in CHANNEL_FIELDS.get(kind, ()):
        items = []
        for item in body.get(field) or []:
            if isinstance(item, str):
                item = {"Value": item}
            if not isinstance(item, Mapping):
                raise BadRequestError(f"Error converting value {item!r} to an item of '{field}'")
            value = str(item.get("Value") or "").strip()
            if value:
                items.append(
                    {
                        "Value": value,
                        "StrippedValue": stripped(field, value),
                        "Description": str(item.get("Description") or ""),
                    }
                )
        body[field] = items


def normalise_address(owner: str, address: Any) -> dict[str, Any]:
    """A structured address with both parts present and their `Formatted` lines computed."""
    blank = default_address(owner)
    if not isinstance(address, Mapping):
        return blank
    result = overlay(blank, address)
    for part in ("Street", "Postal"):
        given = result[part] if isinstance(result[part], Mapping) else {}
        merged = overlay(blank[part], given)
        lines = [merged["Address1"], merged["Address2"], merged["Address3"]]
        place = " ".join(p for p in (merged["Zipcode"], merged["City"]) if p)
        merged["Formatted"] = ", ".join(p for p in [*lines, place] if p)
        result[part] = merged
    result["Formatted"] = result["Postal"]["Formatted"] or result["Street"]["Formatted"]
    return result


def normalise_custom_fields(kind: str, body: dict[str, Any], before: Mapping[str, Any]) -> None:
    """Keep CustomFields, UserDefinedFields and ExtraFields in step; unknown udef keys are ignored.

    A save that only changes the deprecated UserDefinedFields still lands in CustomFields.
    Values are strings, as the API serves them.
    """
    known = UDEF_KEYS.get(kind, ())
    previous = dict(before.get("CustomFields") or {})
    custom = {k: previous.get(k, "") for k in known}
    for source in ("UserDefinedFields", "CustomFields"):
        given = body.get(source) or {}
        if not isinstance(given, Mapping):
            raise BadRequestError(f"Error converting value to the type of property '{source}'")
        changed = {
            k: v for k, v in given.items() if k in known and str(v) != str(previous.get(k, ""))
        }
        custom.update({k: "" if v is None else str(v) for k, v in changed.items()})
    body["CustomFields"] = custom
    body["UserDefinedFields"] = dict(custom)
    body["ExtraFields"] = {}


def normalise_date(name: str, value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return parse_timestamp(str(value)).strftime("%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise BadRequestError(
            f"Error converting value {value!r} to type 'DateTime' ({name})"
        ) from None


def _ref_id(value: Any, id_field: str) -> int:
    if not isinstance(value, Mapping):
        return 0
    raw = value.get(id_field, value.get("Id", 0))
    try:
        return int(raw or 0)
    except (TypeError, ValueError):
        raise BadRequestError(
            f"Error converting value {raw!r} to type 'Int32' ({id_field})"
        ) from None


def resolve_references(body: dict[str, Any], resolve: Resolver) -> None:
    """Replace `{ContactId: 12}`-style references with the full carriers they point at."""
    for field, kind, id_field in (
        ("Contact", "contact", "ContactId"),
        ("Person", "person", "PersonId"),
    ):
        if field in body:
            ref = _ref_id(body[field], id_field)
            body[field] = resolve(kind, ref) if ref else None
            if ref and body[field] is None:
                raise BadRequestError(f"{field} id {ref} not found")
    for field, make, id_field in (
        ("Country", country_ref, "CountryId"),
        ("Associate", associate_ref, "AssociateId"),
        ("SupportAssociate", associate_ref, "AssociateId"),
        ("Currency", currency_ref, "Id"),
        ("Category", partial(list_ref, "category"), "Id"),
        ("Business", partial(list_ref, "business"), "Id"),
        ("Position", partial(list_ref, "perspos"), "Id"),
    ):
        if field in body:
            ref = _ref_id(body[field], id_field)
            body[field] = make(ref) if ref else None
            if ref and body[field] is None:
                raise BadRequestError(f"{field} id {ref} not found")
