"""Payload building and value spelling (pure: no sockets)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from target_customcrm.payloads import in_customcrm_terms, ours_from, payload


def test_a_date_time_for_a_date_property_keeps_its_date_part() -> None:
    values = {"quote_date": "2026-05-22T23:30:00+01:00", "valid_until": "2026-06-21"}
    assert in_customcrm_terms("quote", values) == {
        "quote_date": "2026-05-22",
        "valid_until": "2026-06-21",
    }


def test_an_empty_optional_string_is_null_but_a_required_one_is_kept() -> None:
    values = {"email": "", "country": "", "name": "", "city": "Oslo"}
    assert in_customcrm_terms("company", values) == {
        "email": None,
        "country": None,
        "name": "",
        "city": "Oslo",
    }


def test_payload_keeps_only_writable_properties() -> None:
    values = {"name": "Nord AS", "version": 3, "subtotal": 10, "nickname": "n", "city": None}
    assert payload("company", values) == {"name": "Nord AS", "city": None}


def test_payload_for_a_create_leaves_out_nulls_the_api_would_refuse() -> None:
    values = {"title": "Offer", "customer_id": "cus_1", "status": None, "currency": None}
    assert payload("quote", values, creating=True) == {
        "title": "Offer",
        "customer_id": "cus_1",
        "currency": None,
    }
    assert payload("quote", values)["status"] is None


def test_payload_for_an_unknown_entity_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"no resource for link entity 'invoice'; known: company"):
        payload("invoice", {})


def test_ours_keeps_updated_at_as_version_and_the_api_version_for_if_match() -> None:
    record = {
        "id": "cus_1",
        "version": 4,
        "updated_at": "2026-11-25T10:00:00.000001Z",
        "deleted_at": None,
        "external_ids": {"crmsync": "ck-1"},
        "name": "Nord AS",
    }
    ours = ours_from("company", record)
    assert ours.version == "2026-11-25T10:00:00.000001Z"
    assert ours.extra["version"] == 4
    assert ours.correlation_key == "ck-1"
    assert ours.deleted is False
    assert ours.values["name"] == "Nord AS"
    assert "version" not in ours.values


values_strategy = st.dictionaries(
    st.sampled_from(["quote_date", "valid_until", "title", "description", "currency", "status"]),
    st.one_of(st.none(), st.just(""), st.text(max_size=30), st.datetimes().map(str)),
)


@given(values=values_strategy)
def test_spelling_twice_is_spelling_once(values: dict[str, object]) -> None:
    once = in_customcrm_terms("quote", values)
    assert in_customcrm_terms("quote", once) == once
