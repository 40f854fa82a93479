"""Cost sharing from engine coalition costs on synthetic towns: sums, savings, core, sampling."""

from __future__ import annotations

import pytest

from gis_data.planning.cost_share import (
    build_coalition_cost,
    day_cost,
    sample_day_indices,
    share_costs,
)
from gis_data.planning.day_routes import DayRoutes
from gis_data.planning.effects import UnitCosts
from gis_data.planning.work_calendar import parse_horizon
from tests.gis_data._grid_router import GridRouter, grid_towns


@pytest.fixture(scope="module")
def game():
    towns = grid_towns(("T1", "T2", "T3"), width=2)
    router = GridRouter(towns)
    cost = build_coalition_cost(
        towns.assets,
        router,
        parse_horizon("2026-06"),
        depot="yard",
        sample_days=3,
        metric_crs="EPSG:2056",
    )
    return towns, router, cost


def test_day_cost_uses_the_unit_costs() -> None:
    """Two routes of 1 h and 2 h, 10 + 20 km: labour + km + two vehicle-days."""
    day = DayRoutes(route_km=(10.0, 20.0), route_minutes=(60.0, 120.0), method="test")
    c = UnitCosts(crew_hour_yen=1000, vehicle_km_yen=10, vehicle_day_yen=100)
    assert day_cost(day, c) == pytest.approx(3 * 1000 + 30 * 10 + 2 * 100)


def test_sample_days_spread_over_cycles_and_year() -> None:
    """Five sample days of a 241-day year fall on distinct residues mod 5 and across the year."""
    days = sample_day_indices(241, 5)
    assert len(days) == 5
    assert len({d % 5 for d in days}) == 5
    assert days[-1] > 180
    assert sample_day_indices(4, 10) == [0, 1, 2, 3]


def test_coalition_cost_is_engine_cost_of_member_assets(game) -> None:
    """c(∅) = 0, and a bigger coalition costs more in total but less than its parts alone."""
    _, _, cost = game
    alone = [cost(frozenset({i})) for i in range(3)]
    grand = cost(frozenset({0, 1, 2}))
    assert cost(frozenset()) == 0.0
    assert all(a > 0 for a in alone)
    assert max(alone) < grand < sum(alone)


def test_shares_sum_to_total_and_towns_save(game) -> None:
    """Every rule splits the grand cost exactly; Shapley shares are below going alone."""
    towns, _, cost = game
    result = share_costs(
        cost,
        towns.assets,
        populations=towns.population,
        names={"T1": "One", "T2": "Two", "T3": "Three"},
        metric_crs="EPSG:2056",
    )
    assert result.rules == ("shapley", "asset_km", "workload", "population")
    for rule in result.rules:
        assert sum(t.shares[rule] for t in result.towns) == pytest.approx(result.total_yen)
    assert all(t.saving("shapley") > 0 for t in result.towns)
    assert result.shapley.exact
    assert result.coalitions == 7
    assert result.core_checked == "all 6 proper coalitions"
    assert result.violations["shapley"] == []
    # Population shares follow the populations 1000 : 2000 : 3000.
    pop = [t.shares["population"] for t in result.towns]
    assert pop[2] == pytest.approx(3 * pop[0])
    rows = result.rows()
    assert rows[0]["name"] == "One"
    assert rows[0]["shapley_saving_yen"] == pytest.approx(
        rows[0]["alone_yen"] - rows[0]["shapley_yen"]
    )
    assert "3 representative working days" in result.method


def test_sampled_shapley_beyond_the_exact_limit(game) -> None:
    """With the exact limit below the town count, the sampled value still sums to the total."""
    towns, _, cost = game
    result = share_costs(cost, towns.assets, exact_max_towns=2, permutations=6, seed=1)
    assert not result.shapley.exact
    assert sum(t.shares["shapley"] for t in result.towns) == pytest.approx(result.total_yen)
    assert "population" not in result.rules
    assert result.shapley.permutations == 6
    assert "sampled from 6 permutations" in result.method


def test_parallel_map_is_used_for_exact_shapley(game) -> None:
    """An executor's map evaluates the coalitions (here a list comprehension standing in)."""
    towns, _, cost = game
    batches: list[int] = []

    def fan_out(fn, coalitions):
        batches.append(len(coalitions))
        return [fn(c) for c in coalitions]

    result = share_costs(cost, towns.assets, map_fn=fan_out)
    assert batches == [7]
    assert result.shapley.exact


def test_council_formula_shares_sum_to_the_total_by_term() -> None:
    """均等割/人口割/実績割: each term's parts and the shares sum to the total; department split
    of a town's share follows its fields' weights."""
    from gis_data.planning.cost_share import CouncilFormula, council_shares, department_split

    formula = CouncilFormula(equal=0.1, population=0.4, actual=0.5)
    total = 9_876_543.0
    got = council_shares(
        total,
        ("A", "B", "C"),
        names={"A": "甲", "B": "乙", "C": "丙"},
        populations={"A": 30_000, "B": 10_000, "C": 2_000},
        basis={"A": 12.0, "B": 30.0, "C": 8.0},
        formula=formula,
    )
    assert sum(s.total_yen for s in got) == pytest.approx(total, abs=1e-6)
    assert sum(s.equal_yen for s in got) == pytest.approx(0.1 * total)
    assert sum(s.population_yen for s in got) == pytest.approx(0.4 * total)
    assert sum(s.actual_yen for s in got) == pytest.approx(0.5 * total)
    assert got[1].actual_yen == pytest.approx(0.5 * total * 30 / 50)
    split = department_split(1000.0, {"road": 3.0, "park": 1.0}, {"park": "都市計画課"})
    assert split == pytest.approx({"road": 750.0, "都市計画課": 250.0})
    with pytest.raises(ValueError, match="basis"):
        CouncilFormula(basis="population")
