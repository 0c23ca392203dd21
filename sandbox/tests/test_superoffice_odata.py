"""The archive filter language: grammar, SQL translation, hostile input (no sockets)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sandbox.common.clock import Clock
from sandbox.superoffice.archive import PROVIDERS, ArchiveQuery, query_archive
from sandbox.superoffice.errors import FilterSyntaxError
from sandbox.superoffice.models import SuperOfficeModel
from sandbox.superoffice.odata import Column, filter_to_sql, parse_orderby, parse_select

COLUMNS = {
    "personId": Column("p.id", "int"),
    "lastName": Column("p.last", "string"),
    "personUpdatedDate": Column("p.updated", "datetime"),
    "personUdef/SuperOffice:1": Column("p.udef", "string"),
}


def test_filter_binds_every_value_as_a_parameter() -> None:
    sql, params = filter_to_sql(r"lastName eq 'Robert\'); DROP TABLE record; --'", COLUMNS)
    assert "DROP" not in sql
    assert params == ["robert'); drop table record; --"]


def test_filter_reads_backslash_escaped_quotes() -> None:
    sql, params = filter_to_sql(r"lastName begins 'O\'Brien'", COLUMNS)
    assert params == ["o'brien%"]
    assert "LIKE ? ESCAPE" in sql


def test_filter_escapes_like_wildcards_in_values() -> None:
    _, params = filter_to_sql("lastName contains '50%_off'", COLUMNS)
    assert params == ["%50\\%\\_off%"]


def test_after_time_is_inclusive_and_compares_the_full_moment() -> None:
    sql, params = filter_to_sql("personUpdatedDate afterTime '2020-05-28T15:00:01'", COLUMNS)
    assert sql == "(p.updated) >= ?"
    assert params == ["2020-05-28T15:00:01.000000Z"]


def test_before_time_is_exclusive() -> None:
    sql, _ = filter_to_sql("personUpdatedDate beforeTime '2020-05-28T15:00:01Z'", COLUMNS)
    assert sql == "(p.updated) < ?"


def test_plain_comparison_on_a_date_column_compares_the_date_part_only() -> None:
    sql, params = filter_to_sql("personUpdatedDate ge '2020-05-28T15:00:01'", COLUMNS)
    assert sql == "substr((p.updated), 1, 10) >= ?"
    assert params == ["2020-05-28"]


def test_and_binds_tighter_than_or_and_parentheses_group() -> None:
    sql, params = filter_to_sql(
        "personId eq 1 or personId eq 2 and (lastName eq 'a' or lastName eq 'b')", COLUMNS
    )
    assert sql.startswith("((p.id) = ? OR ((p.id) = ? AND (")
    assert params == [1, 2, "a", "b"]


def test_one_of_takes_a_parenthesised_list() -> None:
    sql, params = filter_to_sql("personId oneOf (3, 6, 9)", COLUMNS)
    assert sql == "(p.id) IN (?, ?, ?)"
    assert params == [3, 6, 9]


def test_operators_and_keywords_are_case_insensitive() -> None:
    sql, _ = filter_to_sql(
        "personUpdatedDate AFTERTIME '2020-01-01' AND lastName Begins 'x'", COLUMNS
    )
    assert " AND " in sql


def test_udef_columns_with_a_colon_are_addressable() -> None:
    _, params = filter_to_sql("personUdef/SuperOffice:1 eq 'crm-42'", COLUMNS)
    assert params == ["crm-42"]


def test_functions_startswith_and_substringof_are_supported() -> None:
    assert filter_to_sql("startswith(lastName,'Ha')", COLUMNS)[1] == ["ha%"]
    assert filter_to_sql("substringof('an',lastName)", COLUMNS)[1] == ["%an%"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus eq 1", "Unknown column 'bogus' in $filter"),
        ("personId eq 'x'", "'x' is not a number"),
        ("personId eq", "Operator 'eq' takes 1 value(s), got 0"),
        ("lastName afterTime 'x'", "Operator 'aftertime' is not valid for a string column"),
        ("personUpdatedDate afterTime 'yesterday'", "'yesterday' is not a date or datetime"),
        ("personId oneOf ()", "Malformed $filter: unexpected ')' at position 17"),
        ("lastName eq 'unterminated", "Malformed $filter: unexpected character at position 13"),
        ("(personId eq 1", "Malformed $filter: unexpected end of filter"),
    ],
)
def test_malformed_filters_raise_a_filter_syntax_error(text: str, message: str) -> None:
    with pytest.raises(FilterSyntaxError) as caught:
        filter_to_sql(text, COLUMNS)
    assert caught.value.message == message
    assert caught.value.status == 400


def test_overlong_filters_are_refused() -> None:
    with pytest.raises(FilterSyntaxError, match="longer than 4000"):
        filter_to_sql("personId eq 1 or " * 300 + "personId eq 1", COLUMNS)


def test_deeply_nested_filters_are_refused() -> None:
    nested = "personId eq 1"
    for _ in range(60):
        nested = f"personId eq 1 or ({nested})"
    with pytest.raises(FilterSyntaxError, match="nests deeper than 50 levels"):
        filter_to_sql(nested, COLUMNS)


def test_select_and_orderby_accept_only_known_columns() -> None:
    assert parse_select("PERSONID,lastname", COLUMNS, []) == ["personId", "lastName"]
    assert parse_orderby("personUpdatedDate desc, personId", COLUMNS) == [
        ("personUpdatedDate", False),
        ("personId", True),
    ]
    with pytest.raises(FilterSyntaxError, match="Unknown column 'x;drop' in \\$select"):
        parse_select("x;drop", COLUMNS, [])
    with pytest.raises(FilterSyntaxError, match="Malformed \\$orderby part 'personId sideways'"):
        parse_orderby("personId sideways", COLUMNS)


@pytest.fixture(scope="module")
def model() -> SuperOfficeModel:
    tenant = SuperOfficeModel(None, Clock())
    contact = tenant.save_entity("contact", {"Name": "Ærlig AS"})
    tenant.save_entity(
        "person", {"Firstname": "Åse", "Contact": {"ContactId": contact["ContactId"]}}
    )
    return tenant


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=120))
def test_hostile_filters_never_fail_other_than_with_a_syntax_error(
    model: SuperOfficeModel, text: str
) -> None:
    for provider in ("Person", "Contact"):
        assert _outcome(model, provider, text) in ("ran", "refused")


def _outcome(model: SuperOfficeModel, provider: str, text: str) -> str:
    """'ran' with a page of rows, or 'refused' with a 400 FilterSyntaxError; anything else fails."""
    query = ArchiveQuery(filter=text)
    refusal: FilterSyntaxError | None = None
    try:
        page = query_archive(model.store, provider, query, "http://h/C/api/v1/X")
    except FilterSyntaxError as error:
        refusal = error
    if refusal is not None:
        assert (refusal.status, refusal.body()["ErrorType"]) == (400, "ArchiveQueryException")
        return "refused"
    assert isinstance(page["value"], list)
    return "ran"


ALPHABET = st.sampled_from(
    ["personId", "lastName", "firstName", "name", "eq", "ne", "begins", "contains", "oneOf",
     "afterTime", "and", "or", "(", ")", ",", "'a'", "'x\\'y'", "1", "2.5", "'2020-01-01'", " "]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(ALPHABET, max_size=14).map(" ".join))
def test_near_valid_filters_either_run_or_raise_a_syntax_error(
    model: SuperOfficeModel, text: str
) -> None:
    assert _outcome(model, "Person", text) in ("ran", "refused")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), min_size=1, max_size=40))
def test_any_string_value_stays_a_parameter(text: str) -> None:
    literal = "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    sql, params = filter_to_sql(f"lastName eq {literal}", COLUMNS)
    # a non-empty value compares the bare expression (an expression index can serve it)
    bare = "so_fold(p.last) = ?"
    assert sql == (bare if text.casefold() else "COALESCE(so_fold(p.last), '') = ?")
    assert params == [text.casefold()]
    sqlite3.connect(":memory:").execute("SELECT ?", params)  # a bindable value


def test_every_provider_column_runs_in_sql(model: SuperOfficeModel) -> None:
    for name, provider in PROVIDERS.items():
        columns = ",".join(provider.columns)
        page = query_archive(model.store, name, ArchiveQuery(select=columns), "http://h/C/api/v1/X")
        assert isinstance(page["value"], list)


def test_contains_tests_of_one_column_under_or_read_the_column_once() -> None:
    sql, params = filter_to_sql(
        "lastName contains '678' or personId eq 3 or lastName contains 'ÅS'", COLUMNS
    )
    assert sql == "(so_contains_any(p.last, ?) OR (p.id) = ?)"
    assert (json.loads(params[0]), params[1]) == (["678", "ås"], 3)


NAMES = ["Ærlig AS", "Berg & Sønn", "100% Fisk", "Under_score", "Strasse 1", "STRAßE", "o'Hara"]


@pytest.fixture(scope="module")
def companies() -> SuperOfficeModel:
    tenant = SuperOfficeModel(None, Clock())
    for name in NAMES:
        tenant.save_entity("contact", {"Name": name})
    return tenant


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.sampled_from(["æ", "as", "AS", "ø", "1", "%", "_", "", "ss", "ß", "'", "zz"]),
        min_size=2,
        max_size=5,
    )
)
def test_an_or_of_contains_finds_what_each_contains_finds(
    companies: SuperOfficeModel, needles: list[str]
) -> None:
    def names(text: str) -> set[str]:
        query = ArchiveQuery(filter=text, select="name", top="100")
        page = query_archive(companies.store, "Contact", query, "http://h/C/api/v1/X")
        return {row["name"] for row in page["value"]}

    tests = [f"name contains '{needle.replace(chr(39), chr(92) + chr(39))}'" for needle in needles]
    one_by_one = set().union(*(names(test) for test in tests))
    assert names(" or ".join(tests)) == one_by_one
