"""What each write costs in requests, counted by the emulator (real HTTP), and how many are in
flight at once: the blank carrier once per run, no read-back after a write, the correlation key
inside the create when `correlation_field` is set."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from crmsync.normalise import normalise_key
from requests.adapters import HTTPAdapter
from sandbox.testing import RunningSandbox
from superoffice_client import connect
from target_superoffice.destination import SuperOfficeDestination
from target_superoffice.entities import COMPANIES, FILTER_LENGTH, Blanks, find_candidates
from target_superoffice.target import TargetSuperOffice

from crmsync import Incoming

if TYPE_CHECKING:
    from conftest import Leg

Config = Callable[..., dict[str, Any]]
FIELD = "SuperOffice:1"
API = "/{endpoint}/api/v1/"
V1, V2 = "2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z"
COMPANY = {"name": "Fjord AS", "orgnr": "912345678", "country": "NO", "city": "Bergen"}
PERSON = {"firstname": "Kari", "lastname": "Nordmann", "email": "kari@fj.no", "contactId": "cus_0"}
PRODUCT = {"code": "FJ-1", "name": "Fjord Widget", "listPrice": 100.0, "vat": 25.0}
QUOTE = {
    "contactId": "cus_0",
    "personId": "con_1",
    "heading": "Widgets for Fjord",
    "name": "Widgets",
    "discountPercent": 5.0,
    "expirationDate": "2026-03-01",
}
LINE = {"quoteAlternativeId": "quo_1", "productId": "prd_1", "quantity": 3.0}


@pytest.fixture(params=["udef", "foreign key"])
def carrier(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def leg(leg: Leg, carrier: str) -> Leg:
    """The leg, its correlation keys in the udef or as foreign keys."""
    leg.destination.keys.field = FIELD if carrier == "udef" else ""
    return leg


def _incoming(source_id: str, version: str, values: dict[str, Any]) -> Incoming:
    return Incoming("customcrm", source_id, version, values, updated_at=version)


def _calls(so: RunningSandbox, leg: Leg, entity: str, records: list[Incoming]) -> dict[str, int]:
    so.clear_requests()
    results = leg.run([(entity, records)])
    assert set(results[entity]) <= {"created", "updated"}, results
    return _api_calls(so)


def _api_calls(so: RunningSandbox) -> dict[str, int]:
    """Requests to the tenant's API by route (the login and tenant discovery left out)."""
    by_route: dict[str, int] = so.requests()["by_route"]
    return {route.replace(" " + API, " "): n for route, n in by_route.items() if API in route}


def _companies(count: int) -> list[Incoming]:
    return [
        _incoming(f"cus_{n}", V1, {**COMPANY, "name": f"Fjord {n} AS", "orgnr": f"91234{n:04d}"})
        for n in range(count)
    ]


def test_new_companies_cost_a_match_query_per_key_for_the_batch_and_one_post_each(
    leg: Leg, empty_tenant: RunningSandbox, carrier: str
) -> None:
    calls = _calls(empty_tenant, leg, "company", _companies(6))

    key_calls = {} if carrier == "udef" else {"POST ForeignApp/{app}/{device}/{identifier}/Key": 6}
    assert calls == {
        "GET Contact": 2,  # the batch's org numbers, then its names (primed: not one per record)
        "GET Contact/default": 1,  # once per run
        "POST Contact": 6,
        **key_calls,
    }


def test_companies_of_one_name_in_a_batch_are_matched_against_each_other_without_a_query(
    leg: Leg, empty_tenant: RunningSandbox
) -> None:
    namesakes = [
        _incoming(f"cus_{n}", V1, {**COMPANY, "name": "Andersson AB", "orgnr": f"55612345{n}"})
        for n in range(3)
    ]

    calls = _calls(empty_tenant, leg, "company", namesakes)

    # the primed answer holds no unlinked "Andersson AB": no record can take one, so the
    # three are created side by side, and none costs a query of its own
    assert (calls["GET Contact"], calls["POST Contact"]) == (2, 3)
    assert len({leg.link("company", f"cus_{n}") for n in range(3)}) == 3


def test_a_name_too_long_to_filter_on_quarantines_its_record_and_the_batch_goes_on(
    leg: Leg, empty_tenant: RunningSandbox
) -> None:
    endless = {**COMPANY, "name": "Fjord " * 700, "orgnr": ""}  # no org number to match first
    batch = [_incoming("cus_long", V1, endless), *_companies(2)]

    results = leg.run([("company", batch)])

    # the batch's name read is refused (its filter is over the 4000 characters a server
    # takes); each record then asks alone, and only the one with the endless name fails
    assert sorted(results["company"]) == ["created", "created", "quarantined"]
    assert _api_calls(empty_tenant)["POST Contact"] == 2


def test_a_new_person_carries_its_correlation_key_in_the_udef_and_is_found_by_it(
    leg: Leg, empty_tenant: RunningSandbox, carrier: str
) -> None:
    leg.run([("company", _companies(1))])
    calls = _calls(empty_tenant, leg, "person", [_incoming("con_1", V1, PERSON)])
    (stored,) = empty_tenant.records("persons")
    if carrier == "foreign key":
        assert calls["POST ForeignApp/{app}/{device}/{identifier}/Key"] == 1
        assert stored["CustomFields"][FIELD] == ""
        return
    assert calls == {"GET Person": 1, "GET Person/default": 1, "POST Person": 1}
    key = stored["CustomFields"][FIELD]
    assert len(key) == 32  # crmsync's uuid4
    empty_tenant.clear_requests()

    found = leg.destination.find_by_correlation("person", key)

    assert found is not None
    assert (found.id, found.correlation_key) == (leg.link("person", "con_1"), key)
    assert empty_tenant.requests()["by_route"] == {
        "GET " + API + "Person": 1,  # one archive query on personUdef/SuperOffice:1
        "GET " + API + "Person/{record_id}": 1,
    }


def test_a_created_record_is_what_a_fresh_read_gives_without_being_read_again(
    leg: Leg, empty_tenant: RunningSandbox
) -> None:
    destination = leg.destination
    created = {
        "company": destination.create("company", COMPANY, "k1"),
        "product": destination.create("product", PRODUCT, "k2"),
    }
    created["person"] = destination.create(
        "person", {**PERSON, "contactId": int(created["company"].id)}, "k3"
    )

    for entity, ours in created.items():
        fresh = destination.fetch(entity, [ours.id])[ours.id]
        assert (fresh.version, fresh.values) == (ours.version, ours.values), entity


def test_a_new_product_costs_a_post_and_its_archive_version_its_code_finds_it_again(
    leg: Leg, empty_tenant: RunningSandbox
) -> None:
    calls = _calls(empty_tenant, leg, "product", [_incoming("prd_1", V1, PRODUCT)])

    assert calls == {
        "GET Product": 2,  # the match on code, then the new product's updatedDate
        "GET Product/default": 1,
        "POST Product": 1,
    }


def test_new_products_of_one_batch_have_their_versions_read_in_one_archive_query(
    leg: Leg, empty_tenant: RunningSandbox
) -> None:
    products = [
        _incoming(f"prd_{n}", V1, {**PRODUCT, "code": f"FJ-{n}", "name": f"Widget {n}"})
        for n in range(8)
    ]

    calls = _calls(empty_tenant, leg, "product", products)

    assert calls == {
        # one match query for the batch's codes (primed), then one version query per chunk
        # of the batch (a chunk per worker thread: 4), not one per product
        "GET Product": 1 + 4,
        "GET Product/default": 1,
        "POST Product": 8,
    }
    stored = leg.destination.fetch("product", [leg.link("product", "prd_7")])
    (ours,) = stored.values()
    assert ours.values["code"] == "FJ-7"


def test_a_new_product_without_a_code_also_stores_its_key_as_a_foreign_key(
    leg: Leg, empty_tenant: RunningSandbox
) -> None:
    codeless = {key: value for key, value in PRODUCT.items() if key != "code"}
    calls = _calls(empty_tenant, leg, "product", [_incoming("prd_1", V1, codeless)])

    assert calls == {
        "GET Product": 1,  # the new product's updatedDate (nothing to match on)
        "GET Product/default": 1,
        "POST Product": 1,
        "POST ForeignApp/{app}/{device}/{identifier}/Key": 1,  # products have no udefs
    }


def test_a_new_quote_and_line_are_built_from_the_agents_answers(
    leg: Leg, empty_tenant: RunningSandbox, carrier: str
) -> None:
    leg.run(
        [
            ("company", _companies(1)),
            ("person", [_incoming("con_1", V1, PERSON)]),
            ("product", [_incoming("prd_1", V1, PRODUCT)]),
        ]
    )
    quote = _calls(empty_tenant, leg, "quote", [_incoming("quo_1", V1, QUOTE)])
    line = _calls(empty_tenant, leg, "quote_line", [_incoming("qln_1", V1, LINE)])

    key = {} if carrier == "udef" else {"POST ForeignApp/{app}/{device}/{identifier}/Key": 1}
    assert quote == {
        "GET Sale/default": 1,
        "POST Sale": 1,
        **key,
        "POST Agents/Quote/CreateAndSaveQuote": 1,
        "POST Agents/Quote/SaveQuoteVersion": 1,  # the expiration date
        "POST Agents/Quote/SaveQuoteAlternative": 1,
        "GET Sale/{record_id}": 1,  # the version every save in the chain moved
    }
    assert line == {
        "GET Product/{record_id}": 1,  # the product's ERP key, once per product and run
        "POST Agents/Quote/CreateQuoteLine": 1,
        "POST Agents/Quote/SaveQuoteLine": 1,
        "POST ForeignApp/{app}/{device}/{identifier}/Key": 1,  # lines have no udefs
        "GET Sale/{record_id}": 1,
    }
    quote_id, line_id = leg.link("quote", "quo_1"), leg.link("quote_line", "qln_1")
    fresh = leg.destination.fetch("quote", [quote_id])[quote_id]
    assert fresh.values["totalPrice"] == 285.0  # 3 x 100 less 5 %: the line's save counted
    line_read = leg.destination.fetch("quote_line", [line_id])[line_id]
    assert line_read.updated_at == fresh.updated_at  # the Sale's, which the line's save moved
    assert line_read.version != fresh.version  # each with its own values' fingerprint


@pytest.mark.parametrize("carrier", ["udef"])
def test_an_updated_person_costs_one_patch_besides_its_read(
    leg: Leg, empty_tenant: RunningSandbox
) -> None:
    leg.run([("company", _companies(1)), ("person", [_incoming("con_1", V1, PERSON)])])
    person_id = leg.link("person", "con_1")
    ours = leg.destination.fetch("person", [person_id])[person_id]
    empty_tenant.clear_requests()

    updated = leg.destination.update("person", ours, {"lastname": "Hansen"})

    assert empty_tenant.requests()["by_route"] == {"PATCH " + API + "Person/{record_id}": 1}
    fresh = leg.destination.fetch("person", [person_id])[person_id]
    assert (updated.version, updated.values) == (fresh.version, fresh.values)
    assert fresh.values["lastname"] == "Hansen"


def test_the_blank_carrier_is_read_once_and_never_handed_out_itself(
    empty_tenant: RunningSandbox, plugin_config: Config
) -> None:
    blanks = Blanks(connect(plugin_config(empty_tenant)))
    empty_tenant.clear_requests()

    first = blanks.get("Person")
    first["Firstname"] = "changed"
    first["Emails"].append({"Value": "x@y.no"})
    second = blanks.get("Person")

    assert (second["Firstname"], second["Emails"]) == ("", [])
    assert _api_calls(empty_tenant) == {"GET Person/default": 1}


class InFlight(HTTPAdapter):
    """Counts the requests on the wire at once (the peak), around the real send."""

    def __init__(self, pool_size: int) -> None:
        super().__init__(pool_connections=pool_size, pool_maxsize=pool_size)
        self.now = self.peak = 0
        self._lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            return super().send(request, **kwargs)
        finally:
            with self._lock:
                self.now -= 1


def _singer(*messages: Mapping[str, Any]) -> io.StringIO:
    return io.StringIO("".join(json.dumps(message) + "\n" for message in messages))


def _stream(stream: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """SCHEMA and RECORDs as the mapper sends them: every column a string, plus sync metadata."""
    schema = {"type": "object", "properties": {k: {"type": "string"} for k in records[0]}}
    return [
        {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": []},
        *({"type": "RECORD", "stream": stream, "record": record} for record in records),
    ]


def test_max_concurrency_bounds_requests_in_flight_and_parents_go_first(
    empty_tenant: RunningSandbox, plugin_config: Config
) -> None:
    adapter = InFlight(2)

    class Watched(TargetSuperOffice):
        def build_destination(self, config: Mapping[str, Any]) -> Any:
            destination = super().build_destination(config)
            assert isinstance(destination, SuperOfficeDestination)
            destination.client.transport.session.mount("http://", adapter)
            return destination

    meta = {"_source_system": "customcrm", "_source_version": V2}
    persons = [
        {**meta, "_source_id": f"con_{n}", "firstname": f"P{n}", "email": f"p{n}@fjord.no",
         "contactId": f"cus_{n}"}
        for n in range(8)
    ]  # fmt: skip
    companies = [
        {**meta, "_source_id": f"cus_{n}", "name": f"Fjord {n} AS", "orgnr": f"91234{n:04d}"}
        for n in range(8)
    ]
    empty_tenant.set_faults(latency_ms=30)
    target = Watched(config=plugin_config(empty_tenant, source_system="customcrm",
                                          max_concurrency=2))  # fmt: skip

    target.listen(file_input=_singer(*_stream("persons", persons), *_stream("contacts", companies)))

    assert adapter.peak == 2  # both slots used, never a third
    report = target.synchronizer.report.as_dict()["entities"]
    assert (report["company"]["created"], report["person"]["created"]) == (8, 8)
    assert report["person"]["deferred"] == 0  # companies were written before their persons
    company_of = {c["_id"]: c["Name"] for c in empty_tenant.records("contacts")}
    linked = {p["Firstname"]: company_of[p["Contact"]["ContactId"]] for p in
              empty_tenant.records("persons")}  # fmt: skip
    assert linked == {f"P{n}": f"Fjord {n} AS" for n in range(8)}


@pytest.mark.parametrize("carrier", ["udef"])
def test_a_new_run_reads_quotes_and_lines_after_one_sale_archive_request(
    leg: Leg, empty_tenant: RunningSandbox, plugin_config: Config
) -> None:
    leg.run(
        [
            ("company", _companies(1)),
            ("person", [_incoming("con_1", V1, PERSON)]),
            ("product", [_incoming("prd_1", V1, PRODUCT)]),
            ("quote", [_incoming("quo_1", V1, QUOTE)]),
            ("quote_line", [_incoming("qln_1", V1, LINE)]),
        ]
    )
    quote_id, line_id = leg.link("quote", "quo_1"), leg.link("quote_line", "qln_1")
    walked = leg.destination.quotes.read_quote(quote_id)  # this run knows the sale already
    fresh = SuperOfficeDestination(connect(plugin_config(empty_tenant)))  # the next run does not
    fresh.fetch("product", ["1"])  # log in first
    empty_tenant.clear_requests()

    quote = fresh.fetch("quote", [quote_id])[quote_id]
    line = fresh.fetch("quote_line", [line_id])[line_id]

    assert walked is not None
    assert (quote.version, quote.values) == (walked.version, walked.values)
    assert line.updated_at == quote.updated_at  # the Sale's UpdatedDate, their shared moment
    assert line.values["quoteAlternativeId"] == int(quote_id)
    assert _api_calls(empty_tenant) == {
        "GET Sale": 1,  # quote/version/alternative/quoteAlternativeId oneOf (...)
        "POST Agents/Quote/GetQuoteEntityFromSaleId": 1,
        "GET Sale/{record_id}": 2,  # the quote's, then the line's (each read's own version)
        "POST Agents/Quote/GetQuoteLine": 1,
        "GET Product": 1,  # the line's product by its ERP key, once per run
    }


def test_a_batch_s_match_candidates_are_read_max_concurrency_queries_at_once(
    empty_tenant: RunningSandbox, plugin_config: Config
) -> None:
    config = plugin_config(empty_tenant, max_concurrency=3)
    destination = SuperOfficeDestination(connect(config), concurrency=3)
    names = [normalise_key("name", f"Fjord {n} AS") or "" for n in range(200)]
    destination.fetch("product", ["1"])  # log in first
    empty_tenant.set_faults(latency_ms=50)
    empty_tenant.clear_requests()

    destination.prime("company", "name", names)
    answered = destination.match("company", "name", names[7])

    assert answered == []  # from what was primed: no request of its own
    assert destination.known_matches("company", "name", names[7]) == []
    assert destination.known_matches("company", "orgnr", "912345678") is None  # not primed
    assert _api_calls(empty_tenant) == {"GET Contact": 5}  # 40 names a query
    assert empty_tenant.requests()["peak_in_flight"] == 3  # at once, never more than allowed


def test_a_batch_reads_its_match_candidates_together_and_still_matches_existing_records(
    empty_tenant: RunningSandbox, plugin_config: Config
) -> None:
    meta = {"_source_system": "customcrm", "_source_version": V2}
    companies = [
        {**meta, "_source_id": f"cus_{n}", "name": f"Fjord {n} AS", "orgnr": f"91234{n:04d}"}
        for n in range(8)
    ]
    persons = [
        {**meta, "_source_id": f"con_{n}", "firstname": f"P{n}", "email": f"p{n}@fjord.no",
         "contactId": f"cus_{n}"}
        for n in range(8)
    ]  # fmt: skip
    client = connect(plugin_config(empty_tenant))  # a user made company 0 and person 0 by hand
    blanks = Blanks(client)
    company = client.request(
        "POST",
        "Contact",
        json={**blanks.get("Contact"), "Name": "Fjord 0 AS", "OrgNr": "912340000"},
    ).json()
    person = {**blanks.get("Person"), "Firstname": "P0", "Emails": [{"Value": "p0@fjord.no"}]}
    person["Contact"] = {"ContactId": company["ContactId"]}
    by_hand = client.request("POST", "Person", json=person).json()
    empty_tenant.clear_requests()
    target = TargetSuperOffice(config=plugin_config(empty_tenant, source_system="customcrm"))

    target.listen(file_input=_singer(*_stream("contacts", companies), *_stream("persons", persons)))

    calls = _api_calls(empty_tenant)
    assert calls["GET Contact"] == 2  # one read per match key (org number, name) for 8 companies
    assert calls["GET Person"] == 1  # one read of 8 e-mails
    assert (calls["POST Contact"], calls["POST Person"]) == (7, 7)  # the first one was matched
    report = target.synchronizer.report.as_dict()["entities"]
    assert (report["company"]["created"], report["person"]["created"]) == (7, 7)
    persons_now = {p["Firstname"]: p["_id"] for p in empty_tenant.records("persons")}
    assert len(persons_now) == 8
    assert persons_now["P0"] == by_hand["PersonId"]


def test_companies_sharing_the_last_digits_of_an_org_number_are_not_candidates(
    empty_tenant: RunningSandbox, plugin_config: Config
) -> None:
    client = connect(plugin_config(empty_tenant))
    blank = Blanks(client).get("Contact")
    for n in range(30):  # a search by the last digits would answer them all
        client.request("POST", "Contact", json={**blank, "Name": f"Suffix {n} AS",
                                                "OrgNr": f"9{n:02d} 000 678"})  # fmt: skip

    found = find_candidates(client, COMPANIES, "orgnr", ["907000678", "999999999"], 2, "digits")

    assert [ours.values["name"] for ours in found] == ["Suffix 7 AS"]


SPELLED = {  # OrgNr as typed in SuperOffice -> the digits Customcrm holds
    "923 456 789": "923456789",
    "556123-4567": "5561234567",
    "1234567-8": "12345678",
    "12 34 56 74": "12345674",
    "87654321": "87654321",
}


def test_org_numbers_are_found_in_each_nordic_spelling_in_one_query(
    empty_tenant: RunningSandbox, plugin_config: Config
) -> None:
    client = connect(plugin_config(empty_tenant))
    blank = Blanks(client).get("Contact")
    others = ["923 000 789", "556999-9567", "12 99 99 74", "NO 876 543 210 MVA"]
    for n, spelled in enumerate([*SPELLED, *others]):
        client.request("POST", "Contact", json={**blank, "Name": f"Org {n} AS", "OrgNr": spelled})
    empty_tenant.clear_requests()

    found = find_candidates(client, COMPANIES, "orgnr", [*SPELLED.values(), "876543210"])

    # the VAT form with its prefix and suffix is left to the name, the next match key
    assert sorted(ours.values["orgnr"] for ours in found) == sorted(SPELLED)
    assert _api_calls(empty_tenant)["GET Contact"] == 1


def test_a_look_up_query_stays_within_the_filter_length_a_server_takes(
    empty_tenant: RunningSandbox, plugin_config: Config
) -> None:
    client = connect(plugin_config(empty_tenant))
    sent: list[str] = []
    client.transport.session.hooks["response"].append(
        lambda response, *args, **kwargs: sent.append(response.request.url)
    )
    numbers = [f"9{n:08d}" for n in range(45)]

    assert find_candidates(client, COMPANIES, "orgnr", numbers) == []

    queries = [parse_qs(urlsplit(url).query) for url in sent if "/Contact?" in url]
    filters = [query["$filter"][0] for query in queries]
    assert len(filters) == 3  # 45 numbers of five spellings each: 21 + 21 + 3
    assert all(len(text) <= FILTER_LENGTH for text in filters)


@pytest.mark.parametrize("lost", ["rate_drop_after_write", "rate_504_after_write"])
def test_a_create_whose_answer_is_lost_is_not_sent_again_but_looked_up(
    leg: Leg, empty_tenant: RunningSandbox, lost: str
) -> None:
    """POST Contact is not idempotent: sent again after its answer was lost (the connection
    dropped, or a gateway answered 504 while the server saved it), it would make a second
    company. The record is held as unconfirmed instead, and the next run finds the company
    (by its key, or by its org number when the key never got saved) and links it."""
    empty_tenant.set_faults(**{lost: 1.0})  # every write's answer is lost

    first = leg.run([("company", _companies(1))])

    assert first == {"company": ["deferred"]}
    assert _api_calls(empty_tenant)["POST Contact"] == 1  # sent once
    (stored,) = empty_tenant.records("contacts")
    assert leg.crosswalk.find("company", "customcrm", "cus_0") is None  # not looked up yet
    empty_tenant.clear_faults()
    empty_tenant.clear_requests()
    again = leg.run([])  # the next run, with nothing new from the source
    assert "POST Contact" not in _api_calls(empty_tenant)
    assert leg.link("company", "cus_0") == str(stored["_id"])
    assert len(empty_tenant.records("contacts")) == 1
    assert leg.crosswalk.quarantine.items() == [], again


def test_a_quote_whose_sale_create_lost_its_answer_goes_on_that_sale_next_run(
    leg: Leg, empty_tenant: RunningSandbox
) -> None:
    """POST Sale, the head of a new quote's chain, is carried out and its answer lost: with
    foreign keys its key was never saved, so the next run takes the company's Sale with that
    heading and no quote yet instead of leaving it behind and making a second one."""
    leg.run([("company", _companies(1)), ("person", [_incoming("con_1", V1, PERSON)])])
    empty_tenant.set_faults(rate_drop_after_write=1.0)

    first = leg.run([("quote", [_incoming("quo_1", V1, QUOTE)])])

    assert first == {"quote": ["deferred"]}
    assert len(empty_tenant.records("sales")) == 1
    empty_tenant.clear_faults()
    leg.run([])
    (sale,) = empty_tenant.records("sales")
    assert sale["Heading"] == QUOTE["heading"]
    quote_id = leg.link("quote", "quo_1")
    linked = leg.destination.fetch("quote", [quote_id])[quote_id]
    assert linked.extra["sale"]["SaleId"] == sale["_id"]
    assert leg.crosswalk.quarantine.items() == []


def test_a_quote_whose_chain_lost_an_answer_is_finished_on_its_sale_next_run(
    leg: Leg, empty_tenant: RunningSandbox
) -> None:
    """Seed 0 loses the answer of CreateAndSaveQuote after the Sale and its key were saved:
    the next run finds the Sale by its key and takes the quote made on it."""
    leg.run([("company", _companies(1)), ("person", [_incoming("con_1", V1, PERSON)])])
    empty_tenant.set_faults(rate_drop_after_write=0.5, seed=0)

    first = leg.run([("quote", [_incoming("quo_1", V1, QUOTE)])])

    assert first == {"quote": ["deferred"]}
    assert (len(empty_tenant.records("sales")), len(empty_tenant.records("quotes"))) == (1, 1)
    empty_tenant.clear_faults()
    leg.run([])
    assert (len(empty_tenant.records("sales")), len(empty_tenant.records("quotes"))) == (1, 1)
    (alternative,) = empty_tenant.records("quote_alternatives")
    assert leg.link("quote", "quo_1") == str(alternative["_id"])
    assert alternative["Name"] == QUOTE["name"]
    assert leg.crosswalk.quarantine.items() == []


def test_products_whose_answers_were_lost_are_found_by_their_code_on_the_next_run(
    leg: Leg, empty_tenant: RunningSandbox
) -> None:
    """A product with a code carries no key: when every create of a chunk loses its answer,
    nothing may be sent again in this run (its match answers leave this run's creates out);
    the next run reads the codes anew and links what was made."""
    products = [
        _incoming(f"prd_{n}", V1, {**PRODUCT, "code": f"FJ-{n}", "name": f"Widget {n}"})
        for n in range(2)
    ]
    empty_tenant.set_faults(rate_drop_after_write=1.0)

    first = leg.run([("product", products)])

    assert first == {"product": ["deferred", "deferred"]}
    assert _api_calls(empty_tenant)["POST Product"] == 2
    empty_tenant.clear_faults()
    leg.run([])
    stored = {str(row["_id"]) for row in empty_tenant.records("products")}
    assert len(stored) == 2
    assert {leg.link("product", f"prd_{n}") for n in range(2)} == stored
    assert leg.crosswalk.quarantine.items() == []
