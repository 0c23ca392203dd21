"""Read-only contract checks, written once: against the sandbox by default, and against a real
Customcrm when opted in (`pytest -m live` with CUSTOMCRM_API_URL and CUSTOMCRM_API_TOKEN set)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from customcrm_client import ClientSettings, CustomcrmClient
from sandbox.testing import running_sandbox

RECORD_META = {"id", "version", "created_at", "updated_at", "deleted_at", "external_ids"}
RESOURCES = ("customers", "contacts", "products", "quotes")


@pytest.fixture(
    scope="module",
    params=["sandbox", pytest.param("live", marks=pytest.mark.live)],
)
def client(request: pytest.FixtureRequest) -> Iterator[CustomcrmClient]:
    if request.param == "live":
        url, token = os.environ.get("CUSTOMCRM_API_URL"), os.environ.get("CUSTOMCRM_API_TOKEN")
        if not url or not token:
            pytest.skip("set CUSTOMCRM_API_URL and CUSTOMCRM_API_TOKEN to run against a tenant")
        yield CustomcrmClient(ClientSettings.from_config({"api_url": url, "api_token": token}))
        return
    with running_sandbox("customcrm", seed=3, seed_value=5) as crm:
        settings = ClientSettings.from_config({"api_url": crm.url, "api_token": crm.token})
        yield CustomcrmClient(settings)


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_list_page_has_items_and_a_cursor(client: CustomcrmClient, resource: str) -> None:
    body = client.request("GET", client.settings.path(resource), params={"limit": 2}).json()
    assert set(body) >= {"items", "next_cursor"}
    for item in body["items"]:
        assert set(item) >= RECORD_META
        assert item["updated_at"].endswith("Z")


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_list_is_ordered_by_updated_at_then_id(client: CustomcrmClient, resource: str) -> None:
    page = next(client.list_pages(resource, {"limit": 50, "include_deleted": "true"}))
    keys = [(item["updated_at"], item["id"]) for item in page]
    assert keys == sorted(keys)


def test_updated_since_is_inclusive(client: CustomcrmClient) -> None:
    first = next(client.list_pages("customers", {"limit": 1}))
    if not first:
        pytest.skip("no customers to compare")
    since = first[0]["updated_at"]
    again = next(client.list_pages("customers", {"limit": 1, "updated_since": since}))
    assert again[0]["id"] == first[0]["id"]


def test_quotes_carry_their_lines(client: CustomcrmClient) -> None:
    for quote in next(client.list_pages("quotes", {"limit": 10})):
        assert isinstance(quote["lines"], list)
        assert all(line["quote_id"] == quote["id"] for line in quote["lines"])
