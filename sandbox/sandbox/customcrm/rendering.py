"""How a stored row looks on the wire (meta fields, quote totals and lines), and the
defaults a new quote line takes from its product and siblings. No HTTP, no writes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sandbox.customcrm.resources import RESOURCES, Resource

if TYPE_CHECKING:
    from sandbox.customcrm.store import Row, Store

__all__ = ["etag", "line_defaults", "record"]


def etag(rendered: Mapping[str, Any]) -> str:
    return f'"{rendered["version"]}"'


def record(resource: Resource, row: Row, lines: Sequence[Row] = ()) -> dict[str, Any]:
    """The JSON object of `row`; a quote carries its live `lines`, `subtotal` and `total`."""
    body: dict[str, Any] = {"id": row.id}
    if resource.name == "quote_lines":
        body["quote_id"] = row.parent_id
    body.update({name: row.fields.get(name) for name in resource.fields})
    body.update(
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        deleted_at=row.deleted_at,
        external_ids=dict(row.external_ids),
    )
    if resource.name == "quote_lines":
        body["line_total"] = _line_total(row.fields)
    if resource.name == "quotes":
        rendered = [record(RESOURCES["quote_lines"], line) for line in lines]
        subtotal = round(sum(line["line_total"] for line in rendered), 2)
        body["subtotal"] = subtotal
        body["total"] = round(subtotal * (1 - (row.fields.get("discount_percent") or 0) / 100), 2)
        body["lines"] = rendered
    return body


def _line_total(fields: Mapping[str, Any]) -> float:
    gross = (fields.get("quantity") or 0) * (fields.get("unit_price") or 0)
    return round(gross * (1 - (fields.get("discount_percent") or 0) / 100), 2)


def line_defaults(store: Store, quote_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A new line's unit price and description come from its product when not given,
    and its position is after the quote's last live line."""
    filled = dict(fields)
    product = (
        store.find("products", str(fields["product_id"])) if fields.get("product_id") else None
    )
    if filled.get("unit_price") is None:
        filled["unit_price"] = product.fields.get("unit_price") if product else None
        filled["unit_price"] = filled["unit_price"] or 0.0
    if filled.get("description") is None and product is not None:
        filled["description"] = product.fields.get("name")
    if filled.get("position") is None:
        siblings = store.children([quote_id])[quote_id]
        filled["position"] = max((s.fields.get("position") or 0 for s in siblings), default=0) + 1
    return filled
