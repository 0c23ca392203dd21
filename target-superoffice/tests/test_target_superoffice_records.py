"""How the target reads Singer records: the tap's columns and the sync metadata, nothing else."""

from __future__ import annotations

import pytest
from target_superoffice.target import TargetSuperOffice

CONFIG = {"auth_mode": "basic", "api_url": "http://127.0.0.1:9/x", "username": "u", "password": "p"}


@pytest.fixture
def target() -> TargetSuperOffice:
    return TargetSuperOffice(config=CONFIG, validate_config=True)


def test_a_mapped_person_is_read_by_its_sync_metadata(target: TargetSuperOffice) -> None:
    incoming = target.to_incoming(
        "persons",
        {
            "firstname": "Kari",
            "email": "kari@fjord.no",
            "contactId": "cus_1",
            "_source_system": "customcrm",
            "_source_id": "con_1",
            "_source_version": "2026-01-01T10:00:00Z",
            "_source_deleted": False,
        },
    )
    assert (incoming.system, incoming.id, incoming.deleted) == ("customcrm", "con_1", False)
    assert dict(incoming.values) == {
        "firstname": "Kari",
        "email": "kari@fjord.no",
        "contactId": "cus_1",
    }


def test_a_taps_own_row_uses_its_id_version_and_deleted_marker(target: TargetSuperOffice) -> None:
    incoming = target.to_incoming(
        "persons",
        {
            "personId": 7,
            "personUpdatedDate": "2026-01-01T10:00:00Z",
            "deleted": True,
            "personRegisteredDate": "2025-01-01T00:00:00Z",
        },
    )
    assert (incoming.system, incoming.id, incoming.version, incoming.deleted) == (
        "superoffice",
        "7",
        "2026-01-01T10:00:00.000000+00:00",  # crmsync's normalised form
        True,
    )
    assert dict(incoming.values) == {}  # the registered date is read-only


def test_a_column_the_tap_never_emits_is_refused(target: TargetSuperOffice) -> None:
    with pytest.raises(
        ValueError,
        match=r"^persons has no column first_name, mobile_phone \(target-superoffice accepts",
    ):
        target.to_incoming(
            "persons", {"_source_id": "con_1", "first_name": "Kari", "mobile_phone": "1"}
        )
