"""Route first, cluster second: the giant tour, its optimal split, and its use as a start."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import optimizer.arc_routing as ar
from optimizer._construct import total_cost
from optimizer._giant_tour import (
    _match,
    giant_tour,
    giant_tour_routes,
    retour_route,
    retour_routes,
    split_tour,
)
from optimizer._task_graph import TaskGraph, build_task_graph
from optimizer.carp_data import CarpData, CarpModel, TaskKind
from optimizer.checker import check_solution
from optimizer.stop import MaxIterations
from tests.optimizer.test_decompose import _grid


def _streets(
    rows: int,
    cols: int,
    seed: int,
    *,
    capacity: int | None = 1500,
    shift: int | None = None,
    nodes: bool = False,
    gaps: bool = False,
    fixed: int = 0,
) -> CarpData:
    """A street grid, depot in a corner; ``gaps`` leaves every third street unrequired (pieces
    of work that do not touch), ``nodes`` adds node tasks (a loop in the tour)."""
    rng = np.random.default_rng(seed)
    m = CarpModel(name=f"streets{rows}x{cols}")
    node = [[m.add_node() for _ in range(cols)] for _ in range(rows)]
    k = 0
    for r, c in itertools.product(range(rows), range(cols)):
        for dr, dc in ((0, 1), (1, 0)):
            if r + dr >= rows or c + dc >= cols:
                continue
            a, b = node[r][c], node[r + dr][c + dc]
            cost = int(rng.integers(50, 150))
            m.add_link(a, b, cost, both_ways=True)
            k += 1
            if not (gaps and k % 3 == 0):
                m.add_required_edge(a, b, serve_cost=cost, demand=cost)
        if nodes and (r * cols + c) % 5 == 2:
            m.add_required_node(node[r][c], serve_cost=20, demand=30)
    m.add_vehicle_type(node[0][0], capacity=capacity, shift_limit=shift, fixed_cost=fixed)
    return m.data()


def _split_brute_force(tg: TaskGraph, tour: list[int]) -> int | None:
    """Least total cost over every set of cut points of ``tour`` into feasible routes."""
    vt = tg.data.vehicle_types[0]
    best: int | None = None
    n = len(tour)
    for k in range(n):
        for cuts in itertools.combinations(range(1, n), k):
            bounds = [0, *cuts, n]
            cost = 0
            for i, j in itertools.pairwise(bounds):
                seq = tour[i:j]
                length = tg.route_cost(0, seq)
                if vt.capacity is not None and int(tg.demand[seq].sum()) > vt.capacity:
                    break
                if vt.shift_limit is not None and length > vt.shift_limit:
                    break
                cost += length + vt.fixed_cost
            else:
                best = cost if best is None else min(best, cost)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_split_is_optimal(seed: int) -> None:
    """The split's cost equals the brute force over all cut points (capacity, shift limit and a
    fixed cost per route each binding on some seeds), on random task orders and directions."""
    rng = np.random.default_rng(seed)
    shift = 900 if seed % 2 else None
    data = _streets(3, 3, seed, capacity=300 + 50 * seed, shift=shift, fixed=400 * (seed >= 4))
    tg = build_task_graph(data)
    order = rng.permutation(data.num_tasks)
    tour = [int(tg.task_options[t][int(rng.integers(len(tg.task_options[t])))]) for t in order]
    routes = split_tour(tg, tour)
    expected = _split_brute_force(tg, tour)
    if expected is None:
        assert routes is None
        return
    assert routes is not None
    assert [o for _, seq in routes for o in seq] == tour  # the order is kept
    assert total_cost(tg, routes) == expected


@pytest.mark.parametrize(
    ("rows", "cols", "seed", "options"),
    [
        (6, 7, 0, {}),
        (8, 8, 1, {"gaps": True}),
        (7, 9, 2, {"nodes": True, "shift": 6000}),
        (9, 9, 3, {"capacity": None, "shift": 5000, "gaps": True}),
    ],
)
def test_giant_tour_start_passes_the_checker(
    rows: int, cols: int, seed: int, options: dict[str, object]
) -> None:
    """The giant tour holds every task once in a usable direction, and the routes cut from it
    serve every task once within capacity and shift limit (the independent checker agrees)."""
    data = _streets(rows, cols, seed, **options)  # type: ignore[arg-type]
    tg = build_task_graph(data)
    tour = giant_tour(tg)
    assert tour is not None
    assert sorted(int(tg.task[o]) for o in tour) == list(range(data.num_tasks))
    routes = giant_tour_routes(tg)
    assert routes is not None
    report = check_solution(data, tg.to_solution(routes))
    assert report.feasible, report.violations
    assert report.cost == total_cost(tg, routes)
    vt = data.vehicle_types[0]
    for demand, duration in zip(report.route_demands, report.route_durations, strict=True):
        assert vt.capacity is None or demand <= vt.capacity
        assert vt.shift_limit is None or duration <= vt.shift_limit


def test_giant_tour_declines_arcs_and_fixed_fleets() -> None:
    """One-way arc tasks cannot be walked either way, and a counted fleet may not take the
    split's routes: no giant tour then (path scanning stands alone)."""
    mixed = build_task_graph(_grid(5, 5, 0, mixed=True))
    assert giant_tour(mixed) is None
    assert giant_tour_routes(mixed) is None
    m = CarpModel()
    a, b, c = m.add_node(), m.add_node(), m.add_node()
    m.add_link(a, b, 5, both_ways=True)
    m.add_link(b, c, 5, both_ways=True)
    m.add_required_edge(a, b, serve_cost=5, demand=1)
    m.add_required_edge(b, c, serve_cost=5, demand=1)
    m.add_vehicle_type(a, count=1, capacity=5)
    assert giant_tour_routes(build_task_graph(m.data())) is None


@pytest.mark.parametrize("seed", range(5))
def test_match_is_perfect_and_near_minimum(seed: int) -> None:
    """Every odd node is paired exactly once, never worse than pairing greedily by nearest; on
    eight points no exchange of partners between two pairs gains, and the matching is within
    10 % of the brute-force minimum (a heuristic: not always equal to it)."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(0, 1000, size=(60, 2))
    dist = np.rint(np.linalg.norm(points[:, None] - points[None, :], axis=2)).astype(np.int64)
    odd = rng.choice(60, 40, replace=False).astype(np.int64)
    pairs = _match(odd, dist)
    assert sorted(x for p in pairs for x in p) == sorted(odd.tolist())
    left = set(odd.tolist())
    greedy = 0
    for a, b in sorted(itertools.combinations(sorted(left), 2), key=lambda p: dist[p]):
        if a in left and b in left:
            greedy += int(dist[a, b])
            left -= {a, b}
    assert sum(int(dist[a, b]) for a, b in pairs) <= greedy
    few = odd[:8]

    def best(nodes: tuple[int, ...]) -> int:
        if not nodes:
            return 0
        first, rest = nodes[0], nodes[1:]
        return min(
            int(dist[first, rest[i]]) + best(rest[:i] + rest[i + 1 :]) for i in range(len(rest))
        )

    small = _match(few, dist)
    cost = sum(int(dist[a, b]) for a, b in small)
    for (a, b), (c, d) in itertools.combinations(small, 2):
        now = dist[a, b] + dist[c, d]
        assert dist[a, c] + dist[b, d] >= now
        assert dist[a, d] + dist[b, c] >= now
    assert cost <= 1.1 * best(tuple(few.tolist()))


def test_large_solve_is_reproducible_and_no_worse_than_the_tour(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """From `GIANT_TOUR_FROM` tasks on the tour competes as the start: same seed and counted stop
    give the same routes, never costlier than the tour's own routes."""
    monkeypatch.setattr(ar, "GIANT_TOUR_FROM", 100)
    data = _streets(9, 9, 4, capacity=2000)
    assert data.num_tasks >= 100
    first = ar.solve_arc_routing(data, stop=MaxIterations(30), seed=3)
    again = ar.solve_arc_routing(data, stop=MaxIterations(30), seed=3)
    assert first.feasible
    assert first.solution == again.solution
    assert first.cost == again.cost
    tg = build_task_graph(data)
    tour = giant_tour_routes(tg)
    assert tour is not None
    assert first.cost is not None
    assert first.cost <= total_cost(tg, tour)


@pytest.mark.parametrize("seed", range(3))
def test_retour_keeps_the_tasks_and_never_costs_more(seed: int) -> None:
    """A route walked as its own Euler tour serves the same tasks, never costs more, and on a
    shuffled long route (the search's leftovers, exaggerated) costs less; routes with arcs
    stay as they are."""
    rng = np.random.default_rng(seed)
    data = _streets(7, 7, seed, capacity=None, nodes=seed == 1)
    tg = build_task_graph(data)
    tasks = rng.permutation(data.num_tasks)[: data.num_tasks // 2]
    route = [int(tg.task_options[t][int(rng.integers(len(tg.task_options[t])))]) for t in tasks]
    better = retour_route(tg, 0, route)
    assert sorted(int(tg.task[o]) for o in better) == sorted(tasks.tolist())
    assert tg.route_cost(0, better) < tg.route_cost(0, route)
    routes = [(0, route[:5]), (0, route[5:])]
    again = retour_routes(tg, routes)
    for (_, old), (_, new) in zip(routes, again, strict=True):
        assert sorted(int(tg.task[o]) for o in new) == sorted(int(tg.task[o]) for o in old)
        assert tg.route_cost(0, new) <= tg.route_cost(0, old)
    mixed = build_task_graph(_grid(5, 5, seed, mixed=True))
    kinds = mixed.data.task_kind
    arcs = [o for o in range(mixed.num_options) if kinds[int(mixed.task[o])] == TaskKind.ARC]
    edges = [
        mixed.task_options[t][0] for t in range(mixed.data.num_tasks) if kinds[t] == TaskKind.EDGE
    ]
    with_arc = [*edges[:6], arcs[0]]
    assert retour_route(mixed, 0, with_arc[::-1]) == with_arc[::-1]
