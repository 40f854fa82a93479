"""Contract regions from geodata: constraints hold on returned plans, clear infeasibility."""

from __future__ import annotations

import json

import networkx as nx
import pytest
from shapely.geometry import Point, Polygon

from gis_data.planning.evaluate import SizeLimits
from gis_data.planning.regions import RegionRequest, districting_data, solve_regions
from gis_data.planning.units import build_units
from optimizer.errors import InfeasibleError
from optimizer.stop import MaxIterations, MaxRuntime
from tests.gis_data import _synthetic as syn

SIZES = [3, 6, 4]  # uneven towns: balance needs cross-border regions


@pytest.fixture(scope="module")
def units():
    return build_units(
        syn.towns(3, nx=SIZES, ny=4), target_km=1.0, area=syn.boundaries(3, nx=SIZES, ny=4)
    )


@pytest.fixture(scope="module")
def plan3(units):
    return solve_regions(units, RegionRequest(k=3, balance_tolerance=0.05), stop=MaxRuntime(3))


def _regions_connected(units, labels) -> bool:
    g = nx.Graph(units.adjacency)
    for r in set(labels):
        members = [i for i, lab in enumerate(labels) if lab == r]
        if not nx.is_connected(g.subgraph(members)):
            return False
    return True


def _loads(units, labels) -> dict[str, float]:
    out: dict[str, float] = {}
    for lab, w in zip(labels, units.units["workload_h"], strict=True):
        out[lab] = out.get(lab, 0.0) + w
    return out


def test_plan_is_contiguous_and_balanced(units, plan3):
    """k = 3 over uneven towns: every region connected, workloads within 5 % of the mean."""
    plan = plan3
    assert len(set(plan.labels)) == 3
    assert _regions_connected(units, plan.labels)
    loads = _loads(units, plan.labels)
    mean = sum(loads.values()) / 3
    # Weights are rounded to whole minutes for the optimizer: allow that rounding.
    slack = units.n / 60.0
    assert all(abs(v - mean) <= 0.05 * mean + slack for v in loads.values())
    assert plan.evaluation.contiguous
    assert plan.evaluation.ok
    # The optimizer had to cross town borders: some town is split.
    split = units.units.groupby("municipality_code").apply(
        lambda f: len({plan.labels[i] for i in f.index}) > 1, include_groups=False
    )
    assert split.any()


def test_regions_frame_and_json(units):
    """The region GeoDataFrame is EPSG:4326 polygons, one row per region; to_dict is JSON."""
    plan = solve_regions(units, RegionRequest(k=2, balance_tolerance=0.1), stop=MaxRuntime(2))
    frame = plan.regions
    assert frame.crs.to_epsg() == 4326
    assert sorted(frame["region"]) == sorted(set(plan.labels))
    assert all(g.geom_type in ("Polygon", "MultiPolygon") for g in frame.geometry)
    assert frame["workload_h"].sum() == pytest.approx(units.units["workload_h"].sum(), rel=1e-3)
    doc = json.loads(json.dumps(plan.to_dict()))
    assert set(doc["unit_regions"]) == set(units.unit_ids)
    assert doc["attribution"] == "© OpenStreetMap contributors"


def test_whole_towns_stay_whole(units):
    """With whole towns, every municipality lies in exactly one region."""
    plan = solve_regions(
        units, RegionRequest(k=2, whole_towns=True, balance_tolerance=0.5), stop=MaxRuntime(2)
    )
    for code, frame in units.units.groupby("municipality_code"):
        assert len({plan.labels[i] for i in frame.index}) == 1, code
    assert _regions_connected(units, plan.labels)


def test_locked_units_stay(units):
    """Units the planner locked keep their region; a locked town stays in it whole."""
    ids = units.unit_ids
    mid = next(u for u in ids if u.startswith("B-"))
    east = ids[units.units["rep_x"].to_numpy().argmax()]
    plan = solve_regions(
        units,
        RegionRequest(k=3, balance_tolerance=0.1, locked={"A": "west", mid: "mid", east: "east"}),
        stop=MaxRuntime(2),
    )
    labels = dict(zip(ids, plan.labels, strict=True))
    assert labels[mid] == "mid"
    assert labels[east] == "east"
    a_units = units.units.index[units.units["municipality_code"] == "A"]
    assert {plan.labels[i] for i in a_units} == {"west"}
    assert _regions_connected(units, plan.labels)


def test_depots_fixed_at_contractor_yards(units):
    """Three yards for three regions: each region is centred on (and named after) one yard."""
    yards = syn.depots([("west yard", 100, 100), ("mid yard", 2500, 800), ("east yard", 5700, 100)])
    plan = solve_regions(
        units, RegionRequest(k=3, balance_tolerance=0.1), depots=yards, stop=MaxRuntime(2)
    )
    assert sorted(plan.depots.values()) == ["east yard", "mid yard", "west yard"]
    data, _, depot_units = districting_data(units, RegionRequest(k=3), depots=yards)
    assert sorted(data.fixed_centres) == sorted(depot_units)
    frame = plan.regions.set_index("region")
    for region, yard in plan.depots.items():
        assert frame.loc[region, "depot"] == yard
    assert sorted(frame["depot_id"]) == ["yard-0", "yard-1", "yard-2"]


def test_size_limit_respected(units):
    """A workload cap a little above the mean is honoured by every region."""
    total = units.units["workload_h"].sum()
    cap = total / 3 * 1.2
    plan = solve_regions(
        units,
        RegionRequest(k=3, balance_tolerance=0.5, limits=SizeLimits(max_workload_h=cap)),
        stop=MaxRuntime(2),
    )
    assert max(_loads(units, plan.labels).values()) <= cap + 1e-6
    assert plan.evaluation.within_size_limits is True


@pytest.mark.parametrize(
    ("request_", "match"),
    [
        (RegionRequest(k=10_000), "only .* planning units"),
        (RegionRequest(k=4, whole_towns=True), "only 3 towns"),
        (RegionRequest(k=2, limits=SizeLimits(max_workload_h=0.5)), "at least .* regions"),
        (RegionRequest(k=2, limits=SizeLimits(max_km=1.0)), "at least .* regions"),
        (RegionRequest(k=2, locked={"nowhere": "1"}), "names no unit"),
        (RegionRequest(k=1, locked={"A": "x", "B": "y"}), "name 2 regions"),
    ],
)
def test_infeasible_requests_are_explained(units, request_, match):
    """Impossible requests raise InfeasibleError with a reason, not a crash."""
    with pytest.raises(InfeasibleError, match=match):
        solve_regions(units, request_, stop=MaxRuntime(5))


def test_whole_towns_cannot_balance(units):
    """Whole uneven towns cannot be balanced within 1 %: the optimizer explains, no crash."""
    with pytest.raises(InfeasibleError) as info:
        solve_regions(
            units, RegionRequest(k=3, whole_towns=True, balance_tolerance=0.01), stop=MaxRuntime(5)
        )
    assert info.value.reason


def test_same_seed_same_plan(units):
    """A count-based stop and the same seed give the same plan."""
    request = RegionRequest(k=3, balance_tolerance=0.1)
    a = solve_regions(units, request, stop=MaxIterations(30), seed=7)
    b = solve_regions(units, request, stop=MaxIterations(30), seed=7)
    assert a.labels == b.labels


def test_region_outline_covers_its_units(units, plan3):
    """Each region's outline contains the representative points of its units."""
    plan = plan3
    outlines = plan.regions.to_crs(units.metric_crs).set_index("region").geometry
    for i, lab in enumerate(plan.labels):
        x, y = units.units["rep_x"].iloc[i], units.units["rep_y"].iloc[i]
        outline = outlines[lab]
        assert isinstance(outline, Polygon) or outline.geom_type == "MultiPolygon"
        assert outline.buffer(1.0).contains(units.cells.iloc[i].representative_point())
        assert outline.buffer(1.0).contains(Point(x, y))
