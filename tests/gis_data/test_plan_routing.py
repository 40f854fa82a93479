"""The planner's plan routing: the same search per task however the work is grouped."""

from __future__ import annotations

import pytest

from gis_data.planning.plan_routing import MAX_SCALE, RoutingEffort, saving
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
