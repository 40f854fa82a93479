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
