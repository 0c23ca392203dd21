"""Reading and writing Person, Contact (company) and Product through the REST resources.

Each `Resource` knows its URL name, how an entity becomes a row (superoffice_client.rows, the
same functions the tap uses) and how changed row columns become a payload (payloads.py).
Person and Contact are written with PATCH (a merge patch of only the changed fields, guarded by
`If-Unmodified-Since`); Product has no PATCH, so it is PUT whole, guarded the same way.

Requests are kept to what the API needs: records are read in batches from the archives
(`superoffice_client.archive_rows.read_rows`, one request per chunk of ids; match candidates
come whole from the match query itself), the blank `{Entity}/default` carrier is read once per
run (`Blanks`), and a write's response is the record as stored (POST/PATCH/PUT answer with the
whole entity), so nothing is read back, except a product's `updatedDate`, which only the
Product archive holds (one archive query per product write).

A batched read gives rows, not entities, so an update of a person or company builds its merge
patch from the changed columns alone, except when a change touches a list (`Emails`, phones,
`Urls`): a merge patch replaces a whole list (RFC 7396), so the entity is read first and the
list written back with its other entries kept. A product is PUT whole (no PATCH), so its
entity is always read before an update.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import format_datetime
from typing import Any

from crmsync.destination import Ours
from crmsync.normalise import normalise_key
from crmsync.receipts import parse_timestamp
from superoffice_client import NotFoundError, SuperOfficeClient, rows
from superoffice_client.archive_rows import COLUMNS, UnknownCountryError, archive_row, entity_row
from superoffice_client.fanout import each_at_once
from superoffice_client.patch import merge_patch
from superoffice_client.query import ArchiveQuery, all_of, any_of, equals, one_of

from target_superoffice import payloads

__all__ = [
    "LOOK_ALIKE_FIELDS",
    "PRODUCTS",
    "RESOURCES",
    "Blanks",
    "Resource",
    "as_ours",
    "find_candidates",
    "holds_values",
    "person_look_alikes",
    "unmodified_since",
]

Row = dict[str, Any]

# Columns the API computes or the stream carries for reading only; never written back.
READ_ONLY = frozenset(
    {
        "registeredDate",
        "personRegisteredDate",
        "quoteVersionId",
        "quoteId",
        "saleId",
        "subTotal",
        "totalPrice",
        "state",
        "currency",
        "erpProductKey_line",
    }
)


def as_ours(row: Row, spec: rows.RowSpec, extra: Mapping[str, Any] | None = None) -> Ours:
    """A row as crmsync's `Ours`: values without the id, version and deletion marker."""
    version = row.get(spec.version_column)
    values = {
        key: value
        for key, value in row.items()
        if key not in (spec.id_column, spec.version_column, spec.moment_column, "deleted")
    }
    return Ours(
        id=str(row[spec.id_column]),
        version=str(version or ""),
        values=values,
        updated_at=row.get(spec.moment_column),
        deleted=bool(row.get("deleted")),
        extra=dict(extra or {}),
    )


def unmodified_since(version: str) -> dict[str, str]:
    """The `If-Unmodified-Since` header for a version (HTTP dates have whole seconds; of a
    version with a fingerprint, `rows.shared_version`, its moment counts)."""
    moment = parse_timestamp(version)
    return {"If-Unmodified-Since": format_datetime(moment, usegmt=True)} if moment else {}


class Blanks:
    """`GET {Entity}/default` once per entity and run (thread-safe): the blank carrier does not
    change within a run. Each caller gets its own deep copy; the cached one is never handed out.
    """

    def __init__(self, client: SuperOfficeClient) -> None:
        self.client = client
        self._carriers: dict[str, Row] = {}
        self._loading: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, path: str) -> Row:
        """A copy of the blank `path` carrier; the first caller loads it, the others wait."""
        with self._lock:
            loading = self._loading.setdefault(path, threading.Lock())
        with loading:
            if path not in self._carriers:
                self._carriers[path] = dict(self.client.get_json(f"{path}/default"))
            return copy.deepcopy(self._carriers[path])


@dataclass(frozen=True)
class Resource:
    """One REST entity of SuperOffice as the destination writes it."""

    stream: str
    path: str
    to_row: Callable[[Mapping[str, Any]], Row]
    to_payload: Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]
    patchable: bool
    search: Mapping[str, Callable[[str], Sequence[str]]]
    """match key -> the archive restrictions, any of which finds the candidates of a normalised
    value (crmsync re-checks each candidate)."""
    lists: frozenset[str] = frozenset()
    """Columns written as the first entry of a list (`Emails`, phones, `Urls`)."""

    @property
    def spec(self) -> rows.RowSpec:
        return rows.STREAMS[self.stream]

    def read(self, client: SuperOfficeClient, record_id: str) -> Ours | None:
        try:
            entity = client.get_json(f"{self.path}/{int(record_id)}")
        except NotFoundError:
            return None
        return as_ours(self.to_row(entity), self.spec, {"entity": entity})

    def create(
        self, client: SuperOfficeClient, blank: Row, values: Mapping[str, Any], udefs: Row
    ) -> Ours:
        """POST the blank carrier with `values` and `udefs` (CustomFields); the response is the
        stored record, so it is not read again."""
        body = self.to_payload(blank, values)
        if udefs:
            body["CustomFields"] = {**(body.get("CustomFields") or {}), **udefs}
        entity = client.request("POST", self.path, json=body).json()
        return as_ours(self.to_row(entity), self.spec, {"entity": entity})

    def update(self, client: SuperOfficeClient, ours: Ours, changes: Mapping[str, Any]) -> Ours:
        """PATCH the changed columns. Only a changed list column needs the entity: a merge
        patch replaces the whole list, and its other entries (a second e-mail) must be kept."""
        current = ours.extra.get("entity")
        if current is None and changes.keys() & self.lists:
            current = client.get_json(f"{self.path}/{int(ours.id)}")
        if current is None:
            patch = self.to_payload({}, changes)  # a merge patch of just the changed fields
        else:
            patch = merge_patch(current, self.to_payload(current, changes))
        if not patch:
            return ours
        entity = client.request(
            "PATCH",
            f"{self.path}/{int(ours.id)}",
            json=patch,
            headers=unmodified_since(ours.version),
        ).json()
        return as_ours(self.to_row(entity), self.spec, {"entity": entity})


def _archive_rows(client: SuperOfficeClient, resource: Resource, restriction: str) -> list[Row]:
    """Whole rows of the records matching `restriction`, from the archive query itself."""
    query = ArchiveQuery(select=COLUMNS[resource.stream], filter=restriction, top=200)
    found: list[Row] = []
    for page in client.archive(resource.path, query):
        for row in page:
            try:
                found.append(archive_row(resource.stream, row))
            except UnknownCountryError:  # a country the archive shows only by id: the entity
                read = entity_row(client, resource.stream, int(row[resource.spec.id_column]))
                found.extend([read] if read is not None else [])
    return found


def org_number_spellings(digits: str) -> list[str]:
    """An org number as SuperOffice's free-text `OrgNr` may spell it: unbroken, in threes
    (NO `923 456 789`), in pairs (DK `12 34 56 74`), and with the dash Sweden
    (`556123-4567`) and Finland (`1234567-8`) put in. Looked up with `eq`, which a database
    answers from its index, where a `contains` scans every company of the tenant per query
    (the last three digits answered a tenth to a quarter of a 10k-company tenant each time).
    A spelling not among these (`NO 923 456 789 MVA`) is not found by its number; the name,
    the next match key, still finds it."""
    spellings = (
        digits,
        " ".join(digits[at : at + 3] for at in range(0, len(digits), 3)),
        " ".join(digits[at : at + 2] for at in range(0, len(digits), 2)),
        f"{digits[:-4]}-{digits[-4:]}" if len(digits) > 4 else digits,
        f"{digits[:-1]}-{digits[-1:]}" if len(digits) > 1 else digits,
    )
    return list(dict.fromkeys(spellings))


PERSONS = Resource(
    "persons",
    "Person",
    rows.person_row,
    payloads.person_payload,
    patchable=True,
    search={"email": lambda value: [equals("email/emailAddress", value)]},
    lists=frozenset({"email", "phone", "mobile"}),
)

COMPANIES = Resource(
    "contacts",
    "Contact",
    rows.contact_row,
    payloads.contact_payload,
    patchable=True,
    search={
        "orgnr": lambda digits: [equals("orgnr", text) for text in org_number_spellings(digits)],
        "name": lambda name: [equals("name", name)],
    },
    lists=frozenset({"email", "phone", "url"}),
)


class ProductResource(Resource):
    """Product: the carrier has no timestamp (its archive row does) and no PATCH."""

    def as_stored(
        self, client: SuperOfficeClient, entities: Sequence[Mapping[str, Any]]
    ) -> list[Ours]:
        """Product carriers as Ours, their `updatedDate`s (the version) read in one archive
        query for all of them, since the carrier has none."""
        ids = [int(entity["ProductId"]) for entity in entities]
        query = ArchiveQuery(
            select=("productId", "updatedDate"), filter=one_of("productId", ids), top=len(ids)
        )
        versions = {
            int(row["productId"]): row.get("updatedDate")
            for row in client.archive_page("Product", query)
        }
        return [
            as_ours(
                rows.product_row(entity, versions.get(int(entity["ProductId"]))),
                self.spec,
                {"entity": entity},
            )
            for entity in entities
        ]

    def _ours(self, client: SuperOfficeClient, entity: Mapping[str, Any]) -> Ours:
        return self.as_stored(client, [entity])[0]

    def post(
        self, client: SuperOfficeClient, blank: Row, values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """POST a new product; its carrier, still without its version (see `as_stored`)."""
        body = payloads.product_payload(blank, values)
        posted: dict[str, Any] = client.request("POST", "Product", json=body).json()
        return posted

    def read(self, client: SuperOfficeClient, record_id: str) -> Ours | None:
        try:
            entity = client.get_json(f"Product/{int(record_id)}")
        except NotFoundError:
            return None
        return self._ours(client, entity)

    def create(
        self, client: SuperOfficeClient, blank: Row, values: Mapping[str, Any], udefs: Row
    ) -> Ours:
        """POST, then the archive's `updatedDate` (the carrier has none); products have no udefs."""
        return self._ours(client, self.post(client, blank, values))

    def update(self, client: SuperOfficeClient, ours: Ours, changes: Mapping[str, Any]) -> Ours:
        """PUT the carrier read with `ours` plus the changes. Reading it again is not needed to
        keep other writers' edits: `If-Unmodified-Since` refuses the PUT (412) when the product
        changed since `ours.version`, and crmsync then re-reads and merges again."""
        current = ours.extra.get("entity") or client.get_json(f"Product/{int(ours.id)}")
        body = payloads.product_payload(current, changes)
        if body == current:
            return ours
        entity = client.request(
            "PUT", f"Product/{int(ours.id)}", json=body, headers=unmodified_since(ours.version)
        ).json()
        return self._ours(client, entity)


PRODUCTS = ProductResource(
    "products",
    "Product",
    lambda entity: rows.product_row(entity, None),
    payloads.product_payload,
    patchable=False,
    search={"code": lambda code: [equals("code", code)]},
)

RESOURCES: dict[str, Resource] = {"company": COMPANIES, "person": PERSONS, "product": PRODUCTS}


PRIMED_KEYS = {
    ("company", "orgnr"): "digits",
    ("company", "name"): "name",
    ("person", "email"): "email",
    ("product", "code"): "code",
}
"""The match keys read for a whole batch at once, with crmsync's normaliser of each."""
VALUES_PER_QUERY = 40
"""Match-key values `or`-ed into one archive filter at most."""
FILTER_LENGTH = 3000
"""Characters of one look-up's `$filter` at most: well under the 4000 a server takes (the URL,
encoded, well under 8 KB); nine-digit org numbers in five spellings fill it at 21."""


def find_candidates(
    client: SuperOfficeClient,
    resource: Resource,
    key: str,
    values: Sequence[str],
    concurrency: int = 1,
    normaliser: str | None = None,
) -> list[Ours]:
    """Candidate records for values of one match key: one archive query per
    `VALUES_PER_QUERY` values (`(k eq 'a') or (k eq 'b')`) or `FILTER_LENGTH` characters,
    `concurrency` at once.

    The archive's `eq` is not crmsync's normaliser, so a row a query answers may normalise to
    a value nobody asked for: with `normaliser` (crmsync's, of this key) only the rows whose
    normalised key is one of the chunk's values are kept. crmsync re-checks each candidate
    either way.
    """
    restriction = resource.search.get(key)
    wanted = [value for value in values if value]
    if restriction is None:
        return []
    chunks: list[list[str]] = []
    length = 0
    for value in wanted:
        size = sum(len(clause) + len("() or ") for clause in restriction(value))
        if not chunks or len(chunks[-1]) == VALUES_PER_QUERY or length + size > FILTER_LENGTH:
            chunks.append([])
            length = 0
        chunks[-1].append(value)
        length += size

    def candidates(chunk: list[str]) -> list[Ours]:
        either = any_of(*(clause for value in chunk for clause in restriction(value)))
        found = [as_ours(row, resource.spec) for row in _archive_rows(client, resource, either)]
        if normaliser is None:
            return found
        asked = set(chunk)
        return [ours for ours in found if normalise_key(normaliser, ours.values.get(key)) in asked]

    return [ours for found in each_at_once(candidates, chunks, concurrency) for ours in found]


LOOK_ALIKE_FIELDS: dict[str, tuple[str, ...]] = {
    "person": ("contactId", "firstname", "lastname"),
    "quote_line": (
        "quoteAlternativeId",
        "productId",
        "description",
        "quantity",
        "unitListPrice",
        "discountPercent",
    ),
}
"""The values a created person or quote line is recognised by when its correlation key was never
saved (crmsync's `look_alikes`); companies and products always have a match key that finds
them (the name; the code, which every Customcrm product has)."""


def holds_values(ours: Ours, values: Mapping[str, Any], fields: Sequence[str]) -> bool:
    """`ours` holds each of `fields` as `values` gives it: numbers (and ids as text) compared
    as numbers, text without surrounding spaces; a value the create left out (none, empty)
    is held by an empty one or the server's default 0 (a line's discount)."""
    return all(_holds(ours.values.get(field), values.get(field)) for field in fields)


def _holds(stored: Any, sent: Any) -> bool:
    stored, sent = _comparable(stored), _comparable(sent)
    return stored in (None, 0.0) if sent is None else stored == sent


def _comparable(value: Any) -> Any:
    """None for none or empty text, numbers (also as text) as floats, text stripped."""
    if isinstance(value, str):
        value = value.strip()
        try:
            return float(value) if value else None
        except ValueError:
            return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


def person_look_alikes(client: SuperOfficeClient, values: Mapping[str, Any]) -> list[Ours]:
    """Persons of the same company with the same first and last name (one archive query;
    `eq` ignores case, so the caller compares them again)."""
    company = values.get("contactId")
    restriction = all_of(
        equals("firstName", values["firstname"]) if values.get("firstname") else None,
        equals("lastName", values["lastname"]) if values.get("lastname") else None,
        equals("contactId", int(company)) if company not in (None, "") else None,
    )
    if not restriction:
        return []
    return [as_ours(row, PERSONS.spec) for row in _archive_rows(client, PERSONS, restriction)]
