"""Cost sharing among municipalities: proportional rules, Shapley value and the core check.

Pure arithmetic over a *coalition cost function* ``c(S)``: the cost a group ``S`` of players
(towns) would pay if it bundled on its own, with ``c(∅) = 0``. Players are numbered
``0 .. n - 1``; a coalition is a ``frozenset`` of player numbers.

- `proportional_shares` splits a total by any non-negative weights (asset km, workload,
  population).
- `shapley_exact` evaluates all ``2^n`` coalitions once (cached, optionally through a caller's
  ``map`` so the solves can fan out on Dask) and returns the Shapley value; efficiency (the shares
  add up to ``c(N)``) and symmetry hold by construction.
- `shapley_sampled` averages marginal costs over seeded random permutations; each permutation's
  marginals add up to ``c(N)``, so efficiency holds exactly for the estimate too.
- `core_violations` lists every coalition that would pay more under a split than on its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
import numpy.typing as npt

from optimizer.errors import SpecificationError

FloatArray = npt.NDArray[np.float64]
Coalition = frozenset[int]
CoalitionCost = Callable[[Coalition], float]
MapFn = Callable[[CoalitionCost, Sequence[Coalition]], Iterable[float]]

# Beyond this many players exact Shapley (2^n coalitions) is refused; use `shapley_sampled`.
MAX_EXACT_PLAYERS = 16


def proportional_shares(total: float, weights: Sequence[float] | FloatArray) -> FloatArray:
    """Split ``total`` in proportion to ``weights`` (>= 0, not all 0); the shares sum to it."""
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.size == 0:
        raise SpecificationError("weights must hold at least one player")
    if not np.all(np.isfinite(w)) or (w < 0).any():
        bad = int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])
        raise SpecificationError(f"weights must be finite and >= 0, got {w[bad]} for player {bad}")
    s = float(w.sum())
    if s <= 0:
        raise SpecificationError("weights must not all be zero")
    shares = total * w / s
    # Put the rounding residue on the largest share so the sum is exact in floating point.
    shares[int(np.argmax(w))] += total - float(shares.sum())
    return shares


@dataclass(frozen=True)
class FormulaShares:
    """A council's cost-sharing formula (均等割 + 人口割 + 実績割) applied to ``total``.

    ``equal``, ``population`` and ``actual`` are each player's part under each term; ``shares``
    is their sum and adds up to ``total``.
    """

    equal: FloatArray
    population: FloatArray
    actual: FloatArray

    @property
    def shares(self) -> FloatArray:
        """Each player's share (the three parts added)."""
        return self.equal + self.population + self.actual


def formula_shares(
    total: float,
    *,
    populations: Sequence[float] | FloatArray,
    actuals: Sequence[float] | FloatArray,
    weights: tuple[float, float, float],
) -> FormulaShares:
    """Split ``total`` as councils do: ``weights`` = (均等割, 人口割, 実績割) shares of it.

    The equal term splits its part evenly, the population term in proportion to
    ``populations``, the actual term in proportion to ``actuals`` (asset km or workload). The
    weights must be >= 0 and are normalised to sum to 1; a term whose weight is 0 needs no data.
    """
    pops = np.asarray(populations, dtype=np.float64).reshape(-1)
    acts = np.asarray(actuals, dtype=np.float64).reshape(-1)
    if pops.size != acts.size:
        raise SpecificationError(
            f"populations ({pops.size}) and actuals ({acts.size}) must have one value per player"
        )
    n = pops.size
    if n == 0:
        raise SpecificationError("formula_shares needs at least one player")
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (3,) or not np.all(np.isfinite(w)) or (w < 0).any() or w.sum() <= 0:
        raise SpecificationError(f"weights must be three numbers >= 0, not all 0; got {weights}")
    w = w / w.sum()

    def part(weight: float, basis: FloatArray) -> FloatArray:
        if weight <= 0:
            return np.zeros(n, dtype=np.float64)
        return proportional_shares(total * weight, basis)

    parts = FormulaShares(
        equal=part(float(w[0]), np.ones(n)),
        population=part(float(w[1]), pops),
        actual=part(float(w[2]), acts),
    )
    # Put the floating-point residue on the largest share so the sum is exact.
    residue = total - float(parts.shares.sum())
    parts.actual[int(np.argmax(parts.shares))] += residue
    return parts


@dataclass
class CoalitionCache:
    """Memoises a coalition cost function and counts how many times it was really called.

    ``c(∅)`` is 0 by definition and never calls the function.
    """

    cost: CoalitionCost
    values: dict[Coalition, float] = field(default_factory=dict)
    calls: int = 0

    def __call__(self, coalition: Iterable[int]) -> float:
        key = frozenset(coalition)
        if not key:
            return 0.0
        if key not in self.values:
            value = float(self.cost(key))
            if not math.isfinite(value):
                raise SpecificationError(f"cost of coalition {sorted(key)} is not finite: {value}")
            self.values[key] = value
            self.calls += 1
        return self.values[key]

    def fill(self, coalitions: Iterable[Coalition], map_fn: MapFn | None = None) -> None:
        """Evaluate every coalition not yet cached, through ``map_fn(cost, coalitions)`` if given.

        ``map_fn`` must return the costs in the order of the coalitions it was handed (like the
        builtin ``map`` or a Dask client's ``map`` + ``gather``).
        """
        todo = [c for c in dict.fromkeys(frozenset(c) for c in coalitions) if c]
        todo = [c for c in todo if c not in self.values]
        if not todo:
            return
        if map_fn is None:
            for c in todo:
                self(c)
            return
        results = list(map_fn(self.cost, todo))
        if len(results) != len(todo):
            raise SpecificationError(
                f"map_fn returned {len(results)} costs for {len(todo)} coalitions"
            )
        for c, value in zip(todo, results, strict=True):
            v = float(value)
            if not math.isfinite(v):
                raise SpecificationError(f"cost of coalition {sorted(c)} is not finite: {v}")
            self.values[c] = v
            self.calls += 1


@dataclass(frozen=True)
class ShapleyResult:
    """Shapley shares per player, the grand-coalition cost and how the value was obtained.

    ``std_error`` is the standard error of each share for the sampled estimate (zeros if exact);
    ``calls`` counts real evaluations of the cost function (cache misses).
    """

    shares: FloatArray
    grand_cost: float
    exact: bool
    calls: int
    permutations: int = 0
    std_error: FloatArray | None = None


def all_coalitions(n: int) -> Iterator[Coalition]:
    """Every non-empty coalition of ``n`` players, smallest first."""
    for size in range(1, n + 1):
        for combo in combinations(range(n), size):
            yield frozenset(combo)


def _check_players(n: int) -> None:
    if n < 1:
        raise SpecificationError(f"number of players must be >= 1, got {n}")


def shapley_exact(
    n: int, cost: CoalitionCost | CoalitionCache, *, map_fn: MapFn | None = None
) -> ShapleyResult:
    """Exact Shapley value of the cost game with ``n`` players (evaluates all 2^n - 1 coalitions).

    ``phi_i = sum over S not containing i of |S|! (n - |S| - 1)! / n! * (c(S ∪ {i}) - c(S))``.
    Pass a `CoalitionCache` to share solves with a later core check.
    """
    _check_players(n)
    if n > MAX_EXACT_PLAYERS:
        raise SpecificationError(
            f"exact Shapley with n={n} players needs 2^{n} coalitions; use shapley_sampled"
        )
    cache = cost if isinstance(cost, CoalitionCache) else CoalitionCache(cost)
    cache.fill(all_coalitions(n), map_fn)
    # Table of coalition costs by bitmask, then one vectorised sum per player.
    size = 1 << n
    values = np.zeros(size, dtype=np.float64)
    popcount = np.zeros(size, dtype=np.int64)
    for mask in range(1, size):
        members = frozenset(i for i in range(n) if mask >> i & 1)
        values[mask] = cache(members)
        popcount[mask] = len(members)
    weight_by_size = np.array(
        [math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)]
    )
    masks = np.arange(size)
    shares = np.zeros(n, dtype=np.float64)
    for i in range(n):
        without = masks[(masks >> i & 1) == 0]
        marginal = values[without | (1 << i)] - values[without]
        shares[i] = float(np.sum(weight_by_size[popcount[without]] * marginal))
    grand = float(values[size - 1])
    return ShapleyResult(
        shares=shares,
        grand_cost=grand,
        exact=True,
        calls=cache.calls,
        std_error=np.zeros(n),
    )


def shapley_sampled(
    n: int,
    cost: CoalitionCost | CoalitionCache,
    *,
    permutations: int,
    seed: int,
    map_fn: MapFn | None = None,
) -> ShapleyResult:
    """Shapley value estimated from ``permutations`` seeded random orders of the players.

    Antithetic pairs (an order and its reverse) reduce the variance; the shares always add up to
    ``c(N)`` because each order's marginal costs do. The orders are drawn first, so every
    coalition they need can be evaluated in one batch through ``map_fn`` (parallel solves).
    """
    _check_players(n)
    if permutations < 1:
        raise SpecificationError(f"permutations must be >= 1, got {permutations}")
    cache = cost if isinstance(cost, CoalitionCache) else CoalitionCache(cost)
    rng = np.random.default_rng(seed)
    orders: list[npt.NDArray[np.int64]] = []
    for k in range(permutations):
        orders.append(rng.permutation(n) if k % 2 == 0 else orders[-1][::-1])
    prefixes = [frozenset(int(p) for p in order[: j + 1]) for order in orders for j in range(n)]
    cache.fill(prefixes, map_fn)
    samples = np.zeros((permutations, n), dtype=np.float64)
    for k, order in enumerate(orders):
        previous = 0.0
        for j, player in enumerate(order):
            current = cache(frozenset(int(p) for p in order[: j + 1]))
            samples[k, int(player)] = current - previous
            previous = current
    shares = samples.mean(axis=0)
    std = (
        samples.std(axis=0, ddof=1) / math.sqrt(permutations)
        if permutations > 1
        else np.full(n, np.nan)
    )
    return ShapleyResult(
        shares=shares,
        grand_cost=cache(range(n)),
        exact=False,
        calls=cache.calls,
        permutations=permutations,
        std_error=std,
    )


@dataclass(frozen=True)
class CoreViolation:
    """A coalition whose members would together pay ``paid`` under the split, more than the
    ``alone`` cost they would bear by bundling on their own (``excess = paid - alone`` > 0)."""

    coalition: Coalition
    paid: float
    alone: float

    @property
    def excess(self) -> float:
        """How much more the coalition pays than on its own."""
        return self.paid - self.alone


def core_violations(
    shares: Sequence[float] | FloatArray,
    cost: CoalitionCost | CoalitionCache | Mapping[Coalition, float],
    *,
    coalitions: Iterable[Coalition] | None = None,
    tol: float = 1e-6,
) -> list[CoreViolation]:
    """Coalitions S with ``sum(shares[S]) > c(S) + tol``, worst excess first.

    Checks every proper non-empty coalition unless ``coalitions`` limits the check (for many
    players). ``cost`` may be a function, a `CoalitionCache` or a precomputed mapping. A split is
    in the core when it is efficient (checked separately: `is_efficient`) and this list is empty.
    """
    x = np.asarray(shares, dtype=np.float64).reshape(-1)
    n = x.size
    _check_players(n)
    if coalitions is None:
        if n > MAX_EXACT_PLAYERS:
            raise SpecificationError(
                f"a full core check with n={n} players needs 2^{n} coalitions; pass coalitions="
            )
        coalitions = (c for c in all_coalitions(n) if len(c) < n)
    lookup: Callable[[Coalition], float]
    if isinstance(cost, Mapping):
        table = cost

        def lookup(c: Coalition) -> float:
            if c not in table:
                raise SpecificationError(f"no cost given for coalition {sorted(c)}")
            return float(table[c])

    else:
        lookup = cost
    found: list[CoreViolation] = []
    for c in coalitions:
        coalition = frozenset(c)
        if not coalition:
            continue
        if min(coalition) < 0 or max(coalition) >= n:
            raise SpecificationError(
                f"coalition {sorted(coalition)} names a player outside 0..{n - 1}"
            )
        paid = float(x[sorted(coalition)].sum())
        alone = float(lookup(coalition))
        if paid > alone + tol:
            found.append(CoreViolation(coalition=coalition, paid=paid, alone=alone))
    found.sort(key=lambda v: -v.excess)
    return found


def is_efficient(shares: Sequence[float] | FloatArray, total: float, *, tol: float = 1e-6) -> bool:
    """Whether the shares add up to ``total`` (within ``tol`` relative to the total)."""
    s = float(np.sum(np.asarray(shares, dtype=np.float64)))
    return abs(s - total) <= tol * max(1.0, abs(total))
