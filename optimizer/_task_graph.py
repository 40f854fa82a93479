"""Service options of each task and the option-to-option deadhead matrices shared by all backends.

An *option* is one way to serve a task: an edge has two (u -> v and v -> u), an arc or a node one.
Serving option ``j`` right after option ``i`` costs ``deadhead[i, j]`` (end of i -> start of j)
plus ``serve[j]``. Depots are the distinct depot nodes of the vehicle types.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse.csgraph import dijkstra

from optimizer.carp_data import CarpData, TaskKind
from optimizer.carp_solution import CarpSolution, Route, Service
from optimizer.shortest_paths import UNREACHABLE, DeadheadGraph

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class TaskGraph:
    """Options, their endpoints, and deadhead costs between options and depots."""

    data: CarpData
    task: IntArray
    reverse: BoolArray
    start: IntArray
    end: IntArray
    serve: IntArray
    demand: IntArray
    task_options: tuple[tuple[int, ...], ...]
    depot_nodes: IntArray
    vehicle_depot: IntArray  # vehicle type -> index into depot_nodes
    deadhead: IntArray  # (K, K) end of option i -> start of option j
    from_depot: IntArray  # (D, K) depot -> start of option j
    to_depot: IntArray  # (K, D) end of option i -> depot
    depot_to_depot: IntArray  # (D, D)

    @property
    def num_options(self) -> int:
        """Number of options (K)."""
        return len(self.task)

    def to_solution(self, routes: list[tuple[int, list[int]]]) -> CarpSolution:
        """A solution from (vehicle type, option sequence) pairs; empty routes are dropped."""
        return CarpSolution(
            routes=tuple(
                Route(
                    vehicle_type=vt,
                    services=tuple(
                        Service(task=int(self.task[o]), reverse=bool(self.reverse[o])) for o in opts
                    ),
                )
                for vt, opts in routes
                if opts
            )
        )

    def route_cost(self, vehicle_type: int, options: list[int]) -> int:
        """Deadhead + service cost of a route (no fixed cost)."""
        d = int(self.vehicle_depot[vehicle_type])
        if not options:
            return int(self.depot_to_depot[d, d])
        cost = int(self.from_depot[d, options[0]]) + int(self.to_depot[options[-1], d])
        for a, b in itertools.pairwise(options):
            cost += int(self.deadhead[a, b])
        return cost + int(self.serve[options].sum())


def _local_radius(
    graph: DeadheadGraph, sources: IntArray, targets: IntArray
) -> npt.NDArray[np.float64] | None:
    """Per source, a radius within which it reaches every target: d(s, t) <= d(s, c) + d(c, t)
    for any node c. The centre c is the target nearest the middle of the targets' spread (two
    far-apart nodes a, b by undirected distance; c minimises max(d(a, c), d(b, c))), which
    keeps the balls small. None when some pair may be unreachable."""
    undirected = graph.matrix

    def spread(source: int) -> npt.NDArray[np.float64]:
        d = dijkstra(undirected, directed=False, indices=source)
        return np.where(np.isfinite(d), d, -1.0)

    ends = np.concatenate([sources, targets])
    a = int(ends[int(np.argmax(spread(int(targets[0]))[ends]))])
    da = spread(a)
    b = int(ends[int(np.argmax(da[ends]))])
    db = spread(b)
    far = np.maximum(da[targets], db[targets])
    far[(da[targets] < 0) | (db[targets] < 0)] = np.inf
    centre = targets[int(np.argmin(far)) : int(np.argmin(far)) + 1]
    to_targets = graph.distances(centre, targets)[0]
    from_sources = graph.distances(centre, sources, reverse=True)[0]
    if (to_targets >= UNREACHABLE).any() or (from_sources >= UNREACHABLE).any():
        return None
    # Integer costs: the float sums of Dijkstra are exact, +1 keeps the boundary pair inside.
    return (from_sources + to_targets.max() + 1).astype(np.float64)


def build_task_graph(
    data: CarpData, graph: DeadheadGraph | None = None, *, local: bool = True
) -> TaskGraph:
    """Expand tasks into options and compute the deadhead matrices through shortest paths.

    ``local``: the option-to-option Dijkstras stop at a radius that provably covers every pair
    (`_local_radius`), so a problem that is a small part of a large road graph (a cluster of a
    decomposed city) explores only its neighbourhood; the matrices are the same as without it.
    Depot rows and columns come from one Dijkstra per depot on the graph and its transpose.
    """
    graph = graph or DeadheadGraph.from_data(data)
    task: list[int] = []
    reverse: list[bool] = []
    task_options: list[tuple[int, ...]] = []
    for t in range(data.num_tasks):
        first = len(task)
        task.append(t)
        reverse.append(False)
        if data.task_kind[t] == TaskKind.EDGE and data.task_u[t] != data.task_v[t]:
            task.append(t)
            reverse.append(True)
        task_options.append(tuple(range(first, len(task))))
    task_arr = np.array(task, dtype=np.int64)
    rev_arr = np.array(reverse, dtype=bool)
    u, v = data.task_u[task_arr], data.task_v[task_arr]
    start = np.where(rev_arr, v, u).astype(np.int64)
    end = np.where(rev_arr, u, v).astype(np.int64)
    depot_nodes = np.array(data.depots, dtype=np.int64)
    vehicle_depot = np.array(
        [data.depots.index(vt.depot) for vt in data.vehicle_types], dtype=np.int64
    )
    k = len(task_arr)
    sources, rows = np.unique(end, return_inverse=True)
    targets, cols = np.unique(start, return_inverse=True)
    radius = _local_radius(graph, sources, targets) if local and k else None
    dist = graph.distances(sources, targets, limit=radius)
    from_depot = graph.distances(depot_nodes, np.concatenate([targets, depot_nodes]))
    to_depot = graph.distances(depot_nodes, sources, reverse=True).T
    return TaskGraph(
        data=data,
        task=task_arr,
        reverse=rev_arr,
        start=start,
        end=end,
        serve=data.task_serve_cost[task_arr].astype(np.int64),
        demand=data.task_demand[task_arr].astype(np.int64),
        task_options=tuple(task_options),
        depot_nodes=depot_nodes,
        vehicle_depot=vehicle_depot,
        deadhead=dist[np.ix_(rows, cols)],
        from_depot=from_depot[:, cols],
        to_depot=np.ascontiguousarray(to_depot[rows]),
        depot_to_depot=from_depot[:, len(targets) :],
    )
