"""`CustomcrmDestination`: crmsync's Destination protocol over the Customcrm REST contract.

It decides nothing about *whether* to write (crmsync does); it only turns crmsync's calls into
the right requests: batched reads by `ids=`, match-key filters, the correlation key in
`Idempotency-Key` and `external_ids.crmsync`, PATCH of changes only under `If-Match`, soft
DELETE, and quote lines under their quote. Thread-safe: the client is, and the two small
indexes below are guarded by a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from crmsync.destination import Ours, RecordRejectedError
from crmsync.normalise import normalise_key
from customcrm_client import MAX_IDS_PER_READ, CustomcrmClient, CustomcrmRejectedError

from target_customcrm.errors import as_crmsync_errors
from target_customcrm.payloads import ours_from, payload, resource_of

__all__ = ["CORRELATION_SYSTEM", "CustomcrmDestination"]

CORRELATION_SYSTEM = "crmsync"
"""The `external_ids` key (and `external_id=` filter prefix) of crmsync's correlation key."""

MATCH_FILTERS = {("company", "org_number"), ("person", "email"), ("product", "sku")}
"""Match keys the API filters on itself (compared normalised on the server)."""


class CustomcrmDestination:
    """Customcrm as a crmsync destination."""

    system = "customcrm"

    def __init__(self, client: CustomcrmClient) -> None:
        self.client = client
        self._lock = threading.Lock()
        self._line_quotes: dict[str, str] = {}
        self._lines_indexed = False
        self._scan_lock = threading.Lock()
        self._names: dict[str, list[str]] | None = None

    # Reads -----------------------------------------------------------------------------------

    @as_crmsync_errors
    def fetch(self, entity: str, ids: Sequence[str]) -> dict[str, Ours]:
        """Current records by id, up to 100 per request; unknown ids are absent."""
        if entity == "quote_line":
            return self._fetch_lines(ids)
        records = self.client.read_many(self._stream(entity), ids)
        return {str(record["id"]): ours_from(entity, record) for record in records}

    @as_crmsync_errors
    def match(self, entity: str, key: str, value: str) -> list[Ours]:
        """Live (not deleted) candidates whose `key` equals `value`, normalised."""
        if (entity, key) in MATCH_FILTERS:
            params = {key: value, "include_deleted": "false"}
            records = self.client.list_all(self._stream(entity), params)
            return [ours_from(entity, record) for record in records]
        if (entity, key) == ("company", "name"):
            return self._match_name(value)
        raise ValueError(f"Customcrm cannot match {entity} by {key!r}")

    @as_crmsync_errors
    def find_by_correlation(self, entity: str, correlation_key: str) -> Ours | None:
        """The record an interrupted create left behind, found by `external_ids.crmsync`."""
        if entity == "quote_line":
            return self._find_line_by_correlation(correlation_key)
        params = {"external_id": f"{CORRELATION_SYSTEM}:{correlation_key}"}
        params["include_deleted"] = "true"
        records = self.client.list_all(self._stream(entity), params)
        return ours_from(entity, records[0]) if records else None

    # Writes ----------------------------------------------------------------------------------

    @as_crmsync_errors
    def create(self, entity: str, values: Mapping[str, Any], correlation_key: str) -> Ours:
        """POST with the correlation key as `Idempotency-Key` and in `external_ids.crmsync`."""
        body = payload(entity, values, creating=True)
        body["external_ids"] = {CORRELATION_SYSTEM: correlation_key}
        if entity == "quote_line":
            quote_id = body.pop("quote_id", None)
            if not quote_id:
                raise RecordRejectedError("a quote line needs a quote_id", status=None)
            path = self._lines_path(str(quote_id))
        else:
            path = self.client.settings.path(self._stream(entity))
        created = self.client.create(path, body, idempotency_key=correlation_key)
        self._remember(entity, created)
        return ours_from(entity, created)

    @as_crmsync_errors
    def update(self, entity: str, ours: Ours, changes: Mapping[str, Any]) -> Ours:
        """PATCH only `changes`, guarded by `If-Match: "<version>"` (412 → StaleVersionError)."""
        body = payload(entity, changes)
        if entity == "quote_line":
            quote_id = _quote_of(ours)
            moved = body.pop("quote_id", quote_id)
            if moved != quote_id:
                raise RecordRejectedError(
                    f"a quote line cannot move to another quote ({quote_id} → {moved})"
                )
        path = self._record_path(entity, ours)
        if not body:
            return ours
        updated = self.client.patch(path, body, version=_api_version(ours))
        self._remember(entity, updated)
        return ours_from(entity, updated)

    @as_crmsync_errors
    def delete(self, entity: str, ours: Ours) -> None:
        """Soft-delete (Customcrm keeps the record with `deleted_at`), guarded by `If-Match`."""
        self.client.delete(self._record_path(entity, ours), version=_api_version(ours))

    # Helpers ---------------------------------------------------------------------------------

    def _stream(self, entity: str) -> str:
        return resource_of(entity).stream

    def _lines_path(self, quote_id: str) -> str:
        return f"{self.client.settings.path('quotes')}/{quote_id}/lines"

    def _record_path(self, entity: str, ours: Ours) -> str:
        """Where one record lives: `/customers/{id}`, or `/quotes/{quote}/lines/{id}`."""
        if entity == "quote_line":
            return f"{self._lines_path(_quote_of(ours))}/{ours.id}"
        return f"{self.client.settings.path(self._stream(entity))}/{ours.id}"

    def _remember(self, entity: str, record: Mapping[str, Any]) -> None:
        with self._lock:
            if entity == "quote_line" and record.get("quote_id"):
                self._line_quotes[str(record["id"])] = str(record["quote_id"])
            if entity == "company" and self._names is not None:
                name = normalise_key("name", record.get("name"))
                if name:
                    ids = self._names.setdefault(name, [])
                    if str(record["id"]) not in ids:
                        ids.append(str(record["id"]))

    def _match_name(self, value: str) -> list[Ours]:
        """Companies by normalised name: the API has no name filter, so one scan per run."""
        with self._lock:
            if self._names is None:
                self._names = self._scan_names()
            ids = list(self._names.get(normalise_key("name", value) or "", []))
        if not ids:
            return []
        return [ours for ours in self.fetch("company", ids).values() if not ours.deleted]

    def _scan_names(self) -> dict[str, list[str]]:
        names: dict[str, list[str]] = {}
        params = {"include_deleted": "false", "limit": str(MAX_IDS_PER_READ)}
        for page in self.client.list_pages("customers", params):
            for record in page:
                name = normalise_key("name", record.get("name"))
                if name:
                    names.setdefault(name, []).append(str(record["id"]))
        return names

    def _fetch_lines(self, ids: Sequence[str]) -> dict[str, Ours]:
        """Lines by id, read through their quotes (`ids=` on quotes returns each quote's lines).

        The contract has no line lookup by id alone; a line's quote is known from earlier
        reads and writes of this run, else from one scan of the quotes.
        """
        with self._lock:
            unknown = [line_id for line_id in ids if line_id not in self._line_quotes]
        if unknown:
            with self._scan_lock:  # other threads wait for the one scan instead of missing lines
                if not self._lines_indexed:
                    self._index_lines()
                    self._lines_indexed = True
        with self._lock:
            quote_ids = {self._line_quotes[i] for i in ids if i in self._line_quotes}
        wanted = set(ids)
        found: dict[str, Ours] = {}
        for quote in self.client.read_many("quotes", sorted(quote_ids)):
            for line in _lines_of(quote):
                if str(line["id"]) in wanted:
                    found[str(line["id"])] = ours_from("quote_line", line)
        for line_id in sorted(wanted - set(found)):
            deleted = self._read_deleted_line(line_id)
            if deleted is not None:
                found[line_id] = deleted
        return found

    def _read_deleted_line(self, line_id: str) -> Ours | None:
        """A known line missing from its quote's (live-only) `lines`: read it by id, so crmsync
        sees it deleted rather than gone (one request, only for such lines)."""
        with self._lock:
            quote_id = self._line_quotes.get(line_id)
        if quote_id is None:
            return None
        try:
            response = self.client.request("GET", f"{self._lines_path(quote_id)}/{line_id}")
        except CustomcrmRejectedError as error:
            if error.status == 404:
                return None
            raise
        return ours_from("quote_line", {"quote_id": quote_id, **response.json()})

    def _find_line_by_correlation(self, correlation_key: str) -> Ours | None:
        """Scan the quotes for a line carrying the key (only after a crash, so rare)."""
        params = {"include_deleted": "true", "limit": str(MAX_IDS_PER_READ)}
        for page in self.client.list_pages("quotes", params):
            for quote in page:
                for line in _lines_of(quote):
                    if (line.get("external_ids") or {}).get(CORRELATION_SYSTEM) == correlation_key:
                        self._remember("quote_line", line)
                        return ours_from("quote_line", line)
        return None

    def _index_lines(self) -> None:
        """Learn every line's quote in one paged scan of the quotes (once per run)."""
        index: dict[str, str] = {}
        params = {"include_deleted": "true", "limit": str(MAX_IDS_PER_READ)}
        for page in self.client.list_pages("quotes", params):
            for quote in page:
                index.update({str(line["id"]): str(quote["id"]) for line in _lines_of(quote)})
        with self._lock:
            self._line_quotes.update(index)


def _lines_of(quote: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A quote's lines, each carrying its `quote_id`."""
    return [{**line, "quote_id": quote["id"]} for line in quote.get("lines") or []]


def _quote_of(line: Ours) -> str:
    """The quote a line belongs to, as read from the API."""
    return str(line.extra.get("quote_id") or line.values.get("quote_id"))


def _api_version(ours: Ours) -> str | int:
    """The API's integer version for `If-Match` (kept in `extra`; `ours.version` is updated_at)."""
    version = ours.extra.get("version")
    if version is None:
        raise RecordRejectedError(f"no API version known for {ours.id}; re-read before writing")
    return str(version)
