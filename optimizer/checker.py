"""Independent checker of arc routing solutions: feasibility and cost, recomputed from the data.

It shares no code with the solvers: it builds its own deadheading graph from the links and its own
walks (depot -> services -> depot), so a solver bug cannot hide behind a matching score.
Benchmarks and tests score solutions only through `check_solution`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra

from optimizer.carp_data import CarpData, TaskKind
from optimizer.carp_solution import CarpSolution


@dataclass(frozen=True)
class CheckReport:
    """What the checker found.

    ``cost`` is the total of route costs (deadhead + service) plus the fixed cost of every used
    vehicle; route figures follow the order of ``solution.routes``. A route's duration equals its
    cost without the fixed cost (costs are times). ``violations`` is empty exactly when feasible.
    """

    feasible: bool
    cost: int
    route_costs: tuple[int, ...]
    route_durations: tuple[int, ...]
    route_demands: tuple[int, ...]
    violations: tuple[str, ...]


def _leg_costs(
    data: CarpData, legs: list[tuple[int, int]], block: int = 256
) -> dict[tuple[int, int], float]:
    """Shortest deadheading cost of each (from, to) leg (inf when there is no path).

    Dijkstra runs in blocks of sources, each within a radius widened round by round for the
    legs it did not reach, and keeps only the legs asked for: memory stays ``block x nodes``
    and time follows the legs' lengths, however many routes a large solution has."""
    cheapest: dict[tuple[int, int], int] = {}
    for t, h, c in zip(
        data.link_tail.tolist(), data.link_head.tolist(), data.link_cost.tolist(), strict=True
    ):
        if t != h and ((t, h) not in cheapest or c < cheapest[(t, h)]):
            cheapest[(t, h)] = c
    n = data.num_nodes
    if not legs:
        return {}
    rows = np.array([k[0] for k in cheapest], dtype=np.int64)
    cols = np.array([k[1] for k in cheapest], dtype=np.int64)
    vals = np.array(list(cheapest.values()), dtype=np.float64)
    graph = coo_matrix((vals, (rows, cols)), shape=(n, n)).tocsr()
    out: dict[tuple[int, int], float] = {}
    todo = list(legs)
    # Most legs of a good solution are short hops between neighbouring tasks: search a small
    # ball first and widen it only for the legs not reached (the last round is unlimited).
    positive = vals[vals > 0]
    radius = 16.0 * float(np.median(positive)) if len(positive) else np.inf
    while todo:
        by_source: dict[int, list[int]] = {}
        for a, b in todo:
            by_source.setdefault(a, []).append(b)
        sources = sorted(by_source)
        todo = []
        for lo in range(0, len(sources), block):
            chunk = sources[lo : lo + block]
            dist = dijkstra(graph, directed=True, indices=chunk, limit=radius)
            for i, a in enumerate(chunk):
                for b in by_source[a]:
                    d = float(dist[i, b])
                    if np.isfinite(d) or not np.isfinite(radius):
                        out[(a, b)] = d
                    else:
                        todo.append((a, b))
        radius = radius * 8.0 if len(todo) > 64 else np.inf
    return out


def check_solution(data: CarpData, solution: CarpSolution) -> CheckReport:
    """Check ``solution`` against ``data`` and recompute its cost.

    Verified: every task served exactly once; ``reverse`` only on edge tasks; valid vehicle types;
    every leg reachable by deadheading; capacity and shift limit of each route; the number of
    routes per vehicle type within its count.
    """
    violations: list[str] = []
    num_tasks = data.num_tasks
    seen = np.zeros(num_tasks, dtype=np.int64)
    walks: list[tuple[int, list[tuple[int, int, int, int]]] | None] = []
    legs: set[tuple[int, int]] = set()
    for r, route in enumerate(solution.routes):
        vt_index = route.vehicle_type
        if not 0 <= vt_index < len(data.vehicle_types):
            violations.append(f"route {r}: vehicle type {vt_index} does not exist")
            walks.append(None)
            continue
        depot = data.vehicle_types[vt_index].depot
        steps: list[tuple[int, int, int, int]] = []  # (start, end, serve cost, demand)
        for s in route.services:
            t = s.task
            if not 0 <= t < num_tasks:
                violations.append(f"route {r}: task {t} does not exist")
                continue
            seen[t] += 1
            kind = int(data.task_kind[t])
            u, v = int(data.task_u[t]), int(data.task_v[t])
            if s.reverse:
                if kind != TaskKind.EDGE:
                    name = "arc" if kind == TaskKind.ARC else "node"
                    violations.append(
                        f"route {r}: {name} task {data.task_labels[t]!r} served against its "
                        "direction"
                    )
                u, v = v, u
            steps.append((u, v, int(data.task_serve_cost[t]), int(data.task_demand[t])))
        walks.append((depot, steps))
        here = depot
        for start, end, _, _ in [*steps, (depot, depot, 0, 0)]:
            legs.add((here, start))
            here = end
    for t in np.flatnonzero(seen == 0).tolist():
        violations.append(f"task {data.task_labels[t]!r} is not served")
    for t in np.flatnonzero(seen > 1).tolist():
        violations.append(f"task {data.task_labels[t]!r} is served {int(seen[t])} times")

    dist = _leg_costs(data, sorted(legs))
    route_costs: list[int] = []
    route_demands: list[int] = []
    used = [0] * len(data.vehicle_types)
    fixed = 0
    for r, (route, walk) in enumerate(zip(solution.routes, walks, strict=True)):
        if walk is None:
            route_costs.append(0)
            route_demands.append(0)
            continue
        depot, steps = walk
        vt = data.vehicle_types[route.vehicle_type]
        used[route.vehicle_type] += 1
        fixed += vt.fixed_cost
        cost = 0
        demand = 0
        here = depot
        for start, end, serve, dem in [*steps, (depot, depot, 0, 0)]:
            leg = dist[(here, start)]
            if not np.isfinite(leg):
                violations.append(f"route {r}: no deadheading path from node {here} to {start}")
            else:
                cost += round(leg)
            cost += serve
            demand += dem
            here = end
        route_costs.append(cost)
        route_demands.append(demand)
        if vt.capacity is not None and demand > vt.capacity:
            violations.append(f"route {r}: demand {demand} exceeds capacity {vt.capacity}")
        if vt.shift_limit is not None and cost > vt.shift_limit:
            violations.append(f"route {r}: duration {cost} exceeds shift limit {vt.shift_limit}")
    for i, vt in enumerate(data.vehicle_types):
        if vt.count is not None and used[i] > vt.count:
            violations.append(f"vehicle type {i}: {used[i]} routes for {vt.count} vehicles")
    return CheckReport(
        feasible=not violations,
        cost=sum(route_costs) + fixed,
        route_costs=tuple(route_costs),
        route_durations=tuple(route_costs),
        route_demands=tuple(route_demands),
        violations=tuple(violations),
    )
