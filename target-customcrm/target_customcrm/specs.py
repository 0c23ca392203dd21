"""Which link entity each incoming stream is, and how crmsync treats it (docs/sync-contract.md)."""

from __future__ import annotations

from crmsync.records import EntitySpec, MatchKey, Reference

from target_customcrm.payloads import RESOURCES

__all__ = ["ENTITY_SPECS"]


def _spec(
    entity: str,
    references: tuple[Reference, ...] = (),
    match_keys: tuple[MatchKey, ...] = (),
) -> EntitySpec:
    return EntitySpec(
        name=entity,
        references=references,
        match_keys=match_keys,
        fields=RESOURCES[entity].writable,
    )


ENTITY_SPECS: dict[str, EntitySpec] = {
    "customers": _spec(
        "company",
        match_keys=(MatchKey("org_number", "digits"), MatchKey("name", "name")),
    ),
    "contacts": _spec(
        "person",
        references=(Reference("customer_id", "company"),),
        match_keys=(MatchKey("email", "email"),),
    ),
    "products": _spec("product", match_keys=(MatchKey("sku", "code"),)),
    "quotes": _spec(
        "quote",
        references=(Reference("customer_id", "company"), Reference("contact_id", "person")),
    ),
    "quote_lines": _spec(
        "quote_line",
        references=(Reference("quote_id", "quote"), Reference("product_id", "product")),
    ),
}
"""Keyed by stream name, in dependency order (parents first)."""
