"""Capacitated p-median: optimal on small instances, valid plans, clear errors, reproducible."""

from __future__ import annotations

from itertools import combinations, product
from pathlib import Path

import numpy as np
import pytest

from optimizer.errors import InfeasibleError, SpecificationError
from optimizer.p_median import EXACT_MAX_N, PMedianData, solve_p_median
from optimizer.stop import MaxIterations, MaxRuntime


def brute_force(data: PMedianData) -> float:
    """Enumerate every median set and every assignment of the non-medians."""
    d = data.matrix()
    best = np.inf
    for medians in combinations(range(data.n), data.p):
        others = [i for i in range(data.n) if i not in medians]
        for choice in product(medians, repeat=len(others)):
            full = np.empty(data.n, dtype=int)
            full[list(medians)] = medians
            full[others] = choice
            loads = np.bincount(full, weights=data.demands, minlength=data.n)
            if np.all(loads[list(medians)] <= data.capacities[list(medians)]):
                best = min(best, float(d[np.arange(data.n), full].sum()))
    return best


def random_instance(n: int, p: int, seed: int, slack: float = 1.25) -> PMedianData:
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 100, size=(n, 2))
    dem = rng.integers(1, 10, size=n)
    cap = int(np.ceil(dem.sum() * slack / p))
    return PMedianData(demands=dem, capacities=np.full(n, cap), p=p, coordinates=xy)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_instances_match_brute_force(seed: int) -> None:
    """On 8 points with p=2 the solver's cost equals the enumerated optimum."""
    data = random_instance(8, 2, seed, slack=1.1)
    result = solve_p_median(data, stop=MaxRuntime(10), seed=seed)
    assert result.proved_optimal
    assert result.cost == pytest.approx(brute_force(data))
    assert data.violations(result.assignment) == []


def test_pmedcap01_optimum(shared_dir: Path) -> None:
    """OR-Library pmedcap01 (floored Euclidean) solves to its proven optimum 713."""
    from bench.cpmp import read_instance

    inst = read_instance(shared_dir / "bench" / "cpmp" / "orlib_pmedcap" / "pmedcap01.txt")
    result = solve_p_median(inst.data, stop=MaxIterations(1), seed=0)
    assert result.cost == 713
    assert result.proved_optimal


def test_large_instance_respects_capacities_and_self_service() -> None:
    """Above the exact size the matheuristic returns p medians, each serving itself, in capacity."""
    data = random_instance(EXACT_MAX_N + 20, 6, seed=4, slack=1.1)
    result = solve_p_median(data, stop=MaxIterations(3), seed=3)
    assert len(result.medians) == data.p
    a = result.assignment
    for m in result.medians:
        assert a[m] == m
        assert data.demands[a == m].sum() <= data.capacities[m]
    assert set(np.unique(a).tolist()) == set(result.medians)
    assert result.cost == pytest.approx(float(data.matrix()[np.arange(data.n), a].sum()))


def test_reproducible_with_count_based_stop() -> None:
    """Same seed and an iteration limit give the identical plan."""
    data = random_instance(EXACT_MAX_N + 10, 4, seed=5)
    a = solve_p_median(data, stop=MaxIterations(2), seed=9)
    b = solve_p_median(data, stop=MaxIterations(2), seed=9)
    assert np.array_equal(a.assignment, b.assignment)


def test_floor_distance_mode() -> None:
    """The OR-Library convention truncates each Euclidean distance."""
    data = PMedianData(
        demands=np.ones(2),
        capacities=np.full(2, 2),
        p=1,
        coordinates=np.array([[0, 0], [1, 1]]),
        distance="floor",
    )
    assert data.matrix()[0, 1] == 1.0
    assert solve_p_median(data, stop=MaxRuntime(5)).cost == 1.0


def test_capacity_too_small_is_explained() -> None:
    """Total demand above p times capacity raises InfeasibleError with the numbers."""
    data = PMedianData(
        demands=np.full(4, 5), capacities=np.full(4, 6), p=2, coordinates=np.eye(4, 2)
    )
    with pytest.raises(InfeasibleError, match="total demand 20 exceeds"):
        solve_p_median(data, stop=MaxRuntime(5))


def test_bad_input_names_the_field() -> None:
    """Malformed data raise SpecificationError naming the argument."""
    with pytest.raises(SpecificationError, match="capacities"):
        PMedianData(demands=np.ones(3), capacities=np.ones(2), p=1, coordinates=np.zeros((3, 2)))
    with pytest.raises(SpecificationError, match="p must be"):
        PMedianData(demands=np.ones(3), capacities=np.ones(3), p=4, coordinates=np.zeros((3, 2)))


def test_decimal_demands_respect_capacity() -> None:
    """Decimal demands (as in spain737_148_1) are scaled, never rounded into an overload."""
    rng = np.random.default_rng(8)
    dem = np.round(rng.uniform(1, 5, size=9), 2)
    cap = np.full(9, float(np.round(dem.sum() / 2 * 1.05, 2)))
    data = PMedianData(demands=dem, capacities=cap, p=2, coordinates=rng.integers(0, 50, (9, 2)))
    result = solve_p_median(data, stop=MaxIterations(1), seed=0)
    assert data.violations(result.assignment) == []
    assert result.cost == pytest.approx(brute_force(data))


@pytest.mark.parametrize("seed", [0, 1])
def test_median_swap_search_ends_in_a_swap_local_optimum(seed: int) -> None:
    """Several swaps are applied per round; the end point must still admit no improving swap."""
    from optimizer.p_median import _Solver

    data = random_instance(120, 12, seed)
    solver = _Solver(data, MaxIterations(1), seed)
    start = solver.initial_medians()
    medians = solver.swap_search(start, None)
    d = data.matrix()

    def cost(meds: np.ndarray) -> float:
        return float(d[:, meds].min(axis=1).sum())

    assert len(set(medians.tolist())) == data.p
    assert cost(medians) <= cost(start)
    base = cost(medians)
    tolerance = 1e-6 * base + 1e-9  # the search's own threshold for a worthwhile swap
    for j in range(data.p):
        for c in np.setdiff1d(np.arange(data.n), medians):
            swapped = medians.copy()
            swapped[j] = c
            assert cost(swapped) >= base - tolerance - 1e-6
