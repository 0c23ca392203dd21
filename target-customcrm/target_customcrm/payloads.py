"""Between Customcrm's JSON and crmsync's flat values: which properties are written, and how
an API record becomes `Ours`. Pure functions; never does HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crmsync.destination import Ours
from crmsync.normalise import plain
from customcrm_client import QUOTE_FIELDS, sync_version

__all__ = ["RESOURCES", "Resource", "in_customcrm_terms", "ours_from", "payload"]


@dataclass(frozen=True)
class Resource:
    """A Customcrm resource as crmsync sees it: its stream, path name and writable properties."""

    entity: str
    stream: str
    writable: tuple[str, ...]


RESOURCES: dict[str, Resource] = {
    resource.entity: resource
    for resource in (
        Resource(
            "company",
            "customers",
            (
                "name",
                "org_number",
                "email",
                "phone",
                "website",
                "street",
                "postal_code",
                "city",
                "country",
            ),
        ),
        Resource(
            "person",
            "contacts",
            (
                "customer_id",
                "first_name",
                "last_name",
                "email",
                "phone",
                "mobile",
                "title",
                "street",
                "postal_code",
                "city",
                "country",
            ),
        ),
        Resource(
            "product",
            "products",
            ("sku", "name", "description", "unit_price", "unit_cost", "vat_rate", "unit", "active"),
        ),
        Resource("quote", "quotes", QUOTE_FIELDS),
        Resource(
            "quote_line",
            "quote_lines",
            (
                "quote_id",
                "product_id",
                "description",
                "quantity",
                "unit_price",
                "discount_percent",
                "position",
            ),
        ),
    )
}
"""Read-only properties (`id`, `version`, timestamps, `subtotal`, `total`, `line_total`,
`lines`) are never written; `external_ids` only carries crmsync's correlation key."""


def resource_of(entity: str) -> Resource:
    """The resource of a link entity; a clear error for one Customcrm does not have."""
    try:
        return RESOURCES[entity]
    except KeyError:
        raise ValueError(
            f"Customcrm has no resource for link entity {entity!r}; "
            f"known: {', '.join(sorted(RESOURCES))}"
        ) from None


NOT_NULL: dict[str, frozenset[str]] = {
    "company": frozenset({"name"}),
    "person": frozenset({"first_name"}),
    "product": frozenset({"sku", "name", "active"}),
    "quote": frozenset({"customer_id", "title", "status"}),
    "quote_line": frozenset({"quantity", "position"}),
}
"""Properties the API never stores as null (docs/customcrm-openapi.yaml)."""


DATE_FIELDS: dict[str, frozenset[str]] = {"quote": frozenset({"quote_date", "valid_until"})}
"""Properties the API stores as a calendar date (`YYYY-MM-DD`)."""


def in_customcrm_terms(entity: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Incoming values as Customcrm stores them, so that a merge compares like with like.

    A date-time arriving for a date property keeps its date part (as written, no time-zone
    shift); an empty string in an optional property is null, as Customcrm keeps it (an e-mail
    or country of "" would be refused). Without this, every run would see a change that is
    only a spelling, and write it again.
    """
    dates = DATE_FIELDS.get(entity, frozenset())
    required = NOT_NULL.get(entity, frozenset())
    converted = {}
    for key, value in values.items():
        if key in dates and isinstance(value, str) and len(value) > 10 and value[10] in "T ":
            value = value[:10]
        elif value == "" and key not in required:
            value = None
        converted[key] = value
    return converted


def payload(entity: str, values: Mapping[str, Any], *, creating: bool = False) -> dict[str, Any]:
    """The JSON body for `values`: only writable properties, JSON-safe (dates as ISO text).

    On create, a null in a never-null property is left out so the API's default applies
    (`status` draft, `active` true, `quantity` 1); on update it is sent, and the API's 422
    says why it cannot be cleared.
    """
    writable = resource_of(entity).writable
    body = {key: plain(values[key]) for key in writable if key in values}
    if creating:
        for key in NOT_NULL.get(entity, frozenset()):
            if body.get(key, "") is None:
                del body[key]
    return body


def ours_from(entity: str, record: Mapping[str, Any]) -> Ours:
    """An API record as crmsync's `Ours`.

    The version crmsync compares is the one the tap emits (`customcrm_client.sync_version`:
    `updated_at`, with a fingerprint for quotes), so a receipt can recognise our own write
    coming back (an echo). The API's integer `version`, which `If-Match` needs, travels in
    `extra`.
    """
    values = {key: plain(record.get(key)) for key in resource_of(entity).writable}
    external_ids = record.get("external_ids") or {}
    extra: dict[str, Any] = {"version": record.get("version")}
    if "quote_id" in record:
        extra["quote_id"] = record["quote_id"]
    updated_at = record.get("updated_at")
    return Ours(
        id=str(record["id"]),
        version=sync_version(resource_of(entity).stream, record) or str(record.get("version")),
        values=values,
        updated_at=updated_at,
        deleted=record.get("deleted_at") is not None,
        correlation_key=external_ids.get("crmsync"),
        extra=extra,
    )
