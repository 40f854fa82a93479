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
- **cross** (`cross_split`): under a time limit two thirds of the search go to two more
  rounds over the solution's whole routes, grouped into as many areas again, cut across the
  first cuts (each old seam then lies inside an area whose search can join the work of both
  its sides), then along them again.
- **repair** (seams; when no rounds run: counted stops, short limits): each part's routes are
  packed on their own, so every part leaves a partly filled route and routes along a seam do
  not share work. The routes below half of their vehicle's capacity (or shift, by serve time,
  for crews without a capacity), and at least the emptiest of each part, are pooled and solved
  again together; the repaired routes replace them when cheaper.

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
FloatArray = npt.NDArray[np.float64]
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


def _far(graph: DeadheadGraph, nodes: IntArray, source: int) -> tuple[int, FloatArray]:
    """The node of ``nodes`` farthest from ``source`` (undirected road distance), and the
    distances from ``source`` to every node (unreachable ones at the largest finite + 1)."""
    dist = dijkstra(graph.matrix, directed=False, indices=source)
    finite = np.isfinite(dist)
    big = float(dist[finite].max()) + 1.0 if finite.any() else 1.0
    dist = np.where(finite, dist, big)
    return int(nodes[int(np.argmax(dist[nodes]))]), dist


#: Share of the tasks, around the middle of the first cut, among which the crossing cut's two
#: far ends are chosen.
CROSS_BAND = 0.2


def cross_split(
    data: CarpData, graph: DeadheadGraph, routes: TaskRoutes, count: int, *, across: bool = True
) -> list[list[int]]:
    """Group whole routes into ``count`` areas whose cuts cross those of `split_tasks`.

    A decomposed solve leaves its worst routes along the seams between parts, where no part's
    search could join work from both sides. Cutting the solution's routes again, across the
    first cut, puts each old seam inside a new part, whose search can then repair it. Each cut
    here is recursive like `split_tasks`, but along a line across the set's longest axis: its
    two ends are the farthest-apart task nodes among the middle `CROSS_BAND` of the tasks
    along that axis (where the first cut ran). A route goes to the side of the median of its
    tasks; sides are balanced by task count. Returns the route indices of each area (none
    empty; fewer areas when there are fewer routes). ``across`` False: cut along the longest
    axis itself, as `split_tasks` did (a third round, back across the second round's seams)."""
    where = np.asarray(data.task_u, dtype=np.int64)
    groups: list[list[int]] = []

    def bisect(members: list[int], parts: int) -> None:
        if parts <= 1 or len(members) <= 1:
            groups.append(sorted(members))
            return
        # Sorted: from the lowest task, as `split_tasks` starts, so the first axis is the same.
        tasks = np.sort(np.concatenate([np.asarray(routes[r][1], dtype=np.int64) for r in members]))
        nodes = where[tasks]
        a, _ = _far(graph, nodes, int(nodes[0]))
        b, dist_a = _far(graph, nodes, a)
        _, dist_b = _far(graph, nodes, b)
        cut_by = dist_a - dist_b
        if across:
            # The far ends of the middle band along the axis (where the first cut ran).
            along = cut_by[nodes]
            lo, hi = np.quantile(along, [0.5 - CROSS_BAND / 2, 0.5 + CROSS_BAND / 2])
            band = nodes[(along >= lo) & (along <= hi)]
            if len(band) == 0:  # few nodes: the one nearest the middle
                band = nodes[[int(np.argmin(np.abs(along - np.median(along))))]]
            c, _ = _far(graph, band, int(band[0]))
            d, dist_c = _far(graph, band, c)
            _, dist_d = _far(graph, band, d)
            cut_by = dist_c - dist_d
        side = [float(np.median(cut_by[where[routes[r][1]]])) for r in members]
        order = [members[i] for i in np.lexsort((members, side))]
        left = parts // 2
        sizes = np.cumsum([len(routes[r][1]) for r in order])
        share = sizes[-1] * left / parts
        cut = int(np.searchsorted(sizes, share))  # the first route reaching the share
        if cut < len(order) and (cut == 0 or sizes[cut] - share < share - sizes[cut - 1]):
            cut += 1  # with it the side is nearer its share than without
        cut = min(max(cut, 1), len(order) - 1)
        bisect(order[:cut], left)
        bisect(order[cut:], parts - left)

    bisect([r for r in range(len(routes)) if routes[r][1]], max(1, count))
    return [g for g in groups if g]


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
