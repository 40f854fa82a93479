"""Cost sharing: proportional split, exact and sampled Shapley, core check on hand-made games."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from optimizer.cost_sharing import (
    CoalitionCache,
    all_coalitions,
    core_violations,
    formula_shares,
    is_efficient,
    proportional_shares,
    shapley_exact,
    shapley_sampled,
)
from optimizer.errors import SpecificationError

# Airport game: runway needs 6, 12, 18; a group pays for its longest need.
AIRPORT = (6.0, 12.0, 18.0)


def airport(coalition: frozenset[int]) -> float:
    return max(AIRPORT[i] for i in coalition)


def test_proportional_shares_sum_to_total_and_follow_weights() -> None:
    """Shares are proportional to the weights and add up to the total exactly."""
    shares = proportional_shares(1000.0, [1.0, 3.0, 0.0, 6.0])
    assert shares.sum() == pytest.approx(1000.0, abs=1e-9)
    assert shares.tolist() == pytest.approx([100.0, 300.0, 0.0, 600.0])


@pytest.mark.parametrize("weights", [[], [0.0, 0.0], [1.0, -1.0], [1.0, math.nan]])
def test_proportional_shares_reject_bad_weights(weights: list[float]) -> None:
    """Empty, all-zero, negative or NaN weights are refused with a clear message."""
    with pytest.raises(SpecificationError, match="weights"):
        proportional_shares(10.0, weights)


def test_shapley_exact_airport_game_known_answer() -> None:
    """The airport game's Shapley value is (2, 5, 11) by hand: the segments are shared equally."""
    result = shapley_exact(3, airport)
    assert result.exact
    assert result.shares.tolist() == pytest.approx([2.0, 5.0, 11.0])
    assert result.grand_cost == 18.0
    assert result.calls == 7


def test_shapley_matches_permutation_definition() -> None:
    """On a random 5-player game the exact value equals the average over all 120 orders."""
    rng = np.random.default_rng(3)
    table = {c: float(rng.uniform(1, 10) * len(c) ** 0.8) for c in all_coalitions(5)}

    def cost(c: frozenset[int]) -> float:
        return table[c] if c else 0.0

    brute = np.zeros(5)
    orders = list(itertools.permutations(range(5)))
    for order in orders:
        members: set[int] = set()
        for p in order:
            before = cost(frozenset(members))
            members.add(p)
            brute[p] += cost(frozenset(members)) - before
    brute /= len(orders)
    assert shapley_exact(5, cost).shares.tolist() == pytest.approx(brute.tolist())


def test_shapley_symmetry_and_efficiency() -> None:
    """Players 0 and 1 are interchangeable, so they pay the same; shares sum to c(N)."""
    base = {0: 4.0, 1: 4.0, 2: 9.0, 3: 1.0}

    def cost(c: frozenset[int]) -> float:
        # Sub-additive: a shared fixed cost of 5 plus each member's own cost.
        return 5.0 + sum(base[i] for i in c)

    result = shapley_exact(4, cost)
    assert result.shares[0] == pytest.approx(result.shares[1])
    assert result.shares[2] > result.shares[3]
    assert is_efficient(result.shares, cost(frozenset(range(4))))
    # The fixed cost is split equally: each pays its own cost plus 5/4.
    assert result.shares.tolist() == pytest.approx([base[i] + 1.25 for i in range(4)])


def test_shapley_exact_parallel_map_gives_same_answer_and_counts_calls() -> None:
    """A caller's map (here the builtin) fills the cache; a shared cache is not solved twice."""
    cache = CoalitionCache(airport)
    seen: list[int] = []

    def my_map(fn, coalitions):
        seen.append(len(coalitions))
        return [fn(c) for c in coalitions]

    result = shapley_exact(3, cache, map_fn=my_map)
    assert seen == [7]
    assert result.shares.tolist() == pytest.approx([2.0, 5.0, 11.0])
    again = shapley_exact(3, cache, map_fn=my_map)
    assert seen == [7]
    assert again.calls == 7


def test_shapley_sampled_is_efficient_seeded_and_close() -> None:
    """The sampled value adds up to c(N) exactly, repeats with the seed and nears the exact one."""
    a = shapley_sampled(3, airport, permutations=400, seed=7)
    b = shapley_sampled(3, airport, permutations=400, seed=7)
    assert not a.exact
    assert a.shares.tolist() == b.shares.tolist()
    assert a.shares.sum() == pytest.approx(18.0)
    assert a.shares.tolist() == pytest.approx([2.0, 5.0, 11.0], abs=0.6)
    assert a.calls <= 7


def test_core_check_accepts_shapley_of_airport_game() -> None:
    """The airport game's Shapley value lies in its core: no coalition pays more than alone."""
    assert core_violations([2.0, 5.0, 11.0], airport) == []


def test_core_violation_detected_on_crafted_split() -> None:
    """Charging player 0 ten when it alone would pay six violates {0} and {0, 1}."""
    found = core_violations([10.0, 4.0, 4.0], airport)
    coalitions = {v.coalition: v for v in found}
    assert set(coalitions) == {frozenset({0}), frozenset({0, 1})}
    assert found[0].excess == pytest.approx(4.0)
    assert coalitions[frozenset({0, 1})].paid == pytest.approx(14.0)


def test_core_check_with_mapping_reports_missing_coalition() -> None:
    """A precomputed table that misses a coalition is an error naming it."""
    with pytest.raises(SpecificationError, match=r"\[0, 1\]"):
        core_violations([1.0, 1.0, 1.0], {frozenset({0}): 5.0}, coalitions=[frozenset({0, 1})])


def test_exact_refuses_too_many_players() -> None:
    """Exact Shapley stops at a documented player count."""
    with pytest.raises(SpecificationError, match="shapley_sampled"):
        shapley_exact(40, airport)


def test_council_formula_splits_equal_population_and_actual_parts() -> None:
    """均等割 20 % + 人口割 30 % + 実績割 50 %: each part splits its weight of the total, and the
    shares sum to the total exactly."""
    total = 1_000_000.0
    f = formula_shares(total, populations=[30_000, 10_000], actuals=[10.0, 30.0], weights=(2, 3, 5))
    assert list(f.equal) == pytest.approx([100_000, 100_000])
    assert list(f.population) == pytest.approx([225_000, 75_000])
    assert list(f.actual) == pytest.approx([125_000, 375_000])
    assert float(f.shares.sum()) == total
    only_equal = formula_shares(total, populations=[0, 0, 0], actuals=[0, 0, 0], weights=(1, 0, 0))
    assert list(only_equal.shares) == pytest.approx([total / 3] * 3)
    with pytest.raises(SpecificationError, match="weights"):
        formula_shares(total, populations=[1], actuals=[1], weights=(0, 0, 0))
