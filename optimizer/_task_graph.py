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

from optimizer.carp_data import CarpData, TaskKind
from optimizer.carp_solution import CarpSolution, Route, Service
from optimizer.shortest_paths import DeadheadGraph

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


def build_task_graph(data: CarpData, graph: DeadheadGraph | None = None) -> TaskGraph:
    """Expand tasks into options and compute the deadhead matrices through shortest paths."""
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
    sources, src_inv = np.unique(np.concatenate([end, depot_nodes]), return_inverse=True)
    targets, tgt_inv = np.unique(np.concatenate([start, depot_nodes]), return_inverse=True)
    dist = graph.distances(sources, targets)
    k = len(task_arr)
    rows, cols = src_inv[:k], tgt_inv[:k]
    drows, dcols = src_inv[k:], tgt_inv[k:]
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
        from_depot=dist[np.ix_(drows, cols)],
        to_depot=dist[np.ix_(rows, dcols)],
        depot_to_depot=dist[np.ix_(drows, dcols)],
    )
