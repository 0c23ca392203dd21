"""Reading connection settings, and keeping the token out of sight (no sockets)."""

from __future__ import annotations

import pytest
import requests
from customcrm_client import ClientSettings, CustomcrmClient, TokenAuth

TOKEN = "s3cr3t-token-value"


def test_settings_default_to_the_contracts_prefix_and_tls_on() -> None:
    settings = ClientSettings.from_config({"api_url": "https://crm.example/", "api_token": TOKEN})
    assert settings.api_url == "https://crm.example"
    assert settings.path("customers") == "/api/v1/customers"
    assert settings.verify_tls is True


def test_settings_accept_another_prefix_and_resource_path() -> None:
    config = {
        "api_url": "https://crm.example",
        "api_token": TOKEN,
        "path_prefix": "crm/v2/",
        "resource_paths": {"customers": "/clients"},
    }
    settings = ClientSettings.from_config(config)
    assert settings.path("customers") == "/crm/v2/clients"
    assert settings.path("products") == "/crm/v2/products"


def test_settings_without_a_token_fail_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match=r"^Customcrm setting `api_token` is required$"):
        ClientSettings.from_config({"api_url": "https://crm.example"})


def test_token_never_shows_in_repr_of_settings_auth_or_client() -> None:
    settings = ClientSettings.from_config({"api_url": "https://crm.example", "api_token": TOKEN})
    client = CustomcrmClient(settings)
    for shown in (repr(settings), repr(client), repr(client.auth), repr(client.session.auth)):
        assert TOKEN not in shown


def test_token_auth_sends_bearer_by_default_and_bare_tokens_when_asked() -> None:
    request = requests.Request("GET", "https://crm.example/").prepare()
    assert TokenAuth(TOKEN)(request).headers["Authorization"] == f"Bearer {TOKEN}"
    request = requests.Request("GET", "https://crm.example/").prepare()
    assert TokenAuth(TOKEN, header="X-Api-Key", scheme="")(request).headers["X-Api-Key"] == TOKEN
