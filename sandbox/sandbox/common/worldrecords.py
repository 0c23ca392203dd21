"""The records of the seed world (see `world.py`): plain values, no behaviour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = ["Company", "Person", "Product", "Quote", "QuoteLine", "World"]


@dataclass(frozen=True)
class Company:
    key: str
    name: str
    org_number: str
    email: str
    phone: str
    website: str
    street: str
    postal_code: str
    city: str
    country: str
    shared: bool


@dataclass(frozen=True)
class Person:
    key: str
    company_key: str
    first_name: str
    last_name: str
    email: str
    phone: str
    mobile: str
    title: str
    street: str
    postal_code: str
    city: str
    country: str
    shared: bool


@dataclass(frozen=True)
class Product:
    key: str
    sku: str
    name: str
    description: str
    unit_price: float
    unit_cost: float
    vat_rate: float
    unit: str
    active: bool
    shared: bool


@dataclass(frozen=True)
class QuoteLine:
    product_key: str
    description: str
    quantity: float
    unit_price: float
    discount_percent: float
    position: int


@dataclass(frozen=True)
class Quote:
    key: str
    company_key: str
    person_key: str | None
    title: str
    description: str
    status: str
    currency: str
    quote_date: date
    valid_until: date
    discount_percent: float
    lines: tuple[QuoteLine, ...]


@dataclass(frozen=True)
class World:
    """One side's part of the world; references use the records' `key`s."""

    companies: tuple[Company, ...]
    people: tuple[Person, ...]
    products: tuple[Product, ...]
    quotes: tuple[Quote, ...]
