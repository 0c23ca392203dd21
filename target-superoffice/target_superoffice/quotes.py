"""Quotes through the Quote agent: a `quote` link is a QuoteAlternative inside
Sale → Quote → QuoteVersion, and a `quote_line` link is one of its QuoteLines.

There is no REST resource for alternatives (superoffice-api.md §5.4): reads walk the chain
(GetQuoteAlternative → GetQuoteVersion → GetQuoteEntity → Sale), a create builds it
(POST Sale → CreateAndSaveQuote → SaveQuoteVersion → SaveQuoteAlternative), updates write each
part that changed (PATCH Sale, SaveQuoteVersion, SaveQuoteAlternative, SaveQuoteLine). A quote's
version is its Sale's UpdatedDate, exactly as the tap emits it.

A write is not read back: each agent call answers with the part it saved, so the record is
built from those answers. Only the Sale's `UpdatedDate` (every save in the chain moves it) is
read once after the last write, unless that write was the Sale's own PATCH. Ids that never
change (quote -> sale, alternative -> sale, ERP key <-> product) are cached for the run.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from crmsync.destination import Ours, RecordRejectedError
from superoffice_client import ApiError, NotFoundError, SuperOfficeClient, rows
from superoffice_client.patch import merge_patch
from superoffice_client.query import ArchiveQuery, all_of, equals, one_of

from target_superoffice import payloads
from target_superoffice.entities import Blanks, as_ours, unmodified_since

__all__ = ["QuoteChain"]

log = logging.getLogger(__name__)

Entity = dict[str, Any]
Parts = tuple[Entity, Entity, Entity, Entity]
CHUNK = 200
QUOTES = rows.STREAMS["quote_alternatives"]
LINES = rows.STREAMS["quote_lines"]


class QuoteChain:
    """Reads and writes alternatives and lines; caches ids that never change (thread-safe)."""

    def __init__(self, client: SuperOfficeClient, blanks: Blanks | None = None) -> None:
        self.client = client
        self.blanks = blanks or Blanks(client)
        self._sale_of_quote: dict[int, int] = {}
        self._sale_of_alternative: dict[int, int] = {}
        self._erp_keys: dict[int, str | None] = {}
        self._product_ids: dict[str, int | None] = {}
        self._currencies: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    # -- reading ---------------------------------------------------------------------------

    def _agent(self, operation: str, body: Any = None, **params: Any) -> Any:
        return self.client.agent(f"Quote/{operation}", body, params=params or None)

    def _agent_create(self, operation: str, body: Any) -> Any:
        """An agent call that creates: not sent again once it may have reached the server."""
        return self.client.agent(f"Quote/{operation}", body, replayable=False)

    def _cached(self, cache: dict[Any, Any], key: Any, load: Callable[[], Any]) -> Any:
        with self._lock:
            if key in cache:
                return cache[key]
        value = load()
        with self._lock:
            cache[key] = value
        return value

    def currencies(self) -> dict[str, int]:
        """The tenant's currency list, code → id (`GET MDOList/currency`), read once."""

        def load() -> dict[str, int]:
            items = self.client.get_json("MDOList/currency") or []
            return {str(item["Name"]).strip().upper(): int(item["Id"]) for item in items}

        found: dict[str, int] = self._cached(self._currencies, "currency", load)
        return found

    def _currencies_for(self, changes: Mapping[str, Any]) -> dict[str, int] | None:
        """The currency list, only when these changes set a currency (else no request)."""
        return self.currencies() if changes.get("currency") else None

    def sale_id(self, quote_id: int) -> int:
        return int(
            self._cached(
                self._sale_of_quote,
                quote_id,
                lambda: self._agent("GetQuoteEntity", {"QuoteId": quote_id})["SaleId"],
            )
        )

    def _parts(self, alternative_id: int) -> Parts | None:
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
        self._remember(alternative_id, int(sale["SaleId"]))
        return alternative, version, quote, sale

    def _remember(self, alternative_id: int, sale_id: int) -> None:
        with self._lock:
            self._sale_of_alternative[alternative_id] = sale_id

    def _sale_of(self, alternative_id: int) -> Entity | None:
        """The current Sale of an alternative: one GET when the alternative's sale is known
        (cached), otherwise by walking the chain; None when it is gone."""
        with self._lock:
            known = self._sale_of_alternative.get(alternative_id)
        if known is None:
            parts = self._parts(alternative_id)
            return parts[3] if parts else None
        try:
            sale: Entity = self.client.get_json(f"Sale/{known}")
        except NotFoundError:
            return None
        return sale

    def learn_sales(self, alternative_ids: Iterable[int]) -> None:
        """Learn the sales of many alternatives with one Sale archive request per chunk
        (`quote/version/alternative/quoteAlternativeId oneOf (...)`), so that each is then read
        with two calls instead of a walk of four. Best effort: an archive that refuses the
        filter, or an alternative outside the active version, leaves the walk."""
        with self._lock:
            missing = sorted({int(a) for a in alternative_ids} - self._sale_of_alternative.keys())
        column = "quote/version/alternative/quoteAlternativeId"
        for start in range(0, len(missing), CHUNK):
            part = missing[start : start + CHUNK]
            query = ArchiveQuery(
                select=("saleId", "quote/quoteId", column),
                filter=one_of(column, part),
                top=len(part) + 1,
            )
            try:
                found = self.client.archive_page("Sale", query)
            except ApiError as error:
                log.info("Sale archive refused %s: reading alternatives one by one", error)
                return
            for row in found:
                if row.get(column) and row.get("saleId"):
                    self._remember(int(row[column]), int(row["saleId"]))

    def _parts_on_sale(self, alternative_id: int, sale_id: int) -> Parts | None:
        """(alternative, version, quote, sale) from the sale's quote entity, None if not there."""
        try:
            quote = self._agent("GetQuoteEntityFromSaleId", {"SaleId": sale_id})
        except NotFoundError:
            return None
        for version in (quote or {}).get("QuoteVersions") or []:
            for alternative in version.get("QuoteAlternatives") or []:
                if alternative.get("QuoteAlternativeId") == alternative_id:
                    try:
                        sale = self.client.get_json(f"Sale/{sale_id}")
                    except NotFoundError:
                        return None
                    return alternative, version, {"QuoteId": quote["QuoteId"]}, sale
        return None

    def read_quote(self, alternative_id: str) -> Ours | None:
        with self._lock:
            sale_id = self._sale_of_alternative.get(int(alternative_id))
        parts = self._parts_on_sale(int(alternative_id), sale_id) if sale_id else None
        parts = parts or self._parts(int(alternative_id))
        if parts is None:
            return None
        alternative, version, quote, sale = parts
        return _quote_ours(alternative, version, quote, sale)

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

    def line_ours(self, line: Mapping[str, Any]) -> Ours | None:
        sale = self._sale_of(int(line["QuoteAlternativeId"]))
        if sale is None:
            return None
        return self._line(line, self.product_id(line.get("ERPProductKey")), sale)

    @staticmethod
    def _line(line: Mapping[str, Any], product_id: int | None, sale: Mapping[str, Any]) -> Ours:
        row = rows.quote_line_row(line, product_id, sale.get("UpdatedDate"))
        return as_ours(row, LINES, {"line": dict(line), "saleId": int(sale["SaleId"])})

    def lines_of(self, alternative_id: int) -> list[Ours]:
        """The lines of one quote alternative (one GetQuoteLines call)."""
        lines = self._agent("GetQuoteLines", {"QuoteAlternativeId": alternative_id}) or []
        found = (self.line_ours(line) for line in lines)
        return [ours for ours in found if ours is not None]

    def get_line(self, line_id: str) -> Entity | None:
        """The QuoteLine carrier, or None when it is gone."""
        try:
            line: Entity | None = self._agent("GetQuoteLine", {"QuoteLineId": int(line_id)})
        except NotFoundError:
            return None
        return line if line and line.get("QuoteLineId") else None

    def read_line(self, line_id: str) -> Ours | None:
        line = self.get_line(line_id)
        return self.line_ours(line) if line else None

    # -- writing ---------------------------------------------------------------------------

    def sale_without_quote(self, values: Mapping[str, Any]) -> int | None:
        """The Sale a quote create made when its key never got saved (a kill, or the POST's
        answer lost): the company's one Sale with the heading `create_sale` gives and no quote
        yet (one Sale archive request). None for none, or for two or more."""
        heading = str(_heading(values) or "")
        restriction = all_of(
            equals("heading", heading),
            equals("contactId", int(values["contactId"])) if values.get("contactId") else None,
        )
        query = ArchiveQuery(select=("saleId", "heading", "hasQuote"), filter=restriction, top=20)
        found = {
            int(row["saleId"])
            for row in self.client.archive_page("Sale", query)
            if (row.get("heading") or "") == heading
            and str(row.get("hasQuote")).lower() in ("false", "0", "none", "")
        }
        return found.pop() if len(found) == 1 else None

    def create_sale(self, values: Mapping[str, Any], udefs: Mapping[str, Any]) -> Entity:
        """POST Sale: the head of a new quote chain, carrying `udefs` (the correlation key)."""
        changes = dict(values)
        changes["heading"] = _heading(values)
        body = payloads.sale_payload(
            self.blanks.get("Sale"), changes, self._currencies_for(changes)
        )
        if udefs:
            body["CustomFields"] = {**(body.get("CustomFields") or {}), **udefs}
        sale: Entity = self.client.request("POST", "Sale", json=body).json()
        return sale

    def _quote_of_sale(self, sale_id: int) -> Entity | None:
        """The quote a resumed create already made on its sale, or None."""
        try:
            found: Entity | None = self._agent("GetQuoteEntityFromSaleId", {"SaleId": sale_id})
        except NotFoundError:
            return None
        return found if found and found.get("QuoteVersions") else None

    def create_quote(self, sale_id: int, values: Mapping[str, Any], resumed: bool) -> Ours:
        """The quote, version and alternative on `sale_id`; a resumed create first takes the
        quote an interrupted run made there, and saves its values again (saves are idempotent)."""
        quote = self._quote_of_sale(sale_id) if resumed else None
        if quote is None:
            quote = self._agent_create(
                "CreateAndSaveQuote",
                {
                    "SaleId": sale_id,
                    "ConnectionId": 1,
                    "FirstAlternativeName": values.get("name") or "",
                },
            )
        version = _without_children(quote["QuoteVersions"][0])
        alternative = dict(quote["QuoteVersions"][0]["QuoteAlternatives"][0])
        wanted = payloads.quote_version_payload(version, values)
        if wanted != version:
            version = self._agent("SaveQuoteVersion", wanted)
        wanted = payloads.quote_alternative_payload(alternative, values)
        if wanted != alternative:
            alternative = self._agent("SaveQuoteAlternative", wanted)
        with self._lock:
            self._sale_of_quote[int(quote["QuoteId"])] = sale_id
        self._remember(int(alternative["QuoteAlternativeId"]), sale_id)
        sale = self.client.get_json(f"Sale/{sale_id}")  # the chain's saves moved its version
        return _quote_ours(alternative, version, {"QuoteId": quote["QuoteId"]}, sale)

    def update_quote(self, ours: Ours, changes: Mapping[str, Any]) -> Ours:
        """Write each part of the chain whose columns changed, the Sale (the version) first."""
        sale: Entity = dict(ours.extra.get("sale") or {})
        version: Entity = _without_children(ours.extra["version"])
        alternative: Entity = dict(ours.extra["alternative"])
        sale_is_current = False
        if changes.keys() & payloads.SALE_COLUMNS:
            wanted = payloads.sale_payload(sale, changes, self._currencies_for(changes))
            patch = merge_patch(sale, wanted)
            if patch:
                sale = self.client.request(
                    "PATCH",
                    f"Sale/{int(sale['SaleId'])}",
                    json=patch,
                    headers=unmodified_since(ours.version),
                ).json()
                sale_is_current = True
        if changes.keys() & payloads.VERSION_COLUMNS:
            payload = payloads.quote_version_payload(version, changes)
            version = self._agent("SaveQuoteVersion", payload)
            sale_is_current = False
        if changes.keys() & payloads.ALTERNATIVE_COLUMNS:
            payload = payloads.quote_alternative_payload(alternative, changes)
            alternative = self._agent("SaveQuoteAlternative", payload)
            sale_is_current = False
        if not sale_is_current:
            sale = self.client.get_json(f"Sale/{int(sale['SaleId'])}")
        quote = {"QuoteId": version.get("QuoteId") or ours.values.get("quoteId")}
        return _quote_ours(alternative, version, quote, sale)

    def lose_sale(self, ours: Ours) -> None:
        """A quote's soft delete: its sale is marked Lost (alternatives have no delete flag)."""
        sale_id = int(ours.extra["sale"]["SaleId"])
        self.client.request("PATCH", f"Sale/{sale_id}", json={"Status": "Lost"})

    def create_line(self, values: Mapping[str, Any]) -> Ours:
        """CreateQuoteLine from the product's ERP key (an unsaved line), then SaveQuoteLine with
        the row's values (id 0: the save creates it)."""
        alternative_id = int(values["quoteAlternativeId"])
        erp_key = self.erp_key(values.get("productId")) or ""
        line = self._agent(
            "CreateQuoteLine", {"QuoteAlternativeId": alternative_id, "ERPProductKey": erp_key}
        )
        line = dict(line)
        line["QuoteAlternativeId"] = alternative_id
        payload = payloads.line_payload(line, values, erp_key or None)
        saved = self._agent_create("SaveQuoteLine", payload)
        product_id = int(values["productId"]) if erp_key else None
        return self._saved_line(saved, alternative_id, product_id)

    def update_line(self, ours: Ours, changes: Mapping[str, Any]) -> Ours:
        erp_key = self.erp_key(changes["productId"]) if "productId" in changes else None
        payload = payloads.line_payload(ours.extra["line"], changes, erp_key)
        saved = self._agent("SaveQuoteLine", payload)
        if "productId" in changes:
            product_id = int(changes["productId"]) if erp_key else None
        else:
            product_id = ours.values.get("productId")
        return self._saved_line(saved, int(saved["QuoteAlternativeId"]), product_id)

    def _saved_line(self, line: Entity, alternative_id: int, product_id: Any) -> Ours:
        """A saved line as ours; its version is its sale's UpdatedDate, which the save moved."""
        line = {**line, "QuoteAlternativeId": line.get("QuoteAlternativeId") or alternative_id}
        sale = self._sale_of(alternative_id)
        if sale is None:
            raise RecordRejectedError(f"quote alternative {alternative_id} is gone")
        return self._line(line, int(product_id) if product_id else None, sale)

    def delete_line(self, ours: Ours) -> None:
        """A line already gone is deleted (a delete sent again after its answer was lost)."""
        with contextlib.suppress(NotFoundError):
            self._agent("DeleteQuoteLine", {"QuoteLineId": int(ours.id)})


def _heading(values: Mapping[str, Any]) -> Any:
    """A new Sale's heading: the quote's heading when it has the column, else its name."""
    return values["heading"] if "heading" in values else values.get("name") or "Quote"


def _quote_ours(
    alternative: Mapping[str, Any],
    version: Mapping[str, Any],
    quote: Mapping[str, Any],
    sale: Mapping[str, Any],
) -> Ours:
    quote = {"QuoteId": quote["QuoteId"], "SaleId": sale["SaleId"]}
    row = rows.quote_alternative_row(alternative, version, quote, sale)
    extra = {"alternative": dict(alternative), "version": dict(version), "sale": dict(sale)}
    return as_ours(row, QUOTES, extra)


def _without_children(version: Mapping[str, Any]) -> Entity:
    return {key: value for key, value in version.items() if key != "QuoteAlternatives"}
