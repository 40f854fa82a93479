"""orient_route: the layered DP matches brute force over all direction choices and never worsens."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from optimizer._orientation import orient_route, orient_routes
from optimizer._task_graph import TaskGraph, build_task_graph
from optimizer.carp_data import CarpModel


def _graph(seed: int) -> TaskGraph:
    """A two-way ring with one-way chords; edge tasks on ring links, arc tasks on chords."""
    rng = np.random.default_rng(seed)
    n = 8
    m = CarpModel(name=f"orient{seed}")
    for _ in range(n):
        m.add_node()
    for i in range(n):
        c = int(rng.integers(1, 10))
        m.add_link(i, (i + 1) % n, c, both_ways=True)
        m.add_required_edge(i, (i + 1) % n, serve_cost=c, demand=1)
    for _ in range(3):
        a, b = (int(x) for x in rng.choice(n, 2, replace=False))
        c = int(rng.integers(1, 6))
        m.add_link(a, b, c)
        m.add_required_arc(a, b, serve_cost=c, demand=1)
    m.add_vehicle_type(0, capacity=100)
    return build_task_graph(m.data())


@pytest.mark.parametrize("seed", range(5))
def test_orient_route_is_optimal_over_all_directions(seed: int) -> None:
    tg = _graph(seed)
    rng = np.random.default_rng(100 + seed)
    tasks = [int(t) for t in rng.permutation(len(tg.task_options))[:7]]
    start = [tg.task_options[t][0] for t in tasks]
    best = min(
        tg.route_cost(0, list(choice))
        for choice in itertools.product(*(tg.task_options[t] for t in tasks))
    )
    oriented = orient_route(tg, 0, start)
    assert [int(tg.task[o]) for o in oriented] == tasks
    assert tg.route_cost(0, oriented) == best
    assert best <= tg.route_cost(0, start)


def test_orient_routes_keeps_optimal_routes_and_empty_ones() -> None:
    tg = _graph(0)
    route = orient_route(tg, 0, [tg.task_options[t][-1] for t in range(4)])
    assert orient_routes(tg, [(0, route), (0, [])]) == [(0, route), (0, [])]
