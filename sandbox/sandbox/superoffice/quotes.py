"""The Quote agent: Sale -> Quote -> QuoteVersion -> QuoteAlternative -> QuoteLine.

Method names follow `POST /api/v1/Agents/Quote/<Method>`. Decides how the chain is created,
how totals follow the lines, and what moves when something in the chain changes. The docs are
silent on the last point; the choice here: saving or deleting an alternative or a line moves
the alternative's and version's `Updated` and the owning Sale's `UpdatedDate`/`updatedDate`
(so a tap driving quotes from the Sale archive sees every change), and when the quote uses its
values (`UseValuesFromQuote`), the Sale's `Amount` follows the likely alternative's total.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import rules
from .errors import BadRequestError, NotFoundError
from .quote_shapes import (
    alternative_totals,
    blank_alternative,
    blank_line,
    blank_quote,
    blank_version,
    line_totals,
)
from .store import Row

if TYPE_CHECKING:
    from .models import SuperOfficeModel

__all__ = ["QuoteAgent"]

NAMES = {
    "quote": ("Quote", "QuoteId"),
    "quote_version": ("QuoteVersion", "QuoteVersionId"),
    "quote_alternative": ("QuoteAlternative", "QuoteAlternativeId"),
    "quote_line": ("QuoteLine", "QuoteLineId"),
}


def _id(body: Mapping[str, Any], name: str) -> int:
    value = next((v for k, v in body.items() if k.lower() == name.lower()), None)
    if value is None:
        raise BadRequestError(f"Parameter '{name}' is missing")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequestError(f"Parameter '{name}' must be an integer") from None


def _carrier(body: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A Save method's carrier, sent bare or wrapped as `{"<Name>": {...}}`."""
    wrapped = next((v for k, v in body.items() if k.lower() == name.lower()), None)
    return wrapped if isinstance(wrapped, Mapping) else body


class QuoteAgent:
    """The Quote agent of one tenant, working on the model's store."""

    def __init__(self, model: SuperOfficeModel) -> None:
        self.model = model
        self.store = model.store

    # -- plumbing --------------------------------------------------------------------------

    def _row(self, kind: str, record_id: int) -> Row:
        row = self.store.get(kind, record_id)
        if row is None:
            raise NotFoundError(f"{NAMES[kind][0]} id {record_id} not found")
        return row

    def _put(self, kind: str, body: dict[str, Any], parent: int, before: Row | None) -> Row:
        moment = self.model.clock.tick()
        record_id = before.id if before else self.store.next_id(kind)
        body[NAMES[kind][1]] = record_id
        if kind == "quote_version":
            body["Updated"], body["Registered"] = moment, before.created if before else moment
        created = before.created if before else moment
        row = Row(kind, record_id, parent, body, created, moment, None)
        self.store.put(row)
        return row

    def _remove(self, kind: str, record_id: int) -> None:
        """Hard delete, taking the record's foreign keys along."""
        self.store.remove(kind, record_id)
        self.model.foreign_keys.remove_record_keys(kind.replace("_", ""), record_id)

    def _sale_of_alternative(self, alternative_id: int) -> tuple[Row, Row, Row]:
        """(alternative, version, quote) rows; the quote's parent is the sale."""
        alternative = self._row("quote_alternative", alternative_id)
        version = self._row("quote_version", int(alternative.parent_id or 0))
        quote = self._row("quote", int(version.parent_id or 0))
        return alternative, version, quote

    def _changed(self, alternative_id: int) -> dict[str, Any]:
        """Recalculate the alternative from its lines, then move what a change moves."""
        alternative, version, quote = self._sale_of_alternative(alternative_id)
        body = dict(alternative.body)
        alternative_totals(
            body, [line.body for line in self.store.children("quote_line", alternative.id)]
        )
        saved = self._put("quote_alternative", body, version.id, alternative)
        self._put("quote_version", dict(version.body), quote.id, version)
        sale_id = int(quote.parent_id or 0)
        likely = version.body.get("LikelyQuoteAlternativeId") == alternative.id
        if quote.body.get("UseValuesFromQuote") and likely:
            self._set_sale_amount(sale_id, float(body["TotalPrice"]))
        self.model.touch("sale", sale_id)
        return saved.body

    def _set_sale_amount(self, sale_id: int, amount: float) -> None:
        sale = self.store.get("sale", sale_id)
        if sale is not None:
            body = {**sale.body, "Amount": amount}
            self.store.put(
                Row(sale.kind, sale.id, sale.parent_id, body, sale.created, sale.updated, None)
            )

    def _entity(self, quote: Row) -> dict[str, Any]:
        versions = []
        for version in self.store.children("quote_version", quote.id):
            alternatives = [a.body for a in self.store.children("quote_alternative", version.id)]
            versions.append({**version.body, "QuoteAlternatives": alternatives})
        return {**quote.body, "QuoteVersions": versions}

    # -- quotes ----------------------------------------------------------------------------

    def create_and_save_quote(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A quote on a sale, with its first version and first (empty) alternative."""
        sale_id = _id(body, "SaleId")
        with self.store.transaction():
            self.model.get_row("sale", sale_id)
            if self.store.children("quote", sale_id):
                raise BadRequestError(f"Sale id {sale_id} already has a quote")
            quote = {**blank_quote(), "SaleId": sale_id}
            connection = next((v for k, v in body.items() if k.lower() == "connectionid"), None)
            quote["QuoteConnectionId"] = int(connection or 1)
            quote_row = self._put("quote", quote, sale_id, None)
            version_row = self._put(
                "quote_version",
                {**blank_version(), "QuoteId": quote_row.id, "Number": "1"},
                quote_row.id,
                None,
            )
            name = next((v for k, v in body.items() if k.lower() == "firstalternativename"), None)
            alternative = {
                **blank_alternative(),
                "QuoteVersionId": version_row.id,
                "Name": str(name or "Alternative 1"),
            }
            rules.check_lengths("quote_alternative", alternative)
            alternative_row = self._put("quote_alternative", alternative, version_row.id, None)
            version = {**version_row.body, "LikelyQuoteAlternativeId": alternative_row.id}
            self._put("quote_version", version, quote_row.id, version_row)
            quote_row = self._put(
                "quote",
                {**quote_row.body, "ActiveQuoteVersionId": version_row.id},
                sale_id,
                quote_row,
            )
            self.model.touch("sale", sale_id)
            return self._entity(quote_row)

    def get_quote_entity(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._entity(self._row("quote", _id(body, "QuoteId")))

    def _quote_of_sale(self, body: Mapping[str, Any]) -> Row:
        sale_id = _id(body, "SaleId")
        found = self.store.children("quote", sale_id)
        if not found:
            raise NotFoundError(f"Quote for sale id {sale_id} not found")
        return found[0]

    def get_quote_from_sale_id(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The Quote carrier (without versions) of a sale."""
        return dict(self._quote_of_sale(body).body)

    def get_quote_entity_from_sale_id(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._entity(self._quote_of_sale(body))

    def get_quote_version(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._version(self._row("quote_version", _id(body, "QuoteVersionId")))

    def _version(self, version: Row) -> dict[str, Any]:
        alternatives = [a.body for a in self.store.children("quote_alternative", version.id)]
        return {**version.body, "QuoteAlternatives": alternatives}

    def get_quote_versions(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        quote = self._row("quote", _id(body, "QuoteId"))
        return [self._version(v) for v in self.store.children("quote_version", quote.id)]

    def save_quote_version(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Update a version (or add one to `QuoteId` when the id is 0); the Sale moves."""
        given = rules.overlay(blank_version(), _carrier(body, "QuoteVersion"))
        for field in ("ExpirationDate", "SentDate", "ApprovedRegisteredDate"):
            given[field] = rules.normalise_date(field, given[field])
        with self.store.transaction():
            before = None
            if given["QuoteVersionId"]:
                before = self._row("quote_version", int(given["QuoteVersionId"]))
                given["QuoteId"] = before.parent_id
                given["Registered"] = before.body.get("Registered")
            quote = self._row("quote", int(given["QuoteId"] or 0))
            likely = int(given["LikelyQuoteAlternativeId"] or 0)
            if (
                likely
                and self._row("quote_alternative", likely).parent_id != given["QuoteVersionId"]
            ):
                raise BadRequestError(f"QuoteAlternative id {likely} is not in this version")
            row = self._put("quote_version", given, quote.id, before)
            self.model.touch("sale", int(quote.parent_id or 0))
            return self._version(row)

    # -- alternatives ----------------------------------------------------------------------

    def get_quote_alternative(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._row("quote_alternative", _id(body, "QuoteAlternativeId")).body)

    def get_quote_alternatives(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        version = self._row("quote_version", _id(body, "QuoteVersionId"))
        return [a.body for a in self.store.children("quote_alternative", version.id)]

    def create_quote_alternative(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """A new, saved alternative in a version (name and description as given)."""
        version_id = _id(body, "QuoteVersionId")
        values = {k.lower(): v for k, v in body.items()}
        with self.store.transaction():
            version = self._row("quote_version", version_id)
            alternative = {
                **blank_alternative(),
                "QuoteVersionId": version_id,
                "Name": str(values.get("quotealternativename") or ""),
                "Description": str(values.get("quotealternativedescription") or ""),
            }
            rules.check_lengths("quote_alternative", alternative)
            row = self._put("quote_alternative", alternative, version.id, None)
            return self._changed(row.id)

    def save_quote_alternative(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create (id 0) or update an alternative; totals are recalculated from its lines."""
        given = rules.overlay(blank_alternative(), _carrier(body, "QuoteAlternative"))
        rules.check_lengths("quote_alternative", given)
        with self.store.transaction():
            before = None
            if given["QuoteAlternativeId"]:
                before = self._row("quote_alternative", int(given["QuoteAlternativeId"]))
                given["QuoteVersionId"] = before.parent_id
            version = self._row("quote_version", int(given["QuoteVersionId"] or 0))
            row = self._put("quote_alternative", given, version.id, before)
            return self._changed(row.id)

    def delete_quote_alternative(self, body: Mapping[str, Any]) -> None:
        alternative_id = _id(body, "QuoteAlternativeId")
        with self.store.transaction():
            _, version, quote = self._sale_of_alternative(alternative_id)
            for line in self.store.children("quote_line", alternative_id):
                self._remove("quote_line", line.id)
            self._remove("quote_alternative", alternative_id)
            if version.body.get("LikelyQuoteAlternativeId") == alternative_id:
                remaining = self.store.children("quote_alternative", version.id)
                likely = remaining[0].id if remaining else 0
                self._put(
                    "quote_version",
                    {**version.body, "LikelyQuoteAlternativeId": likely},
                    quote.id,
                    version,
                )
            self.model.touch("sale", int(quote.parent_id or 0))

    # -- lines -----------------------------------------------------------------------------

    def get_quote_lines(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        alternative = self._row("quote_alternative", _id(body, "QuoteAlternativeId"))
        return [line.body for line in self.store.children("quote_line", alternative.id)]

    def get_quote_line(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._row("quote_line", _id(body, "QuoteLineId")).body)

    def create_quote_line(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """An unsaved line (QuoteLineId 0) filled from the product with that ERP key."""
        alternative = self._row("quote_alternative", _id(body, "QuoteAlternativeId"))
        key = str(next((v for k, v in body.items() if k.lower() == "erpproductkey"), "") or "")
        line = {**blank_line(), "QuoteAlternativeId": alternative.id, "ERPProductKey": key}
        product = self.model.find_product_by_erp_key(key) if key else None
        if key and product is None:
            raise NotFoundError(f"Product with ERPProductKey '{key[:80]}' not found")
        if product:
            for field in ("Name", "Description", "Code", "ItemNumber", "Url", "QuantityUnit",
                          "PriceUnit", "UnitCost", "UnitMinimumPrice", "UnitListPrice", "VAT",
                          "VATInfo", "IsSubscription", "SubscriptionUnit"):  # fmt: skip
                line[field] = product[field]
        line["Rank"] = len(self.store.children("quote_line", alternative.id)) + 1
        line_totals(line)
        return line

    def save_quote_line(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create (id 0) or update a line; its alternative's totals follow."""
        given = rules.overlay(blank_line(), _carrier(body, "QuoteLine"))
        with self.store.transaction():
            before = None
            if given["QuoteLineId"]:
                before = self._row("quote_line", int(given["QuoteLineId"]))
                given["QuoteAlternativeId"] = before.parent_id
            alternative = self._row("quote_alternative", int(given["QuoteAlternativeId"] or 0))
            line_totals(given)
            row = self._put("quote_line", given, alternative.id, before)
            self._changed(alternative.id)
            return row.body

    def delete_quote_line(self, body: Mapping[str, Any]) -> None:
        line = self._row("quote_line", _id(body, "QuoteLineId"))
        with self.store.transaction():
            self._remove("quote_line", line.id)
            self._changed(int(line.parent_id or 0))

    def remove_quotes_of_sale(self, sale_id: int) -> None:
        """A deleted sale takes its whole quote chain with it."""
        for quote in self.store.children("quote", sale_id):
            for version in self.store.children("quote_version", quote.id):
                for alternative in self.store.children("quote_alternative", version.id):
                    for line in self.store.children("quote_line", alternative.id):
                        self._remove("quote_line", line.id)
                    self._remove("quote_alternative", alternative.id)
                self.store.remove("quote_version", version.id)
            self.store.remove("quote", quote.id)
