"""Deadhead shortest paths: distances against Floyd-Warshall, parallel and one-way links, paths."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from optimizer.carp_data import CarpModel
from optimizer.carp_solution import CarpSolution, Route, Service
from optimizer.shortest_paths import (
    UNREACHABLE,
    DeadheadGraph,
    route_deadhead_pairs,
    solution_deadhead_paths,
)


def _floyd(n: int, links: list[tuple[int, int, int]]) -> np.ndarray:
    dist = np.full((n, n), np.inf)
    np.fill_diagonal(dist, 0)
    for t, h, c in links:
        dist[t, h] = min(dist[t, h], c)
    for k, i, j in itertools.product(range(n), repeat=3):
        dist[i, j] = min(dist[i, j], dist[i, k] + dist[k, j])
    return dist


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_distances_match_floyd_warshall(seed: int) -> None:
    """Random directed multigraphs with zero-cost and parallel links: same as Floyd-Warshall."""
    rng = np.random.default_rng(seed)
    n = 9
    links = [
        (int(rng.integers(n)), int(rng.integers(n)), int(rng.integers(0, 20))) for _ in range(25)
    ]
    arr = np.array(links, dtype=np.int64)
    graph = DeadheadGraph(n, arr[:, 0], arr[:, 1], arr[:, 2])
    expected = _floyd(n, links)
    got = graph.distances(list(range(n)))
    assert np.array_equal(got == UNREACHABLE, np.isinf(expected))
    finite = np.isfinite(expected)
    assert np.array_equal(got[finite], expected[finite].astype(np.int64))
    # A subset of sources and targets, with a repeated source, picks the same entries.
    sub = graph.distances([3, 1, 3], [0, 5])
    assert np.array_equal(sub, got[np.ix_([3, 1, 3], [0, 5])])


def _line_model() -> CarpModel:
    # 0 -> 1 -> 2 one way (cost 5 via the cheaper of two parallel links 0 -> 1),
    # 2 <-> 0 both ways (cost 6).
    m = CarpModel()
    for _ in range(4):
        m.add_node()
    m.add_link(0, 1, 9)
    m.add_link(0, 1, 2)
    m.add_link(1, 2, 3)
    m.add_link(2, 0, 6, both_ways=True)
    m.add_required_edge(1, 2, serve_cost=3, demand=1)
    m.add_vehicle_type(0)
    return m


def test_paths_follow_cheapest_links_and_respect_direction() -> None:
    """Node and link paths use the cheaper parallel link; one-way links are not used backwards."""
    data = _line_model().data()
    graph = DeadheadGraph.from_data(data)
    assert graph.node_path(0, 2) == [0, 1, 2]
    assert graph.link_path(0, 2) == [1, 2]  # link 1 is the cost-2 parallel of link 0
    assert graph.node_path(1, 0) == [1, 2, 0]
    assert graph.node_path(2, 2) == [2]
    assert int(graph.distances([1], [0])[0, 0]) == 3 + 6
    assert int(graph.distances([0], [3])[0, 0]) == UNREACHABLE
    with pytest.raises(ValueError, match="cannot be reached"):
        graph.node_path(0, 3)


def test_solution_deadhead_paths_give_one_leg_per_gap() -> None:
    """A route with k services has k + 1 legs from depot to depot, each ending where needed."""
    data = _line_model().data()
    route = Route(vehicle_type=0, services=(Service(0, reverse=True),))  # serve 2 -> 1
    solution = CarpSolution(routes=(route,))
    legs = solution_deadhead_paths(data, solution)
    assert route_deadhead_pairs(data, route) == [(0, 2), (1, 0)]
    assert legs == [[[0, 1, 2], [1, 2, 0]]]
