"""Quotes through the Quote agent: a `quote` link is a QuoteAlternative inside
Sale → Quote → QuoteVersion, and a `quote_line` link is one of its QuoteLines.

There is no REST resource for alternatives (superoffice-api.md §5.4): reads walk the chain
(GetQuoteAlternative → GetQuoteVersion → GetQuoteEntity → Sale), a create builds it
(POST Sale → CreateAndSaveQuote → SaveQuoteVersion → SaveQuoteAlternative), updates write each
part that changed (PATCH Sale, SaveQuoteVersion, SaveQuoteAlternative, SaveQuoteLine). A quote's
version is its Sale's UpdatedDate, exactly as the tap emits it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from crmsync.destination import Ours
from superoffice_client import NotFoundError, SuperOfficeClient, rows
from superoffice_client.patch import merge_patch
from superoffice_client.query import ArchiveQuery, equals

from target_superoffice import payloads
from target_superoffice.entities import as_ours, unmodified_since

__all__ = ["QuoteChain"]

Entity = dict[str, Any]


class QuoteChain:
    """Reads and writes alternatives and lines; caches ids that never change (thread-safe)."""

    def __init__(self, client: SuperOfficeClient) -> None:
        self.client = client
        self._sale_of_quote: dict[int, int] = {}
        self._erp_keys: dict[int, str | None] = {}
        self._product_ids: dict[str, int | None] = {}
        self._lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------

    def _agent(self, operation: str, body: Any = None, **params: Any) -> Any:
        return self.client.agent(f"Quote/{operation}", body, params=params or None)

    def _cached(self, cache: dict[Any, Any], key: Any, load: Callable[[], Any]) -> Any:
        with self._lock:
            if key in cache:
                return cache[key]
        value = load()
        with self._lock:
            cache[key] = value
        return value

    def sale_id(self, quote_id: int) -> int:
        return int(
            self._cached(
                self._sale_of_quote,
                quote_id,
                lambda: self._agent("GetQuoteEntity", {"QuoteId": quote_id})["SaleId"],
            )
        )

    def _parts(self, alternative_id: int) -> tuple[Entity, Entity, Entity, Entity] | None:
        """(alternative, version, quote, sale) of an alternative, or None when it is gone."""
        try:
            alternative = self._agent("GetQuoteAlternative", quoteAlternativeId=alternative_id)
            if not alternative or not alternative.get("QuoteAlternativeId"):
                return None
            version = self._agent(
                "GetQuoteVersion", {"QuoteVersionId": alternative["QuoteVersionId"]}
            )
            quote_id = int(version["QuoteId"])
            sale = self.client.get_json(f"Sale/{self.sale_id(quote_id)}")
        except NotFoundError:
            return None
        quote = {"QuoteId": quote_id, "SaleId": sale["SaleId"]}
        return alternative, version, quote, sale

    def read_quote(self, alternative_id: str) -> Ours | None:
        parts = self._parts(int(alternative_id))
        if parts is None:
            return None
        alternative, version, quote, sale = parts
        row = rows.quote_alternative_row(alternative, version, quote, sale)
        extra = {"alternative": alternative, "version": version, "sale": sale}
        return as_ours(row, rows.STREAMS["quote_alternatives"], extra)

    def product_id(self, erp_key: str | None) -> int | None:
        if not erp_key:
            return None

        def load() -> int | None:
            query = ArchiveQuery(
                select=("productId",), filter=equals("erpProductKey", erp_key), top=1
            )
            found = self.client.archive_page("Product", query)
            return int(found[0]["productId"]) if found else None

        found: int | None = self._cached(self._product_ids, erp_key, load)
        return found

    def erp_key(self, product_id: Any) -> str | None:
        if product_id in (None, ""):
            return None
        key = int(product_id)
        found: str | None = self._cached(
            self._erp_keys, key, lambda: self.client.get_json(f"Product/{key}").get("ERPProductKey")
        )
        return found

    def _line_ours(self, line: Mapping[str, Any]) -> Ours | None:
        parts = self._parts(int(line["QuoteAlternativeId"]))
        if parts is None:
            return None
        sale = parts[3]
        row = rows.quote_line_row(
            line, self.product_id(line.get("ERPProductKey")), sale.get("UpdatedDate")
        )
        return as_ours(row, rows.STREAMS["quote_lines"], {"line": dict(line)})

    def read_line(self, line_id: str) -> Ours | None:
        try:
            line = self._agent("GetQuoteLine", {"QuoteLineId": int(line_id)})
        except NotFoundError:
            return None
        if not line or not line.get("QuoteLineId"):
            return None
        return self._line_ours(line)

    # -- writing ---------------------------------------------------------------------------

    def create_sale(self, values: Mapping[str, Any]) -> Entity:
        """POST Sale: the head of a new quote chain."""
        changes = dict(values)
        changes.setdefault("heading", values.get("name") or "Quote")
        body = payloads.sale_payload(self.client.get_json("Sale/default"), changes)
        sale: Entity = self.client.request("POST", "Sale", json=body).json()
        return sale

    def create_quote(self, sale: Mapping[str, Any], values: Mapping[str, Any]) -> str:
        """CreateAndSaveQuote on `sale`, then version and alternative values; the alternative id."""
        quote = self._agent(
            "CreateAndSaveQuote",
            {
                "SaleId": sale["SaleId"],
                "ConnectionId": 1,
                "FirstAlternativeName": values.get("name") or "",
            },
        )
        version = dict(quote["QuoteVersions"][0])
        alternative = dict(version["QuoteAlternatives"][0])
        if values.get("expirationDate"):
            self._agent(
                "SaveQuoteVersion",
                payloads.quote_version_payload(_without_children(version), values),
            )
        saved = self._agent(
            "SaveQuoteAlternative", payloads.quote_alternative_payload(alternative, values)
        )
        return str(saved["QuoteAlternativeId"])

    def update_quote(self, ours: Ours, changes: Mapping[str, Any]) -> None:
        """Write each part of the chain whose columns changed, the Sale (the version) first."""
        sale = ours.extra.get("sale") or {}
        if changes.keys() & payloads.SALE_COLUMNS:
            patch = merge_patch(sale, payloads.sale_payload(sale, changes))
            if patch:
                self.client.request(
                    "PATCH",
                    f"Sale/{int(sale['SaleId'])}",
                    json=patch,
                    headers=unmodified_since(ours.version),
                )
        if changes.keys() & payloads.VERSION_COLUMNS:
            version = _without_children(ours.extra["version"])
            self._agent("SaveQuoteVersion", payloads.quote_version_payload(version, changes))
        if changes.keys() & payloads.ALTERNATIVE_COLUMNS:
            alternative = ours.extra["alternative"]
            self._agent(
                "SaveQuoteAlternative", payloads.quote_alternative_payload(alternative, changes)
            )

    def lose_sale(self, ours: Ours) -> None:
        """A quote's soft delete: its sale is marked Lost (alternatives have no delete flag)."""
        sale_id = int(ours.extra["sale"]["SaleId"])
        self.client.request("PATCH", f"Sale/{sale_id}", json={"Status": "Lost"})

    def create_line(self, values: Mapping[str, Any]) -> str:
        """CreateQuoteLine from the product's ERP key, then SaveQuoteLine with the row's values."""
        alternative_id = int(values["quoteAlternativeId"])
        erp_key = self.erp_key(values.get("productId")) or ""
        line = self._agent(
            "CreateQuoteLine", {"QuoteAlternativeId": alternative_id, "ERPProductKey": erp_key}
        )
        line = dict(line)
        line["QuoteAlternativeId"] = alternative_id
        saved = self._agent("SaveQuoteLine", payloads.line_payload(line, values, erp_key or None))
        return str(saved["QuoteLineId"])

    def update_line(self, ours: Ours, changes: Mapping[str, Any]) -> None:
        erp_key = self.erp_key(changes["productId"]) if "productId" in changes else None
        self._agent("SaveQuoteLine", payloads.line_payload(ours.extra["line"], changes, erp_key))

    def delete_line(self, ours: Ours) -> None:
        self._agent("DeleteQuoteLine", {"QuoteLineId": int(ours.id)})


def _without_children(version: Mapping[str, Any]) -> Entity:
    return {key: value for key, value in version.items() if key != "QuoteAlternatives"}
