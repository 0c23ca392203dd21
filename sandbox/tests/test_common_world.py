"""The shared seed world: deterministic, Nordic, valid org numbers, and a third shared."""

from __future__ import annotations

import random

import pytest
from sandbox.common.orgnumbers import org_number, org_number_is_valid
from sandbox.common.world import World, side_of_world


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


@pytest.fixture(scope="module")
def sides() -> tuple[World, World]:
    return side_of_world("customcrm", 30, 7), side_of_world("superoffice", 30, 7)


@pytest.mark.parametrize(
    ("country", "number"),
    [("NO", "974760673"), ("SE", "556036-0793"), ("DK", "10150817"), ("FI", "0112038-9")],
)
def test_real_org_numbers_pass_and_a_changed_digit_fails(country: str, number: str) -> None:
    tampered = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert org_number_is_valid(country, number)
    assert not org_number_is_valid(country, tampered)


@pytest.mark.parametrize("country", ["NO", "SE", "DK", "FI"])
def test_generated_org_numbers_carry_valid_check_digits(country: str) -> None:
    rng = random.Random(5)
    assert all(org_number_is_valid(country, org_number(country, rng)) for _ in range(200))


def test_the_same_seed_value_gives_the_same_world() -> None:
    assert side_of_world("customcrm", 12, 3) == side_of_world("customcrm", 12, 3)
    assert side_of_world("customcrm", 12, 3) != side_of_world("customcrm", 12, 4)


def test_a_third_of_companies_exist_on_both_sides_with_the_same_org_number(
    sides: tuple[World, World],
) -> None:
    ours, theirs = sides
    ours_orgs = {_digits(c.org_number) for c in ours.companies}
    theirs_orgs = {_digits(c.org_number) for c in theirs.companies}
    shared = {_digits(c.org_number) for c in ours.companies if c.shared}
    assert (len(ours.companies), len(theirs.companies), len(shared)) == (30, 30, 10)
    assert ours_orgs & theirs_orgs == shared
    assert all(org_number_is_valid(c.country, c.org_number) for c in ours.companies)


def test_shared_people_match_by_email_and_the_rest_never_collide(
    sides: tuple[World, World],
) -> None:
    ours, theirs = sides
    ours_mail = {p.email.casefold() for p in ours.people}
    theirs_mail = {p.email.casefold() for p in theirs.people}
    shared = {p.email.casefold() for p in ours.people if p.shared}
    assert shared
    assert ours_mail & theirs_mail == shared
    assert len(ours_mail) == len(ours.people)


def test_shared_products_match_by_code_ignoring_case(sides: tuple[World, World]) -> None:
    ours, theirs = sides
    ours_skus = {p.sku.casefold() for p in ours.products}
    theirs_skus = {p.sku.casefold() for p in theirs.products}
    assert ours_skus & theirs_skus == {p.sku.casefold() for p in ours.products if p.shared}
    assert len(ours.products) == 15


def test_superoffice_writes_some_shared_match_keys_differently(sides: tuple[World, World]) -> None:
    ours, theirs = sides
    written = {c.key: c for c in ours.companies}
    differently = [
        c for c in theirs.companies if c.shared and c.org_number != written[c.key].org_number
    ]
    assert all(_digits(c.org_number) == _digits(written[c.key].org_number) for c in differently)
    emails = {p.key: p.email for p in ours.people}
    assert any(p.shared and p.email != emails[p.key] for p in theirs.people)


def test_quotes_refer_to_their_own_side(sides: tuple[World, World]) -> None:
    ours, _ = sides
    companies = {c.key for c in ours.companies}
    products = {p.key for p in ours.products}
    assert len(ours.quotes) == 15
    assert all(q.company_key in companies for q in ours.quotes)
    assert all(line.product_key in products for q in ours.quotes for line in q.lines)


def test_a_bigger_world_starts_with_the_same_records() -> None:
    small, big = side_of_world("customcrm", 9, 2), side_of_world("customcrm", 30, 2)
    assert big.companies[:3] == small.companies[:3]
    assert big.people[0] == small.people[0]


def test_an_unknown_side_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown side 'hubspot'"):
        side_of_world("hubspot", 3, 0)  # type: ignore[arg-type]
