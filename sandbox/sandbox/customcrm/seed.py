"""Turns Customcrm's side of the shared seed world into stored rows (ids `cus_1`, ...).
Pure: it yields rows, the model stores them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from sandbox.common.clock import Clock
from sandbox.common.world import side_of_world
from sandbox.common.worldrecords import Quote
from sandbox.customcrm.resources import RESOURCES, Resource
from sandbox.customcrm.store import Row

__all__ = ["seed_rows"]


class _Ids:
    def __init__(self) -> None:
        self.by_key: dict[str, str] = {}
        self._last: dict[str, int] = {}

    def issue(self, resource: Resource, key: str | None = None) -> str:
        self._last[resource.name] = self._last.get(resource.name, 0) + 1
        issued = f"{resource.prefix}_{self._last[resource.name]}"
        if key is not None:
            self.by_key[key] = issued
        return issued


def _row(
    resource: Resource, record_id: str, fields: dict[str, Any], now: str, parent: str | None = None
) -> Row:
    kept = {name: fields.get(name) for name in resource.fields}
    return Row(0, resource.name, record_id, parent, 1, now, now, None, kept, {})


def seed_rows(companies: int, seed_value: int, clock: Clock) -> Iterator[tuple[Resource, Row]]:
    """Rows for `companies` companies of world `seed_value`, parents before children."""
    world = side_of_world("customcrm", companies, seed_value)
    ids = _Ids()
    customers, contacts = RESOURCES["customers"], RESOURCES["contacts"]
    products = RESOURCES["products"]
    for company in world.companies:
        yield (
            customers,
            _row(customers, ids.issue(customers, company.key), asdict(company), clock.tick()),
        )
    for person in world.people:
        fields = {**asdict(person), "customer_id": ids.by_key[person.company_key]}
        yield contacts, _row(contacts, ids.issue(contacts, person.key), fields, clock.tick())
    for product in world.products:
        yield (
            products,
            _row(products, ids.issue(products, product.key), asdict(product), clock.tick()),
        )
    for quote in world.quotes:
        yield from _quote_rows(quote, ids, clock)


def _quote_rows(quote: Quote, ids: _Ids, clock: Clock) -> Iterator[tuple[Resource, Row]]:
    quotes, lines = RESOURCES["quotes"], RESOURCES["quote_lines"]
    quote_id = ids.issue(quotes)
    created = clock.tick()
    for line in quote.lines:
        fields = {**asdict(line), "product_id": ids.by_key[line.product_key]}
        yield lines, _row(lines, ids.issue(lines), fields, clock.tick(), parent=quote_id)
    fields = {
        **asdict(quote),
        "customer_id": ids.by_key[quote.company_key],
        "contact_id": ids.by_key.get(quote.person_key) if quote.person_key else None,
        "quote_date": quote.quote_date.isoformat(),
        "valid_until": quote.valid_until.isoformat(),
    }
    row = _row(quotes, quote_id, fields, clock.tick())
    yield quotes, Row(0, quotes.name, quote_id, None, 1 + len(quote.lines), created,
                      row.updated_at, None, row.fields, {})  # fmt: skip
