"""The workbench in the 実施方針 draft: current state, freed hours, ordering matrix, k frontier."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from gis_data.planning.effects import PlanCosting, estimate_effects
from gis_data.planning.plan_settings import PlanSettings
from gis_data.planning.units import build_units
from gis_data.planning.work_calendar import parse_horizon
from gis_data.workbench.frontier import FrontierRequest, frontier_png, sweep_frontier
from gis_data.workbench.intake import Intake, OrderRecord, StaffRecord
from gis_data.workbench.report import ReportInputs, scope_rows, write_report
from gis_data.workbench.survey import FirmCapacity
from gis_data.workbench.workbench_report import workbench_section
from optimizer.stop import MaxIterations
from tests.gis_data._grid_router import CRS, STEP, X0, Y0, GridRouter, grid_towns

CODES = ("T1", "T2")
NAMES = {"T1": "一町", "T2": "二村"}
PCT = {"planning": 10.0, "inspection": 30.0, "works": 10.0, "maintenance": 40.0, "counter": 10.0}
AGES = {"under30": 0, "30s": 1, "40s": 1, "50s": 2, "60plus": 1}


@pytest.fixture(scope="module")
def inputs():
    towns = grid_towns(CODES, width=2)
    router = GridRouter(towns)
    costing = PlanCosting(towns.assets, router, parse_horizon("2026-06"), metric_crs=CRS)
    effects = estimate_effects(
        costing, town_depots={c: f"depot:{c}" for c in CODES}, bundle_depots="yard"
    )
    intake = Intake(
        staff=tuple(StaffRecord(c, NAMES[c], AGES, PCT, PCT) for c in CODES),
        orders=(
            OrderRecord("建設課", "T1", "road", "works", "per_job", 5e6, failed_tenders=3),
            OrderRecord("建設課", "T2", "river", "inspection", "multi_year", 1e6, bundled=True),
        ),
    )
    yard = gpd.GeoDataFrame(
        {"depot_id": ["yard"], "name": ["Yard"], "kind": ["contractor"]},
        geometry=[Point(X0 + 1000, Y0 + 500)],
        crs=CRS,
    )
    frontier = sweep_frontier(
        build_units(towns.assets, metric_crs=CRS, target_km=1.0),
        towns.assets,
        router,
        FrontierRequest(ks=(1, 2, 3), variants=(True,), balance_tolerance=0.5),
        stop=MaxIterations(10),
        town_depots={c: f"depot:{c}" for c in CODES},
        bundle_depot="yard",
        depots=yard.to_crs(4326),
        firms=(FirmCapacity("A", 2),),
    )
    munis = gpd.GeoDataFrame(
        {
            "municipality_code": list(CODES),
            "municipality": [NAMES[c] for c in CODES],
            "geometry": [
                box(X0 + 2 * k * STEP - 250, Y0 - 250, X0 + (2 * k + 2) * STEP - 250, Y0 + 1250)
                for k in range(2)
            ],
        },
        crs=CRS,
    )
    section = workbench_section(
        intake=intake,
        frontier=frontier.to_dict(),
        effects=effects,
        town_names=NAMES,
        frontier_png=frontier_png(frontier),
    )
    return ReportInputs(
        scenario_name="二町村",
        town_names=NAMES,
        populations=dict.fromkeys(CODES, 1000.0),
        fields_present=("road", "river", "park"),
        effects=effects,
        settings=PlanSettings(),
        municipalities=munis,
        depots=yard,
        region_method="1 region",
        workbench=section,
    )


def test_ordering_status_suggests_scope_cells_but_only_patrols_are_ticked(inputs) -> None:
    """The matrix ticks (●) only the modelled patrol work; the ordering status marks failing and
    bundled cells as candidates (△); without the workbench there are none."""
    with_wb = {(r[0], r[1]): r[2:] for r in scope_rows(inputs)}
    plain = dataclasses.replace(inputs, workbench=None)
    without = {(r[0], r[1]): r[2:] for r in scope_rows(plain)}
    works, inspection, routine = 3, 1, 4  # columns of 工事, 点検, 維持作業
    assert with_wb[("道路", "舗装")][works] == "△"
    assert without[("道路", "舗装")][works] == "－"
    assert with_wb[("河川", "河川構造物")][inspection] == "△"
    assert with_wb[("道路", "巡回")][routine] == "●"  # no assets given: patrols only
    assert without[("公園", "巡回")][routine] == "●"
    assert "○" not in {c for cells in without.values() for c in cells}


def test_report_has_the_workbench_sections(inputs, tmp_path) -> None:
    """HTML and Markdown carry staff, freed hours per town, the flagged matrix and the frontier."""
    files = write_report(inputs, tmp_path)
    html = files.html.read_text(encoding="utf-8")
    md = files.markdown.read_text(encoding="utf-8")
    for text in (html, md):
        assert "現状把握（土木技術職員・業務時間の配分）" in text
        assert "職員の直営対応時間（点検・日常維持）" in text
        assert "✕3" in text
        assert "契約数の検討" in text
        assert "二村" in text
    assert html.count("data:image/png;base64,") == 2  # region map and frontier plot
    # The base material is 参考資料 after chapter (3), not between (2) and (3).
    chapter3, reference = html.index(">（３）技術者連携、データ連携<"), html.index(">参考資料<")
    assert chapter3 < reference < html.index(">現状把握（土木技術職員")
    freed = inputs.workbench["freed"]
    assert [r["town"] for r in freed] == ["一町", "二村"]
    rows = inputs.workbench["frontier"]["rows"]
    assert [r["k"] for r in rows] == [1, 2, 3]
    assert "不可" in html  # k = 3 whole towns out of 2 towns
