"""The planner's plan routing: the same search per task however the work is grouped."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import pytest
from shapely.geometry import Point

from gis_data.planning.plan_routing import MAX_SCALE, RoutingEffort, region_depots, saving
from optimizer.stop import MaxIterations


def test_a_big_region_gets_the_search_its_towns_get_together():
    effort = RoutingEffort(seconds=2.0, per_tasks=200)
    assert effort.settings(50).silo_time_limit_s == 2.0  # at least the limit once
    assert effort.settings(800).silo_time_limit_s == pytest.approx(8.0)  # four towns' worth
    assert effort.settings(10**6).silo_time_limit_s == pytest.approx(2.0 * MAX_SCALE)
    counted = RoutingEffort(iterations=30, per_tasks=200).settings(500).silo_stop
    assert isinstance(counted, MaxIterations)
    assert counted.count == 75
    assert RoutingEffort().settings(500).silo_stop is None  # time-based: the silo stop


@pytest.mark.parametrize("bad", [{"seconds": 0}, {"per_tasks": 0}, {"iterations": 0}])
def test_an_effort_that_cannot_search_is_refused(bad):
    with pytest.raises(ValueError, match="RoutingEffort"):
        RoutingEffort(**bad)


def test_saving_is_alone_minus_plan_and_none_without_both():
    alone, plan = {"hours": 10.0, "km": 100.0}, {"hours": 8.0, "km": 110.0}
    assert saving(alone, plan) == {"hours": 2.0, "hours_pct": 20.0, "km": -10.0, "km_pct": -10.0}
    assert saving(alone, {"hours": None, "km": None})["hours"] is None
    assert saving({"hours": 0.0, "km": 0.0}, {"hours": 0.0, "km": 0.0})["hours_pct"] is None


def _setup_with_depots() -> SimpleNamespace:
    """Two towns, a contractor yard in town A and a town depot in each town (lon/lat)."""
    depots = gpd.GeoDataFrame(
        {
            "depot_id": ["yard-a", "depot-a", "depot-b"],
            "municipality_code": ["A", "A", "B"],
            "kind": ["contractor", "town", "town"],
            "name": ["Yard A", "Depot A", "Depot B"],
        },
        geometry=[Point(9.50, 47.10), Point(9.51, 47.10), Point(9.60, 47.20)],
        crs=4326,
    )
    assets = gpd.GeoDataFrame(
        {"asset_id": ["a1", "a2", "b1"], "municipality_code": ["A", "A", "B"]},
        geometry=[Point(9.50, 47.11), Point(9.52, 47.11), Point(9.60, 47.21)],
        crs=4326,
    )
    return SimpleNamespace(scenario=SimpleNamespace(depots=depots, assets=assets, metric_crs=2056))


def test_a_region_is_routed_from_the_depot_chosen_for_it():
    """A chosen depot (of any kind) replaces the automatic one of that region only."""
    setup = _setup_with_depots()
    asset_region = {"a1": "1", "a2": "1", "b1": "2"}
    auto = region_depots(setup, asset_region)
    assert [d.depot_id for d in auto["1"]] == ["yard-a"]  # the yard in its town
    assert [d.depot_id for d in auto["2"]] == ["yard-a"]  # no yard in B: the nearest
    chosen = region_depots(setup, asset_region, chosen={"2": "depot-b"})
    assert [d.depot_id for d in chosen["1"]] == ["yard-a"]
    assert [d.depot_id for d in chosen["2"]] == ["depot-b"]
    assert chosen["2"][0].location == Point(9.60, 47.20)


def test_an_unknown_chosen_depot_is_refused_naming_region_and_id():
    setup = _setup_with_depots()
    with pytest.raises(ValueError, match=r"region 1: no depot 'yard-z'.*region 2: no depot ''"):
        region_depots(setup, {"a1": "1", "b1": "2"}, chosen={"1": "yard-z", "2": ""})
