"""Patrol calendar: coverage, gaps within intervals, windows, leveling and errors."""

from __future__ import annotations

import numpy as np
import pytest

from optimizer.calendar import CalendarTask, CrewPool, plan_calendar
from optimizer.errors import SpecificationError
from optimizer.stop import MaxIterations


def _random_tasks(n: int, seed: int, pools: int = 1) -> list[CalendarTask]:
    rng = np.random.default_rng(seed)
    return [
        CalendarTask(
            label=f"a{i}",
            interval=int(rng.choice([1, 2, 5, 20])),
            workload=float(rng.uniform(5, 60)),
            pool=int(rng.integers(pools)),
        )
        for i in range(n)
    ]


def test_every_task_visited_as_often_as_required_with_bounded_gap() -> None:
    """Coverage is 100 % and no gap (window edges included) exceeds the interval."""
    tasks = _random_tasks(60, seed=1, pools=2)
    result = plan_calendar(tasks, num_days=47, pools=[CrewPool(2, 480), CrewPool(1, 480)], seed=0)
    assert result.coverage == 1.0
    assert result.gaps_within_interval
    for i, t in enumerate(tasks):
        days = result.days_of(i)
        assert len(days) in (max(1, 47 // t.interval), 47 // t.interval + 1)
        gaps = np.diff(np.concatenate(([-1], days, [47])))
        assert gaps.max() <= t.interval
        assert all(i in result.visits[int(d)] for d in days)
    # Per-day lists and per-task days agree exactly.
    assert sum(len(v) for v in result.visits) == sum(len(result.days_of(i)) for i in range(60))
    assert result.made_visits == result.required_visits


def test_required_visits_and_no_pile_up_at_the_horizon_end() -> None:
    """241 days of monthly tasks need 12 visits each; no day gets more than a shift of work."""
    tasks = [CalendarTask(label=f"m{i}", interval=20, workload=100.0) for i in range(40)]
    result = plan_calendar(tasks, num_days=241, pools=[CrewPool(1, 480)], seed=0)
    assert result.required_visits == 40 * 12
    assert result.made_visits == result.required_visits
    assert result.gaps_within_interval
    assert max(len(v) for v in result.visits) == 4
    assert result.pools[0].overloaded_days == 0


def test_short_window_still_gets_one_visit() -> None:
    """A monthly task in an 18-day month is visited once, within the month."""
    t = CalendarTask(label="river", interval=20, workload=10.0)
    result = plan_calendar([t], num_days=18, pools=[CrewPool(1, 480)], seed=0)
    assert len(result.days_of(0)) == 1
    assert result.required_visits == 1
    assert result.coverage == 1.0


def test_equal_tasks_are_spread_evenly_over_offsets() -> None:
    """Ten weekly tasks of 200 min: two per working day fill one crew-day each, level load."""
    tasks = [CalendarTask(label=f"r{i}", interval=5, workload=200.0) for i in range(10)]
    result = plan_calendar(tasks, num_days=20, pools=[CrewPool(1, 480)], seed=3)
    assert [len(v) for v in result.visits] == [2] * 20
    assert result.pools[0].max_per_crew == pytest.approx(400.0)
    assert result.pools[0].max_over_mean == pytest.approx(1.0)


def test_small_work_is_batched_into_few_crew_days() -> None:
    """Twenty monthly bank patrols of 15 min share one day a month instead of one crew a day."""
    tasks = [CalendarTask(label=f"b{i}", interval=20, workload=15.0) for i in range(20)]
    result = plan_calendar(tasks, num_days=60, pools=[CrewPool(1, 480)], seed=0)
    busy_days = sum(1 for v in result.visits if v)
    assert busy_days == 3
    assert result.gaps_within_interval
    # Without batching the same work is spread: one patrol on each working day.
    level = plan_calendar(tasks, num_days=60, pools=[CrewPool(1, 480)], seed=0, batch=False)
    assert [len(v) for v in level.visits] == [1] * 60


def test_leveling_beats_putting_everything_on_one_offset() -> None:
    """The peak daily load is close to the mean on a mixed instance (much below all-at-once)."""
    tasks = _random_tasks(200, seed=5)
    result = plan_calendar(tasks, num_days=60, pools=[CrewPool(3, 480)], seed=1)
    stats = result.pools[0]
    worst = sum(t.workload for t in tasks) / 3  # every task on day 0
    assert stats.max_per_crew < 0.5 * worst
    assert stats.max_over_mean < 1.25


def test_windows_limit_visits_to_the_active_season() -> None:
    """A task active on days 10..29 is never visited outside them and still meets its interval."""
    season = CalendarTask(label="park", interval=5, workload=20.0, window=(10, 30))
    off = CalendarTask(label="park-winter", interval=20, workload=20.0, window=(30, 50))
    result = plan_calendar([season, off], num_days=50, pools=[CrewPool(1, 480)], seed=0)
    assert set(result.days_of(0).tolist()) <= set(range(10, 30))
    assert len(result.days_of(0)) == 4
    assert set(result.days_of(1).tolist()) <= set(range(30, 50))
    assert result.gaps_within_interval


def test_same_seed_same_calendar() -> None:
    """A count-based stop and the same seed give the same offsets."""
    tasks = _random_tasks(80, seed=2)
    a = plan_calendar(tasks, num_days=40, pools=[CrewPool(2, 480)], seed=9, stop=MaxIterations(5))
    b = plan_calendar(tasks, num_days=40, pools=[CrewPool(2, 480)], seed=9, stop=MaxIterations(5))
    assert a.offsets.tolist() == b.offsets.tolist()


def test_overload_is_reported_not_hidden() -> None:
    """Daily work above crews x shift marks overloaded days and an infeasible calendar."""
    tasks = [CalendarTask(label=f"t{i}", interval=1, workload=200.0) for i in range(3)]
    result = plan_calendar(tasks, num_days=5, pools=[CrewPool(1, 480)], seed=0)
    assert result.pools[0].overloaded_days == 5
    assert not result.feasible
    assert result.coverage == 1.0


@pytest.mark.parametrize(
    ("task", "match"),
    [
        (CalendarTask(label="x", interval=0, workload=1.0), "'x'.*interval"),
        (CalendarTask(label="y", interval=2, workload=-1.0), "'y'.*workload"),
        (CalendarTask(label="z", interval=2, workload=1.0, pool=3), "'z'.*pool 3"),
        (CalendarTask(label="w", interval=2, workload=1.0, window=(5, 5)), "'w'.*window"),
    ],
)
def test_bad_tasks_are_named(task: CalendarTask, match: str) -> None:
    """Each bad field is reported with the task's label."""
    with pytest.raises(SpecificationError, match=match):
        plan_calendar([task], num_days=10, pools=[CrewPool(1, 480)])


def test_zone_weight_keeps_a_zone_on_the_same_days() -> None:
    """Weekly tasks in two zones: with a zone weight each zone's tasks share their days."""
    tasks = [
        CalendarTask(label=f"z{z}-{i}", interval=5, workload=200.0, zone=z)
        for z in (0, 1)
        for i in range(5)
    ]
    plain = plan_calendar(tasks, num_days=20, pools=[CrewPool(2, 480)], seed=1, batch=False)
    zoned = plan_calendar(
        tasks, num_days=20, pools=[CrewPool(2, 480)], seed=1, batch=False, zone_weight=0.5
    )

    def zone_days(result) -> int:
        return sum(len({tasks[i].zone for i in visits}) for visits in result.visits)

    assert zoned.coverage == 1.0
    assert zoned.gaps_within_interval
    assert zoned.pools[0].overloaded_days == 0
    assert zone_days(zoned) < zone_days(plain)
