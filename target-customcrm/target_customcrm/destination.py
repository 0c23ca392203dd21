"""`CustomcrmDestination`: crmsync's Destination protocol over the Customcrm REST contract.

It decides nothing about *whether* to write (crmsync does); it only turns crmsync's calls into
the right requests: batched reads by `ids=`, match-key filters (primed for a whole batch with one
request per 100 keys), the correlation key in `Idempotency-Key` and `external_ids.crmsync`,
creates of an initial load through the batch create (100 records per request),
PATCH of changes only under `If-Match`, soft DELETE, and quote lines under their quote (read
through the `/quote-lines` feed). No read before or after a write: the write's response is the
record. Thread-safe: the client is, and the small indexes below are guarded by a lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from crmsync.destination import Ours, RecordRejectedError
from crmsync.normalise import normalise_key
from crmsync.priming import PrimedMatches
from customcrm_client import MAX_PAGE_SIZE, CustomcrmClient, CustomcrmRejectedError

from target_customcrm.errors import as_crmsync_errors
from target_customcrm.payloads import ours_from, payload, resource_of

__all__ = ["CORRELATION_SYSTEM", "CustomcrmDestination"]

CORRELATION_SYSTEM = "crmsync"
"""The `external_ids` key (and `external_id=` filter prefix) of crmsync's correlation key."""

MATCH_FILTERS = {
    ("company", "org_number"): "digits",
    ("person", "email"): "email",
    ("product", "sku"): "code",
}
"""Match keys the API filters on itself (compared normalised on the server), with the
crmsync normaliser that spells the values crmsync asks `match` for."""

WRITTEN_KEPT = 10_000
"""Companies written by this run kept for name matches (about 15 MB)."""

LINES = "quote-lines"
"""The cross-quote line feed: lines by id, by external id, deleted ones included."""


class CustomcrmDestination:
    """Customcrm as a crmsync destination."""

    system = "customcrm"
    moves_parent = {"quote_line": "quote"}
    """Writing a quote line moves its quote's `updated_at` (docs/sync-contract.md): crmsync
    then moves the quote's receipt, so the quote does not come back as an edit."""

    def __init__(self, client: CustomcrmClient, *, concurrency: int = 1) -> None:
        self.client = client
        self.concurrency = max(1, concurrency)
        """Reads of one `prime` or `fetch` in flight at once (the target's `max_concurrency`)."""
        self._lock = threading.Lock()
        self._names: dict[str, list[str]] | None = None
        self._written: OrderedDict[str, Ours] = OrderedDict()
        """The last `WRITTEN_KEPT` companies as this run's own writes answered: a name match
        among them needs no read (in a first load, every company after the first of its name
        matches one written moments before)."""
        self.primed = PrimedMatches(MATCH_FILTERS)

    # Reads -----------------------------------------------------------------------------------

    @as_crmsync_errors
    def fetch(self, entity: str, ids: Sequence[str]) -> dict[str, Ours]:
        """Current records by id, up to 100 per request, `concurrency` at once; unknown ids
        are absent."""
        records = self.client.read_many(self._stream(entity), ids, concurrency=self.concurrency)
        return {str(record["id"]): ours_from(entity, record) for record in records}

    @as_crmsync_errors
    def quote_line_ids(self, quote_ids: Sequence[str]) -> dict[str, list[str]]:
        """The live lines of each quote, by quote id (a quote's `lines` never holds deleted
        ones); read like `fetch`, 100 quotes per request."""
        records = self.client.read_many("quotes", quote_ids, concurrency=self.concurrency)
        return {
            str(record["id"]): [str(line["id"]) for line in record.get("lines") or []]
            for record in records
            if record.get("deleted_at") is None
        }

    @as_crmsync_errors
    def match(self, entity: str, key: str, value: str) -> list[Ours]:
        """Live (not deleted) candidates whose `key` equals `value`, normalised.

        A value primed for this batch is answered from the primed read.
        """
        if (entity, key) in MATCH_FILTERS:
            primed = self.primed.answer(entity, key, value)
            if primed is not None:
                return primed
            params = {key: value, "include_deleted": "false"}
            records = self.client.list_all(self._stream(entity), params)
            return [ours_from(entity, record) for record in records]
        if (entity, key) == ("company", "name"):
            return self._match_name(value)
        raise ValueError(f"Customcrm cannot match {entity} by {key!r}")

    @as_crmsync_errors
    def known_matches(self, entity: str, key: str, value: str) -> list[Ours] | None:
        """What `match` would answer for `value` without a request of its own, else None: a
        primed answer, or the name index when every company it names was written by this run
        (the index is read the first time a name is asked for, as `match` reads it)."""
        if (entity, key) in MATCH_FILTERS:
            return self.primed.answer(entity, key, value)
        if (entity, key) != ("company", "name"):
            return None
        written, others = self._named(value)
        return None if others else [ours for ours in written if not ours.deleted]

    @as_crmsync_errors
    def find_by_correlation(self, entity: str, correlation_key: str) -> Ours | None:
        """The record an interrupted create left behind, found by `external_ids.crmsync`."""
        params = {"external_id": f"{CORRELATION_SYSTEM}:{correlation_key}"}
        params["include_deleted"] = "true"
        records = self.client.list_all(self._stream(entity), params)
        return ours_from(entity, records[0]) if records else None

    @as_crmsync_errors
    def prime(self, entity: str, key: str, values: Sequence[str]) -> None:
        """Read the candidates of a whole batch's match keys at once (one request per 100
        values, `concurrency` of them in flight), so each `match` of this batch costs no
        request.

        Primed answers hold until the next batch primes the same key; this run's updates drop
        them (crmsync.priming), so `match` never answers from a stale read. This run's creates
        are left out of them: they are linked, and crmsync never takes a linked candidate.
        """
        if not self.primed.can_prime(entity, key) or not values:
            return
        try:
            records = self.client.read_matching(
                self._stream(entity), key, values, concurrency=self.concurrency
            )
        except CustomcrmRejectedError:
            return  # e.g. a key too long to filter on: each record's own `match` says why
        self.primed.keep(entity, key, values, [ours_from(entity, record) for record in records])

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
        record = self.client.create(path, body, idempotency_key=correlation_key)
        created = ours_from(entity, record)
        self._remember(entity, record, created, created=True)
        return created

    @as_crmsync_errors
    def create_many(
        self, entity: str, items: Sequence[tuple[Mapping[str, Any], str]]
    ) -> list[Ours | RecordRejectedError]:
        """Create many records through the contract's batch create (100 per request), each
        item under its correlation key as in `create`; a refused item comes back as its error.

        Quote lines of any quotes go in one batch (each names its `quote_id`).
        """
        bodies: list[tuple[Mapping[str, Any], str]] = []
        for values, correlation_key in items:
            body = payload(entity, values, creating=True)
            body["external_ids"] = {CORRELATION_SYSTEM: correlation_key}
            bodies.append((body, correlation_key))
        path = f"{self.client.settings.path(self._stream(entity))}/batch"
        answers: list[Ours | RecordRejectedError] = []
        for answer in self.client.create_many(path, bodies):
            if isinstance(answer, CustomcrmRejectedError):
                answers.append(RecordRejectedError(answer.reason, status=answer.status))
                continue
            created = ours_from(entity, answer)
            self._remember(entity, answer, created, created=True)
            answers.append(created)
        return answers

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
        record = self.client.patch(path, body, version=_api_version(ours))
        updated = ours_from(entity, record)
        self._remember(entity, record, updated, created=False)
        return updated

    @as_crmsync_errors
    def delete(self, entity: str, ours: Ours) -> None:
        """Soft-delete (Customcrm keeps the record with `deleted_at`), guarded by `If-Match`."""
        self.client.delete(self._record_path(entity, ours), version=_api_version(ours))
        if entity == "company":
            with self._lock:
                if ours.id in self._written:
                    self._written[ours.id] = replace(ours, deleted=True)

    # Helpers ---------------------------------------------------------------------------------

    def _stream(self, entity: str) -> str:
        """The collection to list an entity from (quote lines: the cross-quote feed)."""
        return LINES if entity == "quote_line" else resource_of(entity).stream

    def _lines_path(self, quote_id: str) -> str:
        return f"{self.client.settings.path('quotes')}/{quote_id}/lines"

    def _record_path(self, entity: str, ours: Ours) -> str:
        """Where one record lives: `/customers/{id}`, or `/quotes/{quote}/lines/{id}`."""
        if entity == "quote_line":
            return f"{self._lines_path(_quote_of(ours))}/{ours.id}"
        return f"{self.client.settings.path(self._stream(entity))}/{ours.id}"

    def _remember(
        self, entity: str, record: Mapping[str, Any], ours: Ours, *, created: bool
    ) -> None:
        """Keep this run's indexes true after a write of `record` (read as `ours`): the name
        index learns the company; an update drops the primed match answers for its keys (a
        created record leaves them: crmsync.priming says why)."""
        if not created:
            self.primed.forget(entity, record)
        with self._lock:
            if entity == "company":
                self._written[str(record["id"])] = ours
                self._written.move_to_end(str(record["id"]))
                if len(self._written) > WRITTEN_KEPT:
                    self._written.popitem(last=False)
            if entity == "company" and self._names is not None:
                name = normalise_key("name", record.get("name"))
                if name:
                    ids = self._names.setdefault(name, [])
                    if str(record["id"]) not in ids:
                        ids.append(str(record["id"]))

    def _match_name(self, value: str) -> list[Ours]:
        """Companies by normalised name: the API has no name filter, so one scan per run."""
        written, others = self._named(value)
        read = self.fetch("company", others).values() if others else []
        return [ours for ours in [*written, *read] if not ours.deleted]

    def _named(self, value: str) -> tuple[list[Ours], list[str]]:
        """The companies named `value`: those this run wrote, as written, and the ids of the
        others (to be read). The name index is scanned the first time it is asked."""
        with self._lock:
            if self._names is None:
                self._names = self._scan_names()
            ids = self._names.get(normalise_key("name", value) or "", [])
            written = [self._written[one] for one in ids if one in self._written]
            others = [one for one in ids if one not in self._written]
        return written, others

    def _scan_names(self) -> dict[str, list[str]]:
        names: dict[str, list[str]] = {}
        params = {"include_deleted": "false", "limit": str(MAX_PAGE_SIZE)}
        for page in self.client.list_pages("customers", params):
            for record in page:
                name = normalise_key("name", record.get("name"))
                if name:
                    names.setdefault(name, []).append(str(record["id"]))
        return names


def _quote_of(line: Ours) -> str:
    """The quote a line belongs to, as read from the API."""
    return str(line.extra.get("quote_id") or line.values.get("quote_id"))


def _api_version(ours: Ours) -> str | int:
    """The API's integer version for `If-Match` (kept in `extra`; `ours.version` is updated_at)."""
    version = ours.extra.get("version")
    if version is None:
        raise RecordRejectedError(f"no API version known for {ours.id}; re-read before writing")
    return str(version)
