"""A corpus of bad and hostile records fed to both targets as Singer messages, in one run each.

Every case ends one of two ways, never silently: held in quarantine with a reason that names
the problem (`crmsync quarantine list --json`), or written to the other side with exactly the
value that was sent (hostile text is data, not markup or query syntax). The good records of
the same run are written as usual. Match keys that look like OData or SQL (`' or 1 eq 1`)
match nothing they should not.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

pytestmark = pytest.mark.e2e
VERSION = "2026-11-20T10:00:00.000000Z"
HOSTILE = {
    "script": "<script>alert('x')</script>",
    "img": '<img src=x onerror="alert(1)">',
    "sql": "Robert'); DROP TABLE links;--",
    "odata": "x' or 1 eq 1 or Name eq '",
    "emoji": "Fjord 🐟 AS 👩‍💻",
    "rtl": "Bank \u202egnp.exe",
    "zero-width": "Zero\u200bWidth\ufeffAS",
    "combining": "Sætre e\u0301 A\u030aS",
    "cjk": "株式会社𠮷野家",
    "nul": "Nul\u0000Byte",
    "bell": "Bell\u0007\u001bEscape",
    "newline": "Two\nLines\tTabbed",
    "percent": "100%25 %s %(name)s {0}",
}


@dataclass(frozen=True)
class Case:
    """One record of the corpus and what must become of it."""

    name: str
    stream: str
    values: dict[str, Any]
    must_reject: str | None = None
    """A word the quarantine reason must contain; None: quarantined with a reason, or kept."""
    hostile_key: bool = False
    """A match key built to widen a filter: it may create a record, never match an old one."""
    source_id: str | None = None
    """Its `_source_id` when it must repeat another case's (default `bad-<number>`)."""
    superseded: bool = False
    """A later record of the same batch carries the same key: its values give way."""


def so_cases() -> list[Case]:
    """Records for target-superoffice, in the vocabulary the customcrm-to-superoffice map emits."""
    cases = [
        Case(f"company name {k}", "contacts", {"name": v, "orgnr": f"8{i:08d}"})
        for i, (k, v) in enumerate(HOSTILE.items())
    ]
    cases += [
        Case(
            f"person title {k}",
            "persons",
            {"firstname": "Hostile", "lastname": k, "title": v, "email": f"t{i}@hostile.example"},
        )
        for i, (k, v) in enumerate(HOSTILE.items())
    ]
    cases += [
        Case("company without a name", "contacts", {"orgnr": "911111111"}),
        Case(
            "person matching two persons",
            "persons",
            {"firstname": "Twin", "email": "twin@ambiguous.example"},
            must_reject="2 candidates",
        ),
        Case(
            "same key twice in a batch, first",
            "contacts",
            {"name": "Dup First", "orgnr": "933333333"},
            source_id="dup-so",
            superseded=True,
        ),
        Case(
            "same key twice in a batch, second",
            "contacts",
            {"name": "Dup Second", "orgnr": "933333333"},
            source_id="dup-so",
        ),
        Case(
            "same org number twice in a batch, first",
            "contacts",
            {"name": "Twice First", "orgnr": "966666666"},
            source_id="twice-su-1",
        ),
        Case(
            "same org number twice in a batch, second",
            "contacts",
            {"name": "Twice Second", "orgnr": "966666666"},
            source_id="twice-su-2",
        ),
        Case(
            "company org number as OData",
            "contacts",
            {"name": "Odata Org", "orgnr": "1' or 1 eq 1 or orgNr eq '"},
            hostile_key=True,
        ),
        Case(
            "person e-mail as OData",
            "persons",
            {"firstname": "Odata", "email": "x' or 1 eq 1 or email ne '@x.no"},
            hostile_key=True,
        ),
        Case(
            "person e-mail as SQL",
            "persons",
            {"firstname": "Sql", "email": "a' OR '1'='1@x.no"},
            hostile_key=True,
        ),
        Case(
            "product code as OData",
            "products",
            {"code": "P' or 1 eq 1 or code ne '", "name": "Odata"},
            hostile_key=True,
        ),
        Case("company name over 219", "contacts", {"name": "N" * 220}, must_reject="Name"),
        Case(
            "org number over 49",
            "contacts",
            {"name": "Long Org", "orgnr": "9" * 50},
            must_reject="OrgNr",
        ),
        Case(
            "person firstname over 99", "persons", {"firstname": "F" * 100}, must_reject="Firstname"
        ),
        Case(
            "person title over 239",
            "persons",
            {"firstname": "T", "title": "T" * 240},
            must_reject="Title",
        ),
        Case("person without a first name", "persons", {"lastname": "Nofirst"}),
        Case("e-mail without @", "persons", {"firstname": "E", "email": "not-an-email"}),
        Case("e-mail with spaces", "persons", {"firstname": "E", "email": "a b@example.com"}),
        Case("e-mail over 254", "persons", {"firstname": "E", "email": "e" * 250 + "@x.no"}),
        Case(
            "person of an unknown company",
            "persons",
            {"firstname": "Orphan", "contactId": "cus_404"},
            must_reject="not linked",
        ),
        Case("product without a code", "products", {"name": "No code"}),
        Case(
            "product price as text",
            "products",
            {"code": "TXT-1", "name": "P", "listPrice": "ten"},
            must_reject="not of type",
        ),
        Case(
            "product price as a list",
            "products",
            {"code": "LST-1", "name": "P", "listPrice": [1]},
            must_reject="not of type",
        ),
        Case(
            "product vat as bool string",
            "products",
            {"code": "VAT-1", "name": "P", "inAssortment": "yes"},
            must_reject="not of type",
        ),
        Case(
            "quote of an unknown company",
            "quote_alternatives",
            {"contactId": "cus_404", "heading": "Orphan quote"},
            must_reject="not linked",
        ),
        Case(
            "line of an unknown quote",
            "quote_lines",
            {"quoteAlternativeId": "quo_404", "quantity": 1},
            must_reject="not linked",
        ),
    ]
    return cases


def cc_cases() -> list[Case]:
    """Records for target-customcrm, in the vocabulary the superoffice-to-customcrm map emits."""
    cases = [
        Case(f"customer name {k}", "customers", {"name": v, "org_number": f"7{i:08d}"})
        for i, (k, v) in enumerate(HOSTILE.items())
    ]
    cases += [
        Case(
            "customer matching two customers",
            "customers",
            {"name": "Twin", "org_number": "955555555"},
            must_reject="2 candidates",
        ),
        Case(
            "same key twice in a batch, first",
            "customers",
            {"name": "Dup First", "org_number": "944444444"},
            source_id="dup-cc",
            superseded=True,
        ),
        Case(
            "same key twice in a batch, second",
            "customers",
            {"name": "Dup Second", "org_number": "944444444"},
            source_id="dup-cc",
        ),
        Case(
            "same org number twice in a batch, first",
            "customers",
            {"name": "Twice First", "org_number": "977777777"},
            source_id="twice-cu-1",
        ),
        Case(
            "same org number twice in a batch, second",
            "customers",
            {"name": "Twice Second", "org_number": "977777777"},
            source_id="twice-cu-2",
        ),
        Case(
            "customer without a name", "customers", {"org_number": "922222222"}, must_reject="name"
        ),
        Case(
            "contact without a first name",
            "contacts",
            {"last_name": "Nofirst"},
            must_reject="first_name",
        ),
        Case("contact e-mail without @", "contacts", {"first_name": "E", "email": "nope"}),
        Case(
            "contact e-mail as SQL",
            "contacts",
            {"first_name": "Sql", "email": "a'OR'1'='1@x.no"},
            hostile_key=True,
        ),
        Case(
            "customer org number as SQL",
            "customers",
            {"name": "Sql Org", "org_number": "1' OR '1'='1"},
            hostile_key=True,
        ),
        Case(
            "product sku as SQL",
            "products",
            {"sku": "S' OR 1=1 --", "name": "Sql"},
            hostile_key=True,
        ),
        Case("contact country not ISO", "contacts", {"first_name": "C", "country": "Norway"}),
        Case(
            "contact of an unknown customer",
            "contacts",
            {"first_name": "Orphan", "customer_id": 404},
            must_reject="not linked",
        ),
        Case("product without a sku", "products", {"name": "No sku"}, must_reject="sku"),
        Case(
            "product price as text",
            "products",
            {"sku": "TXT-2", "name": "P", "unit_price": "ten"},
            must_reject="not of type",
        ),
        Case(
            "quote without a customer",
            "quotes",
            {"title": "No customer"},
            must_reject="customer_id",
        ),
        Case(
            "quote of an unknown customer",
            "quotes",
            {"customer_id": 404, "title": "Orphan"},
            must_reject="not linked",
        ),
    ]
    return cases


def messages(schemas: dict[str, Any], cases: list[Case], system: str) -> str:
    """SCHEMA messages as the mapper emits them, then one RECORD per case (ids bad-0, bad-1…)."""
    lines = [json.dumps(schemas[stream]) for stream in sorted({c.stream for c in cases})]
    for number, case in enumerate(cases):
        record = {
            **case.values,
            "_source_system": system,
            "_source_id": case.source_id or f"bad-{number}",
            "_source_version": VERSION,
            "_source_deleted": False,
        }
        lines.append(json.dumps({"type": "RECORD", "stream": case.stream, "record": record}))
    lines.append(json.dumps({"type": "STATE", "value": {"corpus": "done"}}))
    return "\n".join(lines) + "\n"


def mapped_schemas(crms: Any, leg: str) -> dict[str, Any]:
    """The SCHEMA messages the real `tap | mapper` of `leg` emits, by stream."""
    found = {}
    for line in crms.capture(leg).read_text().splitlines():
        message = json.loads(line)
        if message["type"] == "SCHEMA":
            found[message["stream"]] = message
    return found


@dataclass
class Fed:
    crms: Any
    so: list[Case]
    cc: list[Case]
    runs: dict[str, Any]
    quarantine: dict[tuple[str, str], dict[str, Any]]
    before: dict[tuple[str, str], set[str]]


@pytest.fixture(scope="module")
def fed(fresh_in: Any, tmp_path_factory: pytest.TempPathFactory) -> Fed:
    """Both corpora, each fed in one run of its target, after a first clean sync of seed 2."""
    work = tmp_path_factory.mktemp("bad-input")
    crms = fresh_in(work, seed=2)
    schemas = {leg: mapped_schemas(crms, leg) for leg in LEGS}
    crms.sync()
    before = {
        (side, entity): {str(r.get("_id", r.get("id"))) for r in sandbox.records(collection)}
        for side, sandbox, pairs in (
            (
                "superoffice",
                crms.superoffice,
                (("company", "contacts"), ("person", "persons"), ("product", "products")),
            ),
            (
                "customcrm",
                crms.customcrm,
                (("company", "customers"), ("person", "contacts"), ("product", "products")),
            ),
        )
        for entity, collection in pairs
    }
    for _ in range(2):  # two records share one match key on each side: a match is ambiguous
        crms.so(
            "POST",
            "Person",
            json={"Firstname": "Twin", "Emails": [{"Value": "twin@ambiguous.example"}]},
        )
        crms.cc("POST", "customers", json={"name": "Twin", "org_number": "955555555"})
    runs = {}
    for leg, cases, system in (
        (LEGS[0], so_cases(), "customcrm"),
        (LEGS[1], cc_cases(), "superoffice"),
    ):
        corpus = work / f"{system}.corpus.singer"
        corpus.write_text(messages(schemas[leg], cases, system), encoding="utf-8")
        runs[leg] = crms.replay(leg, corpus)
    quarantine = {(q["source_system"], q["source_id"]): q for q in crms.quarantine()}
    return Fed(crms, so_cases(), cc_cases(), runs, quarantine, before)


def test_the_corpus_has_at_least_fifty_cases() -> None:
    assert len(so_cases()) + len(cc_cases()) >= 50


def test_both_targets_finish_the_run_despite_the_corpus(fed: Fed) -> None:
    for leg, run in fed.runs.items():
        assert run.target_code == 0, (leg, run.stderr[-3000:])
        assert run.state == {"corpus": "done"}, "the run must reach the end of its input"


LEGS = ("customcrm->superoffice", "superoffice->customcrm")
ENTITIES = {  # (side written, stream): link entity; "contacts" means companies in SuperOffice
    ("superoffice", "contacts"): "company",
    ("superoffice", "persons"): "person",
    ("superoffice", "products"): "product",
    ("superoffice", "quote_alternatives"): "quote",
    ("superoffice", "quote_lines"): "quote_line",
    ("customcrm", "customers"): "company",
    ("customcrm", "contacts"): "person",
    ("customcrm", "products"): "product",
    ("customcrm", "quotes"): "quote",
    ("customcrm", "quote_lines"): "quote_line",
}
STORED = {  # (side written, stream): (collection, {sent property: stored property})
    ("superoffice", "contacts"): ("contacts", {"name": "Name"}),
    ("superoffice", "persons"): ("persons", {"title": "Title"}),
    ("customcrm", "customers"): ("customers", {"name": "name"}),
}


def stored(fed: Fed, side: str, case: Case, record_id: str) -> dict[str, Any]:
    collection, fields = STORED[(side, case.stream)]
    sandbox = fed.crms.superoffice if side == "superoffice" else fed.crms.customcrm
    row = next(
        r for r in sandbox.records(collection) if str(r.get("_id", r.get("id"))) == record_id
    )
    return {sent: row[kept] for sent, kept in fields.items() if sent in case.values}


def outcomes(fed: Fed, source: str, cases: list[Case]) -> Iterator[tuple[Case, str, Any]]:
    """Each case with "quarantined" and the reason, or "linked" and the destination's id."""
    side = "superoffice" if source == "customcrm" else "customcrm"
    for number, case in enumerate(cases):
        source_id = case.source_id or f"bad-{number}"
        held = fed.quarantine.get((source, source_id))
        if held is not None:
            yield case, "quarantined", held["reason"]
        else:
            entity = ENTITIES[(side, case.stream)]
            yield case, "linked", fed.crms.linked(entity, source, source_id)


@pytest.mark.parametrize("source", ["customcrm", "superoffice"])
def test_every_case_is_quarantined_with_its_reason_or_kept_exactly(fed: Fed, source: str) -> None:
    cases = fed.so if source == "customcrm" else fed.cc
    side = "superoffice" if source == "customcrm" else "customcrm"
    silent, wrong = [], []
    for case, fate, detail in outcomes(fed, source, cases):
        print(f"{source} {case.name!r}: {fate} {detail!r}")
        if case.source_id:  # a repeated key: see the test below
            continue
        if fate == "linked" and detail is None:
            silent.append(case.name)
        elif case.must_reject and (
            fate != "quarantined" or case.must_reject.lower() not in detail.lower()
        ):
            wrong.append((case.name, fate, detail))
        elif fate == "quarantined" and not detail.strip():
            wrong.append((case.name, fate, "empty reason"))
        elif (
            fate == "linked"
            and case.hostile_key
            and str(detail) in fed.before[(side, ENTITIES[(side, case.stream)])]
        ):
            wrong.append((case.name, "matched an existing record", detail))
        elif fate == "linked" and (side, case.stream) in STORED and not case.superseded:
            kept = stored(fed, side, case, str(detail))
            if kept != {k: case.values[k] for k in kept}:
                wrong.append((case.name, "altered", kept))
    assert silent == [], f"dropped without a trace: {silent}"
    assert wrong == []


KEYS = {
    "superoffice": ("contacts", "OrgNr", "Name"),
    "customcrm": ("customers", "org_number", "name"),
}


@pytest.mark.parametrize(
    ("side", "value"), [("superoffice", "933333333"), ("customcrm", "944444444")]
)
def test_a_source_id_repeated_in_one_batch_makes_one_linked_record_with_the_last_values(
    fed: Fed, side: str, value: str
) -> None:
    collection, key, name = KEYS[side]
    sandbox = fed.crms.superoffice if side == "superoffice" else fed.crms.customcrm
    names = [r[name] for r in sandbox.records(collection) if r[key] == value]
    source = "customcrm" if side == "superoffice" else "superoffice"
    assert names == ["Dup Second"]
    assert fed.crms.linked("company", source, "dup-so" if side == "superoffice" else "dup-cc")


@pytest.mark.parametrize(
    ("side", "value"), [("superoffice", "966666666"), ("customcrm", "977777777")]
)
def test_two_new_records_sharing_a_match_key_in_one_batch_are_linked_one_to_one(
    fed: Fed, side: str, value: str
) -> None:
    """The source itself holds both (a duplicate there): each gets its own partner, never the
    other's, and neither is lost."""
    collection, key, name = KEYS[side]
    sandbox = fed.crms.superoffice if side == "superoffice" else fed.crms.customcrm
    names = sorted(r[name] for r in sandbox.records(collection) if r[key] == value)
    source = "customcrm" if side == "superoffice" else "superoffice"
    partners = {fed.crms.linked("company", source, f"twice-{side[:2]}-{n}") for n in (1, 2)}
    assert names == ["Twice First", "Twice Second"]
    assert len(partners) == 2
    assert None not in partners


def test_a_record_the_other_api_refuses_is_held_with_its_children_and_the_rest_syncs(
    fresh: Any,
) -> None:
    """Bad input made through a CRM's own API: a SuperOffice company whose name (210 characters,
    allowed up to 219 there) is longer than Customcrm allows (200), and a person under it."""
    crms = fresh(seed=2)
    company = crms.so("POST", "Contact", json={"Name": "L" * 210, "OrgNr": "988000111"})
    person = crms.so("POST", "Person", json={
        "Firstname": "Under", "Contact": {"ContactId": company["ContactId"]},
        "Emails": [{"Value": "under@long-name.example"}],
    })  # fmt: skip
    crms.sync()
    held = {q["source_id"]: q for q in crms.quarantine()}
    company_id, person_id = str(company["ContactId"]), str(person["PersonId"])
    assert held[company_id]["kind"] == "rejected"
    assert held[company_id]["reason"] == (
        "422 Validation failed: the body breaks the contract at: name "
        "(name: must be at most 200 characters)"
    )
    assert held[person_id]["kind"] == "deferred"
    assert "not linked yet" in held[person_id]["reason"]
    assert set(held) == {company_id, person_id}
    keys = crms.natural_keys()
    assert keys["customcrm company"] == keys["superoffice company"] - Counter({"988000111": 1})
    assert crms.duplicates() == {}
