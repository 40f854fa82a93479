"""Patrol planning on the demo: bundled and separate plans serve every matched asset."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest

from gis_data.loading.load import load_scenario
from gis_data.planning.patrol_plan import PlanSettings, plan_patrols
from optimizer.stop import MaxIterations


@pytest.fixture(scope="module")
def vaduz(demo_dir: Path):
    """The four-town demo cut down to Vaduz (its assets, boundary and depots) to stay fast."""
    scenario = load_scenario(demo_dir / "four_towns.toml")
    code = "LI-7001"
    return dataclasses.replace(
        scenario,
        assets=scenario.assets[scenario.assets["municipality_code"] == code],
        municipalities=scenario.municipalities[
            scenario.municipalities["municipality_code"] == code
        ],
    )


def test_demo_town_bundled_and_separate(vaduz) -> None:
    """Every matched asset is served in the bundled plan and in exactly the separate plans."""
    settings = PlanSettings(seed=1, bundled_stop=MaxIterations(20), silo_stop=MaxIterations(20))
    result = plan_patrols(vaduz, settings)
    bundled = result.bundled
    assert bundled.status == "feasible"
    assert {d.depot_id for d in bundled.depots} == {"yard-schaan", "yard-triesen"}
    matched = set(vaduz.assets["asset_id"]) - {u.asset_id for u in result.unmatched}
    served = {a for r in bundled.routes for a in r.asset_ids}
    assert served == matched
    assert all(r.total_s <= 8 * 3600 for r in bundled.routes)
    assert sorted(str(p.field) for p in result.siloed) == ["park", "river", "road"]
    assert all(p.depots[0].name == "Vaduz town depot" for p in result.siloed)
    silo_served = {a for p in result.siloed for r in p.routes for a in r.asset_ids}
    assert silo_served == matched
    totals = result.siloed_totals()
    assert totals["crews"] == sum(p.crews for p in result.siloed)
    assert totals["km"] == pytest.approx(sum(p.km for p in result.siloed), abs=0.01)
    # The network reaches beyond Vaduz (buffer), so crews from other towns' yards can come in.
    assert result.network.summary.nodes > 100


def test_bundled_progress_states_cost_and_lower_bound(vaduz) -> None:
    """The bundled plan carries the optimizer's lower bound (never above its cost), and the
    progress line that reports it shows both."""
    settings = PlanSettings(seed=1, bundled_stop=MaxIterations(5), silo_stop=MaxIterations(5))
    messages: list[str] = []
    result = plan_patrols(vaduz, settings, progress=messages.append)
    bundled = result.bundled
    assert bundled.bound_s is not None
    assert 0 < bundled.bound_s <= bundled.cost_s
    assert all(p.bound_s is None for p in result.siloed)
    line = next(m for m in messages if m.startswith("bundled:") and "crews" in m)
    assert f"cost {bundled.cost_s} s, lower bound {bundled.bound_s} s" in line


@pytest.mark.parametrize("mapper", [False, True])
def test_bundled_best_so_far_falls_to_the_plan(vaduz, mapper: bool) -> None:
    """``on_best`` hears the bundled solve: a first cost, its bound, then only lower costs, the
    last the plan's own cost; solved inline or beside the silos on a mapper, the plans are the
    same as without it (count-based stops)."""
    from gis_data.planning.parallel import inline_map
    from gis_data.planning.patrol_plan import best_so_far_message

    settings = PlanSettings(seed=1, bundled_stop=MaxIterations(30), silo_stop=MaxIterations(5))
    calls: list[tuple[int, int | None, float]] = []
    result = plan_patrols(
        vaduz,
        settings,
        client=inline_map if mapper else None,
        on_best=lambda cost, bound, seconds: calls.append((cost, bound, seconds)),
    )
    bundled = result.bundled
    assert calls[0][1] is None
    assert all(bound == bundled.bound_s for _, bound, _ in calls[1:])
    costs = [c for c, _, _ in calls]
    assert all(b <= a for a, b in itertools.pairwise(costs))
    assert costs[-1] == bundled.cost_s
    quiet = plan_patrols(vaduz, settings)
    assert quiet.bundled.cost_s == bundled.cost_s
    assert [p.cost_s for p in quiet.siloed] == [p.cost_s for p in result.siloed]
    line = best_so_far_message(calls[-1][0], calls[-1][1])
    gap = 100.0 * (bundled.cost_s - (bundled.bound_s or 0)) / (bundled.bound_s or 1)
    assert line == (
        f"bundled: best so far {bundled.cost_s / 3600:.2f} h, "
        f"bound {(bundled.bound_s or 0) / 3600:.2f} h (gap {gap:.1f} %)"
    )
