"""The shared Singer glue: a target built on SyncTarget, fed Singer messages on stdin."""

from __future__ import annotations

import io
import json

import pytest
from crmsync.deletes import DeleteCircuitBreakerError
from crmsync.settings import SyncSettings
from crmsync.singer import _INVALID, SyncTarget, _KeepInvalid
from hypothesis import given, settings
from hypothesis import strategies as st
from singer_sdk.exceptions import InvalidRecord
from singer_sdk.sinks.core import JSONSchemaValidator

from crmsync import Crosswalk, EntitySpec, MatchKey, Reference, Synchronizer

COMPANY_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "org_number": {"type": ["string", "null"]},
        "updated_at": {"type": "string", "format": "date-time"},
        "deleted_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
PERSON_SCHEMA = {
    "type": "object",
    "properties": {
        "_source_system": {"type": "string"},
        "_source_id": {"type": "string"},
        "_source_version": {"type": "string"},
        "_source_deleted": {"type": "boolean"},
        "first_name": {"type": "string"},
        "company_id": {"type": ["string", "null"]},
    },
}


@pytest.fixture
def target_class(right):
    class MemoryTarget(SyncTarget):
        name = "target-memory"
        config_jsonschema = {"type": "object", "properties": {"region": {"type": "string"}}}
        entity_specs = {
            "customers": EntitySpec("company", match_keys=(MatchKey("org_number", "digits"),)),
            "contacts": EntitySpec("person", references=(Reference("company_id", "company"),)),
        }
        deleted_field = "deleted_at"
        read_only_fields = ("created_at",)

        def build_destination(self, config):
            return right

    return MemoryTarget


def lines(*messages):
    return io.StringIO("".join(json.dumps(message) + "\n" for message in messages))


def schema(stream, body):
    return {"type": "SCHEMA", "stream": stream, "schema": body, "key_properties": []}


def record(stream, **values):
    return {"type": "RECORD", "stream": stream, "record": values}


def test_the_crmsync_settings_join_the_target_config_schema(target_class):
    properties = target_class.config_jsonschema["properties"]
    assert set(SyncSettings.json_schema()) <= set(properties)
    assert properties["region"] == {"type": "string"}


def test_a_target_syncs_parents_first_and_prints_the_report_after_finish(
    target_class, right, crosswalk_url, capsys
):
    target = target_class(config={"crosswalk_url": crosswalk_url, "source_system": "customcrm"})
    target.listen(
        file_input=lines(
            schema("contacts", PERSON_SCHEMA),
            record(
                "contacts",
                _source_system="customcrm",
                _source_id="c2",
                _source_version="2026-01-01T00:00:02Z",
                first_name="Kari",
                company_id="c1",
            ),
            schema("customers", COMPANY_SCHEMA),
            record(
                "customers",
                id="c1",
                name="Acme AS",
                org_number="912345678",
                updated_at="2026-01-01T00:00:01Z",
                deleted_at=None,
            ),
            {"type": "STATE", "value": {"bookmarks": {"customers": {"x": 1}}}},
        )
    )

    output = capsys.readouterr()
    assert json.loads(output.out.strip().splitlines()[-1]) == {"bookmarks": {"customers": {"x": 1}}}
    assert "crmsync run 1 (customcrm->superoffice)" in output.err
    (company_id,) = right.live("company")
    (person,) = right.live("person").values()
    assert person == {"first_name": "Kari", "company_id": company_id}


def test_an_unknown_stream_is_counted_and_skipped_not_fatal(target_class, crosswalk_url, capsys):
    target = target_class(config={"crosswalk_url": crosswalk_url, "source_system": "customcrm"})
    target.listen(
        file_input=lines(
            schema(
                "meltano_test_stream", {"type": "object", "properties": {"id": {"type": "integer"}}}
            ),
            record("meltano_test_stream", id=1),
        )
    )
    report = Crosswalk.connect(crosswalk_url).runs.recent()[0]["report"]
    assert report["skipped_streams"] == {"meltano_test_stream": 1}
    assert "skipped 1 records of unknown stream meltano_test_stream" in capsys.readouterr().err


def test_a_record_breaking_the_schema_is_quarantined_with_the_reason(
    target_class, right, crosswalk_url
):
    target = target_class(config={"crosswalk_url": crosswalk_url, "source_system": "customcrm"})
    target.listen(
        file_input=lines(
            schema("customers", COMPANY_SCHEMA),
            record("customers", id="c1", name=42, updated_at="2026-01-01T00:00:01Z"),
            record("customers", id="c2", name="Fine AS", updated_at="2026-01-01T00:00:01Z"),
        )
    )
    crosswalk = Crosswalk.connect(crosswalk_url)
    (item,) = crosswalk.quarantine.items()
    assert (item.kind, item.source_id) == ("rejected", "c1")
    assert item.reason == "schema: 42 is not of type 'string'"
    assert list(right.live("company").values()) == [{"name": "Fine AS"}]


def test_a_tripped_delete_breaker_fails_the_target_before_any_state(
    target_class, right, crosswalk_url, capsys
):
    config = {
        "crosswalk_url": crosswalk_url,
        "source_system": "customcrm",
        "min_deletes_for_breaker": 1,
        "max_delete_share": 0.5,
    }
    target_class(config=config).listen(
        file_input=lines(
            schema("customers", COMPANY_SCHEMA),
            record("customers", id="c1", name="Acme AS", updated_at="2026-01-01T00:00:01Z"),
        )
    )
    capsys.readouterr()
    with pytest.raises(DeleteCircuitBreakerError):
        target_class(config=config).listen(
            file_input=lines(
                schema("customers", COMPANY_SCHEMA),
                record(
                    "customers",
                    id="c1",
                    name="Acme AS",
                    updated_at="2026-01-01T00:00:09Z",
                    deleted_at="2026-01-01T00:00:09Z",
                ),
                {"type": "STATE", "value": {"bookmarks": {"customers": {"x": 2}}}},
            )
        )
    output = capsys.readouterr()
    assert output.out == ""
    assert "delete circuit breaker tripped for company" in output.err
    assert len(right.live("company")) == 1


def test_a_child_sink_filling_up_first_drains_its_parents_records_before_its_own(
    target_class, right, crosswalk_url, monkeypatch
):
    results: list[str] = []
    receive = Synchronizer.receive

    def watched(self, entity, records):
        outcomes = receive(self, entity, records)
        results.extend(outcome.result for outcome in outcomes)
        return outcomes

    monkeypatch.setattr(Synchronizer, "receive", watched)
    config = {"crosswalk_url": crosswalk_url, "source_system": "customcrm", "batch_size_rows": 2}
    company = {"name": "Acme AS", "updated_at": "2026-01-01T00:00:01Z", "deleted_at": None}
    people = [
        record(
            "contacts",
            _source_system="customcrm",
            _source_id=f"p{n}",
            _source_version="2026-01-01T00:00:02Z",
            first_name=f"Kari {n}",
            company_id="c1",
        )
        for n in range(2)
    ]
    target = target_class(config=config)
    target.listen(
        file_input=lines(
            schema("customers", COMPANY_SCHEMA),
            record("customers", id="c1", org_number="912345678", **company),
            schema("contacts", PERSON_SCHEMA),
            *people,  # the contacts sink is full here, the customers sink still holds c1
        )
    )

    assert results == ["created"] * 3  # no person waited for its company
    (company_id,) = right.live("company")
    assert {p["company_id"] for p in right.live("person").values()} == {company_id}


def _scan(version, *ids, gap=()):
    """A complete scan of customers as tap-superoffice's `full_id_scan` sends it."""
    rows = [record("customers", id=i, name=f"Company {i}", org_number=None,
                   updated_at="2026-01-01T00:00:01Z", deleted_at=None) for i in ids]  # fmt: skip
    activate = {"type": "ACTIVATE_VERSION", "stream": "customers", "version": version}
    return [schema("customers", COMPANY_SCHEMA), activate, *rows, *gap, activate]


def test_a_complete_scan_between_two_activate_versions_deletes_what_it_lacked(
    target_class, right, crosswalk_url
):
    config = {"crosswalk_url": crosswalk_url, "source_system": "customcrm"}
    target_class(config=config).listen(file_input=lines(*_scan(1, "c1", "c2", "c3", "c4")))
    assert len(right.live("company")) == 4

    target = target_class(config=config)
    target.listen(file_input=lines(*_scan(2, "c1", "c2", "c4")))

    assert target.synchronizer.report.get("company", "deleted") == 1
    assert sorted(values["name"] for values in right.live("company").values()) == [
        "Company c1", "Company c2", "Company c4"
    ]  # fmt: skip


@pytest.mark.parametrize(
    "cut",
    [
        pytest.param(lambda messages: messages[:-1], id="the scan never closed"),
        pytest.param(
            lambda messages: [*messages[:-1], record("customers", name="no id"), messages[-1]],
            id="a record without an id",
        ),
    ],
)
def test_an_incomplete_scan_deletes_nothing(target_class, right, crosswalk_url, cut):
    config = {"crosswalk_url": crosswalk_url, "source_system": "customcrm"}
    target_class(config=config).listen(file_input=lines(*_scan(1, "c1", "c2", "c3", "c4")))

    target = target_class(config=config)
    target.listen(file_input=lines(*cut(_scan(2, "c1", "c2"))))

    assert target.synchronizer.report.get("company", "deleted") == 0
    assert len(right.live("company")) == 4


RICH_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 4},
        "name": {"type": ["string", "null"], "pattern": "^[A-Z]"},
        "org_number": {"enum": ["1", "2", None]},
        "updated_at": {"type": "string", "format": "date-time"},
        "deleted_at": {"type": "integer", "minimum": 0},
        "first_name": {"type": "array", "items": {"type": "integer"}, "maxItems": 1},
        "company_id": {"type": "object", "properties": {"a": {"type": "number"}}},
        "_source_deleted": {"type": "boolean"},
    },
    "additionalProperties": False,
}
"""More of JSON Schema than the taps' schemas use (they use type, format and properties
under draft 2020-12), for the fast check's test."""

_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False),
    st.sampled_from([1.0, -1.0, 0.5, True, False, "A", "a", "1", "Abcde"]),
    st.text(max_size=8),
    st.sampled_from(["2026-01-01T00:00:01Z", "not a date", "", "42"]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), st.one_of(st.integers(), st.text()), max_size=2),
)


_BOTH_CHECKS = [
    (JSONSchemaValidator(body), _KeepInvalid(body))
    for body in (COMPANY_SCHEMA, PERSON_SCHEMA, RICH_SCHEMA)
]


@settings(max_examples=600)
@given(
    st.sampled_from(_BOTH_CHECKS),
    st.dictionaries(
        st.sampled_from(["id", "name", "org_number", "updated_at", "deleted_at", "first_name",
                         "company_id", "_source_deleted", "_source_id", "extra"]),
        _VALUES,
    ),
)  # fmt: skip
def test_the_fast_schema_check_keeps_exactly_the_records_the_sdk_validator_keeps(
    checks: tuple[JSONSchemaValidator, _KeepInvalid], record: dict
) -> None:
    """The compiled check only saves work: a record is marked invalid, with the SDK
    validator's message, exactly when the SDK's validator refuses it."""
    sdk, keep_invalid = checks
    try:
        sdk.validate(dict(record))
        expected = None
    except InvalidRecord as invalid:
        expected = f"schema: {invalid.error_message}"
    checked = dict(record)
    keep_invalid.validate(checked)
    assert checked.get(_INVALID) == expected
