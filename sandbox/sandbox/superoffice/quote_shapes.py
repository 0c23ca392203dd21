"""Blank carriers of the quote chain (QuoteEntity, QuoteVersion, QuoteAlternative, QuoteLine)
as the Quote agent reference pages show them, and the totals rule. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "alternative_totals",
    "blank_alternative",
    "blank_line",
    "blank_quote",
    "blank_version",
    "line_totals",
]

_EXTRA = {f"ExtraField{n}": "" for n in range(1, 6)}


def blank_quote() -> dict[str, Any]:
    return {
        "QuoteId": 0,
        "SaleId": 0,
        "QuoteConnectionId": 1,
        "ERPQuoteKey": "",
        "ERPOrderKey": "",
        "ActiveQuoteVersionId": 0,
        "AcceptedQuoteAlternativeId": 0,
        "UseValuesFromQuote": 1,
        "DocumentId": 0,
        "PoNumber": "",
        "OrderComment": "",
        "PreferredEmailCulture": "",
        "FrameworkAgreement": "",
    }


def blank_version() -> dict[str, Any]:
    return {
        "QuoteVersionId": 0,
        "ERPQuoteVersionKey": "",
        "QuoteId": 0,
        "Description": "",
        "Number": "",
        "State": "Draft",
        "Status": "Ok",
        "Reason": "",
        "LikelyQuoteAlternativeId": 0,
        "SentDate": None,
        "FollowupId": 0,
        "ExpirationDate": None,
        "DeliveryCountryId": 0,
        "HasOwnDeliveryAddress": False,
        "InvoiceCountryId": 0,
        "HasOwnInvoiceAddress": False,
        "ERPPaymentTermsKey": "",
        "ERPPaymentTypeKey": "",
        "ERPDeliveryTermsKey": "",
        "ERPDeliveryTypeKey": "",
        "Rank": 1,
        "ApprovedBy": 0,
        "ApprovedText": "",
        "ApprovedRegisteredBy": 0,
        "ApprovedRegisteredDate": None,
        **_EXTRA,
        "LastRecalculated": None,
        "Updated": None,
        "UpdatedAssociateId": 1,
        "Registered": None,
        "RegisteredAssociateId": 1,
    }


def blank_alternative() -> dict[str, Any]:
    return {
        "QuoteAlternativeId": 0,
        "ERPQuoteAlternativeKey": "",
        "QuoteVersionId": 0,
        "Name": "",
        "Description": "",
        "Status": "Ok",
        "Reason": "",
        "ERPDiscountPercent": 0.0,
        "ERPDiscountAmount": 0.0,
        "DiscountPercent": 0.0,
        "DiscountAmount": 0.0,
        "UserValueOverride": "None",
        "VATInfo": "",
        "VAT": 0.0,
        "EarningPercent": 0.0,
        "EarningAmount": 0.0,
        "SubTotal": 0.0,
        "TotalPrice": 0.0,
        **_EXTRA,
    }


def blank_line() -> dict[str, Any]:
    return {
        "QuoteLineId": 0,
        "ERPQuoteLineKey": "",
        "QuoteAlternativeId": 0,
        "ERPProductKey": "",
        "Status": "Ok",
        "Reason": "",
        "Quantity": 1.0,
        "DeliveredQuantity": 0.0,
        "Rank": 0,
        "Name": "",
        "Description": "",
        "Code": "",
        "ItemNumber": "",
        "Url": "",
        "QuantityUnit": "",
        "PriceUnit": "",
        "IsSubscription": False,
        "SubscriptionUnit": "",
        "SubscriptionStartDate": None,
        "SubscriptionQuantity": 0.0,
        "UnitCost": 0.0,
        "UnitMinimumPrice": 0.0,
        "UnitListPrice": 0.0,
        "ListPrice": 0.0,
        "ERPDiscountPercent": 0.0,
        "ERPDiscountAmount": 0.0,
        "DiscountPercent": 0.0,
        "DiscountAmount": 0.0,
        "UserValueOverride": "None",
        "VAT": 0.0,
        "VATInfo": "",
        "EarningPercent": 0.0,
        "EarningAmount": 0.0,
        "SubTotal": 0.0,
        "TotalPrice": 0.0,
        **_EXTRA,
        "AssignedBy": 0,
    }


def _money(value: float) -> float:
    return round(value + 0.0, 2)


def _discount(gross: float, item: Mapping[str, Any]) -> tuple[float, float]:
    """(percent, amount): the user's amount wins if UserValueOverride says so, else the percent."""
    if item.get("UserValueOverride") == "DiscountAmount":
        amount = float(item.get("DiscountAmount") or 0)
        return (_money(100 * amount / gross) if gross else 0.0), _money(amount)
    percent = float(item.get("DiscountPercent") or 0)
    return percent, _money(gross * percent / 100)


def line_totals(line: dict[str, Any]) -> None:
    """ListPrice = quantity x unit list price; TotalPrice = ListPrice - discount; then earning."""
    quantity = float(line["Quantity"])
    line["ListPrice"] = _money(quantity * float(line["UnitListPrice"]))
    line["DiscountPercent"], line["DiscountAmount"] = _discount(line["ListPrice"], line)
    line["SubTotal"] = line["ListPrice"]
    line["TotalPrice"] = _money(line["ListPrice"] - line["DiscountAmount"])
    earning = line["TotalPrice"] - quantity * float(line["UnitCost"])
    line["EarningAmount"] = _money(earning)
    line["EarningPercent"] = (
        _money(100 * earning / line["TotalPrice"]) if line["TotalPrice"] else 0.0
    )


def alternative_totals(alternative: dict[str, Any], lines: Iterable[Mapping[str, Any]]) -> None:
    """SubTotal = sum of line totals; the alternative's own discount applies on top; VAT is an
    amount (each line's VAT percent on its discounted total)."""
    lines = list(lines)
    subtotal = _money(sum(float(line["TotalPrice"]) for line in lines))
    alternative["SubTotal"] = subtotal
    alternative["DiscountPercent"], alternative["DiscountAmount"] = _discount(subtotal, alternative)
    total = _money(subtotal - alternative["DiscountAmount"])
    alternative["TotalPrice"] = total
    share = total / subtotal if subtotal else 0.0
    vat = sum(float(line["TotalPrice"]) * float(line["VAT"]) / 100 for line in lines)
    alternative["VAT"] = _money(vat * share)
    cost = sum(float(line["Quantity"]) * float(line["UnitCost"]) for line in lines)
    alternative["EarningAmount"] = _money(total - cost)
    alternative["EarningPercent"] = _money(100 * (total - cost) / total) if total else 0.0
