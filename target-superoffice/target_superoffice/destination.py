"""`SuperOfficeDestination`: crmsync's `Destination` for a SuperOffice tenant.

Routes each link entity to its reader/writer (entities.py for Person, Contact and Product,
quotes.py for the quote chain), translates the client's errors into crmsync's error tree, and
keeps crmsync's correlation keys on the records (correlation.py: in a user-defined field inside
the create when `correlation_field` is set, else as foreign keys right after it).

A create or update returns the record built from the write's own response; nothing is read
back (see entities.py and quotes.py for the one exception each: a version only the archive or
the Sale holds). A new quote's Sale carries the key as soon as it exists, so an interrupted
chain is resumed on that Sale, not duplicated.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from crmsync.destination import (
    AnswerLostError,
    Ours,
    RecordRejectedError,
    StaleVersionError,
    SystemicError,
)
from crmsync.normalise import normalise_key
from crmsync.priming import PrimedMatches
from superoffice_client import (
    ApiError,
    AuthenticationError,
    NotFoundError,
    SuperOfficeClient,
    UnavailableError,
    VersionConflictError,
    rows,
)
from superoffice_client import errors as client_errors
from superoffice_client.archive_rows import read_rows
from superoffice_client.fanout import each_at_once

from target_superoffice.correlation import CorrelationKeys, ForeignKeys
from target_superoffice.entities import (
    LOOK_ALIKE_FIELDS,
    PRIMED_KEYS,
    PRODUCTS,
    RESOURCES,
    Blanks,
    as_ours,
    find_candidates,
    holds_values,
    person_look_alikes,
)
from target_superoffice.payloads import UnknownListValueError
from target_superoffice.quotes import QuoteChain

__all__ = ["ForeignKeys", "SuperOfficeDestination", "translated_errors"]

log = logging.getLogger(__name__)

TABLES = {
    "company": "contact",
    "person": "person",
    "product": "product",
    "quote": "quotealternative",
    "quote_line": "quoteline",
}


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Client errors as crmsync's: per record, stale, or systemic."""
    try:
        yield
    except VersionConflictError as error:
        raise StaleVersionError(str(error)) from error
    except (AuthenticationError, UnavailableError) as error:
        raise SystemicError(str(error)) from error
    except client_errors.AnswerLostError as error:
        raise AnswerLostError(str(error)) from error
    except ApiError as error:
        raise RecordRejectedError(
            f"{error.error_type}: {error.message}", status=error.status
        ) from error
    except UnknownListValueError as error:
        raise RecordRejectedError(str(error)) from error


class SuperOfficeDestination:
    """SuperOffice as crmsync's destination; thread-safe (the client and caches are)."""

    system = "superoffice"

    def __init__(
        self,
        client: SuperOfficeClient,
        *,
        foreign_app: str = "crmsync",
        foreign_device: str = "target-superoffice",
        device_identifier: str = "default",
        correlation_field: str = "",
        concurrency: int = 4,
    ) -> None:
        self.client = client
        self.blanks = Blanks(client)
        self.quotes = QuoteChain(client, self.blanks)
        foreign = ForeignKeys(client, foreign_app, foreign_device, device_identifier)
        self.keys = CorrelationKeys(client, foreign, correlation_field)
        self.concurrency = max(1, concurrency)
        self.primed = PrimedMatches(PRIMED_KEYS)
        self._resumed_sales: dict[str, int | None] = {}
        """Correlation key -> the Sale an interrupted quote create left (find_by_correlation);
        None when its key was not found (the Sale may be there without it)."""
        self._lock = threading.Lock()

    def _read(self, entity: str, record_id: str) -> Ours | None:
        if entity == "quote":
            return self.quotes.read_quote(record_id)
        if entity == "quote_line":
            return self.quotes.read_line(record_id)
        if entity not in RESOURCES:
            raise ValueError(f"target-superoffice does not sync entity {entity!r}")
        return RESOURCES[entity].read(self.client, record_id)

    def fetch(self, entity: str, ids: Sequence[str]) -> dict[str, Ours]:
        """Companies, persons and products in one archive request per chunk of ids; quotes and
        lines (no archive of their own) after one Sale archive request that finds their sales,
        then a few agent calls each, `concurrency` at a time."""
        with translated_errors():
            resource = RESOURCES.get(entity)
            if resource is not None:
                found_rows = read_rows(self.client, resource.stream, ids) if ids else {}
                return {str(k): as_ours(row, resource.spec) for k, row in found_rows.items()}
            if entity == "quote":
                self.quotes.learn_sales(int(record_id) for record_id in ids)
                found = each_at_once(self.quotes.read_quote, ids, self.concurrency)
            elif entity == "quote_line":
                lines = [
                    line
                    for line in each_at_once(self.quotes.get_line, ids, self.concurrency)
                    if line
                ]
                self.quotes.learn_sales(int(line["QuoteAlternativeId"]) for line in lines)
                found = each_at_once(self.quotes.line_ours, lines, self.concurrency)
            else:
                raise ValueError(f"target-superoffice does not sync entity {entity!r}")
        return {ours.id: ours for ours in found if ours is not None}

    def match(self, entity: str, key: str, value: str) -> list[Ours]:
        resource = RESOURCES.get(entity)
        if resource is None:
            return []  # quotes and lines are never matched, only linked by creation
        primed = self.primed.answer(entity, key, value)
        if primed is not None:
            return primed
        with translated_errors():
            normaliser = self.primed.normalisers.get((entity, key))
            return find_candidates(self.client, resource, key, [value], 1, normaliser)

    def look_alikes(self, entity: str, values: Mapping[str, Any]) -> list[Ours]:
        """Persons and quote lines holding a create's values (`LOOK_ALIKE_FIELDS`): what a
        create left when its foreign key, saved in a second call, never was, and no match key
        (a person's e-mail; a line has none) can find it. crmsync links the one not linked."""
        fields = LOOK_ALIKE_FIELDS.get(entity)
        if fields is None:
            return []
        with translated_errors():
            if entity == "quote_line":
                found = self.quotes.lines_of(int(values["quoteAlternativeId"]))
            else:
                found = person_look_alikes(self.client, values)
        return [ours for ours in found if holds_values(ours, values, fields)]

    def known_matches(self, entity: str, key: str, value: str) -> list[Ours] | None:
        """What `match` would answer for `value` without a request: the primed answer."""
        return self.primed.answer(entity, key, value) if entity in RESOURCES else None

    def prime(self, entity: str, key: str, values: Sequence[str]) -> None:
        """Read a whole batch's match candidates (one archive query per 40 values,
        `concurrency` at once), so this batch's `match` calls cost no request (crmsync.priming
        says why they stay true: an update drops what it outdates)."""
        resource = RESOURCES.get(entity)
        if resource is None or not self.primed.can_prime(entity, key) or not values:
            return
        with translated_errors():
            normaliser = self.primed.normalisers[(entity, key)]
            found = find_candidates(
                self.client, resource, key, values, self.concurrency, normaliser
            )
        self.primed.keep(entity, key, values, found)

    def find_by_correlation(self, entity: str, correlation_key: str) -> Ours | None:
        """The record an interrupted create made. A quote is never returned: its key is on its
        Sale, whose chain may be half made; the Sale is kept so that `create` finishes that
        chain (crmsync calls `create` with the same key next) instead of starting another."""
        with translated_errors():
            if entity == "quote":
                sale_id = self.keys.find("sale", correlation_key)
                with self._lock:
                    self._resumed_sales[correlation_key] = sale_id or None
                return None
            record_id = self.keys.find(TABLES[entity], correlation_key)
            ours = self._read(entity, str(record_id)) if record_id else None
        return _with_key(ours, correlation_key) if ours else None

    def _create(self, entity: str, values: Mapping[str, Any], correlation_key: str) -> Ours:
        if entity == "quote":
            with self._lock:
                resumed = correlation_key in self._resumed_sales
                sale_id = self._resumed_sales.pop(correlation_key, None)
            if sale_id is None and resumed and not self.keys.in_create("sale"):
                # the key, a second call, may never have been saved: the Sale's look-alike
                sale_id = self.quotes.sale_without_quote(values)
                if sale_id is not None:
                    self.keys.save("sale", sale_id, correlation_key)
            if sale_id is None:
                sale = self.quotes.create_sale(values, self.keys.udefs("sale", correlation_key))
                sale_id = int(sale["SaleId"])
                self.keys.save("sale", sale_id, correlation_key)
                return self.quotes.create_quote(sale_id, values, resumed=False)
            return self.quotes.create_quote(sale_id, values, resumed=True)
        if entity == "quote_line":
            created = self.quotes.create_line(values)
        else:
            resource = RESOURCES[entity]
            udefs = self.keys.udefs(TABLES[entity], correlation_key)
            created = resource.create(self.client, self.blanks.get(resource.path), values, udefs)
            if entity == "product":
                self._key_product(created.values, int(created.id), correlation_key)
                return created
        self.keys.save(TABLES[entity], int(created.id), correlation_key)
        return created

    def _key_product(self, row: Mapping[str, Any], product_id: int, correlation_key: str) -> None:
        """A product without a code gets its correlation key as a foreign key. One with a code
        needs none: crmsync matches a resumed create by its match keys when the correlation
        key finds nothing, and the code is one, so the key's own call is spared."""
        if not normalise_key("code", row.get("code")):
            self.keys.save("product", product_id, correlation_key)

    def create_many(
        self, entity: str, items: Sequence[tuple[Mapping[str, Any], str]]
    ) -> list[Ours | RecordRejectedError | AnswerLostError]:
        """The creates one after another, as `create` makes them (SuperOffice has no batch
        create of entities; its Mass Operations API writes raw table rows as a system user,
        outside the rules of Person and Contact), so that crmsync claims and links a chunk of
        records at a time. New products' versions are read in one archive query for the chunk
        instead of one each."""
        if entity != "product":
            return [self._create_or_refusal(entity, values, key) for values, key in items]
        answers: list[Ours | RecordRejectedError | AnswerLostError | None] = [None] * len(items)
        posted: list[tuple[int, dict[str, Any], str]] = []
        blank = self.blanks.get(PRODUCTS.path)
        for index, (values, correlation_key) in enumerate(items):
            try:
                with translated_errors():
                    product = PRODUCTS.post(self.client, blank, values)
                    row = rows.product_row(product, None)
                    self._key_product(row, int(product["ProductId"]), correlation_key)
            except (RecordRejectedError, AnswerLostError) as error:
                answers[index] = error
                continue
            posted.append((index, product, correlation_key))
        if not posted:
            return [answer for answer in answers if answer is not None]
        with translated_errors():
            stored = PRODUCTS.as_stored(self.client, [product for _, product, _ in posted])
        for (index, _product, correlation_key), ours in zip(posted, stored, strict=True):
            answers[index] = _with_key(ours, correlation_key)
        return [answer for answer in answers if answer is not None]

    def _create_or_refusal(
        self, entity: str, values: Mapping[str, Any], correlation_key: str
    ) -> Ours | RecordRejectedError | AnswerLostError:
        try:
            return self.create(entity, values, correlation_key)
        except (RecordRejectedError, AnswerLostError) as error:
            return error

    def create(self, entity: str, values: Mapping[str, Any], correlation_key: str) -> Ours:
        """One POST (plus the key's own call where it cannot travel inside the POST)."""
        with translated_errors():
            created = self._create(entity, values, correlation_key)
        return _with_key(created, correlation_key)

    def update(self, entity: str, ours: Ours, changes: Mapping[str, Any]) -> Ours:
        with translated_errors():
            if entity == "quote":
                return self.quotes.update_quote(ours, changes)
            if entity == "quote_line":
                return self.quotes.update_line(ours, changes)
            updated = RESOURCES[entity].update(self.client, ours, changes)
        self.primed.forget(entity, updated.values)
        return updated

    def delete(self, entity: str, ours: Ours) -> None:
        """Delete the way SuperOffice does for each entity. A company or person already gone
        is deleted: a DELETE is sent again when its answer is lost, and then finds nothing."""
        with translated_errors():
            if entity in ("company", "person"):
                path = RESOURCES[entity].path
                with contextlib.suppress(NotFoundError):
                    self.client.request("DELETE", f"{path}/{int(ours.id)}")  # to the recycle bin
            elif entity == "product":
                RESOURCES["product"].update(self.client, ours, {"inAssortment": False})
            elif entity == "quote":
                self.quotes.lose_sale(ours)
            else:
                self.quotes.delete_line(ours)


def _with_key(ours: Ours, correlation_key: str) -> Ours:
    return Ours(
        ours.id,
        ours.version,
        ours.values,
        ours.updated_at,
        ours.deleted,
        correlation_key,
        ours.extra,
    )
