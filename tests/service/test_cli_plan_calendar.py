"""`gunmane plan calendar`, `plan effects`, `plan shares` and `report` on the tiny grid towns."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import gpxpy
import pytest
from openpyxl import load_workbook

from service.cli import main
from tests.service.grid_scenario import write_grid_scenario


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_grid_scenario(tmp_path_factory.mktemp("grid"))


def test_plan_calendar_month_json_and_export(scenario, tmp_path, capsys) -> None:
    """A month: no patrol on Sundays or holidays, full coverage, per-day GPX for contractors."""
    out = tmp_path / "cal"
    code = main(
        ["plan", "calendar", str(scenario), "--horizon", "2026-05", "--json", "--out", str(out)]
    )
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    summary = data["summary"]
    assert summary["working_days"] == 18
    assert summary["coverage_pct"] == 100.0
    assert summary["max_gap_ratio"] <= 1.0
    dates = {row["date"] for row in data["days"]}
    assert "2026-05-05" not in dates
    busy = [row for row in data["days"] if row["assets"]]
    assert all(row["routes"] >= 1 and row["km"] > 0 for row in busy)
    first = busy[0]["date"]
    gpx = gpxpy.parse((out / first / "region1.gpx").read_text(encoding="utf-8"))
    assert gpx.tracks
    # UTF-8 with a BOM, so that Excel on Japanese Windows reads it without mojibake.
    assert (out / "calendar.csv").read_bytes().startswith(b"\xef\xbb\xbfdate,")
    assert dt.date.fromisoformat(first).weekday() < 5


def test_plan_effects_and_shares_json(scenario, capsys) -> None:
    """Effects compare siloed and bundled; shares add up to the total and list the towns."""
    assert main(["plan", "effects", str(scenario), "--horizon", "2026-06", "--json"]) == 0
    effects = json.loads(capsys.readouterr().out)
    rows = {r["metric"]: r for r in effects["comparison"]}
    assert rows["vehicles"]["bundled"] <= rows["vehicles"]["siloed"]
    assert rows["staff_hours"]["saving"] > 0
    assert [p["start"] for p in effects["phases"]][:1] == ["FY2026"]
    code = main(
        ["plan", "shares", str(scenario), "--horizon", "2026-06", "--sample-days", "2", "--json"]
    )
    assert code == 0
    shares = json.loads(capsys.readouterr().out)
    assert [t["code"] for t in shares["towns"]] == ["T1", "T2"]
    assert sum(t["shapley_yen"] for t in shares["towns"]) == pytest.approx(shares["total_yen"])
    assert shares["shapley_exact"] is True
    assert shares["coalitions_costed"] == 3


@pytest.mark.slow
def test_plan_shares_on_two_worker_processes(scenario, capsys) -> None:
    """`--workers 2` (a local Dask cluster of two processes): same shares from the same solves."""
    argv = ["plan", "shares", str(scenario), "--horizon", "2026-06", "--sample-days", "2", "--json"]
    assert main(argv) == 0
    inline = json.loads(capsys.readouterr().out)
    assert main([*argv, "--workers", "2"]) == 0
    parallel = json.loads(capsys.readouterr().out)
    assert parallel["towns"] == inline["towns"]
    assert parallel["routing_solves"] == inline["routing_solves"] > 0


def test_report_writes_html_markdown_xlsx(scenario, tmp_path, capsys) -> None:
    """The report command writes HTML, Markdown, Word and the workbook in the guide's order."""
    out = tmp_path / "report"
    code = main(
        ["report", str(scenario), "--horizon", "2026-06", "--sample-days", "2", "--out", str(out)]
    )
    assert code == 0
    html = (out / "実施方針.html").read_text(encoding="utf-8")
    assert "（２）自治体の束" in html
    assert "Aville" in html
    assert "（１）業務のマネジメント戦略" in (out / "実施方針.md").read_text(encoding="utf-8")
    wb = load_workbook(out / "導入効果_費用分担.xlsx")
    assert "費用分担" in wb.sheetnames
    assert (out / "実施方針.docx").read_bytes()[:2] == b"PK"
    figures = json.loads((out / "figures.json").read_text(encoding="utf-8"))
    assert figures["shares"]["total_yen"] > 0
    assert "実施方針.html" in capsys.readouterr().out
