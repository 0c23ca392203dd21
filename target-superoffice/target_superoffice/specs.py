"""Stream → crmsync EntitySpec for SuperOffice: references, match keys, writable fields.

Streams are listed in dependency order (parents first): companies, persons, products, quotes,
quote lines. Match keys follow docs/sync-contract.md (person: e-mail; company: org number,
then name; product: code); quotes and lines are only ever linked by creation.
"""

from __future__ import annotations

from superoffice_client.rows import STREAMS

from crmsync import EntitySpec, MatchKey, Reference

__all__ = ["ENTITY_SPECS", "READ_ONLY"]


def _writable(stream: str) -> tuple[str, ...]:
    return STREAMS[stream].writable


ENTITY_SPECS: dict[str, EntitySpec] = {
    "contacts": EntitySpec(
        "company",
        match_keys=(MatchKey("orgnr", "digits"), MatchKey("name", "name")),
        fields=_writable("contacts"),
    ),
    "persons": EntitySpec(
        "person",
        references=(Reference("contactId", "company"),),
        match_keys=(MatchKey("email", "email"),),
        fields=_writable("persons"),
    ),
    "products": EntitySpec(
        "product", match_keys=(MatchKey("code", "code"),), fields=_writable("products")
    ),
    "quote_alternatives": EntitySpec(
        "quote",
        references=(Reference("contactId", "company"), Reference("personId", "person")),
        fields=_writable("quote_alternatives"),
    ),
    "quote_lines": EntitySpec(
        "quote_line",
        references=(Reference("quoteAlternativeId", "quote"), Reference("productId", "product")),
        fields=_writable("quote_lines"),
    ),
}

READ_ONLY: dict[str, tuple[str, ...]] = {
    "contacts": ("registeredDate",),
    "persons": ("personRegisteredDate",),
    "products": (),
    "quote_alternatives": (
        "quoteVersionId",
        "quoteId",
        "saleId",
        "subTotal",
        "totalPrice",
    ),
    "quote_lines": ("erpProductKey", "totalPrice"),
}
"""Columns the tap emits that SuperOffice computes: never written back."""
