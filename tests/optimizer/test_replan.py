"""optimizer.replan: lost days and missed visits move inside their windows, or are reported late."""

from __future__ import annotations

import itertools

import pytest

from optimizer.replan import ReplanTask, replan_visits

SHIFT = 480.0


def _visits(num_days: int, plan: dict[int, list[int]]) -> list[list[int]]:
    """Per-day task lists from task -> visit days."""
    days: list[list[int]] = [[] for _ in range(num_days)]
    for task, on in plan.items():
        for d in on:
            days[d].append(task)
    return days


def _gaps_ok(task: ReplanTask, index: int, visits: tuple[tuple[int, ...], ...]) -> bool:
    days = [d for d, v in enumerate(visits) if index in v]
    marks = [task.window[0] - 1, *days]
    return all(b - a <= task.interval for a, b in itertools.pairwise(marks))


def test_a_lost_day_moves_its_visits_to_the_next_day_inside_the_interval() -> None:
    """Task 0 (every 3 days, visited on even days) loses day 4: it moves to day 5, gaps <= 3."""
    tasks = [ReplanTask(0, 3, 100.0, (0, 10)), ReplanTask(0, 2, 100.0, (0, 10))]
    visits = _visits(10, {0: [0, 2, 4, 6, 8], 1: [1, 3, 5, 7, 9]})
    result = replan_visits(tasks, visits, crews=[1], shift_minutes=SHIFT, lost_crews={(4, 0): 1})
    assert result.visits[4] == ()
    assert result.visits[5] == (0, 1)
    assert result.visits[:4] == tuple(tuple(v) for v in visits[:4])
    assert result.changed == {(4, 0), (5, 0)}
    assert [(m.task, m.source, m.target) for m in result.moves] == [(0, 4, 5)]
    # Task 1 was visited on day 3 and again on 5: losing nothing of it, it needs no move.
    assert result.late == ()
    assert result.first_day == 4
    assert all(_gaps_ok(t, i, result.visits) for i, t in enumerate(tasks))


def test_no_room_before_the_deadline_is_reported_late_instead_of_overloading() -> None:
    """Day 5 is full: task 0 keeps its next visit on day 6 and is reported 1 working day late."""
    tasks = [ReplanTask(0, 3, 100.0, (0, 10)), ReplanTask(0, 10, SHIFT, (0, 10))]
    visits = _visits(10, {0: [0, 2, 4, 6, 8], 1: [5]})
    result = replan_visits(tasks, visits, crews=[1], shift_minutes=SHIFT, lost_crews={(4, 0): 1})
    assert result.moves == ()
    [late] = result.late
    assert (late.task, late.source, late.deadline, late.target, late.late_days) == (0, 4, 5, 6, 1)
    load = [sum(tasks[i].workload for i in day) for day in result.visits]
    assert max(load) <= SHIFT


def test_the_most_overdue_task_gets_the_only_free_slot() -> None:
    """Two tasks lose day 2 and day 3 has room for one: the one due first takes it."""
    tasks = [ReplanTask(0, 4, 300.0, (0, 8)), ReplanTask(0, 2, 300.0, (0, 8))]
    visits = _visits(8, {0: [1, 2, 6], 1: [0, 2, 4, 6]})
    result = replan_visits(tasks, visits, crews=[1], shift_minutes=SHIFT, lost_crews={(2, 0): 1})
    # Task 1: previous visit day 0, due by day 2 (already late): first. Task 0: due by day 5.
    assert next((m.task, m.target) for m in result.moves) == (1, 3)
    assert 1 in result.visits[3]
    assert 0 not in result.visits[3]
    assert 0 in result.visits[5]
    late = {x.task: x.late_days for x in result.late}
    assert late == {1: 1}


def test_a_lost_crew_drops_the_visits_with_most_slack_and_a_missed_visit_is_due_again() -> None:
    """One of two crews is out on day 1: the visit that can wait goes; a missed visit returns."""
    tasks = [ReplanTask(0, 2, 400.0, (0, 6)), ReplanTask(0, 5, 400.0, (0, 6))]
    visits = _visits(6, {0: [1, 3, 5], 1: [1]})
    result = replan_visits(
        tasks,
        visits,
        crews=[2],
        shift_minutes=SHIFT,
        lost_crews={(1, 0): 1},
        missed=[(3, 0)],
    )
    assert result.visits[1] == (0,)
    assert 1 in result.visits[2]
    # The visit missed on day 3 (log) comes back on day 4, within 2 days of day 1... late by 1.
    assert 0 not in result.visits[3]
    assert 0 in result.visits[4]
    assert {x.task: x.late_days for x in result.late} == {0: 1}
    assert result.first_day == 1


def test_bad_marks_are_refused() -> None:
    """A lost day outside the calendar or a missed visit that was not planned is an error."""
    tasks = [ReplanTask(0, 2, 10.0, (0, 3))]
    with pytest.raises(ValueError, match="outside the calendar"):
        replan_visits(tasks, [[0], [], [0]], crews=[1], shift_minutes=SHIFT, lost_crews={(5, 0): 1})
    with pytest.raises(ValueError, match="not planned on day 1"):
        replan_visits(tasks, [[0], [], [0]], crews=[1], shift_minutes=SHIFT, missed=[(1, 0)])
