"""Capacitated p-median: open p medians among the points, assign every point within capacity.

Method. Small instances (up to `EXACT_MAX_N` points) go to one exact CP-SAT model, hinted by the
heuristic below (improved by a short LNS first under a time limit), which also gives a lower
bound. Larger ones are solved by a matheuristic:

1. medians: demand-weighted k-means++ seeding, uncapacitated alternate (k-medians) rounds, then
   a vectorised vertex-substitution (swap) search on the uncapacitated cost;
2. capacitated location-allocation: the assignment to fixed medians comes from the
   transportation LP on each point's ``K`` nearest medians (scipy HiGHS), rounded and repaired
   (a cheap numpy repair, then CP-SAT generalized assignment if an overload is left) and
   improved by shift/swap moves; each median then moves to its cluster's 1-median, until the
   medians no longer change; the best of several randomized constructions is kept;
3. up to `FULL_MIP_MAX_N` points, the whole instance (each point's 30 nearest candidates) also
   goes to the HiGHS MIP solver (scipy) for part of the time; instances up to `EXACT_MAX_N` run
   CP-SAT (which proves the easy ones) and then HiGHS, keeping the better plan;
4. large neighbourhood search: a seed median and its ``q - 1`` nearest medians form a window; the
   points they serve are re-solved as a small capacitated p-median (candidates: each median's
   nearest cluster points; arcs: each point's nearest candidates) by CP-SAT hinted with the
   incumbent (on tight windows that do not close in time, the hint keeps it; HiGHS takes no
   hint). ``q`` adapts to how fast windows solve; the search stops at the time or iteration
   limit or when no window improves. After every improving window a numpy local search
   ("polish") applies capacity-checked shift and swap moves of points between medians across
   window borders, alternated with median relocation to the cluster's 1-median.

Costs are scaled to integers (exact for integer matrices); the reported cost is re-evaluated in
floating point on the original matrix. Count-based stops use node and deterministic-time limits,
so the result is reproducible for a seed.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_matrix
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

EXACT_MAX_N = 60
"""Instances with at most this many points are solved by the full exact CP-SAT model."""

_NEAREST_MEDIANS = 10  # assignment arcs per point in the full generalized assignment
FULL_MIP_MAX_N = 250
"""Up to this many points, the whole sparsified instance also goes to the HiGHS MIP solver."""

_FULL_MIP_ARCS = 30  # nearest candidate medians per point in that model
_CANDIDATES_PER_MEDIAN = 12  # a window offers each median's nearest cluster points as candidates
_SHIFT_MEDIANS = 8  # nearest medians a point may shift to in the local search
_SWAP_PARTNERS = 16  # nearest points a point may swap medians with
_MAX_RESTARTS = 24  # extra constructions (best kept) within 15 % of a time limit


@dataclass(frozen=True)
class PMedianData:
    """A capacitated p-median instance: every point is a customer and a candidate median.

    Parameters
    ----------
    demands
        Demand of each of the ``n`` points (a median's own demand counts against it); decimals
        are scaled to integers for CP-SAT.
    capacities
        Capacity of each point when opened as a median.
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
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise SpecificationError(f"{name} must be finite and non-negative")
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
        object.__setattr__(self, "demands", demands.astype(np.float64))
        object.__setattr__(self, "capacities", capacities.astype(np.float64))
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
            f"median {m} load {loads[m]:g} exceeds capacity {self.capacities[m]:g}"
            for m in medians
            if loads[m] > self.capacities[m] + 1e-9
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


def _integer_loads(demands: np.ndarray, capacities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Demands and capacities as integers (scaled by a power of ten when they have decimals)."""
    for digits in range(7):
        scale = 10.0**digits
        dem = demands * scale
        if np.all(np.abs(dem - np.rint(dem)) < 1e-6):
            break
    # Capacities round down so an integer-feasible plan is feasible in the original units.
    return np.rint(dem).astype(np.int64), np.floor(capacities * scale + 1e-6).astype(np.int64)


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
        self.d32 = self.d.astype(np.float32)
        self.dem, self.cap = _integer_loads(data.demands, data.capacities)
        self.n = data.n
        self.p = data.p
        self.clock = _Clock(stop)
        self.settings = settings_for(stop, seed)
        self.deterministic = self.clock.limit is None
        self.rng = np.random.default_rng(seed)
        self._near_pts: np.ndarray | None = None

    # -- budget helpers -------------------------------------------------------------------------
    def sub_settings(self, seconds: float, det: float) -> SolveSettings:
        """Settings for one sub-solve: a wall limit, or a deterministic one in count mode."""
        if self.deterministic:
            return SolveSettings(
                seed=self.settings.seed, deterministic_time=det, workers=1, light=True
            )
        rem = self.clock.remaining()
        limit = min(seconds, rem if rem is not None else seconds)
        # One worker: on these small models the LP-based single worker beats a 2-worker portfolio.
        return SolveSettings(seed=self.settings.seed, time_limit=limit, workers=1, light=True)

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

    def gap_lp(self, medians: np.ndarray) -> np.ndarray:
        """Assignment to fixed medians from the transportation LP (HiGHS), rounded and repaired.

        The LP lets demand split; a basic optimum splits at most about ``p`` points, which go to
        their largest share. Overloads left by rounding are moved, cheapest first, to medians
        with room; the result may still overload when capacity is fragmented.
        """
        n, p = self.n, len(medians)
        k = min(p, _NEAREST_MEDIANS)
        dm = self.c[:, medians]
        near = np.argpartition(dm, k - 1, axis=1)[:, :k] if k < p else np.tile(np.arange(p), (n, 1))
        is_median = np.zeros(n, dtype=bool)
        is_median[medians] = True
        own = np.full(n, -1, dtype=np.int64)
        own[medians] = np.arange(p)
        arc_p = np.repeat(np.arange(n), k)
        arc_c = near.reshape(-1)
        keep = ~is_median[arc_p]
        arc_p = np.concatenate([arc_p[keep], medians])
        arc_c = np.concatenate([arc_c[keep], np.arange(p)])
        cost = dm[arc_p, arc_c].astype(np.float64)
        a = len(arc_p)
        eq = csr_matrix((np.ones(a), (arc_p, np.arange(a))), shape=(n, a))
        ub = csr_matrix((self.dem[arc_p].astype(np.float64), (arc_c, np.arange(a))), shape=(p, a))
        res = linprog(
            cost,
            A_ub=ub,
            b_ub=self.cap[medians],
            A_eq=eq,
            b_eq=np.ones(n),
            bounds=(0, 1),
            method="highs",
        )
        if res.x is None:
            return self.greedy_assign(medians)
        share = np.full((n, p), -1.0)
        share[arc_p, arc_c] = res.x
        choice = np.argmax(share, axis=1)
        choice[medians] = np.arange(p)
        left = self.cap[medians] - np.bincount(choice, weights=self.dem, minlength=p)
        allowed = share >= 0
        for j in np.flatnonzero(left < 0):
            members = np.flatnonzero((choice == j) & ~is_median)
            extra = (dm[members] - dm[members, j][:, None]).astype(np.float64)
            extra[~allowed[members]] = np.inf
            extra[:, j] = np.inf
            for t in np.argsort(extra.min(axis=1), kind="stable"):
                if left[j] >= 0:
                    break
                i = members[t]
                room = np.flatnonzero(allowed[i] & (left >= self.dem[i]))
                room = room[room != j]
                if len(room):
                    dest = int(room[np.argmin(dm[i, room])])
                    choice[i] = dest
                    left[j] += self.dem[i]
                    left[dest] -= self.dem[i]
        return medians[choice]

    def repair(self, assign: np.ndarray) -> np.ndarray:
        """Move points off overloaded medians, cheapest extra cost first, to any median with room.

        Cheap numpy repair tried before the CP-SAT generalized assignment; the result may still
        overload when no single point fits elsewhere.
        """
        a = assign.copy()
        medians = np.unique(a)
        is_med = np.zeros(self.n, dtype=bool)
        is_med[medians] = True
        load = np.bincount(a, weights=self.dem, minlength=self.n).astype(np.int64)
        for j in medians[load[medians] > self.cap[medians]]:
            while load[j] > self.cap[j]:
                members = np.flatnonzero((a == j) & ~is_med)
                room = self.cap[medians] - load[medians]
                if len(members) == 0:
                    break
                extra = (self.c[np.ix_(members, medians)] - self.c[members, j][:, None]).astype(
                    np.float64
                )
                extra[room[None, :] < self.dem[members][:, None]] = np.inf
                extra[:, medians == j] = np.inf
                flat = int(np.argmin(extra))
                t, m = divmod(flat, len(medians))
                if not np.isfinite(extra[t, m]):
                    break
                i, dest = int(members[t]), int(medians[m])
                a[i] = dest
                load[j] -= self.dem[i]
                load[dest] += self.dem[i]
        return a

    def open_heavy(self, medians: np.ndarray, assign: np.ndarray) -> np.ndarray:
        """Capacity is fragmented: open the heaviest point of the worst overloaded median and
        close the least loaded other median (heavy points fill a median almost on their own)."""
        loads = np.bincount(assign, weights=self.dem, minlength=self.n)
        over = loads - self.cap
        worst = int(medians[np.argmax(over[medians])])
        members = np.flatnonzero((assign == worst) & ~np.isin(np.arange(self.n), medians))
        if len(members) == 0:
            return medians
        heavy = int(members[np.argmax(self.dem[members])])
        others = medians[(medians != worst) & (over[medians] <= 0)]
        if len(others) == 0:
            return medians
        drop = int(others[np.argmin(loads[others])])
        return np.sort(np.concatenate([medians[medians != drop], [heavy]]))

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

    def k_medians(self, medians: np.ndarray, seconds: float | None, rounds: int = 30) -> np.ndarray:
        """Uncapacitated alternate heuristic: assign to the nearest median, move to the 1-median."""
        started = time.perf_counter()
        for _ in range(rounds):
            if seconds is not None and time.perf_counter() - started > seconds:
                break
            near = medians[np.argmin(self.d32[:, medians], axis=1)]
            near[medians] = medians
            new = medians.copy()
            for j, m in enumerate(medians):
                members = np.flatnonzero(near == m)
                totals = self.d32[np.ix_(members, members)].sum(axis=0)
                new[j] = members[int(np.argmin(totals))]
            new = np.unique(new)
            if len(new) < self.p or np.array_equal(new, medians):
                break
            medians = new
        return medians

    def swap_search(self, medians: np.ndarray, seconds: float | None) -> np.ndarray:
        """Uncapacitated vertex substitution to place the medians well.

        Each round finds every median's best replacement and applies, best first, all swaps that
        touch disjoint points (so their gains add up exactly): with hundreds of medians this
        converges in a few dozen rounds instead of one round per swap.

        For every candidate ``c`` and median ``m`` the change of the uncapacitated cost when
        ``c`` replaces ``m`` is computed at once from each point's nearest and second-nearest
        median (a sparse one-hot product), in column chunks to bound memory.
        """
        if self.p < 2:
            return medians
        d = self.d32
        n = self.n
        rows = np.arange(n)
        started = time.perf_counter()
        medians = medians.copy()
        for _ in range(4 * self.p + 10):
            if seconds is not None and time.perf_counter() - started > seconds:
                break
            dm = d[:, medians]
            two = np.argpartition(dm, 1, axis=1)[:, :2]
            first = np.where(dm[rows, two[:, 0]] <= dm[rows, two[:, 1]], two[:, 0], two[:, 1])
            second = np.where(first == two[:, 0], two[:, 1], two[:, 0])
            d1 = dm[rows, first][:, None]
            d2 = dm[rows, second][:, None]
            onehot = csr_matrix((np.ones(n, dtype=np.float32), (first, rows)), shape=(self.p, n))
            # Best candidate for each median over all column chunks.
            best_delta = np.full(self.p, np.inf, dtype=np.float64)
            best_cand = np.full(self.p, -1, dtype=np.int64)
            for lo in range(0, n, 512):
                cols = np.arange(lo, min(n, lo + 512))
                dc = d[:, cols]
                m1 = np.minimum(dc, d1)
                gain = (m1 - d1).sum(axis=0)
                loss = onehot @ (np.minimum(dc, d2) - m1)
                delta = gain[None, :] + loss
                delta[:, np.isin(cols, medians)] = np.inf
                arg = np.argmin(delta, axis=1)
                val = delta[np.arange(self.p), arg]
                better = val < best_delta
                best_delta[better] = val[better]
                best_cand[better] = cols[arg[better]]
            threshold = -1e-6 * float(d1.sum()) - 1e-9
            order = np.argsort(best_delta, kind="stable")
            order = order[best_delta[order] < threshold]
            if len(order) == 0:
                break
            # Swaps whose affected points (served by the median first or second, or closer to
            # the candidate than to their second median) are disjoint change the cost
            # independently: apply them all in one round.
            touched = np.zeros(n, dtype=bool)
            used: set[int] = set()
            for j in order.tolist():
                c = int(best_cand[j])
                if c in used:
                    continue
                hit = (first == j) | (second == j) | (d[:, c] < d2[:, 0])
                if touched[hit].any():
                    continue
                touched |= hit
                used.add(c)
                medians[j] = c
        return np.sort(medians)

    def construct(self) -> np.ndarray:
        """Swap search, then capacitated location-allocation; returns a feasible assignment."""
        limit = self.clock.limit
        medians = self.initial_medians()
        if len(medians) < self.p:  # duplicates in seeding: top up with far points
            rest = np.setdiff1d(np.arange(self.n), medians)
            medians = np.sort(np.concatenate([medians, rest[: self.p - len(medians)]]))
        medians = self.k_medians(medians, None if limit is None else 0.05 * limit)
        medians = self.swap_search(medians, None if limit is None else 0.15 * limit)
        best: np.ndarray | None = None
        best_cost = math.inf
        gap_seconds = 2.0 if limit is None else min(10.0, max(1.0, 0.05 * limit))
        rounds = 0
        while rounds < 12 or (best is None and rounds < 12 + 2 * self.p):
            rounds += 1
            if limit is not None and best is not None and self.clock.elapsed() > 0.25 * limit:
                break
            assign = self.gap_lp(medians)
            if not self.feasible(assign):
                assign = self.repair(assign)
            if not self.feasible(assign):
                fixed = self.gap(medians, assign, seconds=gap_seconds)
                if fixed is not None:
                    assign = fixed
            if not self.feasible(assign):
                medians = self.open_heavy(medians, assign)
                continue
            if len(np.unique(assign)) == self.p:
                assign = self.shift_swap(assign)
                cost = self.cost_of(assign)
                if cost < best_cost:
                    best, best_cost = assign, cost
            moved = self.relocate(assign)
            new_medians = np.unique(moved)
            if np.array_equal(new_medians, medians):
                break
            medians = new_medians
            if limit is not None and self.clock.elapsed() > 0.25 * limit:
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

    # -- fast local search on the assignment ----------------------------------------------------
    def near_points(self) -> np.ndarray:
        """Each point's ``_SWAP_PARTNERS`` nearest other points (computed once)."""
        if self._near_pts is None:
            k = min(self.n - 1, _SWAP_PARTNERS)
            if k <= 0:
                self._near_pts = np.zeros((self.n, 0), dtype=np.int64)
            else:
                d = self.d32.copy()
                np.fill_diagonal(d, np.inf)
                self._near_pts = np.argpartition(d, k - 1, axis=1)[:, :k].astype(np.int64)
        return self._near_pts

    def shift_swap(self, assign: np.ndarray, rounds: int = 50) -> np.ndarray:
        """Shift and swap moves of points between fixed medians, best first, capacity-checked.

        All improving moves are evaluated at once (each point against its nearest medians for a
        shift, against its nearest points served elsewhere for a swap), then applied greedily in
        order of gain with a re-check of loads, until no move improves. Deterministic.
        """
        a = assign.copy()
        medians = np.unique(a)
        if len(medians) < 2:
            return a
        n, c, dem, cap = self.n, self.c, self.dem, self.cap
        rows = np.arange(n)
        is_med = np.zeros(n, dtype=bool)
        is_med[medians] = True
        k = min(len(medians), _SHIFT_MEDIANS)
        near_m = medians[np.argpartition(c[:, medians], k - 1, axis=1)[:, :k]]
        partners = self.near_points()
        load = np.bincount(a, weights=dem, minlength=n).astype(np.int64)
        for _ in range(rounds):
            moved = 0
            cur = c[rows, a]
            # Shifts: point i to median m with room.
            delta = c[rows[:, None], near_m] - cur[:, None]
            ok = (delta < 0) & (cap[near_m] - load[near_m] >= dem[:, None]) & ~is_med[:, None]
            for flat in np.flatnonzero(ok)[np.argsort(delta[ok], kind="stable")]:
                i, m = divmod(int(flat), k)
                dest = int(near_m[i, m])
                src = int(a[i])
                if c[i, dest] < c[i, src] and load[dest] + dem[i] <= cap[dest]:
                    a[i] = dest
                    load[dest] += dem[i]
                    load[src] -= dem[i]
                    moved += 1
            # Swaps: points i and j exchange medians.
            cur = c[rows, a]
            ai = a[:, None]
            aj = a[partners]
            delta = c[rows[:, None], aj] + c[partners, ai] - cur[:, None] - cur[partners]
            di = dem[:, None]
            dj = dem[partners]
            ok = (
                (delta < 0)
                & (ai != aj)
                & ~is_med[:, None]
                & ~is_med[partners]
                & (load[ai] - di + dj <= cap[ai])
                & (load[aj] - dj + di <= cap[aj])
            )
            width = partners.shape[1]
            for flat in np.flatnonzero(ok)[np.argsort(delta[ok], kind="stable")]:
                i, t = divmod(int(flat), width)
                j = int(partners[i, t])
                mi, mj = int(a[i]), int(a[j])
                if mi == mj:
                    continue
                gain = c[i, mj] + c[j, mi] - c[i, mi] - c[j, mj]
                if (
                    gain < 0
                    and load[mi] - dem[i] + dem[j] <= cap[mi]
                    and load[mj] - dem[j] + dem[i] <= cap[mj]
                ):
                    a[i], a[j] = mj, mi
                    load[mi] += dem[j] - dem[i]
                    load[mj] += dem[i] - dem[j]
                    moved += 1
            if moved == 0:
                break
        return a

    def polish(self, assign: np.ndarray, rounds: int = 10) -> np.ndarray:
        """Alternate shift/swap search and median relocation while the cost falls."""
        best = self.shift_swap(assign)
        best_cost = self.cost_of(best)
        for _ in range(rounds):
            moved = self.shift_swap(self.relocate(best))
            cost = self.cost_of(moved)
            if cost >= best_cost:
                break
            best, best_cost = moved, cost
        return best

    # -- exact ----------------------------------------------------------------------------------
    def full_mip(self, share: float) -> np.ndarray | None:
        """The whole instance, each point's nearest candidates only, by the HiGHS MIP solver.

        Runs for ``share`` of the remaining time; HiGHS takes no hint, so the caller keeps the
        better of its answer and the incumbent.
        """
        rem = self.clock.remaining()
        if rem is None or rem < 1.0:
            return None
        k = self.n if self.n <= EXACT_MAX_N else min(self.n, _FULL_MIP_ARCS)
        near = np.argsort(self.c, axis=1, kind="stable")[:, :k]
        pts = np.repeat(np.arange(self.n), k)
        cen = near.reshape(-1)
        model = AssignmentModel(
            demand=self.dem,
            centre_point=np.arange(self.n),
            arc_point=pts,
            arc_centre=cen,
            arc_cost=self.c[pts, cen],
            p=self.p,
            upper=self.cap,
        )
        centre, _ = _milp(model, seconds=share * rem, nodes=None)
        return centre

    def exact(
        self, hint: np.ndarray | None, share: float = 1.0
    ) -> tuple[np.ndarray | None, float | None, str]:
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
            # One worker: the LP-heavy single worker proves these faster than a 2-worker portfolio.
            rem = self.clock.remaining()
            settings = SolveSettings(
                seed=settings.seed, time_limit=None if rem is None else share * rem, workers=1
            )
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
        cands: list[int] = []
        for m in wmed:
            members = pts[assign[pts] == m]
            near = members[np.argsort(self.d[m, members], kind="stable")[:_CANDIDATES_PER_MEDIAN]]
            cands.extend(int(v) for v in near)
        cand = np.array(sorted(set(cands)), dtype=np.int64)
        cand_local = np.array([local[int(v)] for v in cand], dtype=np.int64)
        ksub = min(len(cand), 2 * _CANDIDATES_PER_MEDIAN + 8)
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
        # CP-SAT keeps the hinted incumbent, which matters on tight windows that do not close.
        sol = solve_assignment(model, self.sub_settings(seconds, det=0.5))
        if sol.centre_of_point is None:
            return None, False
        new = assign.copy()
        new[pts] = cand[sol.centre_of_point]
        return new, sol.status == "optimal"

    def lns(self, assign: np.ndarray, until: float | None = None) -> np.ndarray:
        """Window re-optimization until the budget (or ``until`` seconds elapsed) ends or no
        window of the largest size helps."""
        best = self.polish(assign)
        best_cost = self.cost_of(best)
        q_min, q_max = min(self.p, 3), min(self.p, 10)
        q = min(self.p, 4)
        limit = self.clock.limit
        sub_seconds = 2.0 if limit is None else min(5.0, max(1.0, limit / 30))
        tried: set[int] = set()
        while not self.clock.done() and (until is None or self.clock.elapsed() < until):
            medians = np.unique(best)
            untried = [int(m) for m in medians if int(m) not in tried]
            if not untried:
                if q >= q_max:
                    break  # every largest window is locally optimal
                q += 1
                tried.clear()
                continue
            seed_median = int(self.rng.choice(untried))
            wmed = self.window(best, seed_median, q)
            started = time.perf_counter()
            new, optimal = self.solve_window(best, wmed, sub_seconds)
            took = time.perf_counter() - started
            self.clock.iters += 1
            tried.add(seed_median)
            if new is not None and self.cost_of(new) < best_cost:
                # Cheap moves across the window's border often follow an improved window.
                best = self.polish(new)
                best_cost = self.cost_of(best)
                self.clock.stall = 0
                tried.clear()
            else:
                self.clock.stall += 1
            # Keep windows about as large as CP-SAT can close within the sub-solve limit.
            if not optimal and q > q_min:
                q -= 1
            elif optimal and not self.deterministic and took < 0.2 * sub_seconds and q < q_max:
                q += 1
        return best


def _milp(
    md: AssignmentModel, *, seconds: float, nodes: int | None
) -> tuple[np.ndarray | None, bool]:
    """Solve a sparse p-median model with the HiGHS MIP solver (scipy).

    Used for whole small and medium instances, where HiGHS' branch and bound on the tight LP
    finds good plans faster than CP-SAT on one core. Returns the centre index per point (None if
    no solution was found) and whether it is proved optimal.
    """
    n, m, a = len(md.demand), len(md.centre_point), len(md.arc_point)
    arcs = np.arange(a)
    cols = a + m
    assign_rows = csr_matrix((np.ones(a), (md.arc_point, arcs)), shape=(n, cols))
    link = csr_matrix(
        (
            np.concatenate([np.ones(a), -np.ones(a)]),
            (np.tile(arcs, 2), np.concatenate([arcs, a + md.arc_centre])),
        ),
        shape=(a, cols),
    )
    load = csr_matrix(
        (
            np.concatenate(
                [md.demand[md.arc_point].astype(np.float64), -md.upper.astype(np.float64)]
            ),
            (
                np.concatenate([md.arc_centre, np.arange(m)]),
                np.concatenate([arcs, a + np.arange(m)]),
            ),
        ),
        shape=(m, cols),
    )
    count = csr_matrix(
        (np.ones(m), (np.zeros(m, dtype=np.int64), a + np.arange(m))), shape=(1, cols)
    )
    # An open centre serves its own point: x[own arc] >= y.
    own = [
        (int(k), int(md.arc_centre[k]))
        for k in np.flatnonzero(md.arc_point == md.centre_point[md.arc_centre])
    ]
    selfserve = csr_matrix(
        (
            np.concatenate([-np.ones(len(own)), np.ones(len(own))]),
            (
                np.tile(np.arange(len(own)), 2),
                np.array([k for k, _ in own] + [a + j for _, j in own]),
            ),
        ),
        shape=(len(own), cols),
    )
    constraints = [
        LinearConstraint(assign_rows, 1, 1),
        LinearConstraint(link, -np.inf, 0),
        LinearConstraint(load, -np.inf, 0),
        LinearConstraint(count, md.p, md.p),
        LinearConstraint(selfserve, -np.inf, 0),
    ]
    options: dict[str, float | int] = {"time_limit": max(0.05, seconds)}
    if nodes is not None:
        options["node_limit"] = nodes
    res = milp(
        np.concatenate([md.arc_cost.astype(np.float64), np.zeros(m)]),
        constraints=constraints,
        integrality=np.ones(cols),
        bounds=Bounds(0, 1),
        options=options,
    )
    if res.x is None:
        return None, False
    x = res.x[:a] > 0.5
    centre = np.full(n, -1, dtype=np.int64)
    centre[md.arc_point[x]] = md.arc_centre[x]
    if np.any(centre < 0):
        return None, False
    return centre, bool(res.status == 0)


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
    total = float(data.demands.sum())
    top = float(np.sort(data.capacities)[::-1][: data.p].sum())
    if total > top + 1e-9:
        raise InfeasibleError(
            f"total demand {total:g} exceeds the combined capacity {top:g} of the {data.p} "
            "largest possible medians"
        )
    solver = _Solver(data, stop, seed)
    assign = solver.construct()
    if solver.clock.limit is not None:
        # Constructions are cheap on small and medium instances: keep the best of a few.
        share = 0.15 * solver.clock.limit
        first = solver.clock.elapsed()
        for _ in range(_MAX_RESTARTS):
            if solver.clock.elapsed() + first > share:
                break
            other = solver.construct()
            if solver.cost_of(other) < solver.cost_of(assign):
                assign = other
    lower: float | None = None
    status = "feasible"
    if data.n <= EXACT_MAX_N:
        # A short LNS improves the hint (the exact phases stall under load without a good one);
        # then CP-SAT on half the time (it proves the easy ones), then HiGHS.
        if solver.clock.limit is not None:
            assign = solver.lns(assign, until=0.2 * solver.clock.limit)
        exact, lower, sub_status = solver.exact(assign, share=0.5)
        if exact is not None and solver.cost_of(exact) <= solver.cost_of(assign):
            assign = exact
        if sub_status == "optimal":
            status = "optimal"
        elif solver.clock.limit is not None and not solver.clock.done():
            found = solver.full_mip(share=1.0)
            if found is not None and solver.cost_of(found) < solver.cost_of(assign):
                assign = found
        if status != "optimal":
            assign = solver.polish(assign)  # cheap; catches moves the time-limited phases missed
    else:
        if data.n <= FULL_MIP_MAX_N and solver.clock.limit is not None:
            found = solver.full_mip(share=0.6)
            if found is not None and solver.cost_of(found) < solver.cost_of(assign):
                assign = found
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
