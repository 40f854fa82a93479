"""OR-Tools routing backend for arc routing: the only module importing ``ortools`` routing.

Each task option (an edge's two directions, an arc, a node) is a routing node; an edge's two options
form a mandatory disjunction, so exactly one direction is served. The arc cost from node i to node j
is the deadhead end(i) -> start(j) plus the service cost of j. Capacity and shift limit are
dimensions; each vehicle starts and ends at its type's depot. Guided local search runs from a
constructive first solution until the stopping criterion.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from optimizer._task_graph import TaskGraph
from optimizer.shortest_paths import UNREACHABLE

log = logging.getLogger(__name__)

Routes = list[tuple[int, list[int]]]

# Arc cost used for an unreachable pair: prohibitive but far from int64 overflow in GLS sums.
_FORBIDDEN = 10**11
_NO_START_SECONDS = 30.0


@dataclass(frozen=True)
class RoutingLimits:
    """OR-Tools limits translated from a stopping criterion (None: no such limit)."""

    deadline: float | None  # a time.perf_counter() instant
    solutions: int | None
    no_improvement: int | None


@dataclass
class _Progress:
    count: int = 0
    best: int = 2**62
    since: int = 0


def _transit_matrix(tg: TaskGraph) -> np.ndarray:
    d = len(tg.depot_nodes)
    k = tg.num_options
    n = d + k
    m = np.zeros((n, n), dtype=np.int64)
    m[:d, :d] = tg.depot_to_depot
    m[:d, d:] = tg.from_depot + tg.serve[None, :]
    m[d:, d:] = tg.deadhead + tg.serve[None, :]
    m[d:, :d] = tg.to_depot
    unreachable = np.zeros((n, n), dtype=bool)
    unreachable[:d, :d] = tg.depot_to_depot >= UNREACHABLE
    unreachable[:d, d:] = tg.from_depot >= UNREACHABLE
    unreachable[d:, d:] = tg.deadhead >= UNREACHABLE
    unreachable[d:, :d] = tg.to_depot >= UNREACHABLE
    m[unreachable] = _FORBIDDEN
    np.fill_diagonal(m, 0)
    return m


def solve_routing(
    tg: TaskGraph, fleet: list[int], initial: Routes | None, limits: RoutingLimits
) -> tuple[Routes | None, int]:
    """Improve ``initial`` (or build a first solution) with guided local search.

    ``fleet[i]`` vehicles of type i are available. Returns the best routes found (None when no
    solution was found) and the number of solutions the search went through.
    """
    data = tg.data
    d = len(tg.depot_nodes)
    n = d + tg.num_options
    starts: list[int] = []
    vehicle_type_of: list[int] = []
    for i, count in enumerate(fleet):
        starts += [int(tg.vehicle_depot[i])] * count
        vehicle_type_of += [i] * count
    num_vehicles = len(starts)
    if num_vehicles == 0:
        return None, 0
    manager = pywrapcp.RoutingIndexManager(n, num_vehicles, starts, starts)
    routing = pywrapcp.RoutingModel(manager)
    matrix = _transit_matrix(tg)
    transit = routing.RegisterTransitMatrix(matrix.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    for v, i in enumerate(vehicle_type_of):
        if data.vehicle_types[i].fixed_cost:
            routing.SetFixedCostOfVehicle(data.vehicle_types[i].fixed_cost, v)

    caps = [data.vehicle_types[i].capacity for i in vehicle_type_of]
    if any(c is not None for c in caps):
        demand = [0] * d + tg.demand.tolist()
        unary = routing.RegisterUnaryTransitVector(demand)
        big = int(tg.demand.sum()) + 1
        routing.AddDimensionWithVehicleCapacity(
            unary, 0, [big if c is None else int(c) for c in caps], True, "load"
        )
    shifts = [data.vehicle_types[i].shift_limit for i in vehicle_type_of]
    if any(s is not None for s in shifts):
        big = _FORBIDDEN * 4
        routing.AddDimensionWithVehicleCapacity(
            transit, 0, [big if s is None else int(s) for s in shifts], True, "time"
        )
    for task_options in tg.task_options:
        if len(task_options) > 1:
            routing.AddDisjunction([manager.NodeToIndex(d + o) for o in task_options])

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )

    def set_time_limit() -> None:
        # OR-Tools counts its limit from the Solve call; the model is built by then.
        seconds = None if limits.deadline is None else limits.deadline - time.perf_counter()
        if seconds is None and initial is None:
            # Without a first solution OR-Tools may search forever for one; bound that search.
            seconds = _NO_START_SECONDS
        if seconds is not None:
            params.time_limit.FromMilliseconds(max(1, int(seconds * 1000)))

    if limits.solutions is not None:
        params.solution_limit = max(1, limits.solutions)

    progress = _Progress()

    def on_solution() -> None:
        progress.count += 1
        value = int(routing.CostVar().Value())
        if value < progress.best:
            progress.best, progress.since = value, 0
        else:
            progress.since += 1
            if limits.no_improvement is not None and progress.since >= limits.no_improvement:
                routing.solver().FinishCurrentSearch()

    routing.AddAtSolutionCallback(on_solution)
    set_time_limit()  # also tells CloseModel that guided local search will end
    routing.CloseModelWithParameters(params)

    assignment = None
    if initial is not None:
        per_vehicle: list[list[int]] = [[] for _ in range(num_vehicles)]
        free = {i: [v for v, t in enumerate(vehicle_type_of) if t == i] for i in range(len(fleet))}
        for vt, options in initial:
            if free[vt]:
                per_vehicle[free[vt].pop(0)] = [manager.NodeToIndex(d + o) for o in options]
        start_assignment = routing.ReadAssignmentFromRoutes(per_vehicle, True)
        if start_assignment is None:
            log.warning("OR-Tools rejected the constructive solution; building its own")
        else:
            set_time_limit()
            assignment = routing.SolveFromAssignmentWithParameters(start_assignment, params)
    if assignment is None:
        set_time_limit()
        assignment = routing.SolveWithParameters(params)
    if assignment is None:
        return None, progress.count
    routes: Routes = []
    for v in range(num_vehicles):
        index = routing.Start(v)
        seq: list[int] = []
        index = assignment.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            seq.append(manager.IndexToNode(index) - d)
            index = assignment.Value(routing.NextVar(index))
        if seq:
            routes.append((vehicle_type_of[v], seq))
    return routes, progress.count
