"""OData query text: quoting, timestamps, restrictions."""

from datetime import UTC, datetime, timedelta, timezone

from superoffice_client.query import (
    ArchiveQuery,
    all_of,
    any_of,
    equals,
    literal,
    one_of,
    updated_since,
)


def test_literal_escapes_quotes_and_backslashes() -> None:
    assert literal("O'Brien \\ Sons") == "'O\\'Brien \\\\ Sons'"


def test_literal_leaves_numbers_bare() -> None:
    assert literal(42) == "42"


def test_updated_since_sends_utc_to_the_second() -> None:
    oslo = timezone(timedelta(hours=1))
    moment = datetime(2024, 5, 28, 16, 0, 1, 999_999, tzinfo=oslo)
    assert updated_since("personUpdatedDate", moment) == (
        "personUpdatedDate afterTime '2024-05-28T15:00:01'"
    )


def test_updated_since_takes_naive_moments_as_utc() -> None:
    assert updated_since("updatedDate", datetime(2024, 1, 2, 3, 4, 5)) == (
        "updatedDate afterTime '2024-01-02T03:04:05'"
    )


def test_one_of_lists_ids_as_the_docs_show() -> None:
    assert one_of("personId", [1, 2, 3]) == "personId oneOf (1,2,3)"


def test_all_of_wraps_each_clause_and_skips_empty_ones() -> None:
    assert all_of(equals("name", "a"), None, "x gt 1") == "(name eq 'a') and (x gt 1)"
    assert all_of(equals("name", "a"), None) == "name eq 'a'"


def test_any_of_joins_clauses_with_or_for_a_batch_lookup_by_string_key() -> None:
    assert any_of(equals("erpProductKey", "A-1"), equals("erpProductKey", "B'2")) == (
        "(erpProductKey eq 'A-1') or (erpProductKey eq 'B\\'2')"
    )
    assert any_of(equals("code", "x"), None) == "code eq 'x'"


def test_archive_query_params_and_next_page() -> None:
    query = ArchiveQuery(
        select=("personId", "personUpdatedDate"),
        filter=updated_since("personUpdatedDate", datetime(2024, 1, 1, tzinfo=UTC)),
        orderby=("personUpdatedDate asc", "personId asc"),
        top=50,
    )
    assert query.params() == {
        "$select": "personId,personUpdatedDate",
        "$filter": "personUpdatedDate afterTime '2024-01-01T00:00:00'",
        "$orderby": "personUpdatedDate asc,personId asc",
        "$top": "50",
        "$skip": "0",
    }
    assert query.next_page().params()["$skip"] == "50"
