"""Re-planning a patrol calendar after lost days: missed visits move inside their windows.

A calendar (`optimizer.calendar`) gives every task its visit days. When a day (or some crews of a
day) is lost, or a patrol log shows visits missed, `replan_visits` removes those visits and puts
each back on the earliest later working day that keeps the task's gap within its interval and has
room in the crew pool's day (remaining crews x shift). The most urgent tasks (earliest deadline)
are placed first. Days before the first lost or missed day are never touched, and no day is
loaded beyond its capacity: a visit that finds no room before its deadline is reported late, with
the number of working days it will be late by (or None when no day of the horizon has room).
Pure and deterministic: no randomness, ties broken by task index.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ReplanTask:
    """A calendar task: pool, interval (working days), workload (minutes), window [start, end)."""

    pool: int
    interval: int
    workload: float
    window: tuple[int, int]

    def __post_init__(self) -> None:
        if self.interval < 1:
            raise ValueError(f"task interval must be >= 1, got {self.interval}")
        if self.workload < 0:
            raise ValueError(f"task workload must be >= 0, got {self.workload}")
        if not 0 <= self.window[0] <= self.window[1]:
            raise ValueError(f"task window must be 0 <= start <= end, got {self.window}")


@dataclass(frozen=True)
class Move:
    """Task ``task`` lost its visit on day ``source`` and is now visited on day ``target``."""

    task: int
    source: int
    target: int


@dataclass(frozen=True)
class Late:
    """A task whose gap exceeds its interval: due by ``deadline``, visited on ``target``.

    ``late_days`` is ``target - deadline`` in working days; ``target`` and ``late_days`` are None
    when no working day of the horizon has room (the visit falls outside this calendar).
    """

    task: int
    source: int
    deadline: int
    target: int | None
    late_days: int | None


@dataclass(frozen=True)
class ReplanResult:
    """New visits per day, the (day, pool) pairs whose visit set changed, moves and late tasks."""

    visits: tuple[tuple[int, ...], ...]
    changed: frozenset[tuple[int, int]]
    moves: tuple[Move, ...]
    late: tuple[Late, ...]
    first_day: int


def replan_visits(
    tasks: Sequence[ReplanTask],
    visits: Sequence[Sequence[int]],
    *,
    crews: Sequence[int],
    shift_minutes: float,
    lost_crews: Mapping[tuple[int, int], int] | None = None,
    missed: Iterable[tuple[int, int]] = (),
) -> ReplanResult:
    """Move the visits of lost days and missed visits to later days inside their windows.

    Parameters
    ----------
    tasks
        The calendar's tasks; ``visits[d]`` lists the tasks visited on working day ``d``.
    crews
        Crews per pool; a day's capacity is (crews - lost) x ``shift_minutes``.
    lost_crews
        (day, pool) -> crews unavailable that day (>= the pool's crews: the whole day is lost).
    missed
        (day, task) visits a patrol log shows were not made; their day is not re-routed (it is
        past) but the task is due again.
    """
    num_days = len(visits)
    lost = dict(lost_crews or {})
    for (day, pool), count in lost.items():
        if not 0 <= day < num_days or not 0 <= pool < len(crews):
            raise ValueError(f"lost crews: day {day} / pool {pool} outside the calendar")
        if count < 1:
            raise ValueError(f"lost crews of day {day} pool {pool} must be >= 1, got {count}")
    missed = sorted(set(missed))
    for day, index in missed:
        if not 0 <= day < num_days or not 0 <= index < len(tasks) or index not in visits[day]:
            raise ValueError(f"missed visit: task {index} is not planned on day {day}")
    new = [list(v) for v in visits]
    # Sorted visit days per task, for the previous / next visit around a day.
    days_of: list[list[int]] = [[] for _ in tasks]
    for d, day_visits in enumerate(new):
        for i in day_visits:
            days_of[i].append(d)
    load = [[0.0] * len(crews) for _ in range(num_days)]
    for d, day_visits in enumerate(new):
        for i in day_visits:
            load[d][tasks[i].pool] += tasks[i].workload

    def capacity(day: int, pool: int) -> float:
        return max(0, crews[pool] - lost.get((day, pool), 0)) * shift_minutes

    removed: list[tuple[int, int]] = []
    for day, gone in missed:
        new[day].remove(gone)
        days_of[gone].remove(day)
        load[day][tasks[gone].pool] -= tasks[gone].workload
        removed.append((day, gone))
    for day, pool in sorted(lost):
        # Drop the visits with the most slack first until the remaining crews can do the rest.
        mine = [i for i in new[day] if tasks[i].pool == pool]
        mine.sort(key=lambda i: (-_slack(tasks[i], days_of[i], day, num_days), i))
        for i in mine:
            if load[day][pool] <= capacity(day, pool) + 1e-9:
                break
            new[day].remove(i)
            days_of[i].remove(day)
            load[day][pool] -= tasks[i].workload
            removed.append((day, i))
    if not removed:
        return ReplanResult(tuple(tuple(v) for v in visits), frozenset(), (), (), num_days)
    first_day = min(d for d, _ in removed)
    changed: set[tuple[int, int]] = {(d, tasks[i].pool) for d, i in removed}

    def deadline(task: int, source: int) -> int:
        days = days_of[task]
        k = bisect.bisect_left(days, source)
        prev = days[k - 1] if k > 0 else tasks[task].window[0] - 1
        return prev + tasks[task].interval

    order = sorted(removed, key=lambda di: (deadline(di[1], di[0]), di[1], di[0]))
    moves: list[Move] = []
    late: list[Late] = []
    for source, i in order:
        task = tasks[i]
        due = deadline(i, source)
        end = task.window[1]
        k = bisect.bisect_right(days_of[i], source)
        nxt = days_of[i][k] if k < len(days_of[i]) else None
        if due >= end or (nxt is not None and nxt <= due):
            continue  # the next planned visit (or the window's end) already keeps the gap
        limit = min(nxt if nxt is not None else end, end)
        target = next(
            (
                d
                for d in range(source + 1, limit)
                if load[d][task.pool] + task.workload <= capacity(d, task.pool)
            ),
            None,
        )
        if target is not None:
            new[target].append(i)
            bisect.insort(days_of[i], target)
            load[target][task.pool] += task.workload
            changed.add((target, task.pool))
            moves.append(Move(i, source, target))
        if target is None or target > due:
            reached = target if target is not None else nxt
            late.append(Late(i, source, due, reached, None if reached is None else reached - due))
    return ReplanResult(
        visits=tuple(tuple(sorted(v)) for v in new),
        changed=frozenset(changed),
        moves=tuple(moves),
        late=tuple(late),
        first_day=first_day,
    )


def _slack(task: ReplanTask, days: Sequence[int], day: int, num_days: int) -> int:
    """Working days a visit on ``day`` could wait before the gap since the previous one breaks."""
    k = bisect.bisect_left(days, day)
    prev = days[k - 1] if k > 0 else task.window[0] - 1
    nxt = days[k + 1] if k + 1 < len(days) else None
    if nxt is not None and nxt - prev <= task.interval:
        return num_days  # a redundant visit: dropping it breaks no gap
    return prev + task.interval - day
