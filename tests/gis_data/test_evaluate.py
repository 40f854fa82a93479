"""Evaluation of any plan: labels, towns per region, drawn polygons with holes and islands."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import pytest
from shapely.geometry import box

from gis_data.planning.evaluate import PlanError, SizeLimits, evaluate_plan, polsby_popper
from gis_data.planning.units import build_units
from tests.gis_data import _synthetic as syn


@pytest.fixture(scope="module")
def units():
    return build_units(syn.towns(3), target_km=1.0, area=syn.boundaries(3))


def _labels_by_town(units):
    return units.units["municipality_code"].tolist()


def test_town_labels_balanced_contiguous(units):
    """Three identical towns as three regions: equal workloads, contiguous, cut edges counted."""
    ev = evaluate_plan(units, _labels_by_town(units))
    assert [r.region for r in ev.regions] == ["A", "B", "C"]
    assert ev.contiguous
    assert ev.ok
    assert ev.balance == pytest.approx(1.0)
    assert ev.max_deviation_pct == pytest.approx(0.0, abs=1e-9)
    # Cut edges are exactly the adjacent pairs across towns.
    codes = _labels_by_town(units)
    across = sum(codes[i] != codes[j] for i, j in units.adjacency)
    assert ev.cut_edges == across > 0
    assert ev.regions[1].cut_edges > ev.regions[0].cut_edges  # the middle town has two borders
    assert all(0 < r.polsby_popper <= 1 for r in ev.regions)
    assert all(r.patrol_time_source == "workload estimate" for r in ev.regions)
    json.dumps(ev.to_dict())


def test_island_unit_breaks_contiguity_and_is_named(units):
    """Moving one far unit of town A into region C makes C non-contiguous; the unit is named."""
    labels = _labels_by_town(units)
    xs = units.units["rep_x"].tolist()
    west = min(range(units.n), key=lambda i: (xs[i], i))
    labels[west] = "C"
    ev = evaluate_plan(units, labels)
    c = next(r for r in ev.regions if r.region == "C")
    assert not c.contiguous
    assert c.pieces == 2
    assert c.islands == [units.unit_ids[west]]
    assert not ev.contiguous
    assert any("not contiguous" in p and units.unit_ids[west] in p for p in ev.problems)


def test_towns_plan_reports_unassigned_and_double(units):
    """A town in two regions is doubly assigned, a town in none is unassigned, unknown is named."""
    ev = evaluate_plan(
        units,
        {"north": ["A", "B"], "south": ["B", "Nowhere"]},
        municipalities=syn.boundaries(3),
    )
    codes = _labels_by_town(units)
    assert sorted(ev.unassigned) == sorted(
        u for u, c in zip(units.unit_ids, codes, strict=False) if c == "C"
    )
    assert set(ev.doubly_assigned) == {
        u for u, c in zip(units.unit_ids, codes, strict=False) if c == "B"
    }
    assert all(v == ["north", "south"] for v in ev.doubly_assigned.values())
    assert any("Nowhere" in p for p in ev.problems)
    assert any("C is in no region" in p for p in ev.problems)
    assert not ev.ok
    # Town names work as well as codes; the region shape comes from the boundaries.
    by_name = evaluate_plan(
        units, {"1": ["Town A"], "2": ["Town B", "Town C"]}, municipalities=syn.boundaries(3)
    )
    assert by_name.ok
    assert by_name.regions[0].polsby_popper == pytest.approx(
        polsby_popper(syn.boundaries(3).geometry.iloc[0])
    )


def test_drawn_plan_with_hole_and_island_is_flagged(units):
    """A drawn region with a hole leaves units unassigned; a detached part is an island."""
    width = 3 * syn.STEP
    west = box(-200, -200, width + 1, 1200).difference(box(100, 300, 1200, 800))
    east = box(width + 1, -200, 3 * width + 200, 1200)
    islet = box(820, 450, 930, 550)  # drawn inside west's hole, as part of the east region
    plan = gpd.GeoDataFrame(
        {"region": ["west", "east", "east"]}, geometry=[west, east, islet], crs=syn.CRS
    )
    ev = evaluate_plan(units, plan.to_crs(4326))
    assert ev.plan_kind == "polygons"
    assert any("'west': drawn with 1 hole" in p for p in ev.problems)
    assert any("'east': drawn in 2 separate parts" in p for p in ev.problems)
    east_eval = next(r for r in ev.regions if r.region == "east")
    assert east_eval.drawn_parts == 2
    assert east_eval.drawn_holes == 0
    points = gpd.points_from_xy(units.units["rep_x"], units.units["rep_y"])
    in_hole = {
        u
        for u, p in zip(units.unit_ids, points, strict=False)
        if box(100, 300, 1200, 800).contains(p) and not islet.contains(p)
    }
    assert in_hole
    assert set(ev.unassigned) == in_hole
    # Units in the islet belong to east but are cut off from its main piece on the network.
    in_islet = {u for u, p in zip(units.unit_ids, points, strict=False) if islet.contains(p)}
    assert in_islet
    assert set(east_eval.islands) >= in_islet
    assert not east_eval.contiguous


def test_overlapping_polygons_doubly_assign(units):
    """Units under two overlapping drawn regions are reported as doubly assigned."""
    plan = gpd.GeoDataFrame(
        {"region": ["a", "b"]},
        geometry=[box(-200, -200, 2000, 1200), box(1000, -200, 4800, 1200)],
        crs=syn.CRS,
    )
    ev = evaluate_plan(units, plan)
    xs = units.units["rep_x"]
    expected = {u for u, x in zip(units.unit_ids, xs, strict=False) if 1000 <= x <= 2000}
    assert set(ev.doubly_assigned) == expected
    assert not ev.unassigned


def test_size_limits_and_crews(units):
    """Regions above the local-firm limits are flagged with the limit that fails."""
    labels = _labels_by_town(units)
    ev0 = evaluate_plan(units, labels)
    load = ev0.regions[0].workload_h
    km = ev0.regions[0].km
    ev = evaluate_plan(
        units, labels, limits=SizeLimits(max_workload_h=load * 0.9, max_km=km * 2, max_crews=5)
    )
    assert ev.within_size_limits is False
    assert all(r.within_size_limit is False for r in ev.regions)
    assert all(any("workload" in p for p in r.size_problems) for r in ev.regions)
    ok = evaluate_plan(units, labels, limits=SizeLimits(max_km=km * 1.01))
    assert ok.within_size_limits is True
    tight = evaluate_plan(units, labels, limits=SizeLimits(max_crews=1, crew_hours=load / 2.5))
    assert all(r.crews_needed == 3 for r in tight.regions)
    assert tight.within_size_limits is False


def test_patrol_time_callback_is_used(units):
    """A routing callback replaces the workload estimate and is flagged as its source."""
    ev = evaluate_plan(
        units, _labels_by_town(units), patrol_time=lambda ids, _region: 0.5 * len(ids)
    )
    for r in ev.regions:
        assert r.patrol_time_source == "routing engine"
        assert r.patrol_time_h == pytest.approx(
            0.5
            * sum(
                len(a)
                for a, c in zip(
                    units.units["asset_ids"], units.units["municipality_code"], strict=False
                )
                if c == r.region
            )
        )


def test_unassigned_labels_and_bad_plans(units):
    """None labels are unassigned (and balance stays finite); malformed plans raise PlanError."""
    labels = _labels_by_town(units)
    labels[0] = None
    ev = evaluate_plan(units, labels)
    assert ev.unassigned == [units.unit_ids[0]]
    assert math.isfinite(ev.balance)
    with pytest.raises(PlanError, match="labels for"):
        evaluate_plan(units, labels[:-1])
    with pytest.raises(PlanError, match="unknown units"):
        evaluate_plan(units, {"nope": "1"})
    with pytest.raises(PlanError, match="no usable polygon"):
        evaluate_plan(units, gpd.GeoDataFrame({"region": ["x"]}, geometry=[None], crs=syn.CRS))


def test_engine_patrol_time_scales_one_pass_to_the_period(units):
    """The engine's one-pass crew hours are scaled by the region's visits per period."""
    from gis_data.planning.day_routes import DayRoutes
    from gis_data.planning.evaluate import engine_patrol_time

    calls = []

    class FakeRouter:
        def route(self, asset_ids, depot):
            calls.append((asset_ids, depot))
            return DayRoutes(route_km=(10.0,), route_minutes=(120.0, 60.0), method="fake")

    fn = engine_patrol_time(units, FakeRouter(), "yard")
    ids = units.units["asset_ids"].iloc[0]
    hours = fn(list(ids), "1")
    visits = [units.asset_patrol[a][1] for a in ids]
    # Every street of the synthetic towns is patrolled weekly: 30 / 7 visits per period.
    assert visits == pytest.approx([30 / 7] * len(ids))
    assert hours == pytest.approx(3.0 * 30 / 7)
    assert calls == [(frozenset(ids), "yard")]
    assert fn([], "1") is None
    # A region whose depot the planner chose is routed from it; the others from ``depot``.
    chosen = engine_patrol_time(units, FakeRouter(), "yard", region_depots={"2": "town-b"})
    calls.clear()
    assert chosen(list(ids), "2") == pytest.approx(hours)
    assert chosen(list(ids), "1") == pytest.approx(hours)
    assert calls == [(frozenset(ids), "town-b"), (frozenset(ids), "yard")]


def test_centre_and_travel_compactness(units):
    """Each region's centre is its workload-weighted 1-median on the travel-time matrix."""
    import numpy as np

    ev = evaluate_plan(units, _labels_by_town(units))
    w = units.units["workload_h"].to_numpy()
    for r in ev.regions:
        members = [i for i, c in enumerate(_labels_by_town(units)) if c == r.region]
        sums = {c: sum(w[i] * units.travel_s[i, c] for i in members) for c in members}
        best = min(sums.values())
        assert units.unit_ids.index(r.centre) in members
        assert sums[units.unit_ids.index(r.centre)] == pytest.approx(best)
        assert r.mean_travel_min == pytest.approx(best / w[members].sum() / 60.0)
    # One region over everything is less compact than one per town.
    whole = evaluate_plan(units, ["all"] * units.n)
    assert whole.mean_travel_min > ev.mean_travel_min
    assert np.isfinite(whole.mean_travel_min)
