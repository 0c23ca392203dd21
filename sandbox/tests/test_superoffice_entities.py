"""Person, Contact, Product and Sale entity endpoints over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from sandbox.testing import RunningSandbox, running_sandbox
from werkzeug.http import http_date


class Api:
    """A requests session on the emulated tenant, with the sandbox token as Bearer."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.base = f"{sandbox.url}/Cust12345/api/v1"
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {sandbox.token}", "Accept": "application/json"}
        )

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.base}/{path}", timeout=30, **kwargs)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with running_sandbox("superoffice") as running:
        yield running


@pytest.fixture
def api(sandbox: RunningSandbox) -> Iterator[Api]:
    sandbox.reset()
    client = Api(sandbox)
    yield client
    client.session.close()


def _company(api: Api, **values: Any) -> dict[str, Any]:
    response = api(
        "POST", "Contact", json={"Name": "Fjord Fisk AS", "OrgNr": "912 345 678", **values}
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _person(api: Api, contact_id: int, **values: Any) -> dict[str, Any]:
    payload = {"Firstname": "Kari", "Lastname": "Nordmann", "Contact": {"ContactId": contact_id}}
    response = api("POST", "Person", json={**payload, **values})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_post_person_answers_200_with_the_saved_pascal_case_entity(api: Api) -> None:
    contact = _company(api)
    person = _person(
        api,
        contact["ContactId"],
        Emails=[{"Value": " kari@fjord.no ", "Description": "work"}],
        MobilePhones=[{"Value": "+47 912 34 567"}],
        Address={"Street": {"Address1": "Bryggen 1", "Zipcode": "5003", "City": "Bergen"}},
        Country={"CountryId": 578},
        CustomFields={"SuperOffice:1": "crm-1"},
    )
    assert person["PersonId"] == 1
    assert person["FullName"] == "Kari Nordmann"
    assert person["Emails"] == [
        {"Value": "kari@fjord.no", "StrippedValue": "kari@fjord.no", "Description": "work"}
    ]
    assert person["MobilePhones"][0]["StrippedValue"] == "+4791234567"
    assert person["Contact"]["ContactId"] == contact["ContactId"]
    assert person["Contact"]["Name"] == "Fjord Fisk AS"
    assert person["Country"]["TwoLetterISOCountry"] == "NO"
    assert person["Address"]["Street"]["Formatted"] == "Bryggen 1, 5003 Bergen"
    assert person["CustomFields"]["SuperOffice:1"] == "crm-1"
    assert person["UserDefinedFields"]["SuperOffice:1"] == "crm-1"
    assert person["CreatedDate"] == person["UpdatedDate"]
    assert person["CreatedDate"].endswith("Z")


def test_default_entities_are_blank_carriers(api: Api) -> None:
    person = api("GET", "Person/default").json()
    assert person["PersonId"] == 0
    assert person["Emails"] == []
    assert set(person["Address"]) >= {"Street", "Postal", "Formatted"}
    assert api("GET", "Product/default").json()["ProductId"] == 0
    assert api("GET", "Sale/default").json()["Status"] == "Open"
    assert api("GET", "Contact/default").json()["Address"]["Postal"]["AtypeIdx"] == "ContactPostal"


def test_get_of_a_missing_record_answers_the_documented_404_body(api: Api) -> None:
    response = api("GET", "Contact/99999")
    assert response.status_code == 404
    assert response.json() == {
        "Error": True,
        "ErrorType": "SoNotFoundException",
        "ErrorMessage": "Contact id 99999 not found",
        "ErrorSource": "SuperOffice.Services.Implementation",
    }


def test_get_sends_last_modified_and_answers_304_when_unchanged(api: Api) -> None:
    contact = _company(api)
    response = api("GET", f"Contact/{contact['ContactId']}")
    assert response.status_code == 200
    last_modified = response.headers["Last-Modified"]
    unchanged = api(
        "GET", f"Contact/{contact['ContactId']}", headers={"If-Modified-Since": last_modified}
    )
    assert unchanged.status_code == 304
    older = http_date(datetime.now(UTC) - timedelta(days=1))
    assert (
        api(
            "GET", f"Contact/{contact['ContactId']}", headers={"If-Modified-Since": older}
        ).status_code
        == 200
    )


def test_put_is_a_full_save_that_resets_missing_properties(api: Api) -> None:
    contact = _company(api, Department="Sales")
    response = api("PUT", f"Contact/{contact['ContactId']}", json={"Name": "Fjord Fisk ASA"})
    assert response.status_code == 200
    saved = response.json()
    assert saved["Name"] == "Fjord Fisk ASA"
    assert saved["Department"] == ""
    assert saved["UpdatedDate"] > contact["UpdatedDate"]
    assert saved["CreatedDate"] == contact["CreatedDate"]


def test_patch_accepts_json_patch_with_case_insensitive_paths(api: Api) -> None:
    contact = _company(api)
    ops = [
        {"op": "replace", "path": "department", "value": "Nord"},
        {"op": "add", "path": "/Emails/-", "value": {"Value": "post@fjord.no"}},
    ]
    response = api("PATCH", f"Contact/{contact['ContactId']}", json=ops)
    assert response.status_code == 200
    assert response.json()["Department"] == "Nord"
    assert response.json()["Emails"][0]["StrippedValue"] == "post@fjord.no"
    assert response.json()["Name"] == "Fjord Fisk AS"


def test_patch_accepts_json_merge_patch(api: Api) -> None:
    person = _person(api, _company(api)["ContactId"], Title="CEO")
    response = api(
        "PATCH",
        f"Person/{person['PersonId']}",
        json={"firstname": "Kåre", "CustomFields": {"SuperOffice:2": "x"}},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["FullName"], body["Title"], body["CustomFields"]["SuperOffice:2"]) == (
        "Kåre Nordmann",
        "CEO",
        "x",
    )


def test_patch_answers_409_when_a_test_operation_fails(api: Api) -> None:
    contact = _company(api)
    ops = [
        {"op": "test", "path": "/Name", "value": "Someone Else"},
        {"op": "replace", "path": "/Name", "value": "X"},
    ]
    response = api("PATCH", f"Contact/{contact['ContactId']}", json=ops)
    assert response.status_code == 409
    assert response.json()["ErrorType"] == "PatchTestFailedException"
    assert api("GET", f"Contact/{contact['ContactId']}").json()["Name"] == "Fjord Fisk AS"


def test_patch_answers_412_when_changed_since_if_unmodified_since(api: Api) -> None:
    contact = _company(api)
    stale = http_date(datetime.now(UTC) - timedelta(hours=1))
    response = api(
        "PATCH",
        f"Contact/{contact['ContactId']}",
        json={"Name": "X"},
        headers={"If-Unmodified-Since": stale},
    )
    assert response.status_code == 412
    assert response.json()["ErrorType"] == "PreconditionFailedException"
    fresh = api("GET", f"Contact/{contact['ContactId']}").headers["Last-Modified"]
    ok = api(
        "PATCH",
        f"Contact/{contact['ContactId']}",
        json={"Name": "X"},
        headers={"If-Unmodified-Since": fresh},
    )
    assert ok.status_code == 200


def test_product_refuses_patch_with_405_and_an_allow_header(api: Api) -> None:
    product = api(
        "POST", "Product", json={"Name": "Widget", "Code": "W-1", "ERPProductKey": "W-1"}
    ).json()
    response = api("PATCH", f"Product/{product['ProductId']}", json={"Name": "Gadget"})
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, PUT, DELETE"
    assert response.json() == {
        "Error": True,
        "ErrorType": "HttpMethodNotAllowed",
        "ErrorMessage": "The requested resource does not support http method 'PATCH'.",
        "ErrorSource": "SuperOffice.WebApi",
    }
    assert "UpdatedDate" not in product
    assert api("GET", f"Product/{product['ProductId']}").json()["Name"] == "Widget"


def test_too_long_fields_are_refused_and_nothing_is_stored(api: Api) -> None:
    response = api("POST", "Person", json={"Firstname": "x" * 100})
    assert response.status_code == 400
    assert response.json()["ErrorType"] == "FieldLengthException"
    assert (
        response.json()["ErrorMessage"]
        == "Firstname is 100 characters long; at most 99 are allowed"
    )
    assert api("GET", "Person?$select=personId").json()["value"] == []


def test_wrongly_typed_values_and_missing_bodies_answer_400(api: Api) -> None:
    bad = api("POST", "Contact", json={"Name": {"nested": True}})
    assert bad.status_code == 400
    assert (
        bad.json()["ErrorMessage"]
        == "Error converting value {'nested': True} to the type of property 'Name'"
    )
    empty = api("POST", "Contact", data=b"")
    assert (empty.status_code, empty.json()["ErrorMessage"]) == (
        400,
        "Entity to save is not in request body",
    )
    broken = api("POST", "Contact", data=b"{not json", headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    infinite = api("POST", "Product", data=b'{"UnitListPrice": Infinity}')
    assert infinite.json()["ErrorMessage"].startswith("Request body is not valid JSON: Infinity")


def test_reference_to_a_missing_contact_is_refused(api: Api) -> None:
    response = api("POST", "Person", json={"Firstname": "A", "Contact": {"ContactId": 77}})
    assert (response.status_code, response.json()["ErrorMessage"]) == (
        400,
        "Contact id 77 not found",
    )


def test_delete_person_is_soft_and_lands_in_the_recycle_archive(api: Api) -> None:
    person = _person(api, _company(api)["ContactId"])
    assert api("DELETE", f"Person/{person['PersonId']}").status_code == 204
    assert api("GET", f"Person/{person['PersonId']}").status_code == 404
    assert api("GET", "Person").json()["value"] == []
    recycled = api("GET", "Archive/RecyclePerson?$select=personId,personDeletedDate").json()[
        "value"
    ]
    assert [row["personId"] for row in recycled] == [person["PersonId"]]
    assert recycled[0]["personDeletedDate"].endswith("Z")


def test_delete_contact_recycles_its_persons_too(api: Api) -> None:
    contact = _company(api)
    _person(api, contact["ContactId"])
    assert api("DELETE", f"Contact/{contact['ContactId']}").status_code == 204
    assert len(api("GET", "Archive/RecycleContact").json()["value"]) == 1
    assert len(api("GET", "Archive/RecyclePerson").json()["value"]) == 1


def test_contact_lists_its_persons(api: Api) -> None:
    contact = _company(api)
    _person(api, contact["ContactId"], Emails=[{"Value": "kari@fjord.no"}])
    persons = api("GET", f"Contact/{contact['ContactId']}").json()["Persons"]
    assert [(p["FullName"], p["Email"]) for p in persons] == [("Kari Nordmann", "kari@fjord.no")]


def test_sale_carries_contact_person_and_currency_references(api: Api) -> None:
    contact = _company(api)
    person = _person(api, contact["ContactId"])
    payload = {
        "Heading": "Boats",
        "Amount": 1000,
        "Contact": {"ContactId": contact["ContactId"]},
        "Person": {"PersonId": person["PersonId"]},
        "Currency": {"Id": 1},
        "Saledate": "2026-03-01",
    }
    sale = api("POST", "Sale", json=payload).json()
    assert (sale["Contact"]["Name"], sale["Person"]["FullName"], sale["Currency"]["Value"]) == (
        "Fjord Fisk AS",
        "Kari Nordmann",
        "NOK",
    )
    patched = api(
        "PATCH",
        f"Sale/{sale['SaleId']}",
        json=[{"op": "replace", "path": "/Status", "value": "Sold"}],
    )
    assert patched.json()["Status"] == "Sold"


def test_updated_dates_strictly_increase_across_writes(api: Api) -> None:
    contact = _company(api)
    stamps = [contact["UpdatedDate"]]
    for n in range(5):
        stamps.append(
            api("PATCH", f"Contact/{contact['ContactId']}", json={"Number1": str(n)}).json()[
                "UpdatedDate"
            ]
        )
    assert stamps == sorted(set(stamps))


def test_select_on_an_entity_nulls_out_other_properties(api: Api) -> None:
    contact = _company(api, Department="Nord")
    body = api("GET", f"Contact/{contact['ContactId']}?$select=name,department").json()
    assert (body["Name"], body["Department"], body["OrgNr"]) == ("Fjord Fisk AS", "Nord", None)


def test_foreign_keys_store_an_external_id_and_find_the_record_by_it(api: Api) -> None:
    contact = _company(api)
    key = {
        "Key": "correlation",
        "Value": "crmsync-7f3a",
        "RecordId": contact["ContactId"],
        "TableName": "contact",
    }
    saved = api("POST", "ForeignApp/crmsync/sync/default/Key", json=key)
    assert saved.status_code == 200
    assert {k: saved.json()[k] for k in ("Key", "Value", "RecordId", "TableName")} == key
    found = api("GET", "ForeignApp/crmsync/sync/Key/correlation/contact?keyValue=crmsync-7f3a")
    assert (found.status_code, found.json()["RecordId"]) == (200, contact["ContactId"])
    by_record = api(
        "GET", f"ForeignApp/crmsync/sync/Key/correlation/contact/{contact['ContactId']}"
    )
    assert by_record.json()["Value"] == "crmsync-7f3a"
    extra = api("GET", f"Contact/{contact['ContactId']}?fk=true").json()["ExtraFields"]
    assert extra == {"crmsync.sync.correlation": "crmsync-7f3a"}
    listed = api("GET", f"Contact/{contact['ContactId']}/ForeignKey").json()
    assert listed == {"crmsync.sync.correlation": "crmsync-7f3a"}
    missing = api("GET", "ForeignApp/crmsync/sync/Key/correlation/contact?keyValue=nope")
    assert (missing.status_code, missing.json()["ErrorType"]) == (404, "SoNotFoundException")
    gone = api(
        "DELETE", f"ForeignApp/crmsync/sync/default/Key/correlation/contact/{contact['ContactId']}"
    )
    assert gone.status_code == 204


def test_writes_are_counted_and_reads_are_not(api: Api, sandbox: RunningSandbox) -> None:
    sandbox.clear_requests()
    contact = _company(api)
    api("GET", f"Contact/{contact['ContactId']}")
    api("GET", "Contact")
    counts = sandbox.requests()
    assert (counts["total"], counts["writes"]) == (3, 1)
    assert counts["by_route"]["POST /{endpoint}/api/v1/Contact"] == 1


def test_put_and_delete_answer_412_when_changed_since_if_unmodified_since(api: Api) -> None:
    contact = _company(api)
    stale = {"If-Unmodified-Since": http_date(datetime.now(UTC) - timedelta(hours=1))}
    put = api("PUT", f"Contact/{contact['ContactId']}", json={"Name": "X"}, headers=stale)
    assert (put.status_code, put.json()["ErrorType"]) == (412, "PreconditionFailedException")
    delete = api("DELETE", f"Contact/{contact['ContactId']}", headers=stale)
    assert delete.status_code == 412
    assert api("GET", f"Contact/{contact['ContactId']}").json()["Name"] == "Fjord Fisk AS"


@pytest.mark.parametrize(
    ("ops", "message"),
    [
        (
            [{"op": "move", "from": "/Name", "path": "/Department"}],
            "Patch operation 'move' is not supported",
        ),
        ([{"op": "replace", "value": "x"}], "Patch operation 0 needs 'op' and 'path'"),
        ("just text", "PATCH body must be a JSON Patch array or a JSON Merge Patch object"),
    ],
)
def test_unsupported_or_malformed_patches_answer_400(api: Api, ops: Any, message: str) -> None:
    contact = _company(api)
    response = api("PATCH", f"Contact/{contact['ContactId']}", json=ops)
    assert (response.status_code, response.json()["ErrorMessage"]) == (400, message)


def test_sale_status_must_be_a_sale_status(api: Api) -> None:
    response = api("POST", "Sale", json={"Heading": "x", "Status": "Won"})
    assert response.status_code == 400
    assert (
        response.json()["ErrorMessage"]
        == "Status must be one of Open, Sold, Lost, Stalled, not 'Won'"
    )


def test_if_modified_since_with_an_iso_moment_compares_at_full_precision(api: Api) -> None:
    contact = _company(api)
    path = f"Contact/{contact['ContactId']}"
    assert (
        api("GET", path, headers={"If-Modified-Since": contact["UpdatedDate"]}).status_code == 304
    )
    changed = api("PATCH", path, json={"Department": "Nord"}).json()["UpdatedDate"]
    assert changed > contact["UpdatedDate"]
    assert (
        api("GET", path, headers={"If-Modified-Since": contact["UpdatedDate"]}).status_code == 200
    )


def test_patch_clears_a_udef_by_merge_null_or_json_patch_remove(api: Api) -> None:
    person = _person(
        api, _company(api)["ContactId"], CustomFields={"SuperOffice:1": "a", "SuperOffice:2": "b"}
    )
    path = f"Person/{person['PersonId']}"
    merged = api("PATCH", path, json={"CustomFields": {"SuperOffice:1": None}}).json()
    assert (merged["CustomFields"]["SuperOffice:1"], merged["CustomFields"]["SuperOffice:2"]) == (
        "",
        "b",
    )
    removed = api(
        "PATCH", path, json=[{"op": "remove", "path": "/CustomFields/SuperOffice:2"}]
    ).json()
    assert removed["CustomFields"]["SuperOffice:2"] == ""
    assert removed["UserDefinedFields"]["SuperOffice:2"] == ""


def test_numbers_outside_int32_and_huge_values_are_refused_without_echoing_them(api: Api) -> None:
    too_big = api("POST", "Sale", json={"Heading": "x", "Probability": 2**40})
    assert (too_big.status_code, too_big.json()["ErrorMessage"]) == (
        400,
        "Error converting value 1099511627776 to the type of property 'Probability'",
    )
    huge = api("POST", "Product", json={"UnitListPrice": "9" * 5000})
    assert huge.status_code == 400
    assert len(huge.json()["ErrorMessage"]) < 200
