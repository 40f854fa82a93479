"""Effect estimate on synthetic towns: siloed vs bundled by the same engine, costs and phases."""

from __future__ import annotations

import pytest

from gis_data.planning.effects import (
    Phase,
    PlanCosting,
    UnitCosts,
    bundled_units,
    estimate_effects,
    siloed_units,
)
from gis_data.planning.work_calendar import parse_horizon
from tests.gis_data._grid_router import GridRouter, grid_towns

TOWN_DEPOTS = {f"T{i}": f"depot:T{i}" for i in (1, 2, 3)}


@pytest.fixture(scope="module")
def estimate():
    towns = grid_towns(("T1", "T2", "T3"), width=2)
    router = GridRouter(towns)
    costing = PlanCosting(towns.assets, router, parse_horizon("2026-06"), metric_crs="EPSG:2056")
    result = estimate_effects(
        costing,
        town_depots=TOWN_DEPOTS,
        bundle_depots="yard",
        phases=[
            Phase("第1期", "FY2026", ("T1",)),
            Phase("第2期", "FY2028", ("T1", "T2")),
            Phase("第3期", "FY2030", ("T1", "T2", "T3")),
        ],
    )
    return towns, router, result


def test_units_of_each_side() -> None:
    """Siloed: one unit per town x field from the town depot; bundled: one contractor unit."""
    towns = grid_towns(("T1", "T2"), width=2)
    silo = siloed_units(towns.assets, TOWN_DEPOTS)
    assert len(silo) == 6
    assert {u.depot for u in silo} == {"depot:T1", "depot:T2"}
    assert all(u.operator == "town" for u in silo)
    bundle = bundled_units(towns.assets, depots="yard")
    assert len(bundle) == 1
    assert bundle[0].asset_ids == frozenset(towns.assets["asset_id"])
    assert bundle[0].towns == ("T1", "T2")


def test_bundling_saves_crew_days_vehicles_and_staff_hours(estimate) -> None:
    """One crew for all fields and towns needs fewer crew-days and vehicles than nine silos."""
    _, _, result = estimate
    s, b = result.siloed, result.bundled
    assert b.crew_days < s.crew_days
    assert b.vehicles < s.vehicles
    assert b.staff_hours < s.staff_hours
    assert b.cost_yen < s.cost_yen
    # Every asset visited as required on both sides.
    assert all(u.coverage == 1.0 and u.max_gap_ratio <= 1.0 for u in s.units + b.units)


def test_cost_and_co2_follow_the_unit_costs(estimate) -> None:
    """Cost is labour + km + vehicle-days at the unit costs; CO2 is fuel times 2.32 kg/L."""
    _, _, result = estimate
    b = result.bundled
    c = UnitCosts()
    assert b.cost_yen == pytest.approx(
        b.crew_hours * c.crew_hour_yen + b.km * c.vehicle_km_yen + b.crew_days * c.vehicle_day_yen
    )
    assert b.co2_kg == pytest.approx(b.km / 10.0 * 2.32)
    assert b.staff_hours == pytest.approx(0.1 * b.crew_hours)
    rows = {r["metric"]: r for r in result.comparison_rows()}
    assert rows["cost_yen"]["saving"] == pytest.approx(result.siloed.cost_yen - b.cost_yen)
    assert rows["staff_hours"]["label"] == "職員の直営対応時間"


def test_phases_move_from_siloed_to_bundled(estimate) -> None:
    """Each phase bundles more towns; the last phase equals the fully bundled scenario."""
    _, _, result = estimate
    costs = [fig.cost_yen for _, fig in result.phases]
    assert result.siloed.cost_yen > costs[0] > costs[2]
    assert costs[2] == pytest.approx(result.bundled.cost_yen)
    rows = result.phase_rows()
    assert [r["start"] for r in rows] == ["FY2026", "FY2028", "FY2030"]
    assert rows[2]["saving_yen"] == pytest.approx(result.siloed.cost_yen - result.bundled.cost_yen)


def test_units_are_solved_once(estimate) -> None:
    """Phases reuse the units already costed; the router saw each distinct day once."""
    _, router, result = estimate
    assert result.solves == len(router.calls)
    first, last = result.phases[0][1], result.phases[2][1]
    assert all(u.solves == 0 for u in last.units)
    assert all(u.solves == 0 for u in first.units if u.operator == "town")
    assert any(u.solves > 0 for u in first.units if u.operator == "contractor")


def test_unknown_cost_key_is_named() -> None:
    """A typo in the cost table is refused with the key and the place."""
    with pytest.raises(ValueError, match="crew_hour_jpy"):
        UnitCosts.from_mapping({"crew_hour_jpy": 1}, where="x.toml [costs]")


def test_the_prefecture_roads_enter_the_estimate_at_the_prefecture_frequency() -> None:
    """With T2 as the prefecture's 県道 patrolled every 10 working days (its own setting), the
    status quo unit of the prefecture's roads makes fewer visits and crew-days than at the towns'
    intervals, T1's units are unchanged, and the bundle carries the same visits."""
    from gis_data.planning.patrol_calendar import Frequencies

    towns = grid_towns(("T1", "T2"), width=2)
    horizon = parse_horizon("2026-06")

    def estimate_with(freq: Frequencies):
        costing = PlanCosting(
            towns.assets, GridRouter(towns), horizon, metric_crs="EPSG:2056", frequencies=freq
        )
        return estimate_effects(
            costing, town_depots={c: TOWN_DEPOTS[c] for c in ("T1", "T2")}, bundle_depots="yard"
        )

    towns_only = estimate_with(Frequencies())
    with_pref = estimate_with(Frequencies(prefectural_road=10, prefecture_owners=frozenset({"T2"})))

    def unit(result, town: str, field: str):
        return next(u for u in result.siloed.units if u.towns == (town,) and u.field == field)

    n_roads = int(
        ((towns.assets["municipality_code"] == "T2") & (towns.assets["field"] == "road")).sum()
    )
    assert unit(with_pref, "T2", "road").visits == 2 * n_roads  # 22 working days, every 10
    assert unit(with_pref, "T2", "road").visits < unit(towns_only, "T2", "road").visits
    assert unit(with_pref, "T2", "road").crew_minutes < unit(towns_only, "T2", "road").crew_minutes

    def figures(u):
        return (u.visits, u.km, u.crew_minutes, u.crew_days)

    for field in ("road", "river", "park"):
        assert figures(unit(with_pref, "T1", field)) == figures(unit(towns_only, "T1", field))
    assert figures(unit(with_pref, "T2", "river")) == figures(unit(towns_only, "T2", "river"))
    siloed_visits = sum(u.visits for u in with_pref.siloed.units)
    assert sum(u.visits for u in with_pref.bundled.units) == siloed_visits
