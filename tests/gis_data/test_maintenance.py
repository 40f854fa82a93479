"""Maintenance beyond patrols: each task's quantity, crew-days, trade and season in the calendar,
settings overrides, and the work in the report's scope matrix and budget."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString, Point, box

from gis_data.planning.maintenance import DEFAULT_TASKS, plan_maintenance, tasks_from_settings
from gis_data.planning.work_calendar import parse_horizon, working_days

CRS = "EPSG:2056"
X, Y = 2_757_000.0, 1_222_000.0


def _assets() -> gpd.GeoDataFrame:
    rows = [
        ("r1", "T1", "road", "road_segment", "tertiary", LineString([(X, Y), (X + 1000, Y)])),
        ("r2", "T1", "road", "road_segment", "residential", LineString([(X, Y), (X, Y + 500)])),
        ("b1", "T1", "road", "bridge", "", Point(X + 500, Y)),
        ("w1", "T2", "river", "river_bank", "", LineString([(X, Y + 900), (X + 2000, Y + 900)])),
        ("p1", "T2", "park", "park", "", box(X + 100, Y + 100, X + 200, Y + 200)),
    ]
    return gpd.GeoDataFrame(
        {
            "asset_id": [r[0] for r in rows],
            "municipality_code": [r[1] for r in rows],
            "field": [r[2] for r in rows],
            "kind": [r[3] for r in rows],
            "road_class": [r[4] for r in rows],
        },
        geometry=[r[5] for r in rows],
        crs=CRS,
    )


@pytest.fixture(scope="module")
def plan():
    days = working_days(parse_horizon("FY2026"), None)
    return plan_maintenance(_assets(), year=2026, working_days=days, metric_crs=CRS)


@pytest.mark.parametrize("task", DEFAULT_TASKS, ids=lambda t: t.key)
def test_each_task_enters_the_calendar_in_its_season(task) -> None:
    """Each default task alone: work only in its months (all of them), by its trade, and its
    monthly crew-days add up to its yearly crew-days."""
    days = working_days(parse_horizon("FY2026"), None)
    alone = plan_maintenance(_assets(), year=2026, tasks=[task], working_days=days, metric_crs=CRS)
    total = alone.crew_days()
    assert total > 0
    monthly = {m: v for (_, trade, m), v in alone.monthly.items() if v > 0}
    assert set(monthly) == set(task.months)
    assert {trade for (_, trade, _) in alone.monthly} == {task.trade}
    assert sum(monthly.values()) == pytest.approx(total)
    assert alone.crews_by_trade()[task.trade] >= 1


def test_quantities_follow_the_assets(plan) -> None:
    """Verge area = road length x 2 m, twice a year; gutters only on the 1級 road; one bridge
    every five years; pothole findings per road km."""
    by_key = {a.task.key: a for a in plan.amounts}
    assert by_key["verge_mowing"].quantity == pytest.approx(1500 * 2.0 * 2)
    assert by_key["gutter_cleaning"].quantity == pytest.approx(1000)
    assert by_key["bridge_inspection"].quantity == pytest.approx(0.2)
    assert by_key["pothole_patching"].quantity == pytest.approx(1.5 * 2.0)
    assert by_key["park_mowing"].quantity == pytest.approx(100 * 100 * 4)
    assert plan.cost_yen() == pytest.approx(
        sum(a.crew_days * plan.trade_day_yen[a.task.trade] for a in plan.amounts)
    )
    winter = [m for (_, t, m), v in plan.monthly.items() if t == "除草" and v > 0]
    assert set(winter) <= {6, 7, 8, 9, 10}
    assert plan.crews_by_trade()["除草"] >= 1


def test_settings_override_drop_and_add_tasks() -> None:
    """A row with a known key overrides, enabled = false drops, a new key adds; typos named."""
    tasks = tasks_from_settings(
        [
            {"key": "verge_mowing", "per_year": 3},
            {"key": "bridge_inspection", "enabled": False},
            {"key": "snow", "label": "除雪", "field": "road", "quantity": "length_m",
             "trade": "除雪", "per_year": 10, "months": [12, 1, 2], "output_per_crew_day": 30000},
        ]
    )  # fmt: skip
    keys = [t.key for t in tasks]
    assert "bridge_inspection" not in keys
    assert keys[-1] == "snow"
    assert next(t for t in tasks if t.key == "verge_mowing").per_year == 3
    with pytest.raises(ValueError, match=r"\[\[maintenance\]\] 1.*mnths"):
        tasks_from_settings([{"key": "verge_mowing", "mnths": [1]}], where="[[maintenance]]")
    with pytest.raises(ValueError, match="day rate"):
        plan_maintenance(_assets(), year=2026, tasks=tasks, metric_crs=CRS)
