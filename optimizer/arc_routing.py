"""Solve arc routing problems: `solve_arc_routing(data, stop=..., seed=...)` over one interface.

Steps: expand tasks into service options with shortest-path deadhead matrices; build a feasible
first solution by randomised path scanning (it also bounds the fleet when the number of crews is
free); improve it with a backend (PyVRP's hybrid genetic search with mutually exclusive client
groups, or OR-Tools guided local search; under a time limit a second core runs a second seed);
re-orient each route's tasks optimally (layered shortest path); score the best solution with the
independent checker.

Fleet convention: a vehicle type with ``count=None`` has as many crews as the solution needs (as in
the CARP literature, the objective is the total cost); a fixed ``count`` is a hard upper bound.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Literal

from optimizer._construct import Routes, best_path_scanning, total_cost
from optimizer._orientation import orient_routes
from optimizer._task_graph import TaskGraph, build_task_graph
from optimizer.carp_data import CarpData
from optimizer.carp_solution import CarpSolution
from optimizer.checker import check_solution
from optimizer.errors import InfeasibleError, SpecificationError
from optimizer.result import ArcRoutingResult
from optimizer.shortest_paths import UNREACHABLE
from optimizer.stop import (
    StoppingCriterion,
    iteration_limit,
    no_improvement_limit,
    time_limit,
)

log = logging.getLogger(__name__)

Backend = Literal["auto", "ortools", "pyvrp"]
BACKENDS: tuple[str, ...] = ("auto", "ortools", "pyvrp")
DEFAULT_BACKEND = "pyvrp"


def _check_servable(tg: TaskGraph) -> None:
    """Raise InfeasibleError naming the first task no vehicle type can serve on its own."""
    data = tg.data
    for t, options in enumerate(tg.task_options):
        opts = list(options)
        for i, vt in enumerate(data.vehicle_types):
            d = int(tg.vehicle_depot[i])
            trip = tg.from_depot[d, opts] + tg.serve[opts] + tg.to_depot[opts, d]
            reach = (tg.from_depot[d, opts] < UNREACHABLE) & (tg.to_depot[opts, d] < UNREACHABLE)
            fits_cap = vt.capacity is None or int(data.task_demand[t]) <= vt.capacity
            fits_shift = vt.shift_limit is None or bool((trip[reach] <= vt.shift_limit).any())
            if reach.any() and fits_cap and fits_shift:
                break
        else:
            raise InfeasibleError(
                f"task {data.task_labels[t]!r} cannot be served by any crew: it is unreachable "
                "from every depot, or its demand exceeds every capacity, or the round trip from "
                "the depot exceeds every shift limit"
            )


def _enough_capacity(data: CarpData) -> bool:
    """False when every crew is counted and capped and together they carry too little."""
    total = 0
    for vt in data.vehicle_types:
        if vt.count is None or vt.capacity is None:
            return True
        total += vt.count * vt.capacity
    return total >= int(data.task_demand.sum())


def _fleet(tg: TaskGraph, initial: Routes | None) -> list[int]:
    """Vehicles per type: the fixed count, or a margin above what the first solution uses."""
    types = tg.data.vehicle_types
    used = [0] * len(types)
    for vt, _ in initial or []:
        used[vt] += 1
    total = sum(used) if initial else tg.data.num_tasks
    fleet = []
    for i, vtype in enumerate(types):
        if vtype.count is not None:
            fleet.append(vtype.count)
        else:
            margin = max(2, math.ceil(0.25 * total))
            fleet.append(min(tg.data.num_tasks, used[i] + margin))
    return fleet


def _run_backend(
    backend: str,
    tg: TaskGraph,
    fleet: list[int],
    initial: Routes | None,
    stop: StoppingCriterion,
    seed: int,
    deadline: float | None,
) -> tuple[Routes | None, int]:
    if backend == "pyvrp":
        from optimizer import _pyvrp

        return _pyvrp.solve_pyvrp(tg, fleet, initial, stop, seed, deadline)
    from optimizer import _routing

    limits = _routing.RoutingLimits(
        deadline=deadline,
        solutions=iteration_limit(stop),
        no_improvement=no_improvement_limit(stop),
    )
    return _routing.solve_routing(tg, fleet, initial, limits)


def _workers() -> int:
    """Cores this process may use for a second search process.

    Returns 1 where a child process is unsafe or impossible: inside a daemonic process (a Dask
    worker process may not have children) or when other threads run (a web server, a threaded
    Dask worker), because forking a multi-threaded process can deadlock the child.
    """
    if multiprocessing.current_process().daemon or threading.active_count() > 1:
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _min_fleet(tg: TaskGraph) -> int | None:
    """The capacity lower bound on the number of vehicles, for one free, capped vehicle type."""
    types = tg.data.vehicle_types
    if len(types) != 1 or types[0].count is not None or types[0].capacity is None:
        return None
    return max(1, math.ceil(int(tg.data.task_demand.sum()) / max(1, types[0].capacity)))


def _best_of_two_seeds(
    backend: str,
    tg: TaskGraph,
    fleet: list[int],
    initial: Routes | None,
    stop: StoppingCriterion,
    seed: int,
    deadline: float,
) -> tuple[Routes | None, int]:
    """Run seeds ``seed`` and ``seed + 1`` side by side (a forked worker on the second core) and
    keep the cheaper result, ``seed``'s on a tie; iterations are summed.

    When the fleet is free and the capacity bound is tight, the worker searches with the fewest
    vehicles that can carry the demand: bin-packing-like instances need their routes nearly full,
    which the penalised search finds more easily without spare vehicles."""
    ctx = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx)
    try:
        fleet2, initial2 = fleet, initial
        tight = _min_fleet(tg)
        if tight is not None and tight < len(initial or ()):
            fleet2, initial2 = [tight], None
        try:
            other = pool.submit(
                _run_backend, backend, tg, fleet2, initial2, stop, seed + 1, deadline
            )
        except (OSError, RuntimeError, AssertionError):  # no child process possible here
            log.warning("second-seed worker could not start", exc_info=True)
            return _run_backend(backend, tg, fleet, initial, stop, seed, deadline)
        routes, iterations = _run_backend(backend, tg, fleet, initial, stop, seed, deadline)
        try:
            # The worker stops at the same deadline; allow for its last iteration and pickling.
            wait = max(1.0, deadline - time.perf_counter()) + 5.0
            routes2, iterations2 = other.result(timeout=wait)
            # Join the pool's manager thread now, so the next solve sees a single-threaded process.
            pool.shutdown(wait=True)
        except Exception:  # a failed or late worker must not lose the main result
            log.warning("second-seed worker failed or timed out", exc_info=True)
            return routes, iterations
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if routes2 is not None and (routes is None or total_cost(tg, routes2) < total_cost(tg, routes)):
        routes = routes2
    return routes, iterations + iterations2


def solve_arc_routing(
    data: CarpData, *, stop: StoppingCriterion, seed: int = 0, backend: Backend = "auto"
) -> ArcRoutingResult:
    """Serve every task of ``data`` at least total cost within ``stop``.

    Parameters
    ----------
    data
        The problem.
    stop
        When to stop improving: wall time (`MaxRuntime`), or counts for reproducible runs.
    seed
        Seeds the constructive heuristic and the backend; same seed and a count-based stop give
        the same result.
    backend
        ``"auto"`` (the best on the benchmarks), ``"ortools"`` or ``"pyvrp"``.

    Raises
    ------
    InfeasibleError
        When some task cannot be served by any crew at all.
    """
    if backend not in BACKENDS:
        raise SpecificationError(f"backend must be one of {BACKENDS}, got {backend!r}")
    chosen = DEFAULT_BACKEND if backend == "auto" else backend
    started = time.perf_counter()
    if data.num_tasks == 0:
        return _result(data, CarpSolution(routes=()), started, seed, chosen, 0)
    tg = build_task_graph(data)
    _check_servable(tg)
    limit = time_limit(stop)
    # Construction gets at most a tenth of a time limit; the rest goes to the search.
    initial = best_path_scanning(tg, seed, seconds=None if limit is None else 0.1 * limit)
    if initial is not None:
        initial = orient_routes(tg, initial)
        log.debug("path scanning: cost %d, %d routes", total_cost(tg, initial), len(initial))
    fleet = _fleet(tg, initial)
    if initial is None and not _enough_capacity(data):
        log.info("the fixed fleet cannot carry the total demand")
        return ArcRoutingResult(
            status="no_solution",
            solution=None,
            cost=None,
            feasible=False,
            runtime=time.perf_counter() - started,
            seed=seed,
            backend=chosen,
            iterations=0,
        )
    # Keep time for the search's last iteration and the checker, both growing with the size.
    margin = None if limit is None else min(0.05 * limit, 0.2 + tg.num_options / 1000)
    deadline = None if limit is None or margin is None else started + limit - margin
    if chosen == "pyvrp" and deadline is not None and _workers() >= 2:
        # A time-limited search has a second core to use: a second seed costs no wall time.
        routes, iterations = _best_of_two_seeds(chosen, tg, fleet, initial, stop, seed, deadline)
    else:
        routes, iterations = _run_backend(chosen, tg, fleet, initial, stop, seed, deadline)
    if routes is not None:
        # The backends flip one task at a time; the DP finds the best joint directions per route.
        routes = orient_routes(tg, routes)
    if initial is not None and (routes is None or total_cost(tg, routes) > total_cost(tg, initial)):
        routes = initial
    if routes is None:
        return ArcRoutingResult(
            status="no_solution",
            solution=None,
            cost=None,
            feasible=False,
            runtime=time.perf_counter() - started,
            seed=seed,
            backend=chosen,
            iterations=iterations,
        )
    return _result(data, tg.to_solution(routes), started, seed, chosen, iterations)


def _result(
    data: CarpData,
    solution: CarpSolution,
    started: float,
    seed: int,
    backend: str,
    iterations: int,
) -> ArcRoutingResult:
    report = check_solution(data, solution)
    if not report.feasible:
        log.warning("best solution is infeasible: %s", "; ".join(report.violations))
    return ArcRoutingResult(
        status="feasible" if report.feasible else "infeasible",
        solution=solution,
        cost=report.cost,
        feasible=report.feasible,
        runtime=time.perf_counter() - started,
        seed=seed,
        backend=backend,
        iterations=iterations,
        route_costs=report.route_costs,
        route_durations=report.route_durations,
        route_demands=report.route_demands,
        violations=report.violations,
    )
