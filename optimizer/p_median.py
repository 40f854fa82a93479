"""Capacitated p-median: open p medians among the points, assign every point within capacity.

Method. Small instances (up to `EXACT_MAX_N` points) go to one exact CP-SAT model, hinted by the
heuristic below, that also returns a lower bound. Larger ones are solved by a matheuristic:

1. construction: demand-weighted k-means++ seeding, then capacitated location-allocation rounds
   (regret-greedy assignment repaired by a CP-SAT generalized assignment on the ``K`` nearest
   medians of each point, then each cluster's median moved to its 1-median);
2. large neighbourhood search: a seed median and its ``q - 1`` nearest medians form a window; the
   points they serve are re-solved exactly as a small capacitated p-median by CP-SAT (hinted by the
   current solution, K-nearest sparsified). ``q`` adapts to how fast windows solve; the search stops
   at the time or iteration limit or when no window improves.

Costs are scaled to integers for CP-SAT (exact for integer matrices); the reported cost is
re-evaluated in floating point on the original matrix.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.spatial.distance import cdist

from optimizer._cpsat import (
    AssignmentModel,
    SolveSettings,
    settings_for,
    solve_assignment,
)
from optimizer.errors import InfeasibleError, SpecificationError
from optimizer.stop import (
    MaxRuntime,
    StoppingCriterion,
    iteration_limit,
    no_improvement_limit,
    time_limit,
)

log = logging.getLogger(__name__)

DistanceMode = Literal["euclidean", "floor", "round"]

EXACT_MAX_N = 120
"""Instances with at most this many points are solved by the full exact CP-SAT model."""

_NEAREST_MEDIANS = 10  # assignment arcs per point in the full generalized assignment
_WINDOW_POINTS = 260  # above this many points, a window keeps only candidates near its medians


@dataclass(frozen=True)
class PMedianData:
    """A capacitated p-median instance: every point is a customer and a candidate median.

    Parameters
    ----------
    demands
        Integer demand of each of the ``n`` points (a median's own demand counts against it).
    capacities
        Integer capacity of each point when opened as a median.
    p
        Number of medians to open.
    cost
        ``n x n`` cost matrix (point to median); give this or ``coordinates``.
    coordinates
        ``n x 2`` coordinates; distances follow ``distance``.
    distance
        ``"euclidean"`` (real), ``"floor"`` (truncated, the OR-Library convention) or ``"round"``.
    """

    demands: np.ndarray
    capacities: np.ndarray
    p: int
    cost: np.ndarray | None = None
    coordinates: np.ndarray | None = None
    distance: DistanceMode = "euclidean"
    _matrix: list[np.ndarray] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        demands = np.asarray(self.demands)
        capacities = np.asarray(self.capacities)
        if demands.ndim != 1 or len(demands) == 0:
            raise SpecificationError(f"demands must be a non-empty 1-d array, got {demands.shape}")
        n = len(demands)
        if capacities.shape != (n,):
            raise SpecificationError(f"capacities must have shape ({n},), got {capacities.shape}")
        for name, arr in (("demands", demands), ("capacities", capacities)):
            if not np.all(np.equal(np.mod(arr, 1), 0)) or np.any(arr < 0):
                raise SpecificationError(f"{name} must be non-negative integers")
        if not 1 <= int(self.p) <= n:
            raise SpecificationError(
                f"p must be between 1 and the number of points {n}, got {self.p}"
            )
        if (self.cost is None) == (self.coordinates is None):
            raise SpecificationError("give exactly one of cost (matrix) or coordinates")
        if self.cost is not None:
            cost = np.asarray(self.cost, dtype=np.float64)
            if cost.shape != (n, n):
                raise SpecificationError(f"cost must have shape ({n}, {n}), got {cost.shape}")
            if not np.all(np.isfinite(cost)) or np.any(cost < 0):
                raise SpecificationError("cost must be finite and non-negative")
            object.__setattr__(self, "cost", cost)
        else:
            coords = np.asarray(self.coordinates, dtype=np.float64)
            if coords.shape != (n, 2):
                raise SpecificationError(
                    f"coordinates must have shape ({n}, 2), got {coords.shape}"
                )
            object.__setattr__(self, "coordinates", coords)
        if self.distance not in ("euclidean", "floor", "round"):
            raise SpecificationError(
                f"distance must be euclidean, floor or round, got {self.distance}"
            )
        object.__setattr__(self, "demands", demands.astype(np.int64))
        object.__setattr__(self, "capacities", capacities.astype(np.int64))
        object.__setattr__(self, "p", int(self.p))

    @property
    def n(self) -> int:
        """Number of points."""
        return len(self.demands)

    def matrix(self) -> np.ndarray:
        """The ``n x n`` float cost matrix (computed once from coordinates when needed)."""
        if self.cost is not None:
            return self.cost
        if not self._matrix:
            d = cdist(self.coordinates, self.coordinates)
            if self.distance == "floor":
                d = np.floor(d + 1e-9)
            elif self.distance == "round":
                d = np.round(d)
            self._matrix.append(d)
        return self._matrix[0]

    def evaluate(self, assignment: np.ndarray) -> float:
        """Total cost of an assignment (``assignment[i]`` is the median point serving ``i``)."""
        a = np.asarray(assignment, dtype=np.int64)
        return float(self.matrix()[np.arange(self.n), a].sum())

    def violations(self, assignment: np.ndarray) -> list[str]:
        """Everything wrong with an assignment: median count, self-service, capacity."""
        a = np.asarray(assignment, dtype=np.int64)
        problems: list[str] = []
        if a.shape != (self.n,) or np.any(a < 0) or np.any(a >= self.n):
            return [f"assignment must hold {self.n} point indices"]
        medians = np.unique(a)
        if len(medians) != self.p:
            problems.append(f"{len(medians)} medians used, expected {self.p}")
        problems.extend(f"median {m} does not serve itself" for m in medians if a[m] != m)
        loads = np.bincount(a, weights=self.demands, minlength=self.n)
        problems.extend(
            f"median {m} load {int(loads[m])} exceeds capacity {int(self.capacities[m])}"
            for m in medians
            if loads[m] > self.capacities[m]
        )
        return problems


@dataclass(frozen=True)
class PMedianResult:
    """A solved capacitated p-median: medians, assignment (median point per point) and cost."""

    medians: tuple[int, ...]
    assignment: np.ndarray
    cost: float
    lower_bound: float | None
    proved_optimal: bool
    status: str
    runtime: float
    seed: int


class _Clock:
    """Wall-time and iteration budget shared by the phases of one solve."""

    def __init__(self, stop: StoppingCriterion) -> None:
        self.start = time.perf_counter()
        self.limit = time_limit(stop)
        self.max_iters = iteration_limit(stop)
        self.max_stall = no_improvement_limit(stop)
        self.iters = 0
        self.stall = 0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def remaining(self) -> float | None:
        return None if self.limit is None else max(0.0, self.limit - self.elapsed())

    def done(self) -> bool:
        if self.limit is not None and self.elapsed() >= self.limit:
            return True
        if self.max_iters is not None and self.iters >= self.max_iters:
            return True
        return self.max_stall is not None and self.stall >= self.max_stall


def _integer_costs(d: np.ndarray) -> tuple[np.ndarray, float]:
    """Integer cost matrix for CP-SAT and the scale used (1 when ``d`` is already integral)."""
    if np.all(np.equal(np.mod(d, 1), 0)):
        return d.astype(np.int64), 1.0
    top = float(d.max()) or 1.0
    scale = 10.0 ** max(0, math.floor(math.log10(1e7 / top)))
    return np.rint(d * scale).astype(np.int64), scale


class _Solver:
    """State of one capacitated p-median solve (matrices, budget, current best)."""

    def __init__(self, data: PMedianData, stop: StoppingCriterion, seed: int) -> None:
        self.data = data
        self.d = data.matrix()
        self.c, self.scale = _integer_costs(self.d)
        self.dem = data.demands
        self.cap = data.capacities
        self.n = data.n
        self.p = data.p
        self.clock = _Clock(stop)
        self.settings = settings_for(stop, seed)
        self.deterministic = self.clock.limit is None
        self.rng = np.random.default_rng(seed)

    # -- budget helpers -------------------------------------------------------------------------
    def sub_settings(self, seconds: float, det: float) -> SolveSettings:
        """Settings for one sub-solve: a wall limit, or a deterministic one in count mode."""
        if self.deterministic:
            return SolveSettings(seed=self.settings.seed, deterministic_time=det, workers=1)
        rem = self.clock.remaining()
        limit = min(seconds, rem if rem is not None else seconds)
        # One worker: on these small models the LP-based single worker beats a 2-worker portfolio.
        return SolveSettings(seed=self.settings.seed, time_limit=limit, workers=1)

    # -- construction ---------------------------------------------------------------------------
    def initial_medians(self) -> np.ndarray:
        """Demand-weighted k-means++ seeding on the cost matrix."""
        w = self.dem.astype(np.float64) + 1.0
        first = int(self.rng.choice(self.n, p=w / w.sum()))
        medians = [first]
        nearest = self.d[:, first].copy()
        for _ in range(1, self.p):
            score = w * nearest**2
            total = score.sum()
            if total <= 0:
                rest = np.setdiff1d(np.arange(self.n), medians)
                nxt = int(self.rng.choice(rest))
            else:
                nxt = int(self.rng.choice(self.n, p=score / total))
            medians.append(nxt)
            nearest = np.minimum(nearest, self.d[:, nxt])
        return np.array(sorted(set(medians)), dtype=np.int64)

    def greedy_assign(self, medians: np.ndarray) -> np.ndarray:
        """Regret-greedy assignment; may overload a median when capacity is fragmented."""
        k = min(len(medians), _NEAREST_MEDIANS)
        dm = self.d[:, medians]
        order_m = np.argsort(dm, axis=1, kind="stable")[:, :k]
        best = dm[np.arange(self.n), order_m[:, 0]]
        second = dm[np.arange(self.n), order_m[:, 1]] if k > 1 else best
        regret = second - best
        left = self.cap[medians].astype(np.int64).copy()
        assign = np.full(self.n, -1, dtype=np.int64)
        for j, m in enumerate(medians):
            assign[m] = j
            left[j] -= self.dem[m]
        for i in np.argsort(-regret, kind="stable"):
            if assign[i] >= 0:
                continue
            for j in order_m[i]:
                if left[j] >= self.dem[i]:
                    assign[i] = j
                    left[j] -= self.dem[i]
                    break
            else:
                j = int(np.argmax(left))  # fragmentation: the repair below fixes the overload
                assign[i] = j
                left[j] -= self.dem[i]
        return medians[assign]

    def gap(self, medians: np.ndarray, hint: np.ndarray, seconds: float) -> np.ndarray | None:
        """Re-solve the assignment to fixed medians (a generalized assignment) with CP-SAT."""
        k = min(len(medians), _NEAREST_MEDIANS)
        dm = self.c[:, medians]
        near = np.argsort(dm, axis=1, kind="stable")[:, :k]
        pos = {int(m): j for j, m in enumerate(medians)}
        hint_local = np.array([pos[int(h)] for h in hint], dtype=np.int64)
        pts = np.repeat(np.arange(self.n), k)
        cen = near.reshape(-1)
        pairs = set(zip(pts.tolist(), cen.tolist(), strict=True))
        extra = [(i, int(hint_local[i])) for i in range(self.n) if (i, hint_local[i]) not in pairs]
        if extra:
            pts = np.concatenate([pts, [e[0] for e in extra]])
            cen = np.concatenate([cen, [e[1] for e in extra]])
        model = AssignmentModel(
            demand=self.dem,
            centre_point=medians,
            arc_point=pts,
            arc_centre=cen,
            arc_cost=dm[pts, cen],
            p=len(medians),
            upper=self.cap[medians],
            forced_open=range(len(medians)),
            hint=hint_local,
        )
        sol = solve_assignment(model, self.sub_settings(seconds, det=min(seconds, 2.0)))
        if sol.centre_of_point is None:
            return None
        return medians[sol.centre_of_point]

    def feasible(self, assign: np.ndarray) -> bool:
        loads = np.bincount(assign, weights=self.dem, minlength=self.n)
        return bool(np.all(loads <= self.cap + 1e-9))

    def relocate(self, assign: np.ndarray) -> np.ndarray:
        """Move each cluster's median to its 1-median (capacity permitting); keeps assignment."""
        new = assign.copy()
        for m in np.unique(assign):
            members = np.flatnonzero(assign == m)
            load = self.dem[members].sum()
            ok = members[self.cap[members] >= load]
            if len(ok) == 0:
                continue
            totals = self.c[np.ix_(members, ok)].sum(axis=0)
            best = int(ok[int(np.argmin(totals))])
            if totals.min() < self.c[members, m].sum():
                new[members] = best
        return new

    def construct(self) -> np.ndarray:
        """Location-allocation from a k-means++ start; returns a feasible assignment."""
        medians = self.initial_medians()
        if len(medians) < self.p:  # duplicates in seeding: top up with far points
            rest = np.setdiff1d(np.arange(self.n), medians)
            medians = np.sort(np.concatenate([medians, rest[: self.p - len(medians)]]))
        best: np.ndarray | None = None
        best_cost = math.inf
        for _ in range(8):
            assign = self.greedy_assign(medians)
            if not self.feasible(assign) or len(np.unique(assign)) != self.p:
                fixed = self.gap(medians, assign, seconds=10.0)
                if fixed is None:
                    break
                assign = fixed
            cost = self.cost_of(assign)
            if cost < best_cost:
                best, best_cost = assign, cost
            moved = self.relocate(assign)
            new_medians = np.unique(moved)
            if np.array_equal(new_medians, medians):
                break
            medians = new_medians
            rem = self.clock.remaining()
            if rem is not None and rem < 0.3 * (self.clock.limit or 0.0):
                break
        if best is None:
            fixed = self.gap(medians, self.greedy_assign(medians), seconds=60.0)
            if fixed is None:
                raise InfeasibleError(
                    "no capacity-feasible assignment was found for the chosen medians; "
                    "the capacities are too tight for the demands"
                )
            best = fixed
        return best

    def cost_of(self, assign: np.ndarray) -> int:
        return int(self.c[np.arange(self.n), assign].sum())

    # -- exact ----------------------------------------------------------------------------------
    def exact(self, hint: np.ndarray | None) -> tuple[np.ndarray | None, float | None, str]:
        """Full CP-SAT model (all arcs); returns assignment, lower bound (scaled back), status."""
        n = self.n
        pts = np.repeat(np.arange(n), n)
        cen = np.tile(np.arange(n), n)
        model = AssignmentModel(
            demand=self.dem,
            centre_point=np.arange(n),
            arc_point=pts,
            arc_centre=cen,
            arc_cost=self.c[pts, cen],
            p=self.p,
            upper=self.cap,
            hint=hint,
        )
        settings = self.settings
        if self.deterministic:
            settings = SolveSettings(seed=settings.seed, deterministic_time=60.0, workers=1)
        else:
            settings = settings.limited(self.clock.remaining())
        sol = solve_assignment(model, settings)
        if sol.status == "infeasible":
            raise InfeasibleError(
                f"no way to open {self.p} medians that serve every point within capacity"
            )
        bound = None if sol.bound is None else sol.bound / self.scale
        return sol.centre_of_point, bound, sol.status

    # -- large neighbourhood search -------------------------------------------------------------
    def window(self, assign: np.ndarray, seed_median: int, q: int) -> np.ndarray:
        medians = np.unique(assign)
        order = np.argsort(self.d[seed_median, medians], kind="stable")
        return medians[order[:q]]

    def solve_window(
        self, assign: np.ndarray, wmed: np.ndarray, seconds: float
    ) -> tuple[np.ndarray | None, bool]:
        """Re-solve the points served by ``wmed`` as a small p-median; (new assignment, optimal)."""
        pts = np.flatnonzero(np.isin(assign, wmed))
        q = len(wmed)
        local = {int(v): k for k, v in enumerate(pts)}
        if len(pts) > _WINDOW_POINTS:
            per = max(8, _WINDOW_POINTS // q)
            cands: list[int] = []
            for m in wmed:
                members = pts[assign[pts] == m]
                near = members[np.argsort(self.d[m, members], kind="stable")[:per]]
                cands.extend(int(v) for v in near)
            cand = np.array(sorted(set(cands)), dtype=np.int64)
        else:
            cand = pts
        cand_local = np.array([local[int(v)] for v in cand], dtype=np.int64)
        ksub = min(len(cand), max(16, (3 * len(cand)) // q))
        sub_c = self.c[np.ix_(pts, cand)]
        near = np.argsort(sub_c, axis=1, kind="stable")[:, :ksub]
        cidx = {int(v): k for k, v in enumerate(cand)}
        hint = np.array([cidx[int(assign[v])] for v in pts], dtype=np.int64)
        arc_p = np.repeat(np.arange(len(pts)), ksub)
        arc_c = near.reshape(-1)
        have = set(zip(arc_p.tolist(), arc_c.tolist(), strict=True))
        extra = [(i, int(hint[i])) for i in range(len(pts)) if (i, int(hint[i])) not in have]
        if extra:
            arc_p = np.concatenate([arc_p, [e[0] for e in extra]])
            arc_c = np.concatenate([arc_c, [e[1] for e in extra]])
        model = AssignmentModel(
            demand=self.dem[pts],
            centre_point=cand_local,
            arc_point=arc_p,
            arc_centre=arc_c,
            arc_cost=sub_c[arc_p, arc_c],
            p=q,
            upper=self.cap[cand],
            hint=hint,
        )
        sol = solve_assignment(model, self.sub_settings(seconds, det=0.5))
        if sol.centre_of_point is None:
            return None, False
        new = assign.copy()
        new[pts] = cand[sol.centre_of_point]
        return new, sol.status == "optimal"

    def lns(self, assign: np.ndarray) -> np.ndarray:
        best = assign
        best_cost = self.cost_of(best)
        q = min(self.p, 4)
        sub_seconds = 2.0
        tried: set[int] = set()
        while not self.clock.done():
            medians = np.unique(best)
            untried = [int(m) for m in medians if int(m) not in tried]
            if not untried:
                if q >= self.p:
                    break  # every window at full size is optimal: LNS local optimum
                q = min(self.p, q + 1)
                tried.clear()
                continue
            seed_median = int(self.rng.choice(untried))
            wmed = self.window(best, seed_median, q)
            new, optimal = self.solve_window(best, wmed, sub_seconds)
            self.clock.iters += 1
            tried.add(seed_median)
            if new is not None and self.cost_of(new) < best_cost:
                best, best_cost = new, self.cost_of(new)
                self.clock.stall = 0
                tried.clear()
            else:
                self.clock.stall += 1
            if not optimal and q > 2:
                q -= 1
                tried.clear()
        return best


def solve_p_median(
    data: PMedianData, *, stop: StoppingCriterion | None = None, seed: int = 0
) -> PMedianResult:
    """Solve a capacitated p-median instance.

    Parameters
    ----------
    data
        The instance.
    stop
        When to stop (default 60 s). A count-based criterion (iterations of the neighbourhood
        search) makes the run reproducible: one CP-SAT worker and deterministic time limits.
    seed
        Random seed for the construction, the window choice and CP-SAT.
    """
    stop = stop if stop is not None else MaxRuntime(60.0)
    total = int(data.demands.sum())
    top = int(np.sort(data.capacities)[::-1][: data.p].sum())
    if total > top:
        raise InfeasibleError(
            f"total demand {total} exceeds the combined capacity {top} of the {data.p} "
            "largest possible medians"
        )
    solver = _Solver(data, stop, seed)
    assign = solver.construct()
    lower: float | None = None
    status = "feasible"
    if data.n <= EXACT_MAX_N:
        exact, lower, sub_status = solver.exact(assign)
        if exact is not None and solver.cost_of(exact) <= solver.cost_of(assign):
            assign = exact
        if sub_status == "optimal":
            status = "optimal"
    else:
        assign = solver.lns(assign)
    cost = data.evaluate(assign)
    proved = status == "optimal"
    if proved:
        lower = cost
    problems = data.violations(assign)
    if problems:  # never serve an infeasible plan
        raise InfeasibleError("the solver produced an invalid plan: " + "; ".join(problems))
    medians = tuple(int(m) for m in np.unique(assign))
    runtime = solver.clock.elapsed()
    log.info(
        "p-median n=%d p=%d cost=%.2f status=%s in %.1fs", data.n, data.p, cost, status, runtime
    )
    return PMedianResult(medians, assign, cost, lower, proved, status, runtime, seed)
