"""Merge patches carry only what changed."""

from superoffice_client.patch import merge_patch


def test_merge_patch_is_empty_when_nothing_changed() -> None:
    entity = {"Firstname": "Ola", "Address": {"Postal": {"City": "Oslo"}}}
    assert merge_patch(entity, entity) == {}


def test_merge_patch_descends_into_objects_and_sends_lists_whole() -> None:
    before = {
        "Firstname": "Ola",
        "Emails": [{"Value": "a@x.no"}, {"Value": "b@x.no"}],
        "Address": {"Postal": {"City": "Oslo", "Zipcode": "0150"}, "Street": {"City": "Oslo"}},
    }
    after = {
        "Firstname": "Ola",
        "Emails": [{"Value": "c@x.no"}, {"Value": "b@x.no"}],
        "Address": {"Postal": {"City": "Bergen", "Zipcode": "0150"}, "Street": {"City": "Oslo"}},
    }
    assert merge_patch(before, after) == {
        "Emails": [{"Value": "c@x.no"}, {"Value": "b@x.no"}],
        "Address": {"Postal": {"City": "Bergen"}},
    }


def test_merge_patch_sends_a_cleared_reference_as_null() -> None:
    assert merge_patch({"Contact": {"ContactId": 3}}, {"Contact": None}) == {"Contact": None}
