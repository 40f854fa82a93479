"""`gunmane workbench template|import|frontier` and `report --intake --frontier` on grid towns."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from service.cli import main
from tests.service.grid_scenario import write_grid_scenario


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_grid_scenario(tmp_path_factory.mktemp("grid"))


def test_template_and_import(tmp_path, capsys) -> None:
    """The template imports; a bad cell is named on stderr with exit 2 and nothing written."""
    assert main(["workbench", "template", "--out", str(tmp_path / "t")]) == 0
    staff = tmp_path / "t" / "staff.csv"
    assert main(["workbench", "import", str(staff), "--out", str(tmp_path / "ok")]) == 0
    assert json.loads((tmp_path / "ok" / "intake.json").read_text("utf-8"))["staff"][0][
        "staff_by_age"
    ]
    rows = list(csv.reader(staff.open(encoding="utf-8-sig")))
    rows[1][7] = "120"  # actual_planning
    with staff.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    capsys.readouterr()
    assert main(["workbench", "import", str(staff), "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err
    assert "staff!row 2, column actual_planning ('120'): must be between 0 and 100" in err
    assert not (tmp_path / "bad").exists()


def test_frontier_then_report(scenario, tmp_path, capsys) -> None:
    """The frontier's files feed the report's workbench section with the intake."""
    firms = tmp_path / "firms.json"
    firms.write_text(json.dumps([{"firm": "A", "crews": 1, "towns": ["T1", "T2"]}]), "utf-8")
    out = tmp_path / "frontier"
    code = main(
        ["workbench", "frontier", str(scenario), "--max-k", "2", "--region-iterations", "5",
         "--iterations", "3", "--firms", str(firms), "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "within local capacity (whole_towns)" in printed
    data = json.loads((out / "frontier.json").read_text("utf-8"))
    assert [(r["k"], r["whole_towns"]) for r in data["rows"]] == [
        (1, True), (2, True), (1, False), (2, False)
    ]  # fmt: skip
    assert data["firms_surveyed"] == 1
    assert (out / "frontier.png").read_bytes()[:4] == b"\x89PNG"
    main(["workbench", "template", "--out", str(tmp_path / "t")])
    report = tmp_path / "report"
    code = main(
        ["report", str(scenario), "--horizon", "2026-06", "--no-shares", "--out", str(report),
         "--intake", str(tmp_path / "t" / "workbench.xlsx"),
         "--frontier", str(out / "frontier.json")]
    )  # fmt: skip
    assert code == 0
    html = (report / "実施方針.html").read_text(encoding="utf-8")
    assert "契約数の検討" in html
    assert "職員の直営対応時間（点検・日常維持）" in html
