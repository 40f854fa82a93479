"""Solve arc routing problems: `solve_arc_routing(data, stop=..., seed=...)` over one interface.

Large problems with a free fleet (more than `DECOMPOSE_ABOVE` tasks) are split into compact parts
solved one after the other and stitched, with a seam-repair solve (`optimizer._decompose`).

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

import contextlib
import functools
import logging
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, Literal

import numpy as np

from optimizer._construct import Routes, best_path_scanning, total_cost
from optimizer._decompose import (
    IntArray,
    TaskRoutes,
    can_decompose,
    cross_split,
    seam_routes,
    split_tasks,
    sub_problem,
)
from optimizer._giant_tour import giant_tour_routes, retour_routes
from optimizer._orientation import orient_routes
from optimizer._task_graph import TaskGraph, build_task_graph
from optimizer.carp_data import CarpData
from optimizer.carp_solution import CarpSolution, Route, Service
from optimizer.checker import check_solution
from optimizer.errors import InfeasibleError, SpecificationError
from optimizer.lower_bound import quick_lower_bound
from optimizer.result import ArcRoutingResult
from optimizer.shortest_paths import UNREACHABLE, DeadheadGraph
from optimizer.stop import (
    MaxRuntime,
    MultipleCriteria,
    NoImprovement,
    StoppingCriterion,
    iteration_limit,
    no_improvement_limit,
    time_limit,
)

log = logging.getLogger(__name__)

Backend = Literal["auto", "ortools", "pyvrp"]
#: Told the best total cost so far, the lower bound (None until computed) and the seconds since
#: the solve started; called again only with a lower cost (or when the bound arrives).
Progress = Callable[[int, int | None, float], None]
#: A part's total cost, told each time the search below improves it.
CostWatch = Callable[[int], None]
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


class _Reporter:
    """Keeps the best whole-problem cost told so far and calls the caller's `Progress` with
    each lower one. The bound is computed once, after the first answer is told (it takes
    seconds on a prefecture, which must not delay that answer), or once the side-by-side
    workers run."""

    def __init__(
        self,
        callback: Progress,
        data: CarpData,
        graph: DeadheadGraph,
        started: float,
        limit: float | None = None,
    ) -> None:
        self.callback = callback
        self.data = data
        self.graph = graph
        self.started = started
        # Under a time limit the bound takes at most a twentieth of it (a 2 s solve: one LP).
        self.bound_seconds = None if limit is None else 0.05 * limit
        self.best: int | None = None
        self.bound: int | None = None

    def report(self, cost: int, *, bound_now: bool = True) -> None:
        """Tell a whole-problem cost; the first one is followed by the bound unless
        ``bound_now`` is False (the caller then calls `ensure_bound` once its workers run)."""
        if self.best is not None and cost >= self.best:
            return
        first = self.best is None
        self.best = cost
        self.callback(cost, self.bound, time.perf_counter() - self.started)
        if first and bound_now:
            self.ensure_bound()

    def ensure_bound(self) -> None:
        """Compute the bound (a short cutting-plane budget) and tell it with the best cost."""
        if self.bound is not None or self.best is None:
            return
        self.bound = quick_lower_bound(self.data, self.graph, seconds=self.bound_seconds).value
        self.callback(self.best, self.bound, time.perf_counter() - self.started)


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
    on_cost: CostWatch | None = None,
) -> tuple[Routes | None, int]:
    """One backend run; ``on_cost`` (PyVRP only) is told each better total cost of ``tg``."""
    if backend == "pyvrp":
        from optimizer import _pyvrp

        watch = None
        if on_cost is not None:
            # PyVRP's objective leaves out the serve costs, a constant.
            serve = int(tg.data.task_serve_cost.sum())

            def watch(cost: int) -> None:
                on_cost(cost + serve)

        return _pyvrp.solve_pyvrp(tg, fleet, initial, stop, seed, deadline, on_cost=watch)
    from optimizer import _routing

    limits = _routing.RoutingLimits(
        deadline=deadline,
        solutions=iteration_limit(stop),
        no_improvement=no_improvement_limit(stop),
    )
    return _routing.solve_routing(tg, fleet, initial, limits)


def _process_context() -> multiprocessing.context.BaseContext | None:
    """How this process starts its search workers, or None where it may not.

    Fork when this is the process's only thread (the cheapest: the worker shares the parent's
    memory). A fork server when other threads run (a web server, a threaded Dask worker):
    forking a multi-threaded process can deadlock the child, while the server is a clean
    single-threaded process of its own that forks the workers. None inside a daemonic process (a
    Dask worker process started as a daemon may not have children)."""
    if multiprocessing.current_process().daemon:
        return None
    if threading.active_count() > 1:
        ctx = multiprocessing.get_context("forkserver")
        # Takes effect when the server starts (once per process): its workers then fork with
        # the solver imported instead of importing it each.
        ctx.set_forkserver_preload(["optimizer.arc_routing", "optimizer._pyvrp"])
        return ctx
    return multiprocessing.get_context("fork")


def _workers() -> int:
    """Cores this process may use for search workers: 1 where it may not start any
    (`_process_context`)."""
    if _process_context() is None:
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
    on_cost: CostWatch | None = None,
) -> tuple[Routes | None, int]:
    """Run seeds ``seed`` and ``seed + 1`` side by side (a worker process on the second core) and
    keep the cheaper result, ``seed``'s on a tie; iterations are summed. Only ``seed``'s search
    tells ``on_cost`` (the worker's improvements show when its result comes back). On a small
    problem the worker's lane restarts whenever it stalls (`_restarting_run`) while ``seed``'s
    runs on: one lane deep, one broad.

    When the fleet is free and the capacity bound is tight, the worker searches with the fewest
    vehicles that can carry the demand: bin-packing-like instances need their routes nearly full,
    which the penalised search finds more easily without spare vehicles (only up to
    `TIGHT_MAX_OPTIONS` options: from no start solution a large problem's first iteration takes
    seconds)."""
    ctx = _process_context()
    if ctx is None:  # the caller checked `_workers`; the threads may have changed since
        return _run_backend(backend, tg, fleet, initial, stop, seed, deadline, on_cost)
    pool = _search_pool(ctx, 1)
    try:
        fleet2, initial2 = fleet, initial
        tight = _min_fleet(tg)
        # Without a start solution PyVRP's first local search runs from random routes: cheap on
        # benchmark sizes, seconds per iteration on thousands of options (past any deadline).
        if tight is not None and tight < len(initial or ()) and tg.num_options <= TIGHT_MAX_OPTIONS:
            fleet2, initial2 = [tight], None
        try:
            other = pool.submit(
                _restarting_run, backend, tg, fleet2, initial2, stop, seed + 1, deadline
            )
        except (OSError, RuntimeError, AssertionError):  # no child process possible here
            log.warning("second-seed worker could not start", exc_info=True)
            return _run_backend(backend, tg, fleet, initial, stop, seed, deadline, on_cost)
        routes, iterations = _run_backend(
            backend, tg, fleet, initial, stop, seed, deadline, on_cost
        )
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


#: A time-limited search of up to `RESTART_MAX_OPTIONS` options restarts after
#: ``max(RESTART_MIN, RESTART_PER_OPTION x options)`` iterations without a better solution. gdb13
#: at 10 s (seeds 0-7, tight lane alone): the optimum 536 in 3 of 8 single runs (the others
#: settle at 540 within 1-4 s), in 16 of 16 with restarts after 2,000 or 5,000 iterations. Only
#: the second lane restarts: with both, bmcv C01 at 60 s gained (4,160 against 4,195) but gdb9 at
#: 10 s lost (306 against 303, the first lane's long run finds it). Above 300 options a fresh
#: start does not catch up: four 350-task areas of li11-town and pref8 (700 options, 22 routes)
#: at 120 s were 0.1-0.5 % worse with restarts in both lanes.
RESTART_MIN = 2000
RESTART_PER_OPTION = 25
RESTART_MAX_OPTIONS = 300


def _restarting_run(
    backend: str,
    tg: TaskGraph,
    fleet: list[int],
    initial: Routes | None,
    stop: StoppingCriterion,
    seed: int,
    deadline: float | None,
    on_cost: CostWatch | None = None,
) -> tuple[Routes | None, int]:
    """A search from ``initial`` that restarts from no start solution with a new seed (``seed +
    1000``, ``+ 2000``...) each time it has gone `RESTART_MIN` / `RESTART_PER_OPTION` iterations
    without a better solution, until the ``deadline``; the cheapest routes (the earliest run's on
    a tie) and the summed iterations. ``on_cost`` hears only costs below all earlier runs'.

    A run that has settled rarely leaves its local optimum (on bin-packing-like instances, one
    packing of the routes); a fresh start often finds a better one. A single run as before with
    counted stops, without a deadline, with another backend or above `RESTART_MAX_OPTIONS` options
    (where a fresh start does not catch up with the settled run in time)."""
    if (
        backend != "pyvrp"
        or deadline is None
        or tg.num_options > RESTART_MAX_OPTIONS
        or iteration_limit(stop) is not None
        or no_improvement_limit(stop) is not None
    ):
        return _run_backend(backend, tg, fleet, initial, stop, seed, deadline, on_cost)
    patience = NoImprovement(max(RESTART_MIN, RESTART_PER_OPTION * tg.num_options))
    run_stop = MultipleCriteria((MaxRuntime(max(0.0, deadline - time.perf_counter())), patience))
    best: Routes | None = None
    best_cost = math.inf
    total = 0
    run = 0

    def tell(cost: int) -> None:
        if on_cost is not None and cost < best_cost:
            on_cost(cost)

    while time.perf_counter() < deadline:
        routes, iterations = _run_backend(
            backend, tg, fleet, initial if run == 0 else None, run_stop, seed + 1000 * run,
            deadline, tell,
        )  # fmt: skip
        total += iterations
        run += 1
        if routes is not None and total_cost(tg, routes) < best_cost:
            best, best_cost = routes, total_cost(tg, routes)
    log.debug("%d run(s), %d iterations", run, total)
    return best, total


#: Seconds a forked second-seed worker costs before it searches (fork, start, result back).
FORK_SECONDS = 1.0


def _backend_setup_seconds(tg: TaskGraph) -> float:
    """Rough seconds the backend needs before its first iteration: it copies the dense
    matrices and builds our neighbour lists (measured 0.7-1.2 s at 4,300 options and 0.1 s at
    1,500-1,900 on an idle machine; about twice that is allowed for a loaded one). It was 3e-7 x
    options^2 while PyVRP built its own neighbour lists: that skipped the search of rounds and
    parts with 5-11 s left (pref8 at 30 s returned after 20 s)."""
    return 1e-7 * float(tg.num_options + len(tg.depot_nodes)) ** 2


#: Largest problem (options) whose second-seed worker may search from no start solution.
TIGHT_MAX_OPTIONS = 1000
#: Above this many tasks a problem with a free fleet is split into parts (`_decompose`).
DECOMPOSE_ABOVE = 1500
#: Tasks per part of a decomposed problem (its matrices: about (2 x PART_TASKS)^2 entries).
#: 2,200 against 1,500 (60 s, two lanes, seed 0): pref8 2 parts against 3, 1,700,556 / 1,707,116
#: against 1,710,294 / 1,711,517; pref30 7,172,246 against 7,197,296; a 4,000-task area of
#: pref30 1,475,970 against 1,490,441 (docs/benchmarks.md).
PART_TASKS = 2200
#: Most tasks pooled in the seam-repair solve (its matrices as for a part of 1,500 tasks x 2).
SEAM_TASKS = 3000


#: From this many tasks on, the giant tour's routes compete with path scanning as the start (on
#: small problems the search forgets its start within a second: they keep their path unchanged).
GIANT_TOUR_FROM = 400


def _with_giant_tour(tg: TaskGraph, initial: Routes | None) -> Routes | None:
    """The cheaper of ``initial`` and the giant tour's routes (`giant_tour_routes`, re-oriented)
    for problems of at least `GIANT_TOUR_FROM` tasks; ``initial`` on a tie."""
    if tg.data.num_tasks < GIANT_TOUR_FROM:
        return initial
    tour = giant_tour_routes(tg)
    if tour is None:
        return initial
    tour = orient_routes(tg, tour)
    log.debug("giant tour: cost %d, %d routes", total_cost(tg, tour), len(tour))
    if initial is None or total_cost(tg, tour) < total_cost(tg, initial):
        return tour
    return initial


def _solve_routes(
    tg: TaskGraph,
    stop: StoppingCriterion,
    seed: int,
    chosen: str,
    started: float,
    limit: float | None,
    start: Routes | None = None,
    on_cost: CostWatch | None = None,
    second_seed: bool = True,
    giant_tour: bool = True,
    construct: bool = True,
) -> tuple[Routes | None, int]:
    """Construct, improve and re-orient routes of ``tg`` within ``limit`` seconds of ``started``
    (None: ``stop``'s counts only). ``start``, when given, competes with the construction as the
    search's first solution; the result is never worse than the first solution. ``on_cost`` is
    told the first solution's total cost and each better one. ``second_seed``: may run a
    second seed on another core (not when the caller already uses the cores). ``giant_tour``
    False: ``start`` already competed with the giant tour (a part's first answer), which is
    the same tour again and is not built twice. ``construct`` False with a ``start``: no path
    scanning either (a part's improvement from its first answer: on a part of 2,000 tasks the
    24 runs took 2 s and came 10-13 % above the giant tour that the first answer already beat)."""
    data = tg.data
    # Construction gets at most a tenth of a time limit; the rest goes to the search.
    initial = None
    if construct or start is None:
        initial = best_path_scanning(tg, seed, seconds=None if limit is None else 0.1 * limit)
    if initial is not None:
        initial = orient_routes(tg, initial)
        log.debug("path scanning: cost %d, %d routes", total_cost(tg, initial), len(initial))
    if giant_tour:
        initial = _with_giant_tour(tg, initial)
    if start is not None and (initial is None or total_cost(tg, start) <= total_cost(tg, initial)):
        initial = start
    if initial is not None and on_cost is not None:
        on_cost(total_cost(tg, initial))
    fleet = _fleet(tg, initial)
    if initial is None and not _enough_capacity(data):
        log.info("the fixed fleet cannot carry the total demand")
        return None, 0
    # Keep time for the search's last iteration and the checker, both growing with the size.
    margin = None if limit is None else min(0.05 * limit, 0.2 + tg.num_options / 1000)
    deadline = None if limit is None or margin is None else started + limit - margin
    setup = _backend_setup_seconds(tg)
    routes: Routes | None
    if deadline is not None and initial is not None and deadline - time.perf_counter() < 2 * setup:
        # Too little time left for the backend to set up and search: keep the construction.
        log.debug("no time for the search (%.2f s set-up): construction only", setup)
        routes, iterations = initial, 0
    elif (
        chosen == "pyvrp"
        and second_seed
        and deadline is not None
        and _workers() >= 2
        and deadline - time.perf_counter() >= 4 * setup + FORK_SECONDS
    ):
        # A time-limited search has a second core to use: a second seed costs no wall time
        # (once the limit is long enough to pay for the forked worker's start).
        routes, iterations = _best_of_two_seeds(
            chosen, tg, fleet, initial, stop, seed, deadline, on_cost
        )
    else:
        routes, iterations = _run_backend(chosen, tg, fleet, initial, stop, seed, deadline, on_cost)
    if routes is not None:
        # The backends flip one task at a time; the DP finds the best joint directions per route.
        routes = orient_routes(tg, routes)
        if data.num_tasks >= GIANT_TOUR_FROM:
            routes = retour_routes(tg, routes)
    if initial is not None and (routes is None or total_cost(tg, routes) > total_cost(tg, initial)):
        routes = initial
    if routes is not None and on_cost is not None:
        on_cost(total_cost(tg, routes))
    return routes, iterations


def _task_routes(tg: TaskGraph, tasks: np.ndarray, routes: Routes) -> TaskRoutes:
    """Routes of a part in the whole problem's task numbering."""
    return [
        (vt, [int(tasks[tg.task[o]]) for o in opts], [bool(tg.reverse[o]) for o in opts])
        for vt, opts in routes
        if opts
    ]


def _part_routes(tg: TaskGraph, routes: TaskRoutes, tasks: np.ndarray) -> Routes:
    """Whole-problem routes over ``tasks`` in the options of that part's task graph."""
    local = {int(t): i for i, t in enumerate(tasks)}
    out: Routes = []
    for vt, seq, rev in routes:
        opts = []
        for t, r in zip(seq, rev, strict=True):
            options = tg.task_options[local[t]]
            opts.append(options[1] if r and len(options) > 1 else options[0])
        out.append((vt, opts))
    return out


def _solve_decomposed(
    data: CarpData,
    graph: DeadheadGraph,
    stop: StoppingCriterion,
    seed: int,
    chosen: str,
    started: float,
    limit: float | None,
    part_tasks: int,
    reporter: _Reporter | None = None,
) -> tuple[CarpSolution | None, int, int]:
    """Answer every part first (matrices and one path-scanning run each: a whole feasible
    solution within seconds), then improve the parts from those answers; under a time limit
    long enough, in rounds over the routes cut across the parts and along again
    (`cross_split`), else then solve the pooled seam routes once more.

    Returns the solution (None when a part has none), the iterations and the number of parts.
    """
    deco = split_tasks(data, graph, part_tasks)
    sizes = list(deco.sizes)
    end = None
    if limit is not None:
        # Keep time for the final check of the whole solution (it grows with the size).
        end = started + limit - min(0.05 * limit, 0.2 + data.num_tasks / 5000)
    # First answers: the matrices of small parts are kept for the improvement (up to
    # `KEEP_MATRIX_BYTES` in all, so memory stays bounded), the others are built again then.
    graphs: dict[int, TaskGraph] = {}
    kept = 0
    answers: list[TaskRoutes] = []
    costs: list[int] = []
    for i, tasks in enumerate(deco.parts):
        tg = build_task_graph(sub_problem(data, tasks), graph)
        _check_servable(tg)
        first = _with_giant_tour(tg, best_path_scanning(tg, seed, runs=1))
        if first is None:
            return None, 0, len(sizes)
        answers.append(_task_routes(tg, tasks, first))
        costs.append(total_cost(tg, first))
        size = _matrix_bytes(tg)
        if kept + size <= KEEP_MATRIX_BYTES:
            graphs[i] = tg
            kept += size
    # Under a time limit with two cores, two parts search side by side (one seed each).
    side = SIDE_BY_SIDE and chosen == "pyvrp" and len(sizes) >= 2 and _workers() >= 2
    side = side and end is not None
    if reporter is not None:
        # Side by side, the bound waits until the workers run: it must not delay them.
        reporter.report(sum(costs), bound_now=not side)
    # Rounds: the parts, then the routes cut across them, then along again (`cross_split`);
    # without rounds, the least filled routes get a last solve together (the seam repair).
    now = time.perf_counter()
    extra = 0 if end is None else _cross_rounds(end - now, len(sizes), side)
    limited = all(
        vt.capacity is not None or vt.shift_limit is not None for vt in data.vehicle_types
    )
    # One part has no seams: its search gets the whole time (the repair's share went unused).
    repair = extra == 0 and len(sizes) >= 2
    repair_share = REPAIR_SHARE if limited and repair else 0.0
    parts_end = None if end is None else end - repair_share * (end - now)
    rounds: list[float | None] = [parts_end]
    if extra > 0 and parts_end is not None:
        share = CROSS_SHARE * extra / CROSS_ROUNDS
        span = max(0.0, parts_end - now)
        rounds = [now + (1.0 - share + k * share / extra) * span for k in range(extra)]
        rounds.append(parts_end)
    improve = functools.partial(
        _improve_round, data=data, graph=graph, stop=stop, seed=seed, chosen=chosen, side=side
    )
    parts = deco.parts
    iterations = 0
    for k, until in enumerate(rounds):
        if k > 0:
            flat = [route for answer in answers for route in answer]
            groups = cross_split(data, graph, flat, len(deco.parts), across=k % 2 == 1)
            if len(groups) >= 2:  # else (a few routes only) the same areas search on
                route_costs = _route_costs(data, flat)
                parts = tuple(
                    np.sort(np.concatenate([np.asarray(flat[r][1], dtype=np.int64) for r in g]))
                    for g in groups
                )
                answers = [[flat[r] for r in g] for g in groups]
                costs = [sum(route_costs[r] for r in g) for g in groups]
        iterations += improve(
            parts=parts, answers=answers, costs=costs, graphs=graphs, until=until,
            reporter=reporter,
        )  # fmt: skip
        graphs.clear()
    routes: TaskRoutes = []
    part_of_route: list[int] = []
    for i, answer in enumerate(answers):
        routes += answer
        part_of_route += [i] * len(answer)
    pool = seam_routes(data, routes, part_of_route) if repair else []
    # The least loaded first, up to the size of two parts or `SEAM_TASKS` (bounded matrices).
    pool.sort(key=lambda r: (int(data.task_demand[routes[r][1]].sum()), r))
    keep, count = [], 0
    for r in pool:
        if count + len(routes[r][1]) > min(2 * part_tasks, SEAM_TASKS):
            break
        keep.append(r)
        count += len(routes[r][1])
    if len(keep) >= 2:
        repair_started = time.perf_counter()
        tasks = np.sort(np.concatenate([np.asarray(routes[r][1], dtype=np.int64) for r in keep]))
        tg = build_task_graph(sub_problem(data, tasks), graph)
        before = _part_routes(tg, [routes[r] for r in keep], tasks)
        seconds = None if end is None else max(0.05, end - repair_started)
        watch = None
        if reporter is not None:
            watch = _offset_watch(reporter, sum(costs) - total_cost(tg, before))
        found, its = _solve_routes(
            tg, stop, seed, chosen, repair_started, seconds, start=before, on_cost=watch
        )
        iterations += its
        if found is not None and total_cost(tg, found) < total_cost(tg, before):
            log.debug("seam repair: %d -> %d", total_cost(tg, before), total_cost(tg, found))
            routes = [r for i, r in enumerate(routes) if i not in set(keep)]
            routes += _task_routes(tg, tasks, found)
    return _as_solution(routes), iterations, len(sizes)


def _cross_rounds(seconds: float, parts: int, side: bool) -> int:
    """Rounds after the first parts' (at most `CROSS_ROUNDS`) in ``seconds`` of search: each
    round gives every part at least `ROUND_SECONDS` (its set-up is a second or two per part),
    with two lanes when the parts search ``side`` by side. pref8's two parts get both rounds
    at 60 s and none at 10 s; pref30's eight get none at 60 s."""
    if parts < 2:
        return 0
    per_part = max(0.0, seconds) * (2 if side else 1) / parts
    return max(0, min(CROSS_ROUNDS, int(per_part / ROUND_SECONDS) - 1))


def _as_solution(routes: TaskRoutes) -> CarpSolution:
    """Whole-problem task routes as a `CarpSolution`."""
    return CarpSolution(
        routes=tuple(
            Route(vt, tuple(Service(t, r) for t, r in zip(seq, rev, strict=True)))
            for vt, seq, rev in routes
        )
    )


def _route_costs(data: CarpData, routes: TaskRoutes) -> list[int]:
    """Each route's cost in the whole problem, its vehicle's fixed cost included (as
    `total_cost` counts it)."""
    report = check_solution(data, _as_solution(routes))
    types = data.vehicle_types
    return [
        c + types[vt].fixed_cost for c, (vt, _, _) in zip(report.route_costs, routes, strict=True)
    ]


def _improve_round(
    *,
    data: CarpData,
    graph: DeadheadGraph,
    parts: tuple[IntArray, ...],
    answers: list[TaskRoutes],
    costs: list[int],
    graphs: dict[int, TaskGraph],
    stop: StoppingCriterion,
    seed: int,
    chosen: str,
    until: float | None,
    reporter: _Reporter | None,
    side: bool,
) -> int:
    """Improve every part from its answer until the `time.perf_counter` instant ``until`` (None:
    ``stop``'s counts per part), in place: side by side in two workers when ``side`` and timed,
    else one after the other, each part's time shared out by task count. Returns iterations."""
    if side and until is not None:
        return _improve_parts_side_by_side(
            data, graph, parts, answers, costs, graphs, stop, seed, chosen, until, reporter
        )
    iterations = 0
    sizes = [len(p) for p in parts]
    for i, tasks in enumerate(parts):
        part_until = None
        if until is not None:
            now = time.perf_counter()
            part_until = now + max(0.05, (until - now) * len(tasks) / max(1, sum(sizes[i:])))
        watch = None
        if reporter is not None:
            watch = _offset_watch(reporter, sum(costs) - costs[i])
        answers[i], costs[i], its = _improve_part(
            data, graph, tasks, answers[i], graphs.pop(i, None), stop, seed, chosen, part_until,
            on_cost=watch, second_seed=True,
        )  # fmt: skip
        iterations += its
    return iterations


def _improve_part(
    data: CarpData,
    graph: DeadheadGraph,
    tasks: IntArray,
    answer: TaskRoutes,
    tg: TaskGraph | None,
    stop: StoppingCriterion,
    seed: int,
    chosen: str,
    until: float | None,
    part: int = -1,
    *,
    on_cost: CostWatch | None = None,
    second_seed: bool = False,
) -> tuple[TaskRoutes, int, int]:
    """Improve one part from its answer until the `time.perf_counter` instant ``until`` (None:
    ``stop``'s counts); returns its routes (never worse), their cost and the iterations.

    In a side-by-side worker process (one seed, the caller uses the other core) each better
    cost of ``part`` goes on the `_PART_PROGRESS` queue, when there is one; one part
    after the other, the caller's ``on_cost`` hears them and a ``second_seed`` may run."""
    started = time.perf_counter()
    if tg is None:
        tg = build_task_graph(sub_problem(data, tasks), graph)
    start = _part_routes(tg, answer, tasks)
    seconds = None if until is None else max(0.05, until - started)
    queue = _PART_PROGRESS.get("queue")
    if on_cost is None and queue is not None and part >= 0:

        def on_cost(cost: int) -> None:
            queue.put((part, cost))

    found, its = _solve_routes(
        tg, stop, seed, chosen, started, seconds, start, on_cost=on_cost,
        second_seed=second_seed, giant_tour=False, construct=False,
    )  # fmt: skip
    if found is None:
        return answer, total_cost(tg, start), its
    return _task_routes(tg, tasks, found), total_cost(tg, found), its


def _improve_parts_side_by_side(
    data: CarpData,
    graph: DeadheadGraph,
    parts: tuple[IntArray, ...],
    answers: list[TaskRoutes],
    costs: list[int],
    graphs: dict[int, TaskGraph],
    stop: StoppingCriterion,
    seed: int,
    chosen: str,
    parts_end: float,
    reporter: _Reporter | None,
) -> int:
    """Improve the parts in two worker processes, one part each at a time, in place.

    On two cores one part per core searches twice as long as one part with a second seed
    beside it (the best of two seeds gains less at these sizes). The parts are dealt to two
    lanes, largest first to the lighter lane; each lane's time until ``parts_end`` is shared out
    by task count, and each part stops at its planned end (a part that starts late still stops
    there, one that starts early gains the time). A failed worker keeps the part's first answer.
    """
    now = time.perf_counter()
    span = max(0.0, parts_end - now)
    lane_of: list[list[int]] = [[], []]
    load = [0, 0]
    for i in sorted(range(len(parts)), key=lambda i: (-len(parts[i]), i)):
        lane = 0 if load[0] <= load[1] else 1
        lane_of[lane].append(i)
        load[lane] += len(parts[i])
    planned: list[tuple[float, int]] = []  # (planned end, part)
    for lane, members in enumerate(lane_of):
        t = now
        for i in members:
            t += span * len(parts[i]) / max(1, load[lane])
            planned.append((t, i))
    planned.sort()
    iterations = 0
    ctx = _process_context() or multiprocessing.get_context("fork")
    queue = ctx.SimpleQueue() if reporter is not None else None
    live = list(costs)  # each part's best cost so far, as the workers tell it

    def drain() -> None:
        while queue is not None and reporter is not None and not queue.empty():
            i, cost = queue.get()
            if cost < live[i]:
                live[i] = cost
                reporter.report(sum(live))

    pool = _search_pool(ctx, 2, queue)
    try:
        pending = {
            pool.submit(
                _improve_part, data, graph, parts[i], answers[i], graphs.pop(i, None), stop,
                seed, chosen, until, i,
            ): i
            for until, i in planned
        }  # fmt: skip
        index = dict(pending)
        if reporter is not None:
            reporter.ensure_bound()  # here, while the workers search
        while pending:
            done, waiting = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            pending = {f: index[f] for f in waiting}
            drain()
            for future in done:
                i = index[future]
                try:
                    routes, cost, its = future.result()
                except Exception:  # a lost worker must not lose the whole solve
                    log.warning("part %d: worker failed, first answer kept", i, exc_info=True)
                    continue
                iterations += its
                if cost < costs[i]:
                    answers[i], costs[i] = routes, cost
                live[i] = min(live[i], costs[i])
                if reporter is not None:
                    reporter.report(sum(live))
        pool.shutdown(wait=True)
        drain()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return iterations


#: In a side-by-side worker process (set by `_start_worker` as it starts): a queue of
#: (part, better cost) so the parent's progress callback hears of parts still searching.
_PART_PROGRESS: dict[str, Any] = {}


def _thread_nice() -> int | None:
    """The calling thread's nice value (Linux keeps one per thread), None where unknown."""
    try:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    except (AttributeError, OSError):
        return None


def _search_pool(
    ctx: multiprocessing.context.BaseContext, workers: int, queue: Any = None
) -> ProcessPoolExecutor:
    """Search worker processes at the calling thread's priority (a fork server's workers would
    otherwise take the priority of whichever thread started the server; a service lowers its
    job threads' to keep its requests answered), told ``queue`` for the parts' costs."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_start_worker,
        initargs=(queue, _thread_nice()),
    )


def _start_worker(queue: Any, nice: int | None) -> None:
    """A search worker's initializer: where its parts tell their better costs (None: no one
    listens) and the caller's priority. Passed at the worker's start, as forked and fork-server
    workers both allow."""
    if queue is None:
        _PART_PROGRESS.pop("queue", None)
    else:
        _PART_PROGRESS["queue"] = queue
    if nice is not None and nice != _thread_nice():
        with contextlib.suppress(OSError):  # raising one's priority needs privileges
            os.setpriority(os.PRIO_PROCESS, 0, nice)


#: Improve the parts of a time-limited decomposed solve two at a time on two cores (False: one
#: after the other, each with a second seed beside it; kept for comparison in benchmarks).
SIDE_BY_SIDE = True
#: Share of a decomposed solve's time limit kept for the seam repair (crews with limits), when
#: no rounds run (with rounds, no repair: the time went to them, measured better).
REPAIR_SHARE = 0.15
#: Share of a decomposed solve's search time (time-limited, two parts or more) given to a second
#: round over the solution's routes cut across the first parts (`cross_split`).
CROSS_SHARE = 2 / 3
#: Rounds after the first parts' (sharing `CROSS_SHARE`): across the parts, along, across...
CROSS_ROUNDS = 2
#: Fewest seconds of search per part in a round (fewer rounds when the time is short).
ROUND_SECONDS = 10.0
#: Bytes of part matrices kept from the first answers for the improvement (the rest rebuilt).
KEEP_MATRIX_BYTES = 512 * 2**20


def _matrix_bytes(tg: TaskGraph) -> int:
    return int(tg.deadhead.nbytes + tg.from_depot.nbytes + tg.to_depot.nbytes)


def _offset_watch(reporter: _Reporter, others: int) -> CostWatch:
    """A part's cost watch reporting the whole: the part's cost plus the other parts' ``others``."""

    def watch(cost: int) -> None:
        reporter.report(others + cost)

    return watch


def solve_arc_routing(
    data: CarpData,
    *,
    stop: StoppingCriterion,
    seed: int = 0,
    backend: Backend = "auto",
    decompose: bool | None = None,
    part_tasks: int = PART_TASKS,
    progress: Progress | None = None,
) -> ArcRoutingResult:
    """Serve every task of ``data`` at least total cost within ``stop``.

    Parameters
    ----------
    data
        The problem.
    stop
        When to stop improving: wall time (`MaxRuntime`), or counts for reproducible runs (a
        decomposed problem applies the counts to each part).
    seed
        Seeds the constructive heuristic and the backend; same seed and a count-based stop give
        the same result.
    backend
        ``"auto"`` (the best on the benchmarks), ``"ortools"`` or ``"pyvrp"``.
    decompose
        Split into parts of at most ``part_tasks`` tasks (`optimizer._decompose`): None decides
        by size (more than `DECOMPOSE_ABOVE` tasks); never with a fixed fleet size.
    progress
        Called with the best total cost so far, the lower bound (`carp_lower_bound`, None on
        the first call: it is computed right after the first answer) and the seconds since the
        start: at the first whole solution, then at each better one (never a higher cost). It
        runs inside the solve: keep it quick (write a message, no heavy work).

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
    graph = DeadheadGraph.from_data(data)
    limit = time_limit(stop)
    reporter = None if progress is None else _Reporter(progress, data, graph, started, limit)
    split = data.num_tasks > DECOMPOSE_ABOVE if decompose is None else decompose
    if split and can_decompose(data):
        solution, iterations, parts = _solve_decomposed(
            data, graph, stop, seed, chosen, started, limit, part_tasks, reporter
        )
        log.info("decomposed into %d parts", parts)
        if solution is None:
            return _no_solution(started, seed, chosen, iterations)
        return _result(data, solution, started, seed, chosen, iterations)
    tg = build_task_graph(data, graph)
    _check_servable(tg)
    watch = None if reporter is None else reporter.report
    routes, iterations = _solve_routes(tg, stop, seed, chosen, started, limit, on_cost=watch)
    if routes is None:
        return _no_solution(started, seed, chosen, iterations)
    return _result(data, tg.to_solution(routes), started, seed, chosen, iterations)


def _no_solution(started: float, seed: int, backend: str, iterations: int) -> ArcRoutingResult:
    return ArcRoutingResult(
        status="no_solution",
        solution=None,
        cost=None,
        feasible=False,
        runtime=time.perf_counter() - started,
        seed=seed,
        backend=backend,
        iterations=iterations,
    )


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
