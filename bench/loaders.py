"""The two loaders the real targets are compared with, making the same creates.

The creates are read back from what the real target made (its own records, ids stripped),
so all three load the same records. `naive` makes one request per record, in order;
`concurrent` is a raw HTTP client with a thread pool: no sync logic, just the API's capacity.
Both create parents before children and translate references to the new ids.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from bench.crms import Sandbox

__all__ = [
    "Create",
    "concurrent",
    "concurrent_batches",
    "customcrm_creates",
    "naive",
    "sample",
    "superoffice_creates",
]

BATCH = 100
"""Customcrm's batch create takes at most 100 records."""

_CUSTOMCRM_READ_ONLY = ("id", "version", "created_at", "updated_at", "deleted_at", "subtotal",
                        "total", "lines", "line_total", "quote_id")  # fmt: skip


@dataclass(frozen=True)
class Create:
    """One POST: where, what, and which fields hold ids of records created earlier."""

    key: tuple[str, str]
    path: str
    body: Mapping[str, Any]
    id_field: str
    refs: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """body field (dotted for a nested object) -> key of the record it points at."""
    parent: tuple[str, str] | None = None
    """the record whose new id fills `{parent}` in the path."""


def _pages(sandbox: Sandbox, resource: str) -> Iterator[dict[str, Any]]:
    cursor = None
    while True:
        params = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = sandbox.call("GET", resource, params=params).json()
        yield from page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            return


def _strip(record: Mapping[str, Any], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    drop = set(_CUSTOMCRM_READ_ONLY) | set(extra)
    return {k: v for k, v in record.items() if k not in drop and v is not None}


def customcrm_creates(sandbox: Sandbox) -> list[list[Create]]:
    """Customcrm's records as creates, level by level (parents first); lines from quotes."""
    customers = [
        Create(("customers", r["id"]), "customers", _strip(r), "id")
        for r in _pages(sandbox, "customers")
    ]
    contacts = [
        Create(("contacts", r["id"]), "contacts", _strip(r), "id",
               {"customer_id": ("customers", r["customer_id"])} if r.get("customer_id") else {})
        for r in _pages(sandbox, "contacts")
    ]  # fmt: skip
    products = [
        Create(("products", r["id"]), "products", _strip(r), "id")
        for r in _pages(sandbox, "products")
    ]
    quotes, lines = [], []
    for quote in _pages(sandbox, "quotes"):
        refs = {"customer_id": ("customers", quote["customer_id"])}
        if quote.get("contact_id"):
            refs["contact_id"] = ("contacts", quote["contact_id"])
        quotes.append(Create(("quotes", quote["id"]), "quotes", _strip(quote), "id", refs))
        for line in quote.get("lines") or []:
            product = line.get("product_id")
            line_refs = {"product_id": ("products", product)} if product else {}
            lines.append(
                Create(("lines", line["id"]), "quotes/{parent}/lines", _strip(line), "id",
                       line_refs, parent=("quotes", quote["id"]))
            )  # fmt: skip
    return [customers, contacts + products, quotes, lines]


_SO_KINDS = (("Contact", "ContactId", "contactId"), ("Person", "PersonId", "personId"),
             ("Product", "ProductId", "productId"))  # fmt: skip


def superoffice_creates(sandbox: Sandbox) -> list[list[Create]]:
    """SuperOffice companies, persons and products as creates (entity GET minus its id)."""
    levels: list[list[Create]] = []
    for kind, id_field, column in _SO_KINDS:
        level = []
        skip = 0
        while True:
            params = {"$select": column, "$top": 500, "$skip": skip}
            rows = sandbox.call("GET", kind, params=params).json()["value"]
            for row in rows:
                entity = sandbox.call("GET", f"{kind}/{row[column]}").json()
                body = {k: v for k, v in entity.items() if k != id_field}
                refs = {}
                if kind == "Person" and entity.get("Contact"):
                    refs["Contact.ContactId"] = ("Contact", str(entity["Contact"]["ContactId"]))
                level.append(Create((kind, str(row[column])), kind, body, id_field, refs))
            if len(rows) < 500:
                break
            skip += 500
        levels.append(level)
    return [levels[0], levels[1] + levels[2]]


class _Creator:
    """Makes creates against one sandbox, one session per thread, remembering new ids."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.ids: dict[tuple[str, str], str] = {}
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        session: requests.Session = self._local.session
        return session

    def _body(self, create: Create) -> dict[str, Any]:
        body = dict(create.body)
        for name, key in create.refs.items():
            if "." in name:
                outer, inner = name.split(".", 1)
                body[outer] = {**body[outer], inner: int(self.ids[key])}
            else:
                body[name] = self.ids[key]
        return body

    def _post(self, path: str, body: Any) -> Any:
        response = self._session().post(
            f"{self.sandbox.api}/{path}", json=body, timeout=120, **self.sandbox.auth
        )
        if response.status_code >= 400:
            raise RuntimeError(f"POST {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def __call__(self, create: Create) -> None:
        path = create.path.format(parent=self.ids[create.parent]) if create.parent else create.path
        self.ids[create.key] = str(self._post(path, self._body(create))[create.id_field])

    def batch(self, creates: list[Create], *, keyed: bool = False) -> None:
        """Customcrm's batch create of one collection (lines of any quotes: `quote-lines`);
        `keyed`: each item with an idempotency key of its own, as the target sends them."""
        items = []
        for create in creates:
            body = self._body(create)
            if create.parent:
                body["quote_id"] = self.ids[create.parent]
            key = {"idempotency_key": str(uuid.uuid4())} if keyed else {}
            items.append({"record": body, **key})
        path = "quote-lines" if creates[0].parent else creates[0].path
        results = self._post(f"{path}/batch", {"items": items})["results"]
        for create, result in zip(creates, results, strict=True):
            if result["status"] >= 400:
                raise RuntimeError(f"batch {path}: {result['problem']}")
            self.ids[create.key] = str(result["record"][create.id_field])


def sample(levels: list[list[Create]], records: int) -> list[list[Create]]:
    """About `records` of the creates, the same share of every level, keeping only records
    whose parents are kept too (so the sample loads like the whole)."""
    total = sum(len(level) for level in levels)
    if records >= total:
        return levels
    share = records / total
    kept: set[tuple[str, str]] = set()
    sampled: list[list[Create]] = []
    for level in levels:
        wanted = max(1, round(len(level) * share))
        chosen: list[Create] = []
        for create in level:
            if len(chosen) >= wanted:
                break
            needs = [*create.refs.values(), *([create.parent] if create.parent else [])]
            if all(key in kept for key in needs):
                chosen.append(create)
                kept.add(create.key)
        sampled.append(chosen)
    return sampled


def naive(sandbox: Sandbox, levels: list[list[Create]]) -> int:
    """One request per record, sequentially; returns the records created."""
    creator = _Creator(sandbox)
    for level in levels:
        for create in level:
            creator(create)
    return len(creator.ids)


def concurrent(sandbox: Sandbox, levels: list[list[Create]], workers: int) -> int:
    """The same creates from `workers` threads, a level at a time; returns the records created."""
    creator = _Creator(sandbox)
    with ThreadPoolExecutor(workers, thread_name_prefix="raw") as pool:
        for level in levels:
            list(pool.map(creator, level))
    return len(creator.ids)


def concurrent_batches(
    sandbox: Sandbox, levels: list[list[Create]], workers: int, *, keyed: bool = False
) -> int:
    """Customcrm's batch create from `workers` threads, `BATCH` records per request, a level
    at a time, each level split evenly over the threads; returns the records created.
    `keyed`: every item carries an idempotency key (what makes a retried batch safe)."""
    creator = _Creator(sandbox)
    batch = functools.partial(creator.batch, keyed=keyed)
    with ThreadPoolExecutor(workers, thread_name_prefix="raw-batch") as pool:
        for level in levels:
            collections: dict[str, list[Create]] = {}
            for create in level:
                collections.setdefault(create.path, []).append(create)
            chunks = [
                chunk
                for creates in collections.values()
                for chunk in _even_chunks(creates, workers)
            ]
            list(pool.map(batch, chunks))
    return len(creator.ids)


def _even_chunks(creates: list[Create], workers: int) -> list[list[Create]]:
    """As many chunks as workers (more when a chunk would pass `BATCH`), even in size."""
    count = max(workers, -(-len(creates) // BATCH))
    size = -(-len(creates) // count)
    return [creates[start : start + size] for start in range(0, len(creates), size)]
