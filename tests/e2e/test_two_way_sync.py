"""The two-way story, one test per user story, through the real `meltano run two-way-sync`.

The stories share one pair of sandboxes and run in file order: the first sync, then one run
that carries the edits of stories b-g, then an idle run, then a quote line edited in
SuperOffice, then deletes. Each story edits its own records, so the assertions stay apart.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e
CRMSYNC = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "crmsync")


def digits(value: str | None) -> str:
    return re.sub(r"\D", "", value or "")


def live_cc(crms: Any, resource: str) -> list[dict[str, Any]]:
    return [r for r in crms.customcrm.records(resource) if not r["deleted_at"]]


def live_so(crms: Any, collection: str) -> list[dict[str, Any]]:
    return [r for r in crms.superoffice.records(collection) if not r["_deleted"]]


def so_email(person: dict[str, Any]) -> str:
    emails = person.get("Emails") or []
    return str(emails[0]["Value"]).strip().casefold() if emails else ""


@pytest.fixture(scope="module")
def first_sync(crms: Any) -> dict[str, Any]:
    """Counts before the first run, then the run itself."""
    before = {
        "cc_orgs": {digits(c["org_number"]) for c in live_cc(crms, "customers")},
        "so_orgs": {digits(c["OrgNr"]) for c in live_so(crms, "contacts")},
        "cc_emails": {c["email"].casefold() for c in live_cc(crms, "contacts") if c["email"]},
        "so_emails": {so_email(p) for p in live_so(crms, "persons") if so_email(p)},
        "cc_quotes": {q["id"]: (q["status"], q["currency"]) for q in live_cc(crms, "quotes")},
    }
    crms.sync()
    return before


def test_a_first_sync_links_existing_records_and_creates_the_rest(
    crms: Any, first_sync: dict[str, Any]
) -> None:
    shared_orgs = first_sync["cc_orgs"] & first_sync["so_orgs"]
    all_orgs = first_sync["cc_orgs"] | first_sync["so_orgs"]
    assert shared_orgs, "the seeds must overlap for matching to be exercised"
    cc_orgs = [digits(c["org_number"]) for c in live_cc(crms, "customers")]
    so_orgs = [digits(c["OrgNr"]) for c in live_so(crms, "contacts")]
    # Every company now exists once on each side: matched ones were linked, not duplicated.
    assert sorted(cc_orgs) == sorted(so_orgs) == sorted(all_orgs)
    for customer in live_cc(crms, "customers"):
        assert crms.linked("company", "customcrm", customer["id"]) is not None
    all_emails = first_sync["cc_emails"] | first_sync["so_emails"]
    cc_codes = sorted(p["sku"].casefold() for p in live_cc(crms, "products"))
    so_codes = sorted(p["Code"].casefold() for p in live_so(crms, "products"))
    assert cc_codes == so_codes
    assert len(set(cc_codes)) == len(cc_codes)
    cc_emails = [c["email"].casefold() for c in live_cc(crms, "contacts") if c["email"]]
    so_emails = [so_email(p) for p in live_so(crms, "persons") if so_email(p)]
    assert sorted(cc_emails) == sorted(so_emails) == sorted(all_emails)


def test_a_first_sync_carries_every_quote_and_line_both_ways(
    crms: Any, first_sync: dict[str, Any]
) -> None:
    held = [(i["kind"], i["entity"], i["source_id"], i["reason"]) for i in crms.quarantine()]
    assert not held, held
    cc_quotes = live_cc(crms, "quotes")
    for quote in cc_quotes:
        assert crms.linked("quote", "customcrm", quote["id"]) is not None, quote["id"]
        for line in quote["lines"]:
            assert crms.linked("quote_line", "customcrm", line["id"]) is not None, line["id"]
    so_alternatives = crms.superoffice.records("quote_alternatives")
    assert len(so_alternatives) == len(cc_quotes)
    # A quote's status and currency went to SuperOffice and came back as they were: the
    # return leg overwrote no Customcrm quote with SuperOffice's defaults.
    after = {q["id"]: (q["status"], q["currency"]) for q in cc_quotes}
    assert {k: after[k] for k in first_sync["cc_quotes"]} == first_sync["cc_quotes"]


def assert_one_list_request_per_stream(crms: Any) -> None:
    """The cost of a run with nothing to carry: no record is read again."""
    assert crms.customcrm.requests()["by_route"] == {
        f"GET /api/v1/{stream}": 1
        for stream in ("contacts", "customers", "products", "quote-lines", "quotes")
    }
    # SuperOffice: the three archives (sales, and the recycle bins of companies and persons,
    # which hold what was deleted) and the lists of companies, persons and products
    assert crms.superoffice.requests()["by_route"] == {
        "GET /{endpoint}/api/v1/Archive/{provider}": 3,
        **{f"GET /{{endpoint}}/api/v1/{route}": 1 for route in ("Contact", "Person", "Product")},
    }


def test_a_the_run_after_the_first_reads_no_record_again(
    crms: Any, first_sync: dict[str, Any]
) -> None:
    """Every write of the first run comes back as an echo, quotes too: the lines written
    under a quote moved it in Customcrm, and its receipt moved along."""
    crms.customcrm.clear_requests()
    crms.superoffice.clear_requests()

    crms.sync()

    assert_one_list_request_per_stream(crms)


@pytest.fixture(scope="module")
def edits(crms: Any, first_sync: dict[str, Any]) -> dict[str, Any]:
    """Stories b-g (and i's product): edits made on both sides, then one run."""
    people = live_cc(crms, "contacts")
    companies = live_cc(crms, "customers")
    b_person, c_person, e_person = people[0], people[1], people[2]
    d_company = companies[0]
    so_id = {p["id"]: crms.linked("person", "customcrm", p["id"]) for p in people[:3]}
    d_so_company = crms.linked("company", "customcrm", d_company["id"])

    # (b) Customcrm edit.
    crms.cc_patch(f"contacts/{b_person['id']}", {"title": "Head of Integrations"})
    # (c) SuperOffice edit.
    crms.so("PATCH", f"Person/{so_id[c_person['id']]}", json={"Title": "Chief Revenue Officer"})
    # (d) different fields of one pair: phone in Customcrm, name in SuperOffice.
    crms.cc_patch(f"customers/{d_company['id']}", {"phone": "+47 22 33 44 55"})
    crms.so("PATCH", f"Contact/{d_so_company}", json={"Name": "Renamed In SuperOffice AS"})
    # (e) the same field on both sides; SuperOffice edits last, so the newer change wins.
    crms.cc_patch(f"contacts/{e_person['id']}", {"title": "Title From Customcrm"})
    crms.so("PATCH", f"Person/{so_id[e_person['id']]}", json={"Title": "Title From SuperOffice"})
    # (f) a new company and its person, created in SuperOffice.
    new_company = crms.so_json(
        "POST", "Contact", json={"Name": "Fjordline Nyskaping AS", "OrgNr": "915 623 404"}
    )
    new_person = crms.so_json(
        "POST",
        "Person",
        json={
            "Firstname": "Ingrid",
            "Lastname": "Nyhus",
            "Contact": {"ContactId": new_company["ContactId"]},
            "Emails": [{"Value": "ingrid.nyhus@fjordline-nyskaping.no"}],
        },
    )
    # (g) a new quote in Customcrm whose lines refer to products.
    products = live_cc(crms, "products")[:2]
    quote = crms.cc(
        "POST",
        "quotes",
        json={
            "customer_id": d_company["id"],
            "title": "Headsets for the support desk",
            "status": "draft",
            "currency": "NOK",
        },
    ).json()
    for position, product in enumerate(products, start=1):
        crms.cc(
            "POST",
            f"quotes/{quote['id']}/lines",
            json={
                "product_id": product["id"],
                "quantity": 3 * position,
                "unit_price": product["unit_price"],
                "position": position,
            },
        )
    # (i) a product made in SuperOffice, deleted there later.
    short_lived = crms.so_json(
        "POST", "Product", json={"Name": "Short-lived Headset", "Code": "TMP-1", "UnitListPrice": 9}
    )
    crms.sync()
    return {
        "b": b_person, "c": c_person, "e": e_person, "so_id": so_id,
        "d": d_company, "d_so": d_so_company,
        "f_company": new_company, "f_person": new_person,
        "g_quote": quote, "g_products": products, "i_product": short_lived,
    }  # fmt: skip


def test_b_an_edit_in_customcrm_appears_in_superoffice(crms: Any, edits: dict[str, Any]) -> None:
    person = crms.so_json("GET", f"Person/{edits['so_id'][edits['b']['id']]}")
    assert person["Title"] == "Head of Integrations"


def test_c_an_edit_in_superoffice_appears_in_customcrm(crms: Any, edits: dict[str, Any]) -> None:
    contact = crms.cc("GET", f"contacts/{edits['c']['id']}").json()
    assert contact["title"] == "Chief Revenue Officer"


def test_d_edits_of_different_fields_on_both_sides_are_both_kept(
    crms: Any, edits: dict[str, Any]
) -> None:
    customer = crms.cc("GET", f"customers/{edits['d']['id']}").json()
    company = crms.so_json("GET", f"Contact/{edits['d_so']}")
    assert customer["phone"] == "+47 22 33 44 55"
    assert customer["name"] == "Renamed In SuperOffice AS"
    assert company["Name"] == "Renamed In SuperOffice AS"
    assert company["Phones"][0]["Value"] == "+47 22 33 44 55"


def test_e_the_same_field_edited_on_both_sides_is_a_recorded_conflict_won_by_the_newer(
    crms: Any, edits: dict[str, Any]
) -> None:
    contact = crms.cc("GET", f"contacts/{edits['e']['id']}").json()
    person = crms.so_json("GET", f"Person/{edits['so_id'][edits['e']['id']]}")
    assert contact["title"] == person["Title"] == "Title From SuperOffice"
    listed = subprocess.run(
        [CRMSYNC, "conflicts", "--crosswalk", crms.crosswalk_url, "--json", "--entity", "person"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    so_person = edits["so_id"][edits["e"]["id"]]
    conflicts = [
        c
        for c in json.loads(listed.stdout)
        if c["entity"] == "person" and c["field"] == "title"
        and {c["source_id"], c["destination_id"]} == {edits["e"]["id"], so_person}
    ]  # fmt: skip
    assert len(conflicts) == 1, conflicts  # recorded, once: the other leg carries it back
    values = {"Title From SuperOffice", "Title From Customcrm"}
    assert any(
        c["winner"] == "superoffice" and c["rule"] == "newer_wins"
        and {c["theirs"], c["ours"]} == values
        for c in conflicts
    ), conflicts  # fmt: skip


def test_f_a_new_company_and_its_person_arrive_under_the_right_parent(
    crms: Any, edits: dict[str, Any]
) -> None:
    company_id = crms.linked("company", "superoffice", edits["f_company"]["ContactId"])
    person_id = crms.linked("person", "superoffice", edits["f_person"]["PersonId"])
    assert company_id
    assert person_id
    customer = crms.cc("GET", f"customers/{company_id}").json()
    contact = crms.cc("GET", f"contacts/{person_id}").json()
    assert customer["name"] == "Fjordline Nyskaping AS"
    assert contact["email"] == "ingrid.nyhus@fjordline-nyskaping.no"
    assert contact["customer_id"] == company_id


def test_g_a_new_quote_builds_the_sale_and_quote_chain_in_superoffice(
    crms: Any, edits: dict[str, Any]
) -> None:
    alternative_id = crms.linked("quote", "customcrm", edits["g_quote"]["id"])
    assert alternative_id is not None
    alternative = crms.so_json(
        "POST", f"Agents/Quote/GetQuoteAlternative?quoteAlternativeId={alternative_id}", json={}
    )
    lines = crms.so_json(
        "POST", "Agents/Quote/GetQuoteLines", json={"QuoteAlternativeId": int(alternative_id)}
    )
    codes = {crms.so_json("GET", f"Product/{crms.linked('product', 'customcrm', p['id'])}")[
        "ERPProductKey"] for p in edits["g_products"]}  # fmt: skip
    assert {line["ERPProductKey"] for line in lines} == codes
    assert sorted(line["Quantity"] for line in lines) == [3.0, 6.0]
    assert alternative["QuoteVersionId"]
    version = crms.so_json(
        "POST",
        "Agents/Quote/GetQuoteVersion",
        json={"QuoteVersionId": alternative["QuoteVersionId"]},
    )
    quote = crms.so_json(
        "POST", "Agents/Quote/GetQuoteEntity", json={"QuoteId": version["QuoteId"]}
    )
    sale = crms.so_json("GET", f"Sale/{quote['SaleId']}")
    assert sale["Heading"] == "Headsets for the support desk"
    assert str(sale["Contact"]["ContactId"]) == edits["d_so"]


def test_h_a_run_with_no_changes_writes_nothing(crms: Any, edits: dict[str, Any]) -> None:
    crms.customcrm.clear_requests()
    crms.superoffice.clear_requests()
    crms.sync()
    assert crms.customcrm.requests()["writes"] == 0, crms.customcrm.requests()
    assert crms.superoffice.requests()["writes"] == 0, crms.superoffice.requests()
    assert_one_list_request_per_stream(crms)


def test_g_a_quote_line_edited_in_superoffice_shows_up_in_customcrm(
    crms: Any, edits: dict[str, Any]
) -> None:
    alternative_id = int(crms.linked("quote", "customcrm", edits["g_quote"]["id"]))
    lines = crms.so_json(
        "POST", "Agents/Quote/GetQuoteLines", json={"QuoteAlternativeId": alternative_id}
    )
    line = {**lines[0], "Quantity": 42.0}
    crms.so_json("POST", "Agents/Quote/SaveQuoteLine", json=line)
    crms.sync()
    cc_line_id = crms.linked("quote_line", "superoffice", line["QuoteLineId"])
    quote = crms.cc("GET", f"quotes/{edits['g_quote']['id']}").json()
    assert {ln["id"]: ln["quantity"] for ln in quote["lines"]}[cc_line_id] == 42.0


def test_i_a_product_deleted_in_superoffice_is_deleted_in_customcrm_by_a_full_id_scan(
    crms: Any, edits: dict[str, Any]
) -> None:
    so_id = edits["i_product"]["ProductId"]
    cc_id = crms.linked("product", "superoffice", so_id)
    assert cc_id in {p["id"] for p in live_cc(crms, "products")}
    crms.so("DELETE", f"Product/{so_id}")  # SuperOffice has no deletion feed for products

    crms.sync(TAP_SUPEROFFICE_FULL_ID_SCAN="true")

    assert cc_id not in {p["id"] for p in live_cc(crms, "products")}
    cc_codes = sorted(p["sku"].casefold() for p in live_cc(crms, "products"))
    assert cc_codes == sorted(p["Code"].casefold() for p in live_so(crms, "products"))
    alternatives = crms.superoffice.records("quote_alternatives")
    assert len(live_cc(crms, "quotes")) == len(alternatives)  # every quote kept


def test_i_a_person_deleted_in_superoffice_is_deleted_in_customcrm(
    crms: Any, edits: dict[str, Any]
) -> None:
    person = edits["c"]  # edited in SuperOffice before: deleted there now
    so_id = edits["so_id"][person["id"]]
    crms.so("DELETE", f"Person/{so_id}")

    crms.sync()

    assert person["id"] not in {p["id"] for p in live_cc(crms, "contacts")}
    assert crms.cc("GET", f"contacts/{person['id']}").json()["deleted_at"] is not None
    assert not crms.quarantine()


def test_i_a_delete_follows_the_policy_and_a_mass_delete_trips_the_breaker(
    crms: Any, edits: dict[str, Any]
) -> None:
    customers = live_cc(crms, "customers")
    doomed = customers[-1]
    so_company = crms.linked("company", "customcrm", doomed["id"])
    crms.cc("DELETE", f"customers/{doomed['id']}")
    crms.sync()
    assert {c["_id"]: c["_deleted"] for c in crms.superoffice.records("contacts")}[int(so_company)]

    survivors = live_cc(crms, "customers")
    for customer in survivors[: len(survivors) // 2]:
        crms.cc("DELETE", f"customers/{customer['id']}")
    crms.superoffice.clear_requests()
    tripped = crms.sync(expect_success=False, TARGET_SUPEROFFICE_MIN_DELETES_FOR_BREAKER="3")
    assert tripped.returncode != 0
    assert "circuit breaker" in (tripped.stdout + tripped.stderr).lower()
    still_there = {c["_id"]: c["_deleted"] for c in crms.superoffice.records("contacts")}
    for customer in survivors[: len(survivors) // 2]:
        assert not still_there[int(crms.linked("company", "customcrm", customer["id"]))]


def test_j_a_tap_is_reused_in_another_pipeline_with_a_loader_from_pypi(crms: Any) -> None:
    output = crms.workdir / "csv"
    result = subprocess.run(
        [str(Path(CRMSYNC).parent / "meltano"), "run", "--no-install", "tap-superoffice",
         "target-csv"],
        cwd=crms.project, env=crms.env(TARGET_CSV_OUTPUT_PATH=str(output)),
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    with (output / "persons.csv").open() as persons:
        rows = list(csv.DictReader(persons))
    # the project's tap also emits the persons deleted in SuperOffice, marked as such
    assert len([row for row in rows if row["deleted"] == "False"]) == len(live_so(crms, "persons"))
    gone = {int(row["personId"]) for row in rows if row["deleted"] == "True"}
    assert gone == {p["_id"] for p in crms.superoffice.records("persons") if p["_deleted"]}
    assert {"personId", "firstname", "email"} <= set(rows[0])
