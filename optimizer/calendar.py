"""Patrol calendar: assign periodic visits to working days with bounded gaps and level daily load.

Days are working-day indices ``0 .. num_days - 1`` (the caller maps them to dates, skipping
weekends and holidays). Each task must be visited at least every ``interval`` working days while it
is active (its ``window`` of length ``L``, by default the whole horizon). A task gets a *phase
offset* ``p in [0, min(interval, L))``: it is visited on ``start + p``, ``start + p + interval``,
... up to the window's end. So every gap is at most ``interval``: from the window start to the
first visit (counted as ``first - start + 1``), between visits, and from the last visit to the
window end (``end - last``). That needs ``max(1, floor(L / interval))`` visits (the *required*
visits); an offset below ``L mod interval`` adds one more.

The offsets are chosen to level the daily workload of each crew pool (region): a greedy pass
places tasks largest first on the offset that adds least to the objective, then seeded local
search moves single tasks while that improves it. The objective per day is, in order of weight:

1. a heavy penalty on load above the pool's capacity (``crews * shift_minutes``);
2. the crew-days the load needs, ``ceil(load / shift_minutes)``: a small department patrols its
   river banks on a few full days rather than a little every day, and vehicles cost per day out;
3. ``zone_weight`` per zone with work on the day (optional): a crew that enters a zone for one
   task may as well serve the zone's other tasks, so days stay geographically compact;
4. ``LEVEL_WEIGHT * (load / capacity)^2``, which levels the load among days needing as many crews
   (summed over days it favours equal loads, since the total is fixed).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from optimizer.errors import SpecificationError
from optimizer.stop import (
    MaxIterations,
    StoppingCriterion,
    iteration_limit,
    no_improvement_limit,
    time_limit,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Weight of the squared overload (share of capacity above 1), in crew-days.
_OVERLOAD_PENALTY = 1000.0
# Weight of the leveling term against one crew-day.
LEVEL_WEIGHT = 0.05


@dataclass(frozen=True)
class CalendarTask:
    """A periodic visit: at most ``interval`` working days apart, ``workload`` minutes per visit,
    done by crew pool ``pool``, required on working days ``window = (start, end)`` (end excluded;
    ``None``: the whole horizon). Tasks of one ``zone`` (>= 0, e.g. a few km square) are drawn to
    the same days when ``zone_weight`` is set, so a day's routes stay compact."""

    label: str
    interval: int
    workload: float
    pool: int = 0
    window: tuple[int, int] | None = None
    zone: int = -1


@dataclass(frozen=True)
class CrewPool:
    """The crews of one region: ``crews`` crews working ``shift_minutes`` each working day."""

    crews: int
    shift_minutes: float

    def __post_init__(self) -> None:
        if self.crews < 1:
            raise SpecificationError(f"crews must be >= 1, got {self.crews}")
        if not self.shift_minutes > 0:
            raise SpecificationError(f"shift_minutes must be > 0, got {self.shift_minutes}")

    @property
    def capacity(self) -> float:
        """Minutes of work the pool can do in one working day."""
        return self.crews * self.shift_minutes


@dataclass(frozen=True)
class PoolLoad:
    """Daily load statistics of one crew pool, per crew (minutes)."""

    max_per_crew: float
    mean_per_crew: float
    shift_minutes: float
    overloaded_days: int

    @property
    def max_over_mean(self) -> float:
        """Peak to mean ratio of the daily load (1.0 is perfectly level)."""
        return self.max_per_crew / self.mean_per_crew if self.mean_per_crew > 0 else 1.0


@dataclass(frozen=True)
class CalendarResult:
    """A patrol calendar.

    Attributes
    ----------
    offsets
        Phase offset of each task (first visit on ``window start + offset``, or earlier if clamped).
    visits
        Per working day, the indices of the tasks visited, ascending.
    required_visits, made_visits
        Visits required by the intervals and required visits scheduled (equal by construction;
        a task may get one visit more than required, see the module docstring).
    max_gap
        Per task, the largest gap in working days (window edges included, see module docstring).
    load
        Minutes of work per pool (rows) and working day (columns).
    pools
        Load statistics per pool.
    """

    num_days: int
    tasks: tuple[CalendarTask, ...]
    offsets: IntArray
    visits: tuple[tuple[int, ...], ...]
    required_visits: int
    made_visits: int
    max_gap: IntArray
    load: FloatArray
    pools: tuple[PoolLoad, ...]
    objective: float
    iterations: int
    runtime: float
    seed: int

    @property
    def coverage(self) -> float:
        """Share of required visits scheduled (1.0 when every task is visited as required)."""
        return self.made_visits / self.required_visits if self.required_visits else 1.0

    @property
    def gaps_within_interval(self) -> bool:
        """Whether every task's largest gap is at most its interval."""
        return all(int(g) <= t.interval for g, t in zip(self.max_gap, self.tasks, strict=True))

    @property
    def max_gap_ratio(self) -> float:
        """The largest ratio of a task's gap to its required interval (<= 1.0 is compliant)."""
        ratios = [int(g) / t.interval for g, t in zip(self.max_gap, self.tasks, strict=True)]
        return max(ratios, default=0.0)

    @property
    def feasible(self) -> bool:
        """Full coverage, every gap within its interval and no pool above its daily capacity."""
        return (
            self.made_visits >= self.required_visits
            and self.gaps_within_interval
            and all(p.overloaded_days == 0 for p in self.pools)
        )

    def days_of(self, task: int) -> IntArray:
        """The working days on which ``task`` is visited."""
        t = self.tasks[task]
        start, end = t.window if t.window is not None else (0, self.num_days)
        days, valid = _visit_days(start, end, t.interval)
        p = int(self.offsets[task])
        return days[p][valid[p]]


def _visit_days(start: int, end: int, interval: int) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Visit days for every allowed offset: row ``p`` holds the days of offset ``p``; slots past
    the window's end are masked out (``valid`` False) and point at its last day."""
    length = end - start
    slots = math.ceil(length / interval)
    offsets = min(interval, length)
    days = (
        start
        + interval * np.arange(slots, dtype=np.int64)[None, :]
        + np.arange(offsets, dtype=np.int64)[:, None]
    )
    valid = days < end
    return np.where(valid, days, end - 1), valid


def required_visits(length: int, interval: int) -> int:
    """Fewest visits keeping every gap of a window of ``length`` days within ``interval``."""
    return max(1, length // interval)


def _max_gap(days: IntArray, start: int, end: int) -> int:
    edges = np.concatenate(([start - 1], days, [end]))
    return int(np.diff(edges).max())


def _validate(
    tasks: tuple[CalendarTask, ...], num_days: int, pools: tuple[CrewPool, ...]
) -> list[tuple[int, int]]:
    if num_days < 1:
        raise SpecificationError(f"num_days must be >= 1, got {num_days}")
    if not pools:
        raise SpecificationError("at least one crew pool is needed")
    problems: list[str] = []
    windows: list[tuple[int, int]] = []
    for i, t in enumerate(tasks):
        name = f"task {i} ({t.label!r})"
        if t.interval < 1:
            problems.append(f"{name}: interval must be >= 1 working day, got {t.interval}")
        if not (math.isfinite(t.workload) and t.workload >= 0):
            problems.append(f"{name}: workload must be finite and >= 0, got {t.workload}")
        if not 0 <= t.pool < len(pools):
            problems.append(f"{name}: pool {t.pool} outside 0..{len(pools) - 1}")
        window = t.window if t.window is not None else (0, num_days)
        if not 0 <= window[0] < window[1] <= num_days:
            problems.append(f"{name}: window {window} outside 0..{num_days} or empty")
        windows.append(window)
    if problems:
        raise SpecificationError("invalid calendar input: " + "; ".join(problems))
    return windows


def _day_cost(load: FloatArray, capacity: float, shift: float, batch: bool) -> FloatArray:
    share = load / capacity
    over = np.maximum(share - 1.0, 0.0)
    cost = LEVEL_WEIGHT * share * share + _OVERLOAD_PENALTY * over * over
    if batch:
        # The epsilon keeps a load of exactly one shift at one crew-day despite rounding.
        cost = cost + np.ceil(np.maximum(load, 0.0) / shift - 1e-9)
    return cost


def plan_calendar(
    tasks: list[CalendarTask] | tuple[CalendarTask, ...],
    *,
    num_days: int,
    pools: list[CrewPool] | tuple[CrewPool, ...],
    seed: int = 0,
    stop: StoppingCriterion | None = None,
    batch: bool = True,
    zone_weight: float = 0.0,
) -> CalendarResult:
    """Choose a phase offset per task so visits meet the intervals and daily load is level.

    ``batch=False`` drops the crew-days term (objective 2 in the module docstring): the load is
    only levelled, so every day carries a proportional share of each kind of work.
    ``zone_weight`` (in crew-days) is charged per zone and day with work in it.

    ``stop`` bounds the local search (one iteration = one pass over all tasks); by default it
    runs at most 50 passes and stops at the first pass without improvement.
    """
    started = time.perf_counter()
    tasks = tuple(tasks)
    pools = tuple(pools)
    windows = _validate(tasks, num_days, pools)
    stop = stop if stop is not None else MaxIterations(50)
    max_passes = iteration_limit(stop)
    max_passes = 50 if max_passes is None else max_passes
    patience = no_improvement_limit(stop) or 1
    deadline = time_limit(stop)

    rng = np.random.default_rng(seed)
    capacity = np.array([p.capacity for p in pools], dtype=np.float64)
    shifts = np.array([p.shift_minutes for p in pools], dtype=np.float64)
    load = np.zeros((len(pools), num_days), dtype=np.float64)
    # Tasks per (pool, zone) and day, for the zone term.
    zone_count: dict[tuple[int, int], IntArray] = {}
    if zone_weight > 0:
        for t in tasks:
            if t.zone >= 0:
                zone_count.setdefault((t.pool, t.zone), np.zeros(num_days, dtype=np.int64))
    day_tables: dict[tuple[int, int, int], tuple[IntArray, npt.NDArray[np.bool_]]] = {}

    def table(i: int) -> tuple[IntArray, npt.NDArray[np.bool_]]:
        key = (*windows[i], tasks[i].interval)
        if key not in day_tables:
            day_tables[key] = _visit_days(*key)
        return day_tables[key]

    def best_offset(i: int, current: int | None) -> tuple[int, float]:
        """Offset adding least cost for task i (its own visits must be removed from load)."""
        t = tasks[i]
        days, valid = table(i)
        row = load[t.pool]
        cap, shift = capacity[t.pool], shifts[t.pool]
        delta = _day_cost(row[days] + t.workload, cap, shift, batch) - _day_cost(
            row[days], cap, shift, batch
        )
        added = np.where(valid, delta, 0.0).sum(axis=1)
        zc = zone_count.get((t.pool, t.zone))
        if zc is not None:
            added = added + zone_weight * ((zc[days] == 0) & valid).sum(axis=1)
        if current is not None:
            # Stay unless strictly better, so local search terminates.
            best = int(np.argmin(added))
            if added[best] < added[current] - 1e-12:
                return best, float(added[best])
            return current, float(added[current])
        ties = np.flatnonzero(added <= added.min() + 1e-12)
        return int(rng.choice(ties)), float(added.min())

    def place(i: int, offset: int, sign: float) -> None:
        days, valid = table(i)
        chosen = days[offset][valid[offset]]
        np.add.at(load[tasks[i].pool], chosen, sign * tasks[i].workload)
        zc = zone_count.get((tasks[i].pool, tasks[i].zone))
        if zc is not None:
            np.add.at(zc, chosen, int(sign))

    offsets = np.zeros(len(tasks), dtype=np.int64)
    # Greedy, largest work per horizon first (LPT); short intervals first among equals.
    order = sorted(
        range(len(tasks)),
        key=lambda i: (-tasks[i].workload * table(i)[0].shape[1], tasks[i].interval, rng.random()),
    )
    for i in order:
        offsets[i], _ = best_offset(i, None)
        place(i, int(offsets[i]), 1.0)

    def objective() -> float:
        days_cost = sum(
            _day_cost(load[g], capacity[g], shifts[g], batch).sum() for g in range(len(pools))
        )
        zone_days = sum(int((zc > 0).sum()) for zc in zone_count.values())
        return float(days_cost + zone_weight * zone_days)

    current_obj = objective()
    passes = 0
    stale = 0
    movable = [i for i in range(len(tasks)) if tasks[i].interval > 1 and tasks[i].workload > 0]
    while passes < max_passes and movable:
        if deadline is not None and time.perf_counter() - started >= deadline:
            break
        passes += 1
        for i in rng.permutation(movable):
            place(int(i), int(offsets[i]), -1.0)
            offsets[i], _ = best_offset(int(i), int(offsets[i]))
            place(int(i), int(offsets[i]), 1.0)
        new_obj = objective()
        if new_obj < current_obj - 1e-9 * max(1.0, current_obj):
            stale = 0
        else:
            stale += 1
        current_obj = new_obj
        if stale >= patience:
            break

    per_day: list[list[int]] = [[] for _ in range(num_days)]
    max_gap = np.zeros(len(tasks), dtype=np.int64)
    made = 0
    required = 0
    for i, t in enumerate(tasks):
        start, end = windows[i]
        all_days, valid = table(i)
        p = int(offsets[i])
        days = all_days[p][valid[p]]
        for d in days:
            per_day[int(d)].append(i)
        need = required_visits(end - start, t.interval)
        # Coverage counts required visits met; an extra visit does not make up for a missing one.
        made += min(len(days), need)
        required += need
        max_gap[i] = _max_gap(days, start, end)

    stats = []
    for g, pool in enumerate(pools):
        per_crew = load[g] / pool.crews
        stats.append(
            PoolLoad(
                max_per_crew=float(per_crew.max()),
                mean_per_crew=float(per_crew.mean()),
                shift_minutes=pool.shift_minutes,
                overloaded_days=int((load[g] > pool.capacity + 1e-9).sum()),
            )
        )
    load.setflags(write=False)
    offsets.setflags(write=False)
    return CalendarResult(
        num_days=num_days,
        tasks=tasks,
        offsets=offsets,
        visits=tuple(tuple(sorted(v)) for v in per_day),
        required_visits=required,
        made_visits=made,
        max_gap=max_gap,
        load=load,
        pools=tuple(stats),
        objective=current_obj,
        iterations=passes,
        runtime=time.perf_counter() - started,
        seed=seed,
    )
