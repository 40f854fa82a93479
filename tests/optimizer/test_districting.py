"""Districting: plans keep contiguity, balance, size limits, locks, whole groups; clear errors."""

from __future__ import annotations

from collections import deque

import numpy as np
import pytest

from optimizer.districting import DistrictingData, DistrictingResult, solve_districting
from optimizer.errors import InfeasibleError
from optimizer.stop import MaxIterations, MaxRuntime


def grid(
    width: int, height: int, seed: int = 0
) -> tuple[int, list[tuple[int, int]], np.ndarray, np.ndarray]:
    """A width x height grid of units with rook adjacency, Manhattan cost and random weights."""
    n = width * height
    xy = np.array([(i % width, i // width) for i in range(n)], dtype=float)
    adj = [(i, i + 1) for i in range(n) if i % width < width - 1]
    adj += [(i, i + width) for i in range(n - width)]
    cost = np.rint(np.abs(xy[:, None, :] - xy[None, :, :]).sum(-1) * 10).astype(np.int64)
    weights = np.random.default_rng(seed).integers(1, 20, n)
    return n, adj, cost, weights


def connected(members: list[int], adjacency: list[tuple[int, int]]) -> bool:
    """Own BFS: is the set of units one connected piece?"""
    inside = set(members)
    nbr: dict[int, list[int]] = {u: [] for u in inside}
    for i, j in adjacency:
        if i in inside and j in inside:
            nbr[i].append(j)
            nbr[j].append(i)
    start = members[0]
    seen = {start}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        for v in nbr[u]:
            if v not in seen:
                seen.add(v)
                queue.append(v)
    return len(seen) == len(inside)


def assert_valid(data: DistrictingData, result: DistrictingResult) -> None:
    """Every unit in one region, every region non-empty and connected, balance and size hold."""
    labels = result.labels
    assert labels.shape == (data.num_units,)
    assert set(labels.tolist()) == set(range(data.k))
    mean = data.weights.sum() / data.k
    for r in range(data.k):
        members = np.flatnonzero(labels == r).tolist()
        assert connected(members, list(data.adjacency)), f"region {r} is not contiguous"
        w = int(data.weights[members].sum())
        assert w == result.region_weights[r]
        if data.balance_tolerance is not None:
            assert abs(w - mean) <= data.balance_tolerance * mean + 1e-9
        if data.max_weight is not None:
            assert w <= data.max_weight
        assert labels[result.centres[r]] == r, "a region's centre lies inside it"
    # The reported objective is the compactness of the returned plan.
    recomputed = sum(
        int(data.weights[u]) * int(data.cost[u, result.centres[labels[u]]])
        for u in range(data.num_units)
    )
    assert result.objective == recomputed


def test_small_grid_contiguous_and_balanced() -> None:
    """A 6x6 grid split into 3 regions within 5 % of the mean workload."""
    n, adj, cost, w = grid(6, 6)
    data = DistrictingData(
        num_units=n, weights=w, adjacency=adj, cost=cost, k=3, balance_tolerance=0.05
    )
    result = solve_districting(data, stop=MaxRuntime(10), seed=1)
    assert result.feasible
    assert_valid(data, result)


def test_exact_matches_brute_force_on_a_path() -> None:
    """On a path of 7 units with k=2 the optimum is enumerated: every cut, every centre."""
    n = 7
    adj = [(i, i + 1) for i in range(n - 1)]
    cost = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :]) * 3
    w = np.array([5, 1, 4, 2, 6, 3, 2])
    data = DistrictingData(num_units=n, weights=w, adjacency=adj, cost=cost, k=2)
    best = min(
        sum(
            min(sum(w[u] * cost[u, c] for u in part) for c in part)
            for part in (range(cut), range(cut, n))
        )
        for cut in range(1, n)
    )
    result = solve_districting(data, stop=MaxIterations(3), seed=0)
    assert result.objective == best
    assert_valid(data, result)


def test_larger_grid_tight_balance() -> None:
    """A 12x12 grid, k=4 with a 3 % balance band, still contiguous."""
    n, adj, cost, w = grid(12, 12, seed=3)
    data = DistrictingData(
        num_units=n, weights=w, adjacency=adj, cost=cost, k=4, balance_tolerance=0.03
    )
    result = solve_districting(data, stop=MaxRuntime(4), seed=2)
    assert_valid(data, result)


def test_locked_units_stay() -> None:
    """Units locked to a region end up in that region."""
    n, adj, cost, w = grid(6, 6, seed=1)
    locked = {0: 2, 35: 0, 5: 1}
    data = DistrictingData(
        num_units=n, weights=w, adjacency=adj, cost=cost, k=3, balance_tolerance=0.1, locked=locked
    )
    result = solve_districting(data, stop=MaxIterations(3), seed=0)
    for u, r in locked.items():
        assert result.labels[u] == r
    assert_valid(data, result)


def test_fixed_centres_keep_their_regions() -> None:
    """With contractor yards fixed, region r is centred on yard r."""
    n, adj, cost, w = grid(6, 6, seed=2)
    yards = (0, 35, 5)
    data = DistrictingData(
        num_units=n,
        weights=w,
        adjacency=adj,
        cost=cost,
        k=3,
        fixed_centres=yards,
        balance_tolerance=0.1,
    )
    result = solve_districting(data, stop=MaxIterations(3), seed=0)
    assert result.centres == yards
    assert_valid(data, result)


def test_groups_kept_whole() -> None:
    """With keep_groups_whole every group (2x2 block of a grid) sits inside one region."""
    n, adj, cost, w = grid(8, 8, seed=4)
    groups = [(i % 8) // 2 + 4 * ((i // 8) // 2) for i in range(n)]
    data = DistrictingData(
        num_units=n,
        weights=w,
        adjacency=adj,
        cost=cost,
        k=4,
        groups=groups,
        keep_groups_whole=True,
        balance_tolerance=0.25,
    )
    result = solve_districting(data, stop=MaxIterations(3), seed=0)
    for g in set(groups):
        assert len({int(result.labels[u]) for u in range(n) if groups[u] == g}) == 1
    assert_valid(data, result)


def test_unit_to_candidate_cost_and_size_limit() -> None:
    """A cost given per candidate centre, with a size limit per region."""
    n, adj, cost, w = grid(6, 5, seed=5)
    cands = [0, 5, 12, 17, 24, 29]
    limit = int(np.ceil(w.sum() / 3 * 1.15))
    data = DistrictingData(
        num_units=n,
        weights=w,
        adjacency=adj,
        cost=cost[:, cands],
        k=3,
        candidate_centres=cands,
        max_weight=limit,
    )
    result = solve_districting(data, stop=MaxIterations(3), seed=0)
    assert set(result.centres) <= set(cands)
    assert max(result.region_weights) <= limit
    labels = result.labels
    for r in range(3):
        assert connected(np.flatnonzero(labels == r).tolist(), adj)


def test_reproducible_with_count_based_stop() -> None:
    """Same seed and a count-based stop give the identical plan."""
    n, adj, cost, w = grid(7, 7, seed=6)
    data = DistrictingData(
        num_units=n, weights=w, adjacency=adj, cost=cost, k=3, balance_tolerance=0.05
    )
    a = solve_districting(data, stop=MaxIterations(4), seed=7)
    b = solve_districting(data, stop=MaxIterations(4), seed=7)
    assert np.array_equal(a.labels, b.labels)
    assert a.objective == b.objective


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"k": 40}, "only 36 units"),
        ({"k": 3, "max_weight": 10}, "size limit 10"),
        ({"k": 3, "locked": {0: 5}}, "only 3 regions"),
    ],
)
def test_infeasible_requests_explained(kwargs: dict, words: str) -> None:
    """Requests that cannot be met raise InfeasibleError naming the reason."""
    n, adj, cost, w = grid(6, 6)

    def request() -> None:
        data = DistrictingData(num_units=n, weights=w, adjacency=adj, cost=cost, **kwargs)
        solve_districting(data, stop=MaxIterations(2), seed=0)

    with pytest.raises(InfeasibleError, match=words):
        request()


def test_disconnected_map_with_too_few_regions() -> None:
    """Three islands cannot form two connected regions."""
    n = 6
    adj = [(0, 1), (2, 3), (4, 5)]
    cost = np.ones((n, n), dtype=int) - np.eye(n, dtype=int)
    data = DistrictingData(
        num_units=n, weights=np.ones(n, dtype=int), adjacency=adj, cost=cost, k=2
    )
    with pytest.raises(InfeasibleError, match="unconnected pieces"):
        solve_districting(data, stop=MaxIterations(2), seed=0)


def test_locked_units_contradicting_contiguity() -> None:
    """Locked units of one region on two islands: that region cannot be connected."""
    n = 4
    adj = [(0, 1), (2, 3)]
    cost = np.ones((n, n), dtype=int)
    data = DistrictingData(
        num_units=n,
        weights=np.ones(n, dtype=int),
        adjacency=adj,
        cost=cost,
        k=2,
        locked={0: 0, 2: 0},
    )
    with pytest.raises(InfeasibleError, match="locked to region 0"):
        solve_districting(data, stop=MaxIterations(2), seed=0)


def test_balance_impossible_on_a_path() -> None:
    """A path with one huge unit cannot be split into two balanced contiguous halves."""
    n = 5
    adj = [(i, i + 1) for i in range(n - 1)]
    cost = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])
    w = np.array([1, 1, 10, 1, 1])
    data = DistrictingData(
        num_units=n, weights=w, adjacency=adj, cost=cost, k=2, balance_tolerance=0.05
    )
    with pytest.raises(InfeasibleError):
        solve_districting(data, stop=MaxIterations(2), seed=0)
