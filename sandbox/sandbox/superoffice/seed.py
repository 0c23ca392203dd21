"""Seed one tenant from the shared world (`sandbox.common.world`, the SuperOffice side):
companies become Contacts, people Persons, products Products, quotes a Sale with its quote
chain (lines refer to products by ERP key = product code). Writes only through the model's
own operations, so seeded records obey the same rules as API writes."""

from __future__ import annotations

from typing import Any

from sandbox.common.world import Company, Person, Product, Quote, side_of_world

from .models import SuperOfficeModel
from .shapes import COUNTRIES, CURRENCIES

__all__ = ["seed_tenant"]

_COUNTRY_IDS = {iso2: country_id for country_id, (_, iso2, _, _) in COUNTRIES.items()}
_CURRENCY_IDS = {code: currency_id for currency_id, code in CURRENCIES.items()}
_SALE_STATUS = {"accepted": "Sold", "rejected": "Lost", "expired": "Lost"}


def _address(street: str, postal_code: str, city: str) -> dict[str, Any]:
    part = {"Address1": street, "Zipcode": postal_code, "City": city}
    return {"Postal": part, "Street": part}


def _contact(company: Company) -> dict[str, Any]:
    return {
        "Name": company.name,
        "OrgNr": company.org_number,
        "Emails": [{"Value": company.email}] if company.email else [],
        "Phones": [{"Value": company.phone}] if company.phone else [],
        "Urls": [{"Value": company.website}] if company.website else [],
        "Address": _address(company.street, company.postal_code, company.city),
        "Country": {"CountryId": _COUNTRY_IDS.get(company.country, 0)},
    }


def _person(person: Person, contact_id: int | None) -> dict[str, Any]:
    return {
        "Firstname": person.first_name,
        "Lastname": person.last_name,
        "Title": person.title,
        "Contact": {"ContactId": contact_id} if contact_id else None,
        "Emails": [{"Value": person.email}] if person.email else [],
        "OfficePhones": [{"Value": person.phone}] if person.phone else [],
        "MobilePhones": [{"Value": person.mobile}] if person.mobile else [],
        "Address": _address(person.street, person.postal_code, person.city),
        "Country": {"CountryId": _COUNTRY_IDS.get(person.country, 0)},
    }


def _product(product: Product) -> dict[str, Any]:
    return {
        "Name": product.name,
        "Description": product.description,
        "Code": product.sku,
        "ERPProductKey": product.sku,
        "UnitListPrice": product.unit_price,
        "UnitCost": product.unit_cost,
        "VAT": product.vat_rate,
        "QuantityUnit": product.unit,
        "PriceUnit": product.unit,
        "InAssortment": product.active,
    }


def _quote(
    model: SuperOfficeModel, quote: Quote, ids: dict[str, int], skus: dict[str, str]
) -> None:
    sale = model.save_entity(
        "sale",
        {
            "Heading": quote.title[:200],
            "Saledate": quote.quote_date.isoformat(),
            "Status": _SALE_STATUS.get(quote.status, "Open"),
            "Contact": {"ContactId": ids[quote.company_key]},
            "Person": {"PersonId": ids[quote.person_key]} if quote.person_key in ids else None,
            "Currency": {"Id": _CURRENCY_IDS.get(quote.currency, 1)},
        },
    )
    agent = model.quotes
    entity = agent.create_and_save_quote({"SaleId": sale["SaleId"], "ConnectionId": 1})
    alternative = entity["QuoteVersions"][0]["QuoteAlternatives"][0]
    alternative.update(Name=quote.title[:59], Description=quote.description,
                       DiscountPercent=quote.discount_percent)  # fmt: skip
    agent.save_quote_alternative(alternative)
    for line in quote.lines:
        draft = agent.create_quote_line(
            {
                "QuoteAlternativeId": alternative["QuoteAlternativeId"],
                "ERPProductKey": skus[line.product_key],
            }
        )
        draft.update(Description=line.description, Quantity=line.quantity,
                     UnitListPrice=line.unit_price, DiscountPercent=line.discount_percent,
                     Rank=line.position)  # fmt: skip
        agent.save_quote_line(draft)


def seed_tenant(model: SuperOfficeModel, companies: int, seed_value: int) -> None:
    """Add the SuperOffice side of world `seed_value` with `companies` companies."""
    world = side_of_world("superoffice", companies, seed_value)
    ids: dict[str, int] = {}
    with model.store.transaction():
        for company in world.companies:
            ids[company.key] = model.save_entity("contact", _contact(company))["ContactId"]
        for person in world.people:
            saved = model.save_entity("person", _person(person, ids.get(person.company_key)))
            ids[person.key] = saved["PersonId"]
        for product in world.products:
            model.save_entity("product", _product(product))
        skus = {product.key: product.sku for product in world.products}
        for quote in world.quotes:
            _quote(model, quote, ids, skus)
