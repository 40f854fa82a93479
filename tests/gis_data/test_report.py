"""The 実施方針 draft: sections and figures in HTML and Markdown, the map, and the workbook."""

from __future__ import annotations

import geopandas as gpd
import pytest
from openpyxl import load_workbook
from shapely.geometry import Point, box

from gis_data.planning.cost_share import build_coalition_cost, share_costs
from gis_data.planning.effects import Phase, PlanCosting, estimate_effects
from gis_data.planning.plan_settings import PlanSettings, ReportOptions, default_phases
from gis_data.planning.work_calendar import parse_horizon
from gis_data.workbench.report import ReportInputs, write_report
from tests.gis_data._grid_router import STEP, X0, Y0, GridRouter, grid_towns

CODES = ("T1", "T2")
NAMES = {"T1": "一町", "T2": "二村"}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    towns = grid_towns(CODES, width=2)
    router = GridRouter(towns)
    horizon = parse_horizon("2026-06")
    costing = PlanCosting(towns.assets, router, horizon, metric_crs="EPSG:2056")
    effects = estimate_effects(
        costing,
        town_depots={c: f"depot:{c}" for c in CODES},
        bundle_depots="yard",
        phases=[Phase("第1期", "FY2026", ("T1",)), Phase("第2期", "FY2028", CODES)],
    )
    cost = build_coalition_cost(
        towns.assets, router, horizon, depot="yard", sample_days=2, metric_crs="EPSG:2056"
    )
    shares = share_costs(cost, towns.assets, names=NAMES, populations=towns.population)
    munis = gpd.GeoDataFrame(
        {
            "municipality_code": list(CODES),
            "municipality": [NAMES[c] for c in CODES],
            "geometry": [
                box(X0 + 2 * k * STEP - 250, Y0 - 250, X0 + (2 * k + 2) * STEP - 250, Y0 + 1250)
                for k in range(2)
            ],
        },
        crs="EPSG:2056",
    )
    depots = gpd.GeoDataFrame(
        {"depot_id": ["yard"], "kind": ["contractor"], "geometry": [Point(X0 + 1000, Y0 + 500)]},
        crs="EPSG:2056",
    )
    settings = PlanSettings(report=ReportOptions(contract_years=5, performance_spec=False))
    inputs = ReportInputs(
        scenario_name="二町村",
        town_names=NAMES,
        populations={c: float(p) for c, p in towns.population.items()},
        fields_present=("road", "river", "park"),
        effects=effects,
        settings=settings,
        municipalities=munis,
        depots=depots,
        shares=shares,
        region_method="1 region",
    )
    files = write_report(inputs, tmp_path_factory.mktemp("report"))
    return inputs, files


def test_html_has_every_section_and_the_figures(report) -> None:
    """The HTML follows the guide's template and carries the computed saving and the map."""
    inputs, files = report
    html = files.html.read_text(encoding="utf-8")
    for section in (
        "課題と期待される効果",
        "(1) マネジメント戦略",
        "包括する分野×業務",
        "複数年契約: 有（5年）",
        "性能規定: 無",
        "(2) 自治体の束",
        "段階的な実施",
        "費用分担",
        "(3) 技術者・データの連携",
        "算定の前提",
        "© OpenStreetMap contributors",
    ):
        assert section in html, section
    saving = inputs.effects.siloed.cost_yen - inputs.effects.bundled.cost_yen
    assert f"{saving:,.0f}" in html
    assert "data:image/png;base64," in html
    assert "一町" in html
    assert "二村" in html
    assert "2.32" in html


def test_markdown_links_the_map_and_has_the_scope_matrix(report) -> None:
    """The Markdown links region_map.png (a real PNG) and marks patrol as bundled for each field."""
    _, files = report
    md = files.markdown.read_text(encoding="utf-8")
    assert "](region_map.png)" in md
    assert files.map_png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| 道路 | － | － | － | － | ○ | ○ | ○ |" in md
    assert "## (3) 技術者・データの連携" in md


def test_workbook_has_the_tables(report) -> None:
    """The .xlsx opens with openpyxl; effect, phase, share and assumption sheets hold figures."""
    inputs, files = report
    wb = load_workbook(files.xlsx)
    assert wb.sheetnames[:2] == ["導入効果", "段階別"]
    assert {"費用分担", "コア検証", "前提条件"} <= set(wb.sheetnames)
    effect = {row[0]: row for row in wb["導入効果"].iter_rows(min_row=2, values_only=True)}
    assert effect["巡回費用合計"][2] == pytest.approx(inputs.effects.siloed.cost_yen)
    assert effect["巡回費用合計"][3] == pytest.approx(inputs.effects.bundled.cost_yen)
    share_rows = list(wb["費用分担"].iter_rows(min_row=2, values_only=True))
    assert share_rows[-1][0] == "合計"
    assert share_rows[-1][6] == pytest.approx(inputs.shares.total_yen)
    assert sum(r[6] for r in share_rows[:-1]) == pytest.approx(inputs.shares.total_yen)


def test_default_phases_start_with_the_most_populous_town() -> None:
    """Without configured phases: largest town first, one more per phase, two years apart."""
    phases = default_phases({"A": 100.0, "B": 900.0, "C": 500.0, "D": 50.0})
    assert [p.towns for p in phases] == [("B",), ("B", "C"), ("B", "C", "A")]
    assert [p.start for p in phases] == ["FY2026", "FY2028", "FY2030"]
    unknown = default_phases({"A": float("nan"), "B": 10.0})
    assert [p.towns for p in unknown] == [("B",), ("B", "A")]
