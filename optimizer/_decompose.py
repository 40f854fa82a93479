"""Geographic decomposition of large arc routing problems: split, solve the parts, repair seams.

Why: the backends need dense option-to-option matrices (PyVRP's `ProblemData` takes full distance
and duration matrices), so one solve of K options costs K^2 memory and its search slows with K. A
city (~10,000 options) peaks at ~4 GiB and a prefecture (~40,000) does not fit. Split into parts
of at most ``max_tasks`` tasks, each part's matrices cost ``max_tasks^2``: the sum over parts
grows linearly with the size of the problem.

How:
- **split** (`split_tasks`): recursive balanced bisection on road distances (undirected, from the
  links): take two far-apart task nodes a and b (farthest from a first node, then farthest from
  a), order the tasks by d(a, x) - d(b, x) and cut at the share of parts each side gets. Three
  Dijkstras per cut; the parts are compact areas of about equal task counts. With one capacity
  for all vehicles the cut moves to the nearest whole number of vehicle loads, so that parts
  rarely end with a half-empty route.
- **solve**: each part is a sub-problem over the *whole* road graph (deadheading may leave the
  part) with its own tasks, solved by the caller's solver; a time limit is shared out by task
  count, re-balanced as parts finish early or late.
- **repair** (seams): each part's routes are packed on their own, so every part leaves a
  partly filled route and routes along a seam do not share work. The routes below half of their
  vehicle's capacity (or shift, by serve time, for crews without a capacity), and at least the
  emptiest of each part, are pooled and solved again together; the repaired routes replace them
  when cheaper.

Fixed fleet sizes (a vehicle type with a ``count``) cannot be shared out between parts without a
master problem, so those problems are never decomposed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.sparse.csgraph import dijkstra

from optimizer.carp_data import CarpData
from optimizer.shortest_paths import DeadheadGraph

IntArray = npt.NDArray[np.int64]
# (vehicle type, task indices in order, reversed flags) per route of the whole problem.
TaskRoutes = list[tuple[int, list[int], list[bool]]]


@dataclass(frozen=True)
class Decomposition:
    """The parts of a problem: task indices (into the whole problem) of each part."""

    parts: tuple[IntArray, ...]

    @property
    def sizes(self) -> tuple[int, ...]:
        """Tasks per part."""
        return tuple(len(p) for p in self.parts)


def can_decompose(data: CarpData) -> bool:
    """True when the fleet is free (no fixed ``count``), so parts can be solved independently."""
    return all(vt.count is None for vt in data.vehicle_types)


def split_tasks(data: CarpData, graph: DeadheadGraph, max_tasks: int) -> Decomposition:
    """Balanced recursive bisection of the tasks into ceil(tasks / max_tasks) compact parts."""
    n = data.num_tasks
    all_tasks = np.arange(n, dtype=np.int64)
    leaves = max(1, math.ceil(n / max(1, max_tasks)))
    # Task position: the middle of an edge or arc is between its ends; its first node will do.
    where = np.asarray(data.task_u, dtype=np.int64)
    parts: list[IntArray] = []
    demand = np.asarray(data.task_demand, dtype=np.int64)
    caps = {vt.capacity for vt in data.vehicle_types}
    unit = int(next(iter(caps)) or 0) if len(caps) == 1 else 0

    def far(nodes: IntArray, source: int) -> tuple[int, npt.NDArray[np.float64]]:
        dist = dijkstra(graph.matrix, directed=False, indices=source)
        finite = np.where(np.isfinite(dist), dist, -1.0)
        return int(nodes[int(np.argmax(finite[nodes]))]), dist

    def bisect(tasks: IntArray, count: int) -> None:
        if count <= 1 or len(tasks) <= 1:
            parts.append(np.sort(tasks))
            return
        nodes = where[tasks]
        a, _ = far(nodes, int(nodes[0]))
        b, dist_a = far(nodes, a)
        dist_b = dijkstra(graph.matrix, directed=False, indices=b)
        big = float(np.nanmax(np.where(np.isfinite(dist_a), dist_a, 0.0))) + 1.0
        da = np.where(np.isfinite(dist_a), dist_a, big)[nodes]
        db = np.where(np.isfinite(dist_b), dist_b, big)[nodes]
        order = np.lexsort((tasks, da - db))  # ties by task index: deterministic
        left = count // 2
        cut = round(len(tasks) * left / count)
        if unit:
            # Cut where the near side's demand is a whole number of vehicle loads closest to its
            # share: each part then packs into full routes, no part leaves a half-empty one.
            cum = np.cumsum(demand[tasks[order]])
            loads = max(1, round(float(cum[-1]) * left / count / unit))
            fits = int(np.searchsorted(cum, loads * unit, side="right"))
            if 0 < fits < len(tasks):
                cut = fits
        bisect(tasks[order[:cut]], left)
        bisect(tasks[order[cut:]], count - left)

    bisect(all_tasks, leaves)
    return Decomposition(parts=tuple(p for p in parts if len(p)))


def sub_problem(data: CarpData, tasks: IntArray) -> CarpData:
    """The problem restricted to ``tasks`` (same graph, vehicles and labels; tasks renumbered)."""
    return CarpData(
        num_nodes=data.num_nodes,
        link_tail=data.link_tail,
        link_head=data.link_head,
        link_cost=data.link_cost,
        task_kind=data.task_kind[tasks],
        task_u=data.task_u[tasks],
        task_v=data.task_v[tasks],
        task_serve_cost=data.task_serve_cost[tasks],
        task_demand=data.task_demand[tasks],
        task_labels=tuple(data.task_labels[int(t)] for t in tasks),
        vehicle_types=data.vehicle_types,
        node_labels=data.node_labels,
        name=data.name,
    )


def seam_routes(data: CarpData, routes: TaskRoutes, part_of_route: list[int]) -> list[int]:
    """Indices of the routes to pool for the seam repair: those under half of what their vehicle
    may carry, and the least loaded route of every part.

    The load is the demand against the capacity, or without capacities the serve time against
    the shift limit (deadheading left out: a route short of half a shift in serving is pooled);
    none when a vehicle type has neither."""
    types = data.vehicle_types
    if not routes:
        return []
    if all(types[vt].capacity is not None for vt, _, _ in routes):
        loads = [int(data.task_demand[tasks].sum()) for _, tasks, _ in routes]
        limits = [int(types[vt].capacity or 0) for vt, _, _ in routes]
    elif all(types[vt].shift_limit is not None for vt, _, _ in routes):
        loads = [int(data.task_serve_cost[tasks].sum()) for _, tasks, _ in routes]
        limits = [int(types[vt].shift_limit or 0) for vt, _, _ in routes]
    else:
        return []
    chosen = {i for i in range(len(routes)) if 2 * loads[i] < limits[i]}
    emptiest: dict[int, int] = {}
    for i, part in enumerate(part_of_route):
        if part not in emptiest or loads[i] < loads[emptiest[part]]:
            emptiest[part] = i
    chosen.update(emptiest.values())
    return sorted(chosen)
