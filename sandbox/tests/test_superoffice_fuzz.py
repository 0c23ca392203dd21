"""Arbitrary bodies never break a save or a patch: they are stored or refused with an SoError."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox.common.clock import Clock
from sandbox.superoffice.archive import PROVIDERS, ArchiveQuery, query_archive
from sandbox.superoffice.errors import SoError
from sandbox.superoffice.models import KINDS, SuperOfficeModel

FIELDS = ["Firstname", "Name", "Emails", "Contact", "Country", "Address", "CustomFields", "Status",
          "Amount", "UnitListPrice", "Phones", "Saledate", "Person", "Currency", "x"]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
BODIES = st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=6)


@pytest.fixture(scope="module")
def model() -> SuperOfficeModel:
    tenant = SuperOfficeModel(None, Clock())
    contact = tenant.save_entity("contact", {"Name": "Base AS"})
    tenant.save_entity(
        "person", {"Firstname": "Base", "Contact": {"ContactId": contact["ContactId"]}}
    )
    tenant.save_entity("sale", {"Heading": "Base"})
    tenant.save_entity("product", {"Name": "Base"})
    return tenant


def _outcome(action: Any) -> str:
    refusal: SoError | None = None
    try:
        action()
    except SoError as error:
        refusal = error
    if refusal is not None:
        assert 400 <= refusal.status < 500
        assert refusal.body()["Error"] is True
        return "refused"
    return "saved"


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(sorted(KINDS)), BODIES)
def test_any_body_is_saved_or_refused_with_a_client_error(
    model: SuperOfficeModel, kind: str, body: dict[str, Any]
) -> None:
    assert _outcome(lambda: model.save_entity(kind, body)) in ("saved", "refused")


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(["person", "contact", "sale"]), BODIES | st.lists(JSON, max_size=3) | JSON)
def test_any_patch_is_applied_or_refused_with_a_client_error(
    model: SuperOfficeModel, kind: str, changes: Any
) -> None:
    assert _outcome(lambda: model.patch_entity(kind, 1, changes)) in ("saved", "refused")


def test_the_store_stays_queryable_after_fuzzing(model: SuperOfficeModel) -> None:
    for name, provider in PROVIDERS.items():
        query = ArchiveQuery(select=",".join(provider.columns))
        page = query_archive(model.store, name, query, "http://h/C/api/v1/X")
        assert isinstance(page["value"], list)
