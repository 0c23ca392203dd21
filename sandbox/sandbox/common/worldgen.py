"""Makes one seed record at a time from its own `random.Random` (Faker for Nordic names,
addresses and phones). Keeps org numbers, web domains and SKUs unique across the world,
so e-mails derived from domains never collide by accident. Never does I/O."""

from __future__ import annotations

import random
import re
import unicodedata

from faker import Faker

from sandbox.common.orgnumbers import org_number
from sandbox.common.worldrecords import Company, Person, Product, QuoteLine

__all__ = ["CURRENCIES", "LOCALES", "Uniques", "company", "edited_phone", "people_of", "product"]

LOCALES = {"NO": "no_NO", "SE": "sv_SE", "DK": "da_DK", "FI": "fi_FI"}
CURRENCIES = {"NO": "NOK", "SE": "SEK", "DK": "DKK", "FI": "EUR"}
_COUNTRY_WEIGHTS = {"NO": 4, "SE": 3, "DK": 2, "FI": 1}
_MAILBOX = {"NO": "post", "SE": "info", "DK": "kontakt", "FI": "info"}
_ASCII = str.maketrans({"ø": "o", "æ": "ae", "å": "a", "ä": "a", "ö": "o", "ü": "u", "ß": "ss"})
_PRODUCT_KINDS = (
    ("Office Chair", "pcs"), ("Standing Desk", "pcs"), ("Support Plan", "month"),
    ("CRM Licence", "licence"), ("Consulting", "hour"), ("Router", "pcs"),
    ("Headset", "pcs"), ("Training Day", "day"), ("Monitor 27in", "pcs"),
    ("Cloud Backup", "month"), ("Installation", "hour"), ("Service Agreement", "year"),
    ("Printer", "pcs"), ("Coffee Beans", "kg"),
)  # fmt: skip
_PRODUCT_GRADES = ("Basic", "Pro", "Premium", "Nordic", "Arctic", "Compact", "Smart", "Eco")


class Uniques:
    """Values already handed out in this world; `claim` returns the first free variant."""

    def __init__(self) -> None:
        self._taken: set[tuple[str, str]] = set()

    def claim(self, kind: str, value: str, variant: str = "{value}{n}") -> str:
        candidate, n = value, 1
        while (kind, candidate.casefold()) in self._taken:
            n += 1
            candidate = variant.format(value=value, n=n)
        self._taken.add((kind, candidate.casefold()))
        return candidate


def _slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_ASCII))
    ascii_text = folded.encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-") or "firma"


def _faker(fakers: dict[str, Faker], country: str, rng: random.Random) -> Faker:
    faker = fakers[LOCALES[country]]
    faker.seed_instance(rng.getrandbits(48))
    return faker


def company(
    key: str, rng: random.Random, fakers: dict[str, Faker], unique: Uniques, *, shared: bool
) -> Company:
    country = rng.choices(list(_COUNTRY_WEIGHTS), weights=list(_COUNTRY_WEIGHTS.values()))[0]
    faker = _faker(fakers, country, rng)
    name = faker.company()
    domain = unique.claim("domain", _slug(name), "{value}-{n}") + "." + country.lower()
    number = org_number(country, rng)
    while unique.claim("org", number) != number:
        number = org_number(country, rng)
    return Company(
        key=key,
        name=name,
        org_number=number,
        email=f"{_MAILBOX[country]}@{domain}",
        phone=faker.phone_number(),
        website=f"https://www.{domain}",
        street=faker.street_address(),
        postal_code=faker.postcode(),
        city=faker.city(),
        country=country,
        shared=shared,
    )


def people_of(
    employer: Company, seed_value: int, fakers: dict[str, Faker], unique: Uniques
) -> list[Person]:
    """One to three people working at `employer`, with e-mails on its domain."""
    rng = random.Random(f"{seed_value}:people:{employer.key}")
    domain = employer.website.removeprefix("https://www.")
    people = []
    for i in range(rng.randint(1, 3)):
        faker = _faker(fakers, employer.country, rng)
        first, last = faker.first_name(), faker.last_name()
        mailbox = unique.claim("email", f"{_slug(first)}.{_slug(last)}@{domain}", "{n}.{value}")
        people.append(
            Person(
                key=f"{employer.key}-{i}",
                company_key=employer.key,
                first_name=first,
                last_name=last,
                email=mailbox,
                phone=faker.phone_number(),
                mobile=faker.phone_number(),
                title=faker.job()[:80],
                street=faker.street_address(),
                postal_code=faker.postcode(),
                city=faker.city(),
                country=employer.country,
                shared=employer.shared,
            )
        )
    return people


def product(key: str, rng: random.Random, unique: Uniques, *, shared: bool) -> Product:
    kind, unit = rng.choice(_PRODUCT_KINDS)
    grade = rng.choice(_PRODUCT_GRADES)
    sku = f"{grade[:2].upper()}-{rng.randrange(10000, 99999)}"
    while unique.claim("sku", sku) != sku:
        sku = f"{grade[:2].upper()}-{rng.randrange(10000, 99999)}"
    price = round(rng.uniform(49, 25000), 2)
    return Product(
        key=key,
        sku=sku,
        name=f"{grade} {kind}",
        description=f"{grade} {kind.lower()}, sold per {unit}.",
        unit_price=price,
        unit_cost=round(price * rng.uniform(0.35, 0.8), 2),
        vat_rate=rng.choice((25.0, 25.0, 25.0, 24.0, 15.0, 12.0, 0.0)),
        unit=unit,
        active=rng.random() < 0.9,
        shared=shared,
    )


def quote_line(item: Product, position: int, rng: random.Random) -> QuoteLine:
    return QuoteLine(
        product_key=item.key,
        description=item.name,
        quantity=float(rng.randint(1, 20)),
        unit_price=item.unit_price,
        discount_percent=rng.choice((0.0, 0.0, 5.0, 10.0)),
        position=position,
    )


def edited_phone(phone: str, rng: random.Random) -> str:
    """`phone` with its last two digits changed: the same number, edited on one side."""
    digits = [i for i, ch in enumerate(phone) if ch.isdigit()]
    chars = list(phone)
    for i in digits[-2:]:
        chars[i] = str((int(chars[i]) + rng.randint(1, 9)) % 10)
    return "".join(chars)
