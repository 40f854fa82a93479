"""Fan-out on Dask: same results inline, with one worker and with two; order kept; errors raised."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from distributed import Client, LocalCluster, get_task_stream

from gis_data.loading.load import load_scenario
from gis_data.planning.cost_share import build_coalition_cost, share_costs
from gis_data.planning.parallel import (
    DaskMapper,
    as_mapper,
    inline_map,
    route_calendar_parallel,
    route_days,
    sweep_regions,
)
from gis_data.planning.patrol_calendar import build_patrol_calendar, route_calendar
from gis_data.planning.patrol_plan import PlanComparison, PlanSettings, plan_patrols
from gis_data.planning.units import build_units
from gis_data.planning.work_calendar import parse_horizon
from optimizer.stop import MaxIterations
from tests.gis_data import _synthetic as syn
from tests.gis_data._grid_router import GridRouter, grid_towns
from tests.service.grid_scenario import write_grid_scenario

pytestmark = pytest.mark.xdist_group("dask")


def _client(n_workers: int, *, processes: bool) -> Iterator[Client]:
    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=processes,
        dashboard_address=":0",
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def one_worker() -> Iterator[Client]:
    yield from _client(1, processes=False)


@pytest.fixture(scope="module")
def two_workers() -> Iterator[Client]:
    yield from _client(2, processes=False)


@pytest.fixture(scope="module")
def towns():
    return grid_towns(("T1", "T2", "T3"), width=2)


@pytest.fixture(scope="module")
def calendar(towns):
    return build_patrol_calendar(
        towns.assets,
        parse_horizon("2026-06"),
        region_of=lambda row: "east" if row["municipality_code"] == "T3" else "west",
        depot_of={"east": "depot:T3", "west": "yard"},
        metric_crs="EPSG:2056",
    )


def _solve_tasks(stream: Any) -> list[str]:
    """Keys of the mapper's tasks among those the scheduler ran (a fan-out leaves them)."""
    return [str(t["key"]) for t in stream.data if str(t["key"]).startswith("gunmane-solve-")]


def _square(x: int) -> int:
    return x * x


def _fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three")
    return x


def test_mappers_keep_input_order(one_worker, two_workers) -> None:
    """Inline and Dask mappers return f(item) in the order of the items."""
    items = [5, 3, 9, 1, 7, 2]
    expected = [25, 9, 81, 1, 49, 4]
    assert inline_map(_square, items) == expected
    assert DaskMapper(one_worker)(_square, items) == expected
    assert as_mapper(two_workers)(_square, items) == expected
    assert as_mapper(None) is inline_map
    assert DaskMapper(two_workers)(_square, []) == []


def test_failing_task_raises_its_error(two_workers) -> None:
    """A task that raises makes the whole batch raise; no partial list is returned."""
    with pytest.raises(ValueError, match="three"):
        DaskMapper(two_workers)(_fail_on_three, [1, 2, 3, 4])


def test_as_mapper_rejects_other_objects() -> None:
    """Something that is neither a client, a mapper nor None is refused by name."""
    with pytest.raises(TypeError, match="int"):
        as_mapper(3)


def test_calendar_routes_same_with_one_and_two_workers(
    towns, calendar, one_worker, two_workers
) -> None:
    """The calendar's days routed inline, on 1 and on 2 workers give identical routes."""
    serial = route_calendar(calendar, GridRouter(towns))
    results = [
        route_calendar_parallel(calendar, GridRouter(towns), client=c)
        for c in (None, one_worker, two_workers)
    ]
    for routed in results:
        assert routed.days == serial.days
        assert routed.solves == serial.solves
        assert routed.reused == serial.reused
    assert serial.solves > 1  # a real fan-out: several distinct days


def test_route_days_solves_each_distinct_day_once(towns) -> None:
    """Duplicate and empty days are dropped before solving."""
    router = GridRouter(towns)
    day = frozenset({"T1:park", "T2:park"})
    solved = route_days(router, [(day, "yard"), (day, "yard"), (frozenset(), "yard")])
    assert list(solved) == [(day, "yard")]
    assert router.calls == [2]


def _coalition_cost(towns: Any) -> Any:
    """Coalition costs of the grid towns over June 2026 from two sample days."""
    return build_coalition_cost(
        towns.assets,
        GridRouter(towns),
        parse_horizon("2026-06"),
        depot="yard",
        sample_days=2,
        metric_crs="EPSG:2056",
    )


def test_cost_shares_same_with_one_and_two_workers(towns, one_worker, two_workers) -> None:
    """Exact Shapley with the coalition costs mapped on Dask equals the inline result."""
    cost = _coalition_cost(towns)
    inline = share_costs(cost, towns.assets, metric_crs="EPSG:2056")
    for client in (one_worker, two_workers):
        fanned = share_costs(cost, towns.assets, metric_crs="EPSG:2056", map_fn=as_mapper(client))
        np.testing.assert_array_equal(fanned.shapley.shares, inline.shapley.shares)
        assert fanned.total_yen == inline.total_yen


def test_cost_share_days_fan_out_with_the_serial_solve_count(towns, two_workers) -> None:
    """share_costs(client=) routes every coalition's days as Dask tasks; result and count same."""

    def shares(client: Any) -> Any:
        return share_costs(
            _coalition_cost(towns), towns.assets, metric_crs="EPSG:2056", client=client
        )

    inline = shares(None)
    with get_task_stream(two_workers) as stream:
        fanned = shares(two_workers)
    assert inline.solves >= 7  # the 7 coalitions of 3 towns, on 2 sampled days
    assert len(_solve_tasks(stream)) == inline.solves
    assert fanned.solves == inline.solves
    assert fanned.towns == inline.towns
    assert fanned.violations == inline.violations
    np.testing.assert_array_equal(fanned.shapley.shares, inline.shapley.shares)


def test_region_sweep_same_with_one_and_two_workers(one_worker, two_workers) -> None:
    """Regions for k = 2, 3 under a count-based stop are the same inline and on 1 or 2 workers."""
    units = build_units(
        syn.towns(3, nx=[3, 5, 4], ny=3), target_km=1.0, area=syn.boundaries(3, nx=[3, 5, 4], ny=3)
    )
    stop = MaxIterations(20)
    inline = sweep_regions(units, [3, 2], stop=stop, seed=3)
    assert list(inline) == [2, 3]
    for client in (one_worker, two_workers):
        fanned = sweep_regions(units, [2, 3], stop=stop, seed=3, client=client)
        for k in (2, 3):
            a, b = inline[k], fanned[k]
            assert not isinstance(a, str), a
            assert not isinstance(b, str), b
            assert a.labels == b.labels


@pytest.mark.slow
def test_process_workers_give_the_same_calendar_routes(towns, calendar) -> None:
    """Worker processes (router pickled and shipped) route the calendar like the serial run."""
    serial = route_calendar(calendar, GridRouter(towns))
    for client in _client(2, processes=True):
        routed = route_calendar_parallel(calendar, GridRouter(towns), client=client)
        assert routed.days == serial.days


def _plan_figures(result: PlanComparison) -> list[Any]:
    """Everything of the plans but the solve times: totals, crew routes and their geometry."""
    plans = (result.bundled, *result.siloed)
    return [result.to_dict()] + [[r.geometry.wkt for r in p.routes] for p in plans]


def test_patrol_plans_same_inline_and_on_one_and_two_workers(
    tmp_path: Path, one_worker, two_workers
) -> None:
    """The bundled plan and every town x field silo are Dask tasks; the plans do not change."""
    scenario = load_scenario(write_grid_scenario(tmp_path / "grid"))
    settings = PlanSettings(seed=2, bundled_stop=MaxIterations(15), silo_stop=MaxIterations(15))
    messages: list[str] = []
    inline = plan_patrols(scenario, settings, progress=messages.append)
    assert [p.label for p in inline.siloed] == ["Aville road", "Beetown road"]
    assert inline.bundled.routes
    assert all(p.routes for p in inline.siloed)
    for client in (one_worker, two_workers):
        with get_task_stream(client) as stream:
            fanned = plan_patrols(scenario, settings, client=client, progress=messages.append)
        assert len(_solve_tasks(stream)) == 3  # bundled + two silos, one task each
        assert _plan_figures(fanned) == _plan_figures(inline)
    assert any(m.startswith("separate: Beetown road") for m in messages)


def test_effect_estimate_same_inline_and_on_two_workers(two_workers) -> None:
    """Every distinct day of the siloed, bundled and phase units is one Dask task; same figures."""
    from gis_data.planning.effects import Phase, PlanCosting, estimate_effects

    towns = grid_towns(("T1", "T2"), width=2)

    def estimate(client: Any) -> Any:
        costing = PlanCosting(
            towns.assets, GridRouter(towns), parse_horizon("2026-06"), metric_crs="EPSG:2056"
        )
        return estimate_effects(
            costing,
            town_depots={"T1": "depot:T1", "T2": "depot:T2"},
            bundle_depots="yard",
            phases=[Phase("1", "FY2026", ("T1",))],
            client=client,
        )

    inline = estimate(None)
    assert inline.solves > 3
    with get_task_stream(two_workers) as stream:
        fanned = estimate(two_workers)
    assert len(_solve_tasks(stream)) == inline.solves
    assert fanned.comparison_rows() == inline.comparison_rows()
    assert fanned.phase_rows() == inline.phase_rows()
    assert fanned.siloed.units == inline.siloed.units  # solve counts included
    assert [f.units for _, f in fanned.phases] == [f.units for _, f in inline.phases]
