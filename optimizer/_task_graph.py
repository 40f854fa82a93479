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


#: Landmarks per part for the local radii: more give tighter balls at one Dijkstra pair each.
LANDMARKS = 8


def _local_radius(
    graph: DeadheadGraph, sources: IntArray, targets: IntArray
) -> npt.NDArray[np.float64] | None:
    """Per source s, a radius within which it reaches every target: the largest over targets t
    of min over landmarks L of d(s, L) + d(L, t), an upper bound on d(s, t). Landmarks are
    targets spread by farthest-point sampling (undirected distances), so the bound is close to
    the true farthest target and each ball covers little more than the part. None when some pair
    may be unreachable."""
    spread = np.full(graph.num_nodes, np.inf)
    landmarks: list[int] = []
    current = int(targets[0])
    for _ in range(min(LANDMARKS, len(targets))):
        d = dijkstra(graph.matrix, directed=False, indices=current)
        spread = np.minimum(spread, d)
        landmarks.append(current)
        far = spread[targets]
        far[~np.isfinite(far)] = -1.0
        current = int(targets[int(np.argmax(far))])
        if far.max() <= 0:
            break
    marks = np.asarray(landmarks, dtype=np.int64)
    to_targets = graph.distances(marks, targets).astype(np.float64)  # (L, T)
    from_sources = graph.distances(marks, sources, reverse=True).astype(np.float64).T  # (S, L)
    if (to_targets >= UNREACHABLE).all(axis=0).any() or (from_sources >= UNREACHABLE).all(
        axis=1
    ).any():
        return None
    to_targets[to_targets >= UNREACHABLE] = np.inf
    from_sources[from_sources >= UNREACHABLE] = np.inf
    radius = np.empty(len(sources))
    for lo in range(0, len(sources), 128):
        block = from_sources[lo : lo + 128, :, None] + to_targets[None, :, :]  # (s, L, T)
        radius[lo : lo + 128] = block.min(axis=1).max(axis=1)
    if not np.isfinite(radius).all():
        return None
    # Integer costs: the float sums of Dijkstra are exact, +1 keeps the boundary pair inside.
    return radius + 1.0


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
