"""The three-way merge, decision by decision, plus its properties."""

from __future__ import annotations

import pytest
from crmsync.merge import FieldConflict, Policy, merge
from hypothesis import given
from hypothesis import strategies as st

EARLY, LATE = "2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00"  # the same instant
LATER = "2026-01-02T00:00:00Z"

CASES = [
    # name, base, ours, theirs, policy, merged value of "f", conflict winner/rule or None
    ("only theirs changed", "a", "a", "b", Policy(), "b", None),
    ("only ours changed", "a", "b", "a", Policy(), "b", None),
    ("both changed the same way", "a", "b", "b", Policy(), "b", None),
    ("nobody changed", "a", "a", "a", Policy(), "a", None),
    (
        "both changed, theirs newer",
        "a",
        "o",
        "t",
        Policy(theirs_updated_at=LATER, ours_updated_at=EARLY),
        "t",
        ("theirs", "newer_wins"),
    ),
    (
        "both changed, ours newer",
        "a",
        "o",
        "t",
        Policy(theirs_updated_at=EARLY, ours_updated_at=LATER),
        "o",
        ("ours", "newer_wins"),
    ),
    (
        "both changed, same instant in two zones",
        "a",
        "o",
        "t",
        Policy(theirs_updated_at=LATE, ours_updated_at=EARLY),
        "t",
        ("theirs", "newer_wins"),
    ),
    ("both changed, times unknown", "a", "o", "t", Policy(), "t", ("theirs", "newer_wins")),
    (
        "both changed, source wins",
        "a",
        "o",
        "t",
        Policy("source_wins", theirs_updated_at=EARLY, ours_updated_at=LATER),
        "t",
        ("theirs", "source_wins"),
    ),
    (
        "both changed, destination wins",
        "a",
        "o",
        "t",
        Policy("destination_wins"),
        "o",
        ("ours", "destination_wins"),
    ),
    (
        "field owner beats newer",
        "a",
        "o",
        "t",
        Policy(owners={"f": "ours"}, theirs_updated_at=LATER, ours_updated_at=EARLY),
        "o",
        ("ours", "field_ownership:f"),
    ),
    (
        "entity owner beats policy",
        "a",
        "o",
        "t",
        Policy("destination_wins", owners={"*": "theirs"}),
        "t",
        ("theirs", "field_ownership:entity"),
    ),
    (
        "field owner beats entity owner",
        "a",
        "o",
        "t",
        Policy(owners={"*": "theirs", "f": "ours"}),
        "o",
        ("ours", "field_ownership:f"),
    ),
    ("no base, values equal", None, "x", "x", Policy(), "x", None),
    (
        "no base, values differ",
        None,
        "o",
        "t",
        Policy("destination_wins"),
        "o",
        ("ours", "destination_wins"),
    ),
    ("null set by theirs", "a", "a", None, Policy(), None, None),
]


@pytest.mark.parametrize(
    ("base", "ours", "theirs", "policy", "value", "conflict"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_merge_decides_each_field(base, ours, theirs, policy, value, conflict):
    merged = merge(None if base is None else {"f": base}, {"f": ours}, {"f": theirs}, policy)
    assert merged.values == {"f": value}
    if conflict is None:
        assert merged.conflicts == ()
    else:
        assert merged.conflicts == (FieldConflict("f", base, ours, theirs, *conflict),)


def test_merge_keeps_ours_when_only_ours_changed_and_takes_theirs_elsewhere():
    merged = merge({"a": 1, "b": 1}, {"a": 2, "b": 1}, {"a": 1, "b": 3}, Policy())
    assert merged.values == {"a": 2, "b": 3}
    assert merged.changes({"a": 2, "b": 1}) == {"b": 3}


def test_merge_leaves_fields_theirs_does_not_carry():
    merged = merge({"a": 1}, {"a": 1, "extra": "ours only"}, {"a": 2}, Policy())
    assert merged.values == {"a": 2}
    assert merged.changes({"a": 1, "extra": "ours only"}) == {"a": 2}


values = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["x", "y", ""]))
records = st.dictionaries(st.sampled_from(["a", "b", "c"]), values, min_size=1)
policies = st.builds(
    Policy,
    st.sampled_from(["newer_wins", "source_wins", "destination_wins"]),
    st.dictionaries(st.sampled_from(["a", "*"]), st.sampled_from(["ours", "theirs"]), max_size=1),
    st.sampled_from([None, EARLY, LATER]),
    st.sampled_from([None, EARLY, LATER]),
)


@given(records, records, records, policies)
def test_merge_is_deterministic(base, ours, theirs, policy):
    assert merge(base, ours, theirs, policy) == merge(dict(base), dict(ours), dict(theirs), policy)


@given(records, policies)
def test_merge_of_one_record_with_itself_is_that_record(record, policy):
    assert merge(record, record, record, policy).values == record
    assert merge(record, record, record, policy).conflicts == ()


@given(records, records, records, policies)
def test_applying_the_same_incoming_twice_changes_nothing(base, ours, theirs, policy):
    first = merge(base, ours, theirs, policy)
    written = {**ours, **first.values}
    second = merge(first.agreed(base, theirs), written, theirs, policy)
    assert second.changes(written) == {}


@given(records, records, policies)
def test_theirs_equal_to_base_always_yields_ours(base, ours, policy):
    theirs = dict(base)
    merged = merge(base, ours, theirs, policy)
    assert merged.values == {key: ours.get(key) for key in theirs}
    assert merged.conflicts == ()


@given(records, records, records, policies)
def test_merge_only_picks_values_someone_had(base, ours, theirs, policy):
    merged = merge(base, ours, theirs, policy)
    for key, value in merged.values.items():
        assert value in (ours.get(key), theirs[key])
