"""Reading Singer records and settings: metadata first, own fields as fallback, clear errors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from crmsync.receipts import normalise_version

from crmsync import Incoming, MatchKey, SyncSettings


def test_from_record_reads_the_sync_metadata_and_strips_it():
    incoming = Incoming.from_record(
        {
            "_source_system": "superoffice",
            "_source_id": 42,
            "_source_version": "2026-01-01T01:00:00+01:00",
            "_source_deleted": False,
            "Name": "Acme",
            "id": "ignored",
            "updated_at": "x",
            "_sdc_received_at": "y",
        },
        default_system="customcrm",
    )
    assert (incoming.system, incoming.id, incoming.deleted) == ("superoffice", "42", False)
    assert incoming.version == "2026-01-01T00:00:00.000000+00:00"
    assert incoming.updated_at == "2026-01-01T00:00:00+00:00"
    assert incoming.values == {"Name": "Acme"}


def test_from_record_falls_back_to_the_records_own_id_version_and_deletion():
    incoming = Incoming.from_record(
        {
            "id": "cus_1",
            "updated_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            "name": "Acme",
            "unit_price": Decimal("10.50"),
            "qty": Decimal(3),
            "deleted_at": "2026-01-02T00:00:00Z",
            "created_at": "2025-01-01T00:00:00Z",
        },
        default_system="customcrm",
        deleted_field="deleted_at",
        drop_fields=("created_at",),
    )
    assert (incoming.system, incoming.id, incoming.deleted) == ("customcrm", "cus_1", True)
    assert incoming.values == {"name": "Acme", "unit_price": 10.5, "qty": 3}


def test_from_record_without_any_id_is_a_clear_error():
    with pytest.raises(
        ValueError, match=r"^record has neither _source_id nor 'id'; cannot tell who it is$"
    ):
        Incoming.from_record({"name": "Acme"}, default_system="customcrm")


@pytest.mark.parametrize(
    ("version", "normalised"),
    [
        ("2026-01-01T00:00:00Z", "2026-01-01T00:00:00.000000+00:00"),
        ("2026-01-01T02:00:00+02:00", "2026-01-01T00:00:00.000000+00:00"),
        ("2026-01-01T00:00:00", "2026-01-01T00:00:00.000000+00:00"),
        (7, "7"),
        ("a1b2c3", "a1b2c3"),
        (None, None),
    ],
)
def test_versions_are_normalised_before_comparing(version, normalised):
    assert normalise_version(version) == normalised


def test_settings_read_from_a_target_config_ignore_unknown_keys():
    settings = SyncSettings.from_config(
        {
            "api_token": "s3cret",
            "conflict_policy": "source_wins",
            "max_concurrency": None,
            "field_ownership": {"person.email": "superoffice"},
        }
    )
    assert settings.conflict_policy == "source_wins"
    assert settings.max_concurrency == 4
    assert dict(settings.field_ownership) == {"person.email": "superoffice"}


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"conflict_policy": "loudest_wins"},
            "conflict_policy must be one of ['newer_wins', 'source_wins', 'destination_wins'], "
            "not 'loudest_wins'",
        ),
        (
            {"delete_policy": "purge"},
            "delete_policy must be one of ['soft_delete', 'unlink', 'ignore'], not 'purge'",
        ),
        ({"max_delete_share": 1.5}, "max_delete_share must be between 0 and 1, not 1.5"),
        ({"max_concurrency": 0}, "max_concurrency must be at least 1, not 0"),
        (
            {"field_ownership": ["person"]},
            "field_ownership must be an object of entity[.field] -> side name",
        ),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(config, message):
    with pytest.raises(ValueError, match=r"must be") as refused:
        SyncSettings.from_config(config)
    assert str(refused.value) == message


def test_an_unknown_normaliser_is_refused():
    with pytest.raises(ValueError, match=r"normaliser") as refused:
        MatchKey("email", "lowercase")
    assert str(refused.value) == (
        "unknown match-key normaliser 'lowercase'; "
        "expected one of ['code', 'digits', 'email', 'name']"
    )
