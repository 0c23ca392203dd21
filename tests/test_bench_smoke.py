"""`python -m bench` end to end at a tiny size: it writes sane results and renders the page.

Only the crosswalk measure runs here (seconds); the others start Meltano and the plugins
and stay in `make bench`. Speed is never asserted: this machine's load varies.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_crosswalk_writes_measured_fields_and_renders_the_page(tmp_path: Path) -> None:
    results, page = tmp_path / "results", tmp_path / "benchmarks.md"
    command = [sys.executable, "-m", "bench", "--measures", "crosswalk", "--links", "1000"]
    command += ["--operations", "20", "--no-postgres", "--results", str(results)]
    command += ["--docs", str(page), "--workdir", str(tmp_path / "work")]
    finished = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert finished.returncode == 0, finished.stderr[-3000:]

    result = json.loads((results / "crosswalk.json").read_text())
    assert result["measure"] == "crosswalk"
    assert result["machine"]["cpus"] >= 1
    assert result["machine"]["python"].startswith("3.")
    sqlite = result["databases"]["sqlite"]
    assert sqlite["links"] == 1000
    assert sqlite["operations"] == 20
    for operation in ("find", "translate", "link", "agree"):
        assert sqlite[f"{operation}_per_second"] > 0, operation
        assert sqlite[f"{operation}_per_cpu_second"] > 0, operation
    assert "postgresql" not in result["databases"]

    text = page.read_text()
    assert "## 5. Crosswalk" in text
    assert f"| sqlite | 1,000 | {sqlite['bulk_load']['seconds']} |" in text
    assert page.with_suffix(".png").read_bytes().startswith(b"\x89PNG")


def test_a_naive_sample_keeps_each_levels_share_and_only_records_whose_parents_it_keeps() -> None:
    sys.path.insert(0, str(ROOT))
    from bench.loaders import Create, sample

    companies = [Create(("customers", f"c{n}"), "customers", {}, "id") for n in range(10)]
    people = [
        Create(
            ("contacts", f"p{n}"),
            "contacts",
            {},
            "id",
            {"customer_id": ("customers", f"c{n % 10}")},
        )
        for n in range(20)
    ]
    lines = [
        Create(
            ("lines", f"l{n}"), "quotes/{parent}/lines", {}, "id", parent=("customers", f"c{9 - n}")
        )
        for n in range(10)
    ]

    kept = sample([companies, people, lines], 8)

    assert [len(level) for level in kept] == [2, 4, 2]
    chosen = {create.key for level in kept for create in level}
    for create in (c for level in kept for c in level):
        assert all(key in chosen for key in create.refs.values())
        assert create.parent is None or create.parent in chosen
    assert sample([companies, people], 1000) == [companies, people]
