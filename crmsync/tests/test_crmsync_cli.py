"""The operator CLI over a crosswalk a real run filled."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from crmsync.cli import COMMANDS, main

README = Path(__file__).parents[1] / "README.md"


def run(*argv):
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


@pytest.fixture
def filled(world, crosswalk_url):
    acme = world.left.add("company", name="Acme AS", org_number="912345678", city="Oslo")
    world.left.add("company", name="", org_number="1")
    world.right.reject = lambda entity, values: (
        "name is required" if not values.get("name") else None
    )
    world.both()
    partner = world.crosswalk.translate("company", "customcrm", acme, "superoffice")
    world.left.edit("company", acme, city="Drammen")
    world.right.edit("company", partner, city="Bergen")
    world.both()
    return crosswalk_url


@pytest.mark.parametrize("command", COMMANDS)
def test_every_cli_command_is_documented_in_the_readme(command):
    assert f"`crmsync {command}" in README.read_text()


def test_report_lists_recent_runs_with_their_counts(filled):
    status, text = run("report", "--crosswalk", filled, "--limit", "1")
    assert status == 0
    assert "crmsync run 4 (customcrm->superoffice)" not in text
    assert "crmsync run 4 (superoffice->customcrm)" in text
    _status, raw = run("report", "--crosswalk", filled, "--json")
    first = json.loads(raw)[-1]
    assert first["report"]["entities"]["company"]["created"] == 1
    assert first["status"] == "finished"


def test_options_before_the_command_are_not_overwritten_by_its_defaults(filled, tmp_path):
    elsewhere = f"sqlite:///{tmp_path}/other.db"

    _status, before = run("--crosswalk", filled, "--json", "report")
    _status, after = run("report", "--crosswalk", filled, "--json")
    _status, empty = run("--crosswalk", elsewhere, "--json", "report")

    assert len(json.loads(before)) == 4
    assert json.loads(before) == json.loads(after)
    assert json.loads(empty) == []


def test_conflicts_show_base_both_values_winner_and_rule(filled):
    _status, raw = run("conflicts", "--crosswalk", filled, "--json")
    conflict = json.loads(raw)[-1]
    assert {
        key: conflict[key] for key in ("field", "base", "ours", "theirs", "winner", "rule")
    } == {
        "field": "city",
        "base": "Oslo",
        "ours": "Bergen",
        "theirs": "Drammen",
        "winner": "superoffice",
        "rule": "newer_wins",
    }


def test_quarantine_list_retry_and_drop(filled):
    _status, raw = run("quarantine", "list", "--crosswalk", filled, "--json")
    (item,) = json.loads(raw)
    assert (item["kind"], item["reason"]) == ("rejected", "name is required")

    assert run("quarantine", "retry", str(item["id"]), "--crosswalk", filled) == (
        0,
        "1 of 1 rows marked for retry on the next run\n",
    )
    _status, table = run("quarantine", "list", "--crosswalk", filled)
    assert "name is required" in table
    assert "True" in table
    assert run("quarantine", "drop", str(item["id"]), "999", "--crosswalk", filled) == (
        1,
        "1 of 2 rows dropped\n",
    )


def test_links_search_and_csv_export(filled):
    _status, raw = run("links", "search", "c1", "--crosswalk", filled, "--json")
    (link,) = json.loads(raw)
    assert (link["customcrm"], link["entity"]) == ("c1", "company")
    _status, text = run("links", "export", "--csv", "--crosswalk", filled)
    assert text.splitlines() == [
        "link_id,entity,customcrm,superoffice",
        f"{link['link_id']},company,c1,{link['superoffice']}",
    ]


def test_plan_without_a_dry_run_says_so(crosswalk_url, capsys):
    assert run("plan", "--crosswalk", crosswalk_url) == (1, "")
    assert capsys.readouterr().err == (
        "no dry-run plan stored yet: run a target with dry_run: true first\n"
    )


def test_the_console_script_runs_and_reads_the_environment(filled, tmp_path):
    script = Path(sys.executable).parent / "crmsync"
    result = subprocess.run(
        [str(script), "report", "--json"],
        capture_output=True,
        text=True,
        check=False,
        env={"CRMSYNC_CROSSWALK_URL": filled},
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 4


def test_an_unknown_command_is_a_usage_error(crosswalk_url, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["frobnicate", "--crosswalk", crosswalk_url])
    assert exit_info.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_plan_prints_the_latest_dry_run_as_a_table_and_as_json(world, crosswalk_url):
    acme = world.left.add("company", name="Acme AS", city="Oslo")
    world.both()
    world.left.edit("company", acme, city="Bergen")
    world.leg(world.left, world.right, dry_run=True)

    status, table = run("plan", "--crosswalk", crosswalk_url)
    assert status == 0
    assert "update  company  c1" in table
    assert "city: 'Oslo' -> 'Bergen'" in table
    _status, raw = run("plan", "--crosswalk", crosswalk_url, "--json")
    assert json.loads(raw)["updates"][0]["changes"] == {"city": ["Oslo", "Bergen"]}


def test_the_crosswalk_url_is_a_secret_setting():
    from crmsync.settings import SyncSettings

    setting = SyncSettings.json_schema()["crosswalk_url"]
    assert (setting["secret"], setting["writeOnly"]) == (True, True)
