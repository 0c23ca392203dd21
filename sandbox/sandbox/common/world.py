"""The seed world both sandboxes draw from: Nordic companies, their people, products and
quotes, generated deterministically from `seed_value` (Faker, locales no_NO, sv_SE, da_DK,
fi_FI; Faker spells Norwegian Bokmål `no_NO`, it has no `nb_NO`).

About a third of the companies, people and products exist on *both* sides, with the same
org number, e-mail and product code, written slightly differently on the SuperOffice side
(spaced org number, capitalised e-mail, lower-case SKU) and sometimes with one field edited
(phone, mobile, price), so matching and merging are exercised; the rest exist on one side
only. Quotes are never shared. Each record is generated from its own seed, so a world of 300
companies starts with the same records as a world of 200. This module never does I/O.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta
from typing import Literal

from faker import Faker

from sandbox.common import worldgen
from sandbox.common.worldrecords import Company, Person, Product, Quote, QuoteLine, World

__all__ = ["Company", "Person", "Product", "Quote", "QuoteLine", "Side", "World", "side_of_world"]

Side = Literal["customcrm", "superoffice"]
_GROUPS: tuple[str, ...] = ("shared", "customcrm", "superoffice")
_QUOTE_EPOCH = date(2026, 1, 5)


def side_of_world(side: Side, companies: int, seed_value: int) -> World:
    """The records `side` is seeded with: `companies` companies (a third shared), their
    people, `companies // 2` products (a third shared) and `companies // 2` quotes."""
    if side not in ("customcrm", "superoffice"):
        raise ValueError(f"unknown side {side!r}")
    fakers = {locale: Faker(locale) for locale in worldgen.LOCALES.values()}
    unique = worldgen.Uniques()
    all_companies = {g: _companies(g, companies, seed_value, fakers, unique) for g in _GROUPS}
    all_products = {g: _products(g, companies // 2, seed_value, unique) for g in _GROUPS}
    mine = [*all_companies["shared"], *all_companies[side]]
    people = [p for c in mine for p in worldgen.people_of(c, seed_value, fakers, unique)]
    products = [*all_products["shared"], *all_products[side]]
    if side == "superoffice":
        mine = [_company_there(c, seed_value) if c.shared else c for c in mine]
        people = [_person_there(p, seed_value) if p.shared else p for p in people]
        products = [_product_there(p, seed_value) if p.shared else p for p in products]
    quotes = _quotes(side, companies // 2, seed_value, mine, people, products)
    return World(tuple(mine), tuple(people), tuple(products), tuple(quotes))


def _companies(
    group: str, count: int, seed_value: int, fakers: dict[str, Faker], unique: worldgen.Uniques
) -> list[Company]:
    size = count // 3 if group == "shared" else count - count // 3
    return [
        worldgen.company(
            f"{group[0]}{i}",
            random.Random(f"{seed_value}:{group}:company:{i}"),
            fakers,
            unique,
            shared=group == "shared",
        )
        for i in range(size)
    ]


def _products(group: str, count: int, seed_value: int, unique: worldgen.Uniques) -> list[Product]:
    size = count // 3 if group == "shared" else count - count // 3
    return [
        worldgen.product(
            f"{group[0]}p{i}",
            random.Random(f"{seed_value}:{group}:product:{i}"),
            unique,
            shared=group == "shared",
        )
        for i in range(size)
    ]


def _company_there(record: Company, seed_value: int) -> Company:
    """A shared company as SuperOffice holds it: Norwegian org number spaced, and one
    time in four the phone edited there."""
    rng = random.Random(f"{seed_value}:variation:{record.key}")
    phone = worldgen.edited_phone(record.phone, rng) if rng.random() < 0.25 else record.phone
    spaced = " ".join(record.org_number[i : i + 3] for i in range(0, 9, 3))
    org = spaced if record.country == "NO" else record.org_number
    return replace(record, org_number=org, phone=phone)


def _person_there(record: Person, seed_value: int) -> Person:
    """A shared person as SuperOffice holds it: e-mail sometimes capitalised, mobile
    sometimes edited there."""
    rng = random.Random(f"{seed_value}:variation:{record.key}")
    mobile = worldgen.edited_phone(record.mobile, rng) if rng.random() < 0.25 else record.mobile
    capitalised = record.email[:1].upper() + record.email[1:]
    return replace(
        record, email=capitalised if rng.random() < 0.34 else record.email, mobile=mobile
    )


def _product_there(record: Product, seed_value: int) -> Product:
    """A shared product as SuperOffice holds it: code sometimes lower-case, price
    sometimes raised there."""
    rng = random.Random(f"{seed_value}:variation:{record.key}")
    price = round(record.unit_price * 1.05, 2) if rng.random() < 0.25 else record.unit_price
    sku = record.sku.lower() if rng.random() < 0.34 else record.sku
    return replace(record, sku=sku, unit_price=price)


def _quotes(
    side: Side,
    count: int,
    seed_value: int,
    companies: list[Company],
    people: list[Person],
    products: list[Product],
) -> list[Quote]:
    if not companies or not products:
        return []
    staff: dict[str, list[Person]] = {}
    for person in people:
        staff.setdefault(person.company_key, []).append(person)
    quotes = []
    for i in range(count):
        rng = random.Random(f"{seed_value}:{side}:quote:{i}")
        company = rng.choice(companies)
        contact = rng.choice(staff[company.key]) if staff.get(company.key) else None
        picked = rng.sample(products, k=min(len(products), rng.randint(1, 4)))
        lines = tuple(worldgen.quote_line(p, n + 1, rng) for n, p in enumerate(picked))
        quote_date = _QUOTE_EPOCH + timedelta(days=rng.randrange(300))
        quotes.append(
            Quote(
                key=f"{side[0]}q{i}",
                company_key=company.key,
                person_key=contact.key if contact else None,
                title=f"{lines[0].description} for {company.name}",
                description=f"Offer {i + 1} to {company.name}",
                status=rng.choice(("draft", "draft", "sent", "sent", "accepted", "rejected")),
                currency=worldgen.CURRENCIES[company.country],
                quote_date=quote_date,
                valid_until=quote_date + timedelta(days=30),
                discount_percent=rng.choice((0.0, 0.0, 0.0, 5.0, 10.0)),
                lines=lines,
            )
        )
    return quotes
