"""Seeding from the shared world, reset, and SQLite persistence across restarts."""

from __future__ import annotations

import re
from pathlib import Path

from sandbox.common.world import side_of_world
from sandbox.superoffice import create_emulator


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def test_seed_turns_the_superoffice_side_of_the_world_into_records(tmp_path: Path) -> None:
    emulator = create_emulator(tmp_path, token="t")
    emulator.model.reset(9, 4)
    world = side_of_world("superoffice", 9, 4)
    model = emulator.model
    assert len(model.records("contacts")) == len(world.companies)
    assert len(model.records("persons")) == len(world.people)
    assert len(model.records("products")) == len(world.products)
    assert len(model.records("sales")) == len(model.records("quotes")) == len(world.quotes)
    keys = {p["ERPProductKey"] for p in model.records("products")}
    lines = model.records("quote_lines")
    assert lines
    assert {line["ERPProductKey"] for line in lines} <= keys
    assert all(p["Contact"] and p["Contact"]["ContactId"] for p in model.records("persons"))
    emulator.model.close()


def test_seed_shares_org_numbers_emails_and_codes_with_the_customcrm_side(tmp_path: Path) -> None:
    emulator = create_emulator(tmp_path, token="t")
    emulator.model.reset(12, 7)
    theirs = side_of_world("customcrm", 12, 7)
    model = emulator.model
    org_numbers = {_digits(c["OrgNr"]) for c in model.records("contacts")}
    assert org_numbers & {_digits(c.org_number) for c in theirs.companies}
    emails = {p["Emails"][0]["Value"].casefold() for p in model.records("persons") if p["Emails"]}
    assert emails & {p.email.casefold() for p in theirs.people}
    codes = {p["Code"].casefold() for p in model.records("products")}
    assert codes & {p.sku.casefold() for p in theirs.products}
    emulator.model.close()


def test_reset_without_seed_empties_the_tenant(tmp_path: Path) -> None:
    emulator = create_emulator(tmp_path, token="t")
    emulator.model.reset(3, 1)
    assert not emulator.model.is_empty()
    emulator.model.reset(0, 0)
    assert emulator.model.is_empty()
    emulator.model.close()


def test_records_survive_a_restart_and_the_clock_keeps_moving_forward(tmp_path: Path) -> None:
    first = create_emulator(tmp_path, token="t")
    saved = first.model.save_entity("contact", {"Name": "Varig AS"})
    first.model.close()
    second = create_emulator(tmp_path, token="t")
    body, _ = second.model.get_entity("contact", saved["ContactId"])
    assert body["Name"] == "Varig AS"
    later = second.model.save_entity("contact", {"Name": "Ny AS"})
    assert later["ContactId"] == saved["ContactId"] + 1
    assert later["UpdatedDate"] > saved["UpdatedDate"]
    second.model.close()
