"""The one check of a planner's depot per region (API, plan-routing job, CLI drawn plans)."""

from __future__ import annotations

import math

import geopandas as gpd
import pytest
from shapely.geometry import box

from gis_data.planning.depot_choice import (
    DepotChoiceProblem,
    depot_choice_problems,
    drawn_plan_depots,
)

IDS = ["yard-a", "depot-a", "12"]


def test_every_unknown_region_and_depot_is_named_in_order():
    """A region not in the plan and a depot not in the scenario are both returned; a region
    check is skipped when no regions are given."""
    chosen = {"1": "yard-a", "9": "yard-a", "2": "yard-z", "3": ""}
    problems = depot_choice_problems(chosen, depot_ids=IDS, regions=["1", "2", "3"])
    assert problems == [
        DepotChoiceProblem("9", "yard-a", "region"),
        DepotChoiceProblem("2", "yard-z", "depot"),
        DepotChoiceProblem("3", "", "depot"),
    ]
    assert problems[0].message == "region 9: not a region of the plan (depot 'yard-a')"
    assert problems[1].message == "region 2: no depot 'yard-z' in the scenario"
    assert [p.region for p in depot_choice_problems(chosen, depot_ids=IDS)] == ["2", "3"]
    assert depot_choice_problems({"1": "depot-a"}, depot_ids=IDS, regions=["1"]) == []


def _plan(depots):
    return gpd.GeoDataFrame(
        {"region": ["1", "1", "2", "3"], "depot_id": depots},
        geometry=[box(i, 0, i + 1, 1) for i in range(4)],
        crs=4326,
    )


def test_drawn_plan_depots_read_ids_and_leave_empty_to_the_automatic_choice():
    """Ids written as text or (a column with empty rows) as numbers are read; null, NaN and
    blank leave the region automatic; a region named once by one of its features is enough."""
    plan = _plan([None, "yard-a", 12.0, "  "])
    chosen, problems = drawn_plan_depots(
        plan, ["1", "1", "2", "3"], file="p.geojson", depot_ids=IDS
    )
    assert problems == []
    assert chosen == {"1": "yard-a", "2": "12"}
    plan = _plan([math.nan, math.nan, math.nan, math.nan])
    assert drawn_plan_depots(plan, ["1", "1", "2", "3"], file="p", depot_ids=IDS) == ({}, [])
    no_field = plan.drop(columns="depot_id")
    assert drawn_plan_depots(no_field, ["1", "1", "2", "3"], file="p", depot_ids=IDS) == ({}, [])


def test_drawn_plan_depot_problems_name_file_feature_and_field():
    """Every feature naming an unknown depot, and a feature giving its region a second depot,
    is a problem naming the file, the 1-based feature and the field, all at once."""
    plan = _plan(["yard-a", "depot-a", "yard-z", "yard-z"])
    chosen, problems = drawn_plan_depots(
        plan, ["1", "1", "2", "3"], file="p.geojson", depot_ids=IDS
    )
    assert chosen == {"1": "yard-a", "2": "yard-z", "3": "yard-z"}
    assert [(p.file, p.feature, p.field) for p in problems] == [
        ("p.geojson", 2, "depot_id"),
        ("p.geojson", 3, "depot_id"),
        ("p.geojson", 4, "depot_id"),
    ]
    assert "region 1: depot 'depot-a' here but 'yard-a' in feature 1" in problems[0].message
    assert problems[1].message.startswith("region 2: no depot 'yard-z' in the scenario")
    assert "12, depot-a, yard-a" in problems[1].message
    assert str(problems[2]).startswith("error: p.geojson, feature 4, field 'depot_id': region 3")
    _, none = drawn_plan_depots(plan, ["1", "1", "2", "3"], file="p", depot_ids=[])
    assert "the scenario has no depots" in none[-1].message


@pytest.mark.parametrize("field", ["depot", "yard"])
def test_drawn_plan_depots_from_another_field(field):
    plan = _plan(["yard-a", None, None, None]).rename(columns={"depot_id": field})
    chosen, _ = drawn_plan_depots(plan, ["1", "1", "2", "3"], file="p", depot_ids=IDS, field=field)
    assert chosen == {"1": "yard-a"}
