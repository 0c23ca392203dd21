"""`SuperOfficeDestination`: crmsync's `Destination` for a SuperOffice tenant.

Routes each link entity to its reader/writer (entities.py for Person, Contact and Product,
quotes.py for the quote chain), translates the client's errors into crmsync's error tree, and
keeps crmsync's correlation keys on the records as foreign keys.

Correlation keys are foreign keys (`POST ForeignApp/{app}/{device}/{id}/Key`, reverse lookup
`GET ForeignApp/{app}/{device}/Key/{name}/{table}?keyValue=`) rather than user-defined fields:
both the real API and the emulator support them on any table, they need no admin-created and
published udef field (nor a Development Tools licence) in the customer's tenant, and a reverse
lookup by value is a single documented call. The key is written right after the create; a new
quote's Sale carries it as soon as it exists, so an interrupted chain is resumed, not duplicated.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from crmsync.destination import Ours, RecordRejectedError, StaleVersionError, SystemicError
from superoffice_client import (
    ApiError,
    AuthenticationError,
    NotFoundError,
    SuperOfficeClient,
    UnavailableError,
    VersionConflictError,
)

from target_superoffice.entities import RESOURCES, find_ids
from target_superoffice.payloads import UnknownCountryError
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
KEY_NAME = "crmsync"


@contextlib.contextmanager
def translated_errors() -> Iterator[None]:
    """Client errors as crmsync's: per record, stale, or systemic."""
    try:
        yield
    except VersionConflictError as error:
        raise StaleVersionError(str(error)) from error
    except (AuthenticationError, UnavailableError) as error:
        raise SystemicError(str(error)) from error
    except ApiError as error:
        raise RecordRejectedError(
            f"{error.error_type}: {error.message}", status=error.status
        ) from error
    except UnknownCountryError as error:
        raise RecordRejectedError(str(error)) from error


class ForeignKeys:
    """crmsync's correlation keys stored on SuperOffice records as foreign keys."""

    def __init__(self, client: SuperOfficeClient, app: str, device: str, identifier: str) -> None:
        self.client = client
        self.app, self.device, self.identifier = app, device, identifier

    def save(self, table: str, record_id: int, value: str) -> None:
        body = {"Key": KEY_NAME, "Value": value, "RecordId": record_id, "TableName": table}
        path = f"ForeignApp/{self.app}/{self.device}/{self.identifier}/Key"
        self.client.request("POST", path, json=body)

    def find(self, table: str, value: str) -> int | None:
        path = f"ForeignApp/{self.app}/{self.device}/Key/{KEY_NAME}/{table}"
        try:
            found = self.client.request("GET", path, params={"keyValue": value})
        except NotFoundError:
            return None
        body = found.json() if found.content else None
        if not isinstance(body, Mapping) or not body.get("RecordId"):
            return None
        return int(body["RecordId"])


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
        concurrency: int = 4,
    ) -> None:
        self.client = client
        self.quotes = QuoteChain(client)
        self.keys = ForeignKeys(client, foreign_app, foreign_device, device_identifier)
        self.concurrency = max(1, concurrency)

    def _read(self, entity: str, record_id: str) -> Ours | None:
        if entity == "quote":
            return self.quotes.read_quote(record_id)
        if entity == "quote_line":
            return self.quotes.read_line(record_id)
        if entity not in RESOURCES:
            raise ValueError(f"target-superoffice does not sync entity {entity!r}")
        return RESOURCES[entity].read(self.client, record_id)

    def fetch(self, entity: str, ids: Sequence[str]) -> dict[str, Ours]:
        with translated_errors():
            if len(ids) <= 1 or self.concurrency == 1:
                found = [self._read(entity, record_id) for record_id in ids]
            else:
                with ThreadPoolExecutor(max_workers=min(self.concurrency, len(ids))) as pool:
                    found = list(pool.map(lambda record_id: self._read(entity, record_id), ids))
        return {ours.id: ours for ours in found if ours is not None}

    def match(self, entity: str, key: str, value: str) -> list[Ours]:
        resource = RESOURCES.get(entity)
        if resource is None:
            return []  # quotes and lines are never matched, only linked by creation
        with translated_errors():
            ids = find_ids(self.client, resource, key, value)
        return list(self.fetch(entity, ids).values())

    def find_by_correlation(self, entity: str, correlation_key: str) -> Ours | None:
        with translated_errors():
            record_id = self.keys.find(TABLES[entity], correlation_key)
            ours = self._read(entity, str(record_id)) if record_id else None
        return _with_key(ours, correlation_key) if ours else None

    def _create(self, entity: str, values: Mapping[str, Any], correlation_key: str) -> str:
        if entity == "quote":
            sale_id = self.keys.find("sale", correlation_key)
            sale = self.client.get_json(f"Sale/{sale_id}") if sale_id else None
            if sale is None:
                sale = self.quotes.create_sale(values)
                self.keys.save("sale", int(sale["SaleId"]), correlation_key)
            return self.quotes.create_quote(sale, values)
        if entity == "quote_line":
            return self.quotes.create_line(values)
        return str(RESOURCES[entity].create(self.client, values).id)

    def create(self, entity: str, values: Mapping[str, Any], correlation_key: str) -> Ours:
        with translated_errors():
            record_id = self._create(entity, values, correlation_key)
            self.keys.save(TABLES[entity], int(record_id), correlation_key)
            ours = self._read(entity, record_id)
        if ours is None:
            raise RecordRejectedError(f"{entity} {record_id} vanished right after its create")
        return _with_key(ours, correlation_key)

    def update(self, entity: str, ours: Ours, changes: Mapping[str, Any]) -> Ours:
        with translated_errors():
            if entity == "quote":
                self.quotes.update_quote(ours, changes)
            elif entity == "quote_line":
                self.quotes.update_line(ours, changes)
            else:
                return RESOURCES[entity].update(self.client, ours, changes)
            fresh = self._read(entity, ours.id)
        if fresh is None:
            raise RecordRejectedError(f"{entity} {ours.id} vanished during its update")
        return fresh

    def delete(self, entity: str, ours: Ours) -> None:
        with translated_errors():
            if entity in ("company", "person"):
                path = RESOURCES[entity].path
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
