"""PyVRP backend for arc routing: the only module importing ``pyvrp``.

Each task option is a PyVRP client at its own location; an edge's two options are optional clients
in a required, mutually exclusive `ClientGroup`, so exactly one direction is served. The distance
and duration from location i to location j are the deadhead end(i) -> start(j); the service cost
is the client's ``service_duration``. Distance is the objective: every task is served once, so the
service costs add a constant and stay out of it (and out of the proximity that PyVRP's neighbour
lists are built from). Duration (deadhead + service) is bounded by the vehicle type's
``shift_duration``. PyVRP's iterated local search starts from the constructive solution.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import pyvrp
import pyvrp.stop as pstop

from optimizer._task_graph import TaskGraph
from optimizer.shortest_paths import UNREACHABLE
from optimizer.stop import MaxIterations, MultipleCriteria, NoImprovement, StoppingCriterion

log = logging.getLogger(__name__)

Routes = list[tuple[int, list[int]]]


def _matrix(tg: TaskGraph) -> np.ndarray:
    d = len(tg.depot_nodes)
    n = d + tg.num_options
    m = np.zeros((n, n), dtype=np.int64)
    m[:d, :d] = tg.depot_to_depot
    m[:d, d:] = tg.from_depot
    m[d:, d:] = tg.deadhead
    m[d:, :d] = tg.to_depot
    bad = m >= UNREACHABLE
    finite_max = int(m[~bad].max()) if (~bad).any() else 0
    # Prohibitive yet small enough to keep PyVRP's cost sums far from overflow.
    m[bad] = max(1, finite_max) * max(10, n)
    np.fill_diagonal(m, 0)
    return m


class _Deadline:
    """Stop at a fixed `time.perf_counter` instant: PyVRP's own MaxRuntime starts counting only
    after its set-up (neighbour lists), which would overrun the caller's time limit."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def __call__(self, best_cost: float) -> bool:
        return time.perf_counter() >= self.deadline


class _Watch:
    """Never stops: hands each new best cost (PyVRP's objective: deadhead + fixed costs, the
    serve costs left out) to ``on_cost``; PyVRP calls its criterion once per iteration."""

    def __init__(self, on_cost: Callable[[int], None]) -> None:
        self.on_cost = on_cost
        self.best = float("inf")

    def __call__(self, best_cost: float) -> bool:
        if best_cost < self.best:
            self.best = best_cost
            self.on_cost(int(best_cost))
        return False


def _criterion(
    stop: StoppingCriterion,
    deadline: float | None,
    on_cost: Callable[[int], None] | None = None,
) -> pstop.StoppingCriterion:
    parts: list[pstop.StoppingCriterion] = []
    if on_cost is not None:
        parts.append(_Watch(on_cost))  # first: MultipleCriteria may stop at the first True
    flat = stop.criteria if isinstance(stop, MultipleCriteria) else (stop,)
    for c in flat:
        if isinstance(c, MaxIterations):
            parts.append(pstop.MaxIterations(c.count))
        elif isinstance(c, NoImprovement):
            parts.append(pstop.NoImprovement(c.count))
    if deadline is not None:
        parts.append(_Deadline(deadline))
    if len(parts) == (on_cost is not None):  # unreachable through solve_arc_routing
        parts.append(pstop.MaxIterations(0))
    return parts[0] if len(parts) == 1 else pstop.MultipleCriteria(parts)


def build_problem(tg: TaskGraph, fleet: list[int]) -> pyvrp.ProblemData:
    """The PyVRP problem of ``tg`` with ``fleet[i]`` vehicles of type i."""
    data = tg.data
    d = len(tg.depot_nodes)
    with_load = any(vt.capacity is not None for vt in data.vehicle_types)
    locations = [pyvrp.Location(0.0, 0.0) for _ in range(d + tg.num_options)]
    depots = [pyvrp.Depot(location=i) for i in range(d)]
    group_of: dict[int, int] = {}
    groups: list[pyvrp.ClientGroup] = []
    for options in tg.task_options:
        if len(options) > 1:
            for o in options:
                group_of[o] = len(groups)
            groups.append(pyvrp.ClientGroup(list(options), required=True))
    clients = [
        pyvrp.Client(
            location=d + o,
            delivery=[int(tg.demand[o])] if with_load else [],
            service_duration=int(tg.serve[o]),
            required=o not in group_of,
            group=group_of.get(o),
        )
        for o in range(tg.num_options)
    ]
    big_load = int(tg.demand.sum()) + 1
    vehicle_types = []
    for i, vt in enumerate(data.vehicle_types):
        if fleet[i] <= 0:
            continue
        kwargs: dict[str, object] = {}
        if vt.shift_limit is not None:
            kwargs["shift_duration"] = int(vt.shift_limit)
        if with_load:
            kwargs["capacity"] = [big_load if vt.capacity is None else int(vt.capacity)]
        depot = int(tg.vehicle_depot[i])
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=fleet[i],
                start_depot=depot,
                end_depot=depot,
                fixed_cost=int(vt.fixed_cost),
                unit_distance_cost=1,
                unit_duration_cost=0,
                name=str(i),
                **kwargs,  # type: ignore[arg-type]
            )
        )
    matrix = _matrix(tg)
    return pyvrp.ProblemData(
        locations=locations,
        clients=clients,
        depots=depots,
        vehicle_types=vehicle_types,
        distance_matrices=[matrix],  # type: ignore[list-item]
        duration_matrices=[matrix],  # type: ignore[list-item]
        groups=groups,
    )


#: Above this many options the granular neighbourhoods come from our own deadhead matrix.
OWN_NEIGHBOURS_ABOVE = 1000


def granular_neighbours(tg: TaskGraph, count: int) -> list[list[int]]:
    """The ``count`` nearest options of each option (by the shorter deadhead either way), never
    the other direction of its own task: PyVRP's granular neighbourhood, from our matrix.

    PyVRP's own `compute_neighbours` takes seconds at a few thousand clients (measured 1.5-4.5 s
    at 3,000); a partial sort of the deadhead rows takes a fraction of that."""
    k = tg.num_options
    count = max(1, min(count, k - 1))
    out: list[list[int]] = []
    for lo in range(0, k, 512):
        block = tg.deadhead[lo : lo + 512].astype(np.float64)
        prox = np.minimum(block, tg.deadhead[:, lo : lo + 512].T)
        rows = np.arange(lo, min(k, lo + 512))
        same = tg.task[rows][:, None] == tg.task[None, :]
        prox[same] = np.inf
        near = np.argpartition(prox, count - 1, axis=1)[:, :count]
        values = np.take_along_axis(prox, near, axis=1)
        order = np.argsort(values, axis=1, kind="stable")
        near = np.take_along_axis(near, order, axis=1)
        finite = np.isfinite(np.take_along_axis(values, order, axis=1))
        out += [row[ok].tolist() for row, ok in zip(near, finite, strict=True)]
    return out


def _iterated_local_search(
    tg: TaskGraph,
    problem: pyvrp.ProblemData,
    initial: pyvrp.Solution,
    stop: StoppingCriterion,
    seed: int,
    deadline: float | None,
    params: pyvrp.SolveParams,
    on_cost: Callable[[int], None] | None,
) -> pyvrp.Result:
    """PyVRP's iterated local search from ``initial`` over `granular_neighbours`."""
    from pyvrp.IteratedLocalSearch import IteratedLocalSearch
    from pyvrp.PenaltyManager import PenaltyManager
    from pyvrp.search import LocalSearch, PerturbationManager

    # Client activities are numbered by client (option), not by location.
    activity = [pyvrp.Activity(pyvrp.ActivityType.CLIENT, o) for o in range(tg.num_options)]
    near = granular_neighbours(tg, params.neighbourhood.num_neighbours)
    neighbours = {activity[o]: [activity[j] for j in row] for o, row in enumerate(near)}
    rng = pyvrp.RandomNumberGenerator(seed=seed)
    search = LocalSearch(problem, rng, neighbours, PerturbationManager(params.perturbation))
    for operator in params.operators:
        if operator.supports(problem):
            search.add_operator(operator(problem))
    penalties = PenaltyManager(params.penalty.midpoint_penalties(problem), params.penalty)
    ils = IteratedLocalSearch(problem, penalties, search, initial, params.ils)
    return ils.run(_criterion(stop, deadline, on_cost), collect_stats=False, display=False)


def solve_pyvrp(
    tg: TaskGraph,
    fleet: list[int],
    initial: Routes | None,
    stop: StoppingCriterion,
    seed: int,
    deadline: float | None,
    params: pyvrp.SolveParams | None = None,
    on_cost: Callable[[int], None] | None = None,
) -> tuple[Routes | None, int]:
    """Run PyVRP from ``initial`` until ``stop``'s counts or the ``deadline`` (a
    `time.perf_counter` instant); returns the best routes (None if none) and iterations.
    ``on_cost`` is told every new best feasible cost (without the serve costs)."""
    problem = build_problem(tg, fleet)
    type_index = [i for i in range(len(fleet)) if fleet[i] > 0]
    pv_type = {i: k for k, i in enumerate(type_index)}
    init_solution = None
    if initial is not None and all(vt in pv_type for vt, _ in initial):
        routes = [pyvrp.Route(problem, list(seq), pv_type[vt]) for vt, seq in initial]
        init_solution = pyvrp.Solution(problem, routes)
    params = params or pyvrp.SolveParams()
    if tg.num_options > OWN_NEIGHBOURS_ABOVE and init_solution is not None:
        result = _iterated_local_search(
            tg, problem, init_solution, stop, seed, deadline, params, on_cost
        )
    else:
        result = pyvrp.solve(
            problem,
            stop=_criterion(stop, deadline, on_cost),
            seed=seed,
            collect_stats=False,
            display=False,
            initial_solution=init_solution,
            params=params,
        )
    best = result.best
    if not best.is_feasible():
        log.info("PyVRP found no feasible solution")
        return None, int(result.num_iterations)
    out: Routes = []
    for route in best.routes():
        seq = [int(a.idx) for a in route.schedule() if a.is_client()]
        if seq:
            out.append((type_index[route.vehicle_type()], seq))
    return out, int(result.num_iterations)
