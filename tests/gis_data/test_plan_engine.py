"""The engine router on the tiny grid towns: real network, matching, adapter and solver."""

from __future__ import annotations

import pytest

from gis_data.planning.day_routes import CachingRouter
from gis_data.planning.plan_engine import PlanSetup, choose_regions, describe_stop
from optimizer.stop import MaxIterations, MaxRuntime, MultipleCriteria
from tests.service.grid_scenario import write_grid_scenario


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> PlanSetup:
    return PlanSetup.load(write_grid_scenario(tmp_path_factory.mktemp("grid")))


def test_setup_knows_towns_depots_and_yards(setup: PlanSetup) -> None:
    """Town depots per municipality, both contractor yards joined for the bundle."""
    assert setup.town_depots().keys() == {"T1", "T2"}
    assert setup.bundle_depot() == "yard-west|yard-east"
    assert setup.town_names() == {"T1": "Aville", "T2": "Beetown"}


def test_router_solves_a_day_from_one_or_two_yards(setup: PlanSetup) -> None:
    """Routes serve the assets, start at the yards, and more assets never cost less."""
    router = setup.router(stop=MaxIterations(5), keep_geometry=True)
    ids = frozenset(setup.assets["asset_id"].astype(str))
    one = router.route(frozenset(sorted(ids)[:2]), "yard-west")
    both = router.route(ids, "yard-west|yard-east")
    assert one.num_routes >= 1
    assert both.km >= one.km > 0
    assert {r.depot_id for r in both.traced} <= {"yard-west", "yard-east"}
    served = {a for r in both.traced for a in r.asset_ids}
    assert served == ids
    assert "arc routing" in both.method


def test_router_errors_and_cache(setup: PlanSetup) -> None:
    """An unknown depot is named; a cached router solves each day once."""
    router = setup.router()
    with pytest.raises(ValueError, match="yard-north"):
        router.route(frozenset({"T1-Col0"}), "yard-north")
    caching = CachingRouter(router)
    day = frozenset(setup.assets["asset_id"].astype(str)[:2])
    first = caching.route(day, "yard-west")
    assert caching.route(day, "yard-west") is first
    assert (caching.solves, caching.hits) == (1, 1)
    assert caching.route(frozenset(), "yard-west").num_routes == 0


def test_one_region_and_stop_words(setup: PlanSetup) -> None:
    """k = 1 puts every asset in one region served from all yards; stops read in words."""
    choice = choose_regions(setup, 1)
    assert set(choice.asset_region.values()) == {"1"}
    assert choice.region_depot == {"1": "yard-west|yard-east"}
    stop = MultipleCriteria((MaxIterations(3), MaxRuntime(2.0)))
    assert describe_stop(stop) == "3 iterations or 2 s"


def test_two_regions_by_default_are_reproducible(setup: PlanSetup) -> None:
    """k = 2 splits the two towns; the default count-based stop gives the same plan twice."""
    first = choose_regions(setup, 2, seed=3)
    again = choose_regions(setup, 2, seed=3)
    assert first.asset_region == again.asset_region
    assert first.region_depot == again.region_depot
    ids, codes = setup.assets["asset_id"].astype(str), setup.assets["municipality_code"]
    towns = dict(zip(ids, codes, strict=True))
    by_region: dict[str, set[str]] = {}
    for asset, region in first.asset_region.items():
        by_region.setdefault(region, set()).add(str(towns[asset]))
    assert sorted(map(sorted, by_region.values())) == [["T1"], ["T2"]]
    assert "iterations" in first.method
