"""Constructive heuristics for arc routing: randomised path scanning over task options.

Path scanning (Golden, DeArmon & Baker, 1983) grows one route at a time, always moving to the
nearest unserved task that still fits (capacity and shift, including the way back to the depot).
Ties are broken by one of several classic rules or at random; the best of several runs is kept.
It gives a feasible first solution for the local search and a sound fleet size bound.
"""

from __future__ import annotations

import time

import numpy as np

from optimizer._task_graph import TaskGraph
from optimizer.shortest_paths import UNREACHABLE

Routes = list[tuple[int, list[int]]]
NUM_RULES = 6
_INF = np.iinfo(np.int64).max // 4


def _choose(
    tg: TaskGraph,
    ties: np.ndarray,
    rule: int,
    half_full: bool,
    depot: int,
    rng: np.random.Generator,
) -> int:
    back = tg.to_depot[ties, depot]
    ratio = tg.serve[ties] / np.maximum(tg.demand[ties], 1)
    if rule == 0:
        key = -back if not half_full else back
    elif rule == 1:
        key = -ratio
    elif rule == 2:
        key = ratio
    elif rule == 3:
        key = -back
    elif rule == 4:
        key = back
    else:
        return int(ties[rng.integers(len(ties))])
    return int(ties[int(np.argmin(key))])


def path_scanning(
    tg: TaskGraph, rule: int, rng: np.random.Generator, noise: float = 0.0
) -> Routes | None:
    """One path scanning run; None when the fleet cannot serve every task.

    ``noise`` > 0 widens the set of "nearest" candidates to those within that relative margin.
    """
    data = tg.data
    types = data.vehicle_types
    remaining = [vt.count if vt.count is not None else _INF for vt in types]
    caps = [vt.capacity if vt.capacity is not None else _INF for vt in types]
    shifts = [vt.shift_limit if vt.shift_limit is not None else _INF for vt in types]
    alive = np.ones(tg.num_options, dtype=bool)
    options_of_task = tg.task_options
    routes: Routes = []
    while alive.any():
        live = np.flatnonzero(alive)
        # Open the next route at the vehicle type whose depot is nearest to an unserved task
        # that it can serve on its own.
        best_vt, best_d = -1, _INF
        for i in range(len(types)):
            if remaining[i] <= 0:
                continue
            d_idx = int(tg.vehicle_depot[i])
            fits = (
                (tg.from_depot[d_idx, live] < UNREACHABLE)
                & (tg.to_depot[live, d_idx] < UNREACHABLE)
                & (tg.demand[live] <= caps[i])
                & (
                    tg.from_depot[d_idx, live] + tg.serve[live] + tg.to_depot[live, d_idx]
                    <= shifts[i]
                )
            )
            if fits.any():
                d = int(tg.from_depot[d_idx, live[fits]].min())
                if d < best_d:
                    best_vt, best_d = i, d
        if best_vt < 0:
            return None
        vt = best_vt
        depot = int(tg.vehicle_depot[vt])
        remaining[vt] -= 1
        load, time = 0, 0
        here = -1  # -1 = at the depot
        seq: list[int] = []
        while True:
            live = np.flatnonzero(alive)
            if len(live) == 0:
                break
            reach = tg.from_depot[depot, live] if here < 0 else tg.deadhead[here, live]
            ok = (
                (reach < UNREACHABLE)
                & (tg.to_depot[live, depot] < UNREACHABLE)
                & (load + tg.demand[live] <= caps[vt])
                & (time + reach + tg.serve[live] + tg.to_depot[live, depot] <= shifts[vt])
            )
            if not ok.any():
                break
            cand, dist = live[ok], reach[ok]
            lowest = dist.min()
            limit = lowest + noise * max(lowest, 1) if noise > 0 else lowest
            ties = cand[dist <= limit]
            pick = _choose(tg, ties, rule, 2 * load > caps[vt], depot, rng)
            seq.append(pick)
            load += int(tg.demand[pick])
            time += int(reach[np.searchsorted(live, pick)]) + int(tg.serve[pick])
            here = pick
            alive[list(options_of_task[int(tg.task[pick])])] = False
        routes.append((vt, seq))
    return routes


def total_cost(tg: TaskGraph, routes: Routes) -> int:
    """Cost of routes including the fixed cost of each vehicle used."""
    types = tg.data.vehicle_types
    return sum(tg.route_cost(vt, seq) + types[vt].fixed_cost for vt, seq in routes)


def best_path_scanning(
    tg: TaskGraph, seed: int, runs: int = 24, seconds: float | None = None
) -> Routes | None:
    """Best of the deterministic rules plus randomised runs (reproducible for a seed).

    Large problems get fewer runs (each run costs about tasks x options); ``seconds``, when
    given, stops the runs early once spent (after at least one run).
    """
    rng = np.random.default_rng(seed)
    best: Routes | None = None
    best_cost = _INF
    runs = max(1, min(runs, 40_000 // max(1, tg.data.num_tasks)))
    started = time.perf_counter()
    for k in range(runs):
        if k and seconds is not None and time.perf_counter() - started > seconds:
            break
        rule = k % NUM_RULES
        noise = 0.0 if k < NUM_RULES else float(rng.uniform(0.0, 0.3))
        routes = path_scanning(tg, rule, rng, noise)
        if routes is None:
            continue
        cost = total_cost(tg, routes)
        if cost < best_cost:
            best, best_cost = routes, cost
    return best
