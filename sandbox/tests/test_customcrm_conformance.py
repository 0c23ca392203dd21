"""Schemathesis drives the Customcrm reference server over real HTTP from the contract
(docs/customcrm-openapi.yaml) and checks every answer against it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from sandbox.customcrm.contract import CONTRACT_PATH
from sandbox.customcrm.resources import encode_cursor
from sandbox.testing import RunningSandbox, running_sandbox
from schemathesis.config import SchemathesisConfig
from schemathesis.core.transport import Response

# Cursors are opaque: only ones the server issued are valid, so the fuzzer gets a real one.
ISSUED_CURSOR = encode_cursor("2000-01-01T00:00:00.000000Z", 0)
# Record routes also get ids of seeded records, so PATCH and DELETE reach real records.
SEEDED_RECORDS = (
    "\n".join(
        f"""
    [[operations]]
    include-path-regex = "^/api/v1/{name}/{{"
    parameters = {{ "path.id" = "{first}" }}
    """
        for name, first in (("customers", "cus_1"), ("contacts", "con_1"), ("products", "prd_1"))
    )
    + """
    [[operations]]
    include-path-regex = "^/api/v1/quotes/"
    parameters = { "path.id" = "quo_1", "path.line_id" = "qln_1" }
    """
)
# Business-rule answers the contract documents for schema-valid requests: a stale If-Match
# (412) and references to records that do not exist or a reused Idempotency-Key (422).
CONFIG = SchemathesisConfig.from_str(
    f"""
    [generation]
    max-examples = 4
    deterministic = true
    [phases.coverage]
    unexpected-methods = ["PUT"]
    [parameters]
    "query.cursor" = "{ISSUED_CURSOR}"
    [checks.positive_data_acceptance]
    expected-statuses = ["2xx", "401", "404", "409", "412", "422"]
    {SEEDED_RECORDS}
    """
)
schema = schemathesis.openapi.from_path(CONTRACT_PATH, config=CONFIG)


@pytest.fixture(scope="module")
def customcrm() -> Iterator[RunningSandbox]:
    with running_sandbox("customcrm", seed=6, seed_value=3) as sandbox:
        yield sandbox


@schema.parametrize()
def test_server_conforms_to_its_contract(
    case: schemathesis.Case,  # type: ignore[type-arg]  # generic only in its stubs
    customcrm: RunningSandbox,
) -> None:
    response: Response = case.call_and_validate(
        base_url=customcrm.url, headers={"Authorization": f"Bearer {customcrm.token}"}
    )
    assert response.status_code < 500


def test_the_contract_is_a_valid_openapi_3_1_document() -> None:
    from jsonschema import Draft202012Validator
    from sandbox.customcrm.contract import load_contract
    from schemathesis.specs.openapi.definitions import OPENAPI_31

    errors = [e.message for e in Draft202012Validator(OPENAPI_31).iter_errors(load_contract())]
    assert errors == []


def test_the_server_reads_the_contract_as_a_safe_yaml_loader_does() -> None:
    """The server reads the contract with libyaml's loader (fast) where it has one; what it
    reads must be what PyYAML's own safe loader reads (the document schemathesis checks)."""
    import yaml
    from sandbox.customcrm.contract import load_contract

    assert load_contract() == yaml.safe_load(CONTRACT_PATH.read_text(encoding="utf-8"))
