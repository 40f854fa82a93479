"""The k frontier: each point equals a single run at that k, the largest region is >= total / k."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import Point

from gis_data.planning.effects import UnitCosts
from gis_data.planning.regions import RegionRequest, solve_regions
from gis_data.planning.units import build_units
from gis_data.workbench.frontier import (
    FrontierRequest,
    frontier_png,
    frontier_point,
    siloed_round,
    sweep_frontier,
)
from gis_data.workbench.survey import FirmCapacity
from optimizer.stop import MaxIterations
from tests.gis_data._grid_router import CRS, GridRouter, grid_towns

CODES = ("T1", "T2", "T3")
TOWN_DEPOTS = {c: f"depot:{c}" for c in CODES}
STOP = MaxIterations(15)


@pytest.fixture(scope="module")
def towns():
    return grid_towns(CODES, width=2)


@pytest.fixture(scope="module")
def units(towns):
    return build_units(towns.assets, metric_crs=CRS, target_km=1.0)


@pytest.fixture(scope="module")
def yard() -> gpd.GeoDataFrame:
    # One contractor yard: fewer yards than k, so regions are served from it ("yard").
    return gpd.GeoDataFrame(
        {"depot_id": ["yard"], "name": ["Yard"], "kind": ["contractor"]},
        geometry=[Point(2_758_500.0, 1_222_500.0)],
        crs=CRS,
    ).to_crs(4326)


FIRMS = (
    FirmCapacity("big", crews=3, towns=()),
    FirmCapacity("east only", crews=10, towns=("T3",)),
    FirmCapacity("small", crews=1, towns=("T1", "T2")),
)


@pytest.fixture(scope="module")
def frontier(towns, units, yard):
    request = FrontierRequest(ks=(1, 2, 3), seed=4, balance_tolerance=0.5)
    return sweep_frontier(
        units,
        towns.assets,
        GridRouter(towns),
        request,
        stop=STOP,
        town_depots=TOWN_DEPOTS,
        bundle_depot="yard",
        depots=yard,
        firms=FIRMS,
    )


def test_each_point_equals_a_single_run_with_the_same_seed(towns, units, yard, frontier) -> None:
    """Labels equal `solve_regions` at that k; all figures equal `frontier_point` at that k."""
    for point in frontier.points:
        assert point.feasible, point.reason
        single = solve_regions(
            units,
            RegionRequest(k=point.k, whole_towns=point.whole_towns, balance_tolerance=0.5),
            depots=yard,
            stop=STOP,
            seed=4,
        )
        assert list(point.labels) == single.labels
        alone = frontier_point(
            units,
            GridRouter(towns),
            point.k,
            whole_towns=point.whole_towns,
            stop=STOP,
            siloed=frontier.siloed,
            bundle_depot="yard",
            depots=yard,
            firms=FIRMS,
            seed=4,
            balance_tolerance=0.5,
        )
        assert alone == point


def test_largest_region_is_never_below_total_over_k(frontier) -> None:
    """max region workload >= total / k, and the regions add up to the total."""
    for point in frontier.points:
        big = point.largest
        assert big is not None
        assert big.workload_h >= point.total_workload_h / point.k - 1e-9
        assert sum(r.workload_h for r in point.regions) == pytest.approx(point.total_workload_h)
        assert len(point.regions) == point.k


def test_figures_come_from_the_routes_and_firms(towns, units, frontier) -> None:
    """Bundled figures sum the regions; siloed equals its own run; firm counts follow the rules."""
    siloed = siloed_round(units, towns.assets, GridRouter(towns), TOWN_DEPOTS, costs=UnitCosts())
    assert siloed == frontier.siloed
    for point in frontier.points:
        assert point.bundled is not None
        assert point.bundled.km == pytest.approx(sum(r.patrol.km for r in point.regions))
        assert point.saving_yen == pytest.approx(frontier.siloed.cost_yen - point.bundled.cost_yen)
        for r in point.regions:
            expected = sum(
                1
                for f in FIRMS
                if f.crews >= r.crews and (not f.towns or set(r.towns) <= set(f.towns))
            )
            assert r.firms == expected
    ks = frontier.within_capacity_ks(whole_towns=True)
    for point in frontier.points:
        if point.whole_towns:
            assert (point.k in ks) == all(r.firms > 0 for r in point.regions)
    rows = frontier.rows()
    assert [(r["k"], r["whole_towns"]) for r in rows] == [
        (1, True), (2, True), (3, True), (1, False), (2, False), (3, False)
    ]  # fmt: skip
    assert frontier_png(frontier, lang="en")[:8] == b"\x89PNG\r\n\x1a\n"


def test_impossible_k_is_a_reason_not_an_error(towns, units, yard) -> None:
    """Whole towns with k above the number of towns gives the planner-readable reason."""
    result = sweep_frontier(
        units,
        towns.assets,
        GridRouter(towns),
        FrontierRequest(ks=(4,), variants=(True,)),
        stop=STOP,
        town_depots=TOWN_DEPOTS,
        bundle_depot="yard",
        depots=yard,
    )
    (point,) = result.points
    assert not point.feasible
    assert "only 3 towns" in point.reason
    assert point.row(0)["within_capacity"] is None


@pytest.mark.xdist_group("dask")
def test_sweep_on_two_dask_workers_equals_inline(towns, units, yard, frontier) -> None:
    """Each (variant, k) is a Dask task; two workers give the inline frontier exactly."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
        ) as cluster,
        Client(cluster) as client,
    ):
        fanned = sweep_frontier(
            units,
            towns.assets,
            GridRouter(towns),
            FrontierRequest(ks=(1, 2, 3), seed=4, balance_tolerance=0.5),
            stop=STOP,
            town_depots=TOWN_DEPOTS,
            bundle_depot="yard",
            depots=yard,
            firms=FIRMS,
            client=client,
        )
    assert fanned.points == frontier.points
    assert fanned.siloed == frontier.siloed
