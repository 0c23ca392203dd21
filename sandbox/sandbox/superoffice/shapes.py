"""The PascalCase JSON shapes of SuperOffice carriers, as the reference pages show them.

Only shapes live here: blank entities (what `GET /{Entity}/default` returns) and the nested
references (Contact, Country, Associate, list items). No rules, no I/O.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ASSOCIATES",
    "COUNTRIES",
    "CURRENCIES",
    "associate_ref",
    "country_ref",
    "currency_ref",
    "default_address",
    "default_contact",
    "default_person",
    "default_product",
    "default_sale",
    "structured_address",
]

# Country ids follow ISO 3166-1 numeric codes, which is what SuperOffice's country table uses.
COUNTRIES: dict[int, tuple[str, str, str, str]] = {
    578: ("Norway", "NO", "NOR", "NOK"),
    752: ("Sweden", "SE", "SWE", "SEK"),
    208: ("Denmark", "DK", "DNK", "DKK"),
    246: ("Finland", "FI", "FIN", "EUR"),
    352: ("Iceland", "IS", "ISL", "ISK"),
    276: ("Germany", "DE", "DEU", "EUR"),
    528: ("Netherlands", "NL", "NLD", "EUR"),
    826: ("United Kingdom", "GB", "GBR", "GBP"),
    840: ("United States", "US", "USA", "USD"),
}

CURRENCIES: dict[int, str] = {1: "NOK", 2: "SEK", 3: "DKK", 4: "EUR", 5: "USD", 6: "GBP", 7: "ISK"}

# The tenant's users: 1 is the system user every API write is attributed to.
ASSOCIATES: dict[int, tuple[str, str]] = {
    1: ("SYS", "System User"),
    2: ("AH", "Anna Hansen"),
    3: ("EL", "Erik Lund"),
}

TABLE_RIGHT = {"Mask": "Delete", "Reason": ""}

CHANNEL_FIELDS = {
    "person": (
        "Emails",
        "OfficePhones",
        "MobilePhones",
        "PrivatePhones",
        "OtherPhones",
        "Faxes",
        "InternetPhones",
        "Urls",
        "ChatEmails",
    ),
    "contact": ("Emails", "Urls", "Phones", "Faxes"),
}


def country_ref(country_id: int) -> dict[str, Any] | None:
    """The Country carrier for an id, or None when the id is unknown (0 = not set)."""
    known = COUNTRIES.get(country_id)
    if known is None:
        return None
    name, iso2, iso3, currency = known
    return {
        "CountryId": country_id,
        "Name": name,
        "CurrencyId": next((k for k, v in CURRENCIES.items() if v == currency), 0),
        "EnglishName": name,
        "TwoLetterISOCountry": iso2,
        "ThreeLetterISOCountry": iso3,
        "ImageDescription": "",
        "OrgNrText": "Org.nr",
        "InterAreaPrefix": "",
        "DialInPrefix": "",
        "ZipPrefix": "",
        "DomainName": iso2.lower(),
        "AddressLayoutId": 0,
        "DomesticAddressLayoutId": 0,
        "ForeignAddressLayoutId": 0,
        "Rank": 0,
        "Tooltip": "",
        "Deleted": False,
    }


def associate_ref(associate_id: int) -> dict[str, Any] | None:
    known = ASSOCIATES.get(associate_id)
    if known is None:
        return None
    user, full = known
    return {
        "AssociateId": associate_id,
        "Name": user,
        "PersonId": 0,
        "Rank": associate_id,
        "Tooltip": full,
        "Type": "AnonymousAssociate" if associate_id == 1 else "Employee",
        "GroupIdx": 1,
        "FullName": full,
        "FormalName": full,
        "Deleted": False,
        "EjUserId": 0,
        "UserName": user,
    }


def currency_ref(currency_id: int) -> dict[str, Any] | None:
    code = CURRENCIES.get(currency_id)
    return None if code is None else {"Id": currency_id, "Value": code, "Tooltip": code}


def structured_address(atype: str) -> dict[str, Any]:
    return {
        "AtypeIdx": atype,
        "Address1": "",
        "Address2": "",
        "Address3": "",
        "City": "",
        "County": "",
        "State": "",
        "Zipcode": "",
        "Formatted": "",
    }


def default_address(owner: str) -> dict[str, Any]:
    street, postal = (
        ("ContactStreet", "ContactPostal")
        if owner == "contact"
        else ("PersonPrivate", "PersonPrivate")
    )
    return {
        "Wgs84Latitude": 0.0,
        "Wgs84Longitude": 0.0,
        "LocalizedAddress": [],
        "Street": structured_address(street),
        "Postal": structured_address(postal),
        "Formatted": "",
    }


def _custom() -> dict[str, Any]:
    return {"CustomFields": {}, "UserDefinedFields": {}, "ExtraFields": {}}


def default_person() -> dict[str, Any]:
    """PersonEntity as `GET Person/default` returns it."""
    body: dict[str, Any] = {
        "PersonId": 0,
        "Firstname": "",
        "MiddleName": "",
        "Lastname": "",
        "Mrmrs": "",
        "Title": "",
        "UpdatedDate": None,
        "CreatedDate": None,
        "BirthDate": None,
        "CreatedBy": None,
        "UpdatedBy": None,
        "Description": "",
        "IsAssociate": False,
        "Position": None,
        "Contact": None,
        "Country": country_ref(578),
        "Interests": [],
        "PersonNumber": "",
        "FullName": "",
        "FormalName": "",
        "NoMailing": False,
        "UsePersonAddress": False,
        "Retired": False,
        "Address": default_address("person"),
        "Category": None,
        "Business": None,
        "Associate": None,
        "Salutation": "",
        "ActiveInterests": 0,
        "SupportAssociate": None,
        "TicketPriority": None,
        "CustomerLanguage": None,
        "DbiAgentId": 0,
        "DbiKey": "",
        "DbiLastModified": None,
        "DbiLastSyncronized": None,
        "Source": 0,
        "ActiveErpLinks": 0,
        "ShipmentTypes": [],
        "Consents": [],
        "BounceEmails": [],
        "TableRight": TABLE_RIGHT,
        "FieldProperties": {},
    }
    body.update({field: [] for field in CHANNEL_FIELDS["person"]})
    body.update(_custom())
    return body


def default_contact() -> dict[str, Any]:
    """ContactEntity as `GET Contact/default` returns it."""
    body: dict[str, Any] = {
        "ContactId": 0,
        "Name": "",
        "Department": "",
        "OrgNr": "",
        "Number1": "",
        "Number2": "",
        "Domains": [],
        "Address": default_address("contact"),
        "Country": country_ref(578),
        "Business": None,
        "Category": None,
        "Associate": associate_ref(1),
        "SupportAssociate": None,
        "SupportPerson": None,
        "TicketPriority": None,
        "CustomerLanguage": None,
        "Interests": [],
        "Description": "",
        "NoMailing": False,
        "Xstop": False,
        "Persons": [],
        "Deleted": 0,
        "GroupId": 1,
        "ActiveInterests": 0,
        "ActiveStatusMonitorId": 0,
        "Source": 0,
        "ActiveErpLinks": 0,
        "UpdatedDate": None,
        "CreatedDate": None,
        "UpdatedBy": None,
        "CreatedBy": None,
        "BounceEmails": [],
        "TableRight": TABLE_RIGHT,
        "FieldProperties": {},
    }
    body.update({field: [] for field in CHANNEL_FIELDS["contact"]})
    body.update(_custom())
    return body


def default_product() -> dict[str, Any]:
    """Product as `GET Product/default` returns it: no timestamps, no custom fields."""
    body: dict[str, Any] = {
        "ProductId": 0,
        "ERPProductKey": "",
        "ERPPriceListKey": "",
        "Name": "",
        "Description": "",
        "Code": "",
        "PriceUnit": "",
        "QuantityUnit": "",
        "IsSubscription": False,
        "SubscriptionUnit": "",
        "DefaultSubscriptionQuantity": 0.0,
        "ItemNumber": "",
        "Url": "",
        "ProductCategoryKey": "",
        "ProductFamilyKey": "",
        "ProductTypeKey": "",
        "VAT": 0.0,
        "VATInfo": "",
        "UnitCost": 0.0,
        "UnitMinimumPrice": 0.0,
        "UnitListPrice": 0.0,
        "InAssortment": True,
        "Supplier": "",
        "SupplierCode": "",
        "Rights": "",
        "Rule": "",
        "ExtraInfo": [],
        "RawExtraInfo": "",
        "InStock": 0.0,
        "TableRight": TABLE_RIGHT,
        "FieldProperties": {},
    }
    body.update({f"ExtraField{n}": "" for n in range(1, 6)})
    return body


def default_sale() -> dict[str, Any]:
    """SaleEntity as `GET Sale/default` returns it."""
    body: dict[str, Any] = {
        "SaleId": 0,
        "Heading": "",
        "Amount": 0.0,
        "AmountInBaseCurrency": 0.0,
        "Saledate": None,
        "Status": "Open",
        "Probability": 0,
        "Earning": 0.0,
        "EarningPercent": 0.0,
        "Number": "",
        "PostIt": "",
        "Contact": None,
        "Person": None,
        "Project": None,
        "Associate": associate_ref(1),
        "Currency": currency_ref(1),
        "SaleType": None,
        "Source": None,
        "Reason": None,
        "ReasonSold": None,
        "ReasonStalled": None,
        "Completed": "Incomplete",
        "ActiveErpLinks": 0,
        "SaleStakeholders": [],
        "CreatedDate": None,
        "UpdatedDate": None,
        "CreatedBy": None,
        "UpdatedBy": None,
        "TableRight": TABLE_RIGHT,
        "FieldProperties": {},
    }
    body.update(_custom())
    return body
