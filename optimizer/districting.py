"""Districting into contract regions: balanced, size-limited, contiguous and compact regions.

Every unit goes to exactly one of ``k`` regions; each region is one connected piece of the
adjacency graph, its workload stays within the balance band and the size limit, and the plan
minimises compactness: the sum over units of workload x travel cost to the region's centre.

Method. A seeded construction grows regions from centres (contiguous by construction), then a
local search moves boundary units between adjacent regions (never cutting a region in two) and
re-centres regions, first to reach the balance band and then to improve compactness. Problems of
up to `EXACT_MAX_UNITS` units (or groups) then go to a CP-SAT model hinted with that plan: a
centre-based assignment model whose contiguity constraint asks every unit to have a neighbour one
hop closer to its centre in the same region (a compact sufficient condition for contiguity). The
better valid plan is returned; a request that cannot be met raises `InfeasibleError` with a reason.
"""

from __future__ import annotations

import heapq
import logging
import math
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from optimizer._cpsat import AssignmentModel, SolveSettings, settings_for, solve_assignment
from optimizer.errors import InfeasibleError, SpecificationError
from optimizer.stop import (
    MaxRuntime,
    StoppingCriterion,
    iteration_limit,
    no_improvement_limit,
    time_limit,
)

log = logging.getLogger(__name__)

EXACT_MAX_UNITS = 400
"""Problems with at most this many units (groups when kept whole) also get the CP-SAT model."""

_CENTRES_PER_REGION = 8  # candidate centres per heuristic region offered to CP-SAT


@dataclass(frozen=True)
class DistrictingData:
    """A districting request.

    Parameters
    ----------
    num_units
        Number of planning units ``n``.
    weights
        Integer workload per unit (e.g. patrol minutes per period).
    adjacency
        Pairs ``(i, j)`` of units adjacent on the road network.
    cost
        Integer travel cost, ``n x n`` unit to unit, or ``n x m`` unit to each of the
        ``candidate_centres`` (or ``fixed_centres``) in their order.
    k
        Number of regions.
    max_weight
        Largest workload one region may carry (what a local firm can take on); optional.
    balance_tolerance
        Largest relative deviation of a region's workload from the mean (e.g. 0.05); optional.
    candidate_centres
        Units that may host a region's depot (default: every unit).
    fixed_centres
        One unit per region, the contractor yards; region ``r`` is centred on ``fixed_centres[r]``.
    locked
        Unit -> region index that the plan must keep.
    groups
        A group index per unit (e.g. the municipality); with ``keep_groups_whole`` every group
        stays inside one region.
    keep_groups_whole
        Keep each group whole (contiguity then holds on the group graph).
    unit_labels
        Names of the units, used in messages.
    """

    num_units: int
    weights: np.ndarray
    adjacency: Sequence[tuple[int, int]]
    cost: np.ndarray
    k: int
    max_weight: int | None = None
    balance_tolerance: float | None = None
    candidate_centres: Sequence[int] | None = None
    fixed_centres: Sequence[int] | None = None
    locked: Mapping[int, int] = field(default_factory=dict)
    groups: Sequence[int] | None = None
    keep_groups_whole: bool = False
    unit_labels: Sequence[str] | None = None

    def __post_init__(self) -> None:
        n = int(self.num_units)
        if n < 1:
            raise SpecificationError(f"num_units must be >= 1, got {self.num_units}")
        w = np.asarray(self.weights)
        if w.shape != (n,) or np.any(w < 0) or not np.all(np.equal(np.mod(w, 1), 0)):
            raise SpecificationError(f"weights must be {n} non-negative integers")
        object.__setattr__(self, "weights", w.astype(np.int64))
        adj = []
        for pair in self.adjacency:
            i, j = int(pair[0]), int(pair[1])
            if not (0 <= i < n and 0 <= j < n):
                raise SpecificationError(
                    f"adjacency pair ({i}, {j}) names a unit outside 0..{n - 1}"
                )
            if i != j:
                adj.append((i, j))
        object.__setattr__(self, "adjacency", tuple(adj))
        if int(self.k) < 1:
            raise SpecificationError(f"k must be >= 1, got {self.k}")
        if self.candidate_centres is not None and self.fixed_centres is not None:
            raise SpecificationError("give candidate_centres or fixed_centres, not both")
        for name in ("candidate_centres", "fixed_centres"):
            units = getattr(self, name)
            if units is None:
                continue
            units = tuple(int(u) for u in units)
            bad = [u for u in units if not 0 <= u < n]
            if bad or not units:
                raise SpecificationError(f"{name} must be unit indices in 0..{n - 1}, got {bad}")
            if len(set(units)) != len(units):
                raise SpecificationError(f"{name} lists a unit twice")
            object.__setattr__(self, name, units)
        cost = np.asarray(self.cost)
        centres = self.centre_units()
        if cost.shape not in ((n, n), (n, len(centres))):
            raise SpecificationError(
                f"cost must be {n}x{n} (unit to unit) or {n}x{len(centres)} (unit to centre), "
                f"got {cost.shape}"
            )
        if np.any(cost < 0) or not np.all(np.isfinite(cost)):
            raise SpecificationError("cost must be finite and non-negative")
        object.__setattr__(self, "cost", np.rint(cost).astype(np.int64))
        if self.max_weight is not None and self.max_weight < 0:
            raise SpecificationError(f"max_weight must be >= 0, got {self.max_weight}")
        if self.balance_tolerance is not None and not 0 <= self.balance_tolerance < 1:
            raise SpecificationError(
                f"balance_tolerance must be in [0, 1), got {self.balance_tolerance}"
            )
        locked = {int(u): int(r) for u, r in dict(self.locked).items()}
        for u, r in locked.items():
            if not 0 <= u < n:
                raise SpecificationError(f"locked unit {u} is outside 0..{n - 1}")
            if not 0 <= r < int(self.k):
                raise InfeasibleError(
                    f"unit {self.label(u)} is locked to region {r}, but there are only "
                    f"{self.k} regions (0..{int(self.k) - 1})"
                )
        object.__setattr__(self, "locked", locked)
        if self.groups is not None:
            g = tuple(int(v) for v in self.groups)
            if len(g) != n:
                raise SpecificationError(f"groups must give one group per unit ({n}), got {len(g)}")
            object.__setattr__(self, "groups", g)
        elif self.keep_groups_whole:
            raise SpecificationError("keep_groups_whole needs groups")
        if self.unit_labels is not None and len(self.unit_labels) != n:
            raise SpecificationError(f"unit_labels must name all {n} units")
        object.__setattr__(self, "k", int(self.k))

    def centre_units(self) -> tuple[int, ...]:
        """Units that may be centres: the fixed ones, the candidates, or every unit."""
        if self.fixed_centres is not None:
            return tuple(self.fixed_centres)
        if self.candidate_centres is not None:
            return tuple(self.candidate_centres)
        return tuple(range(self.num_units))

    def centre_cost(self) -> np.ndarray:
        """``n x m`` cost from every unit to every centre unit (in `centre_units` order)."""
        centres = self.centre_units()
        if self.cost.shape[1] == self.num_units:
            return self.cost[:, list(centres)]
        return self.cost

    def label(self, unit: int) -> str:
        """A unit's name for messages."""
        return str(self.unit_labels[unit]) if self.unit_labels is not None else str(unit)


@dataclass(frozen=True)
class DistrictingResult:
    """A districting plan: region per unit, centre unit per region, and how good it is."""

    labels: np.ndarray
    centres: tuple[int, ...]
    objective: int
    region_weights: tuple[int, ...]
    status: str
    feasible: bool
    runtime: float
    seed: int
    message: str


# --------------------------------------------------------------------------------------------
# Plan checks shared by the solver and its callers


def neighbours(n: int, adjacency: Sequence[tuple[int, int]]) -> list[list[int]]:
    """Adjacency lists of an undirected graph on ``n`` nodes."""
    nbr: list[set[int]] = [set() for _ in range(n)]
    for i, j in adjacency:
        nbr[i].add(j)
        nbr[j].add(i)
    return [sorted(s) for s in nbr]


def components(nbr: list[list[int]], members: Sequence[int] | None = None) -> list[list[int]]:
    """Connected components of the graph induced by ``members`` (all nodes by default)."""
    inside = set(range(len(nbr))) if members is None else set(members)
    seen: set[int] = set()
    comps: list[list[int]] = []
    for s in sorted(inside):
        if s in seen:
            continue
        comp = [s]
        seen.add(s)
        queue = deque([s])
        while queue:
            u = queue.popleft()
            for v in nbr[u]:
                if v in inside and v not in seen:
                    seen.add(v)
                    comp.append(v)
                    queue.append(v)
        comps.append(sorted(comp))
    return comps


def _bounds(total: int, k: int, tol: float | None, max_weight: int | None) -> tuple[int, int]:
    mean = total / k
    lo = math.ceil(mean * (1 - tol) - 1e-9) if tol is not None else 0
    hi = math.floor(mean * (1 + tol) + 1e-9) if tol is not None else total
    if max_weight is not None:
        hi = min(hi, int(max_weight))
    return lo, hi


# --------------------------------------------------------------------------------------------
# The reduced problem the search works on (units, or whole groups)


@dataclass
class _Problem:
    n: int
    w: np.ndarray  # int weight per node
    nbr: list[list[int]]
    centres: np.ndarray  # node per candidate centre
    cc: np.ndarray  # n x m cost node -> candidate centre (already weight-free)
    k: int
    lo: int
    hi: int
    fixed: bool
    locked: dict[int, int]
    names: list[str]


def _reduce(data: DistrictingData) -> tuple[_Problem, np.ndarray, np.ndarray]:
    """The problem on units, or on groups; returns it, node of every unit, unit per centre."""
    n = data.num_units
    total = int(data.weights.sum())
    lo, hi = _bounds(total, data.k, data.balance_tolerance, data.max_weight)
    centre_units = np.array(data.centre_units(), dtype=np.int64)
    cc_units = data.centre_cost()
    names = [data.label(u) for u in range(n)]
    if not data.keep_groups_whole:
        prob = _Problem(
            n=n,
            w=data.weights.copy(),
            nbr=neighbours(n, data.adjacency),
            centres=centre_units.copy(),
            cc=cc_units.astype(np.int64),
            k=data.k,
            lo=lo,
            hi=hi,
            fixed=data.fixed_centres is not None,
            locked=dict(data.locked),
            names=names,
        )
        return prob, np.arange(n), centre_units
    assert data.groups is not None
    keys = sorted(set(data.groups))
    gidx = {g: i for i, g in enumerate(keys)}
    node = np.array([gidx[g] for g in data.groups], dtype=np.int64)
    ng = len(keys)
    gw = np.bincount(node, weights=data.weights, minlength=ng).astype(np.int64)
    gadj = {(int(node[i]), int(node[j])) for i, j in data.adjacency if node[i] != node[j]}
    # A group may be a centre if it holds a candidate unit; its depot is its best such unit.
    by_group: dict[int, list[int]] = {}
    for c, u in enumerate(centre_units.tolist()):
        by_group.setdefault(int(node[u]), []).append(c)
    if data.fixed_centres is not None:
        seen: dict[int, int] = {}
        for r, u in enumerate(data.fixed_centres):
            g = int(node[u])
            if g in seen:
                raise InfeasibleError(
                    f"contractor yards {data.label(data.fixed_centres[seen[g]])} and "
                    f"{data.label(u)} lie in the same group {keys[g]}, which must stay whole"
                )
            seen[g] = r
        chosen = list(range(len(centre_units)))
    else:
        chosen = []
        for cs in by_group.values():
            totals = [
                float((data.weights * cc_units[:, c]).sum()) for c in cs
            ]  # the group's best depot for a region around it
            chosen.append(cs[int(np.argmin(totals))])
        chosen.sort(key=lambda c: int(node[centre_units[c]]))
    gcentres = np.array([int(node[centre_units[c]]) for c in chosen], dtype=np.int64)
    # Group-to-centre cost: workload-weighted mean over the group's units (so w x cost adds up).
    gcc = np.zeros((ng, len(chosen)), dtype=np.float64)
    np.add.at(gcc, node, data.weights[:, None] * cc_units[:, chosen])
    gcc = np.rint(gcc / np.maximum(gw, 1)[:, None]).astype(np.int64)
    locked: dict[int, int] = {}
    for u, r in data.locked.items():
        g = int(node[u])
        if locked.get(g, r) != r:
            raise InfeasibleError(
                f"group {keys[g]} must stay whole but holds units locked to regions "
                f"{locked[g]} and {r}"
            )
        locked[g] = r
    prob = _Problem(
        n=ng,
        w=gw,
        nbr=neighbours(ng, sorted(gadj)),
        centres=gcentres,
        cc=gcc,
        k=data.k,
        lo=lo,
        hi=hi,
        fixed=data.fixed_centres is not None,
        locked=locked,
        names=[str(g) for g in keys],
    )
    return prob, node, centre_units[chosen]


def _precheck(data: DistrictingData, prob: _Problem) -> None:
    """Raise `InfeasibleError` for requests that obviously cannot be met."""
    what = "groups" if data.keep_groups_whole else "units"
    total = int(prob.w.sum())
    if prob.k > prob.n:
        raise InfeasibleError(f"{prob.k} regions requested but there are only {prob.n} {what}")
    if data.max_weight is not None and data.max_weight * prob.k < total:
        raise InfeasibleError(
            f"the size limit {data.max_weight} per region is too small: a total workload of "
            f"{total} over {prob.k} regions needs at least {math.ceil(total / prob.k)} per region"
        )
    if prob.lo > prob.hi:
        raise InfeasibleError(
            f"no workload fits the balance band: regions must carry at least {prob.lo} "
            f"but at most {prob.hi}"
        )
    heavy = [v for v in range(prob.n) if prob.w[v] > prob.hi]
    if heavy:
        v = heavy[0]
        raise InfeasibleError(
            f"{what[:-1]} {prob.names[v]} alone has workload {int(prob.w[v])}, more than the "
            f"{prob.hi} a region may carry"
        )
    comps = components(prob.nbr)
    if len(comps) > prob.k:
        raise InfeasibleError(
            f"the road network splits the {what} into {len(comps)} unconnected pieces, more than "
            f"the {prob.k} regions; every region must be one connected piece"
        )
    if prob.fixed:
        if len(prob.centres) != prob.k:
            raise SpecificationError(
                f"fixed_centres must give one yard per region ({prob.k}), got {len(prob.centres)}"
            )
        for u, r in prob.locked.items():
            for r2, c in enumerate(prob.centres.tolist()):
                if c == u and r2 != r:
                    raise InfeasibleError(
                        f"{prob.names[u]} is locked to region {r} but hosts the yard of region {r2}"
                    )
        comp_of = {v: ci for ci, comp in enumerate(comps) for v in comp}
        with_yard = {comp_of[int(c)] for c in prob.centres}
        for ci, comp in enumerate(comps):
            if ci not in with_yard:
                raise InfeasibleError(
                    f"{what} {', '.join(prob.names[v] for v in comp[:5])} cannot reach any "
                    "contractor yard on the road network"
                )
    comp_of = {v: ci for ci, comp in enumerate(comps) for v in comp}
    label_comp: dict[int, int] = {}
    for u, r in sorted(prob.locked.items()):
        if label_comp.setdefault(r, comp_of[u]) != comp_of[u]:
            raise InfeasibleError(
                f"units locked to region {r} lie in road-network pieces that do not touch, so "
                "that region could not be one connected piece"
            )
    for comp in comps:
        cw = int(prob.w[comp].sum())
        if cw > 0 and cw < prob.lo:
            raise InfeasibleError(
                f"the unconnected piece holding {what} {prob.names[comp[0]]} carries workload "
                f"{cw}, less than the {prob.lo} every region needs"
            )


# --------------------------------------------------------------------------------------------
# Construction and local search


class _Search:
    """Region growing, boundary moves and re-centring on a `_Problem`."""

    def __init__(self, prob: _Problem, rng: np.random.Generator) -> None:
        self.pr = prob
        self.rng = rng
        self.big = int(prob.cc.max() + 1) * 10
        self.centre_pos = {int(c): j for j, c in enumerate(prob.centres.tolist())}
        self.randomize = False  # restarts sample centres instead of taking the greedy choice

    def penalty(self, weight: int) -> int:
        return max(0, weight - self.pr.hi) + max(0, self.pr.lo - weight)

    # -- construction ---------------------------------------------------------------------------
    def choose_centres(self) -> list[int]:
        """Centre index (into ``prob.centres``) per region: fixed, or seeded per component."""
        pr = self.pr
        if pr.fixed:
            return list(range(pr.k))
        comps = components(pr.nbr)
        weights = [float(pr.w[c].sum()) + len(c) * 1e-6 for c in comps]
        share = [pr.k * wc / sum(weights) for wc in weights]
        count = [1] * len(comps)
        for _ in range(pr.k - len(comps)):
            gaps = [
                share[i] - count[i] if count[i] < len(comps[i]) else -math.inf
                for i in range(len(comps))
            ]
            count[int(np.argmax(gaps))] += 1
        chosen: list[int] = [-1] * pr.k
        # Regions named by locked units take a centre near those units, in their component.
        comp_of = {v: ci for ci, comp in enumerate(comps) for v in comp}
        free_regions = list(range(pr.k))
        used: set[int] = set()
        per_label: dict[int, list[int]] = {}
        for u, r in pr.locked.items():
            per_label.setdefault(r, []).append(u)
        for r, units in sorted(per_label.items()):
            ci = comp_of[units[0]]
            ok = [
                j for j, c in enumerate(pr.centres.tolist()) if comp_of[c] == ci and j not in used
            ]
            if not ok:
                continue
            j = min(ok, key=lambda j: int(pr.cc[units, j].sum()))
            chosen[r] = j
            used.add(j)
            count[ci] -= 1
            free_regions.remove(r)
        for ci, comp in enumerate(comps):
            inside = set(comp)
            cand = [j for j, c in enumerate(pr.centres.tolist()) if c in inside and j not in used]
            picks = self._kmeanspp(comp, cand, max(0, count[ci]))
            for j in picks:
                if free_regions:
                    chosen[free_regions.pop(0)] = j
                    used.add(j)
        if -1 in chosen:
            raise InfeasibleError("not enough candidate depots to open one per region")
        return chosen

    def _kmeanspp(self, comp: list[int], cand: list[int], count: int) -> list[int]:
        if count <= 0:
            return []
        if len(cand) < count:
            raise InfeasibleError("not enough candidate depots inside a connected piece of the map")
        pr = self.pr
        w = pr.w[comp].astype(np.float64) + 1.0
        sub = pr.cc[np.ix_(comp, cand)].astype(np.float64)
        if self.randomize:
            first = int(self.rng.integers(len(cand)))
        else:
            first = int(np.argmin((w[:, None] * sub).sum(axis=0)))
        picks = [first]
        near = sub[:, first].copy()
        for _ in range(1, count):
            score = (w[:, None] * np.maximum(0.0, near[:, None] - sub)).sum(axis=0)
            score[picks] = 0.0
            if self.randomize and score.sum() > 0:
                nxt = int(self.rng.choice(len(cand), p=score / score.sum()))
            else:
                nxt = int(np.argmax(score))
            picks.append(nxt)
            near = np.minimum(near, sub[:, nxt])
        return [cand[j] for j in picks]

    def grow(self, centre_idx: list[int]) -> np.ndarray:
        """Grow regions from their centres (and locked units), lightest region first."""
        pr = self.pr
        label = np.full(pr.n, -1, dtype=np.int64)
        weight = np.zeros(pr.k, dtype=np.int64)
        heaps: list[list[tuple[int, int]]] = [[] for _ in range(pr.k)]

        def take(v: int, r: int) -> None:
            label[v] = r
            weight[r] += pr.w[v]
            for u in pr.nbr[v]:
                if label[u] < 0:
                    heapq.heappush(heaps[r], (int(pr.cc[u, centre_idx[r]]), u))

        for r, j in enumerate(centre_idx):
            take(int(pr.centres[j]), r)
        for u, r in sorted(pr.locked.items()):
            if label[u] < 0:
                take(u, r)
        active = set(range(pr.k))
        while active:
            r = min(active, key=lambda r: (int(weight[r]), r))
            while heaps[r] and label[heaps[r][0][1]] >= 0:
                heapq.heappop(heaps[r])
            if not heaps[r]:
                active.discard(r)
                continue
            _, v = heapq.heappop(heaps[r])
            take(v, r)
        return label

    # -- local search ---------------------------------------------------------------------------
    def connected_without(self, label: np.ndarray, r: int, centre: int, v: int, size: int) -> bool:
        """Whether region ``r`` stays connected once ``v`` leaves it."""
        pr = self.pr
        inside = [u for u in pr.nbr[v] if label[u] == r]
        if len(inside) <= 1:
            return True
        seen = {centre, v}
        queue = deque([centre])
        while queue:
            u = queue.popleft()
            for x in pr.nbr[u]:
                if label[x] == r and x not in seen:
                    seen.add(x)
                    queue.append(x)
        return len(seen) - 1 == size - 1

    def improve(self, label: np.ndarray, centre_idx: list[int], clock: _Clock) -> bool:
        """Boundary moves until none improves; returns whether anything moved."""
        pr = self.pr
        weight = np.bincount(label, weights=pr.w, minlength=pr.k).astype(np.int64)
        size = np.bincount(label, minlength=pr.k)
        centre_node = [int(pr.centres[j]) for j in centre_idx]
        moved_any = False
        while not clock.out_of_time():
            moved = False
            for v in self.rng.permutation(pr.n).tolist():
                a = int(label[v])
                if v == centre_node[a] or v in pr.locked:
                    continue
                best_delta, best_b = 0, -1
                wv = int(pr.w[v])
                for u in pr.nbr[v]:
                    b = int(label[u])
                    if b == a:
                        continue
                    delta = wv * int(pr.cc[v, centre_idx[b]] - pr.cc[v, centre_idx[a]])
                    delta += self.big * (
                        self.penalty(int(weight[a]) - wv)
                        + self.penalty(int(weight[b]) + wv)
                        - self.penalty(int(weight[a]))
                        - self.penalty(int(weight[b]))
                    )
                    if delta < best_delta or (delta == best_delta and delta < 0 and b < best_b):
                        best_delta, best_b = delta, b
                if best_b < 0:
                    continue
                if not self.connected_without(label, a, centre_node[a], v, int(size[a])):
                    continue
                label[v] = best_b
                weight[a] -= wv
                weight[best_b] += wv
                size[a] -= 1
                size[best_b] += 1
                moved = moved_any = True
            if not moved:
                break
        return moved_any

    def recentre(self, label: np.ndarray, centre_idx: list[int]) -> list[int]:
        """Move each region's centre to its best candidate inside the region (unless fixed)."""
        pr = self.pr
        if pr.fixed:
            return centre_idx
        new = list(centre_idx)
        for r in range(pr.k):
            members = np.flatnonzero(label == r)
            inside = [j for j, c in enumerate(pr.centres.tolist()) if label[c] == r]
            if not inside:
                continue
            locked_here = [u for u, lr in pr.locked.items() if lr != r]
            inside = [j for j in inside if int(pr.centres[j]) not in locked_here]
            if not inside:
                continue
            tot = (
                pr.w[members, None] * pr.cc[np.ix_(members, np.asarray(inside, dtype=np.int64))]
            ).sum(axis=0)
            new[r] = inside[int(np.argmin(tot))]
        return new

    def objective(self, label: np.ndarray, centre_idx: list[int]) -> int:
        cols = np.array(centre_idx)[label]
        return int((self.pr.w * self.pr.cc[np.arange(self.pr.n), cols]).sum())

    def violation(self, label: np.ndarray) -> int:
        weight = np.bincount(label, weights=self.pr.w, minlength=self.pr.k).astype(np.int64)
        return sum(self.penalty(int(x)) for x in weight)


class _Clock:
    def __init__(self, stop: StoppingCriterion) -> None:
        self.start = time.perf_counter()
        self.limit = time_limit(stop)
        self.max_iters = iteration_limit(stop)
        self.max_stall = no_improvement_limit(stop)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def remaining(self) -> float | None:
        return None if self.limit is None else max(0.0, self.limit - self.elapsed())

    def out_of_time(self) -> bool:
        return self.limit is not None and self.elapsed() >= self.limit


def _heuristic(
    prob: _Problem, stop: StoppingCriterion, clock: _Clock, seed: int
) -> tuple[np.ndarray, list[int]]:
    """Best plan over a few seeded constructions, each followed by local search rounds."""
    rng = np.random.default_rng(seed)
    search = _Search(prob, rng)
    rounds = iteration_limit(stop) or no_improvement_limit(stop) or 10_000
    starts = 10_000 if clock.limit is not None else max(1, min(4, rounds))
    # Small problems leave most of the time to CP-SAT; large ones spend it all on restarts.
    share = 0.4 if prob.n <= EXACT_MAX_UNITS else 1.0
    best: tuple[int, int, np.ndarray, list[int]] | None = None
    for start in range(starts):
        search.randomize = start > 0
        centre_idx = search.choose_centres()
        label = search.grow(centre_idx)
        for _ in range(min(rounds, 20)):
            search.improve(label, centre_idx, clock)
            new_centres = search.recentre(label, centre_idx)
            if new_centres == centre_idx or clock.out_of_time():
                break
            centre_idx = new_centres
        key = (search.violation(label), search.objective(label, centre_idx))
        if best is None or key < best[:2]:
            best = (*key, label.copy(), list(centre_idx))
        if clock.limit is not None and clock.elapsed() > share * clock.limit:
            break
    assert best is not None
    return best[2], best[3]


# --------------------------------------------------------------------------------------------
# Exact CP-SAT model


def _bfs_order(nbr: list[list[int]], root: int) -> tuple[list[int], dict[int, int]]:
    hop = {root: 0}
    order = [root]
    queue = deque([root])
    while queue:
        u = queue.popleft()
        for v in nbr[u]:
            if v not in hop:
                hop[v] = hop[u] + 1
                order.append(v)
                queue.append(v)
    return order, hop


def _cpsat(
    prob: _Problem,
    label: np.ndarray | None,
    centre_idx: list[int] | None,
    settings: SolveSettings,
) -> tuple[np.ndarray, list[int], str] | None:
    """Solve the centre-based CP-SAT model; returns (labels, centre per region, status)."""
    # Candidate centres: all when few, else the best few inside each heuristic region.
    m_all = len(prob.centres)
    if prob.fixed or m_all <= prob.k * _CENTRES_PER_REGION or label is None or centre_idx is None:
        cands = list(range(m_all))
    else:
        cands = []
        for r in range(prob.k):
            members = np.flatnonzero(label == r)
            inside = [j for j, c in enumerate(prob.centres.tolist()) if label[c] == r]
            tot = (
                prob.w[members, None] * prob.cc[np.ix_(members, np.asarray(inside, dtype=np.int64))]
            ).sum(axis=0)
            cands.extend(inside[t] for t in np.argsort(tot, kind="stable")[:_CENTRES_PER_REGION])
        cands = sorted(set(cands) | set(centre_idx))
    arc_p: list[int] = []
    arc_c: list[int] = []
    preds: list[list[int]] = []
    for lc, j in enumerate(cands):
        root = int(prob.centres[j])
        order, hop = _bfs_order(prob.nbr, root)
        index: dict[int, int] = {}
        for v in order:
            index[v] = len(arc_p)
            arc_p.append(v)
            arc_c.append(lc)
            preds.append([index[u] for u in prob.nbr[v] if hop.get(u, -1) == hop[v] - 1])
    ap = np.array(arc_p, dtype=np.int64)
    ac = np.array(arc_c, dtype=np.int64)
    cand_arr = np.array(cands, dtype=np.int64)
    cost = prob.w[ap] * prob.cc[ap, cand_arr[ac]]
    same: list[tuple[int, int]] = []
    diff: list[tuple[int, int]] = []
    reps: dict[int, int] = {}
    forced: list[int] = []
    if prob.fixed:
        forced = list(range(len(cands)))
        for u, r in prob.locked.items():
            same.append((u, int(prob.centres[r])))
    else:
        for u, r in sorted(prob.locked.items()):
            if r in reps:
                same.append((u, reps[r]))
            else:
                reps[r] = u
        rep_list = sorted(reps.values())
        diff = [(a, b) for i, a in enumerate(rep_list) for b in rep_list[i + 1 :]]
    hint = None
    if label is not None and centre_idx is not None:
        pos = {j: lc for lc, j in enumerate(cands)}
        hint = np.array([pos[centre_idx[int(label[v])]] for v in range(prob.n)], dtype=np.int64)
    model = AssignmentModel(
        demand=prob.w,
        centre_point=prob.centres[cand_arr],
        arc_point=ap,
        arc_centre=ac,
        arc_cost=cost,
        p=prob.k,
        upper=np.full(len(cands), prob.hi, dtype=np.int64),
        lower=np.full(len(cands), prob.lo, dtype=np.int64),
        forced_open=forced,
        predecessors=preds,
        same_region=same,
        different_region=diff,
        hint=hint,
    )
    sol = solve_assignment(model, settings)
    if sol.centre_of_point is None:
        return None if sol.status != "infeasible" else (np.empty(0, np.int64), [], "infeasible")
    open_local = sorted(set(sol.centre_of_point.tolist()))
    # Region numbering: fixed yards keep their order; locked labels keep theirs; others by unit.
    region_of: dict[int, int] = {}
    if prob.fixed:
        region_of = {lc: lc for lc in open_local}
    else:
        for r, u in reps.items():
            region_of[int(sol.centre_of_point[u])] = r
        free = [r for r in range(prob.k) if r not in region_of.values()]
        for lc in open_local:
            if lc not in region_of:
                region_of[lc] = free.pop(0)
    labels = np.array([region_of[int(c)] for c in sol.centre_of_point], dtype=np.int64)
    centres = [0] * prob.k
    for lc, r in region_of.items():
        centres[r] = cands[lc]
    return labels, centres, sol.status


# --------------------------------------------------------------------------------------------


def plan_problems(
    data: DistrictingData, labels: np.ndarray, *, check_contiguity: bool = True
) -> list[str]:
    """Everything a plan breaks: region count, contiguity, balance, size, locks, whole groups."""
    labels = np.asarray(labels)
    problems: list[str] = []
    if labels.shape != (data.num_units,) or np.any(labels < 0) or np.any(labels >= data.k):
        return [f"labels must give a region 0..{data.k - 1} for each of {data.num_units} units"]
    total = int(data.weights.sum())
    lo, hi = _bounds(total, data.k, data.balance_tolerance, data.max_weight)
    nbr = neighbours(data.num_units, data.adjacency)
    for r in range(data.k):
        members = np.flatnonzero(labels == r)
        if len(members) == 0:
            problems.append(f"region {r} is empty")
            continue
        wr = int(data.weights[members].sum())
        if not lo <= wr <= hi:
            problems.append(f"region {r} carries {wr}, outside the allowed {lo}..{hi}")
        if check_contiguity:
            pieces = components(nbr, members.tolist())
            if len(pieces) > 1:
                problems.append(f"region {r} falls into {len(pieces)} unconnected pieces")
    for u, r in data.locked.items():
        if labels[u] != r:
            problems.append(f"unit {data.label(u)} is locked to region {r} but sits in {labels[u]}")
    if data.keep_groups_whole and data.groups is not None:
        seen: dict[int, int] = {}
        for u, g in enumerate(data.groups):
            if seen.setdefault(g, int(labels[u])) != labels[u]:
                problems.append(f"group {g} is split across regions")
                break
    return problems


def solve_districting(
    data: DistrictingData, *, stop: StoppingCriterion | None = None, seed: int = 0
) -> DistrictingResult:
    """Partition the units into ``data.k`` contiguous, balanced, compact regions.

    Parameters
    ----------
    data
        The request.
    stop
        When to stop (default 60 s). A count-based criterion bounds the local search rounds and
        runs CP-SAT single-threaded on a deterministic time limit, so the result is reproducible.
    seed
        Random seed for the construction, the local search and CP-SAT.
    """
    stop = stop if stop is not None else MaxRuntime(60.0)
    clock = _Clock(stop)
    prob, node_of_unit, centre_unit = _reduce(data)
    _precheck(data, prob)
    label, centre_idx = _heuristic(prob, stop, clock, seed)
    search = _Search(prob, np.random.default_rng(seed))
    best_key = (search.violation(label), search.objective(label, centre_idx))
    status = "feasible" if best_key[0] == 0 else "infeasible"
    message = "local search"
    log.debug("districting heuristic: violation %d objective %d", *best_key)
    if prob.n <= EXACT_MAX_UNITS and not clock.out_of_time():
        # One worker: on two cores the LP-based single worker beats the portfolio here.
        base = settings_for(stop, seed, workers=1)
        if clock.limit is None:
            settings = SolveSettings(seed=seed, deterministic_time=20.0, workers=1)
        else:
            settings = base.limited(clock.remaining())
        found = _cpsat(prob, label, centre_idx, settings)
        if found is not None and found[2] == "infeasible":
            if best_key[0] > 0:
                raise InfeasibleError(_explain(prob, data))
        elif found is not None:
            lab2, cen2, st2 = found
            key2 = (search.violation(lab2), search.objective(lab2, cen2))
            if key2 <= best_key:
                label, centre_idx, best_key = lab2, cen2, key2
                status = st2
                message = "CP-SAT " + ("proved optimal" if st2 == "optimal" else "best found")
    labels = label[node_of_unit]
    problems = plan_problems(data, labels)
    if problems:
        raise InfeasibleError(_explain(prob, data) + " (" + "; ".join(problems[:3]) + ")")
    centres = tuple(int(centre_unit[j]) for j in centre_idx)
    weights = tuple(int(x) for x in np.bincount(labels, weights=data.weights, minlength=data.k))
    cc = data.centre_cost()
    pos = {int(u): j for j, u in enumerate(data.centre_units())}
    objective = int(
        sum(
            int(data.weights[u]) * int(cc[u, pos[centres[int(labels[u])]]])
            for u in range(data.num_units)
        )
    )
    runtime = clock.elapsed()
    log.info(
        "districting n=%d k=%d objective=%d status=%s", data.num_units, data.k, objective, status
    )
    return DistrictingResult(
        labels=labels,
        centres=centres,
        objective=objective,
        region_weights=weights,
        status=status if status != "infeasible" else "feasible",
        feasible=True,
        runtime=runtime,
        seed=seed,
        message=message,
    )


def _explain(prob: _Problem, data: DistrictingData) -> str:
    parts = [f"no plan with {prob.k} connected regions"]
    if data.balance_tolerance is not None or data.max_weight is not None:
        parts.append(f"each carrying between {prob.lo} and {prob.hi}")
    if prob.locked:
        parts.append("keeping the locked units")
    return (
        " ".join(parts)
        + " was found; loosen the balance tolerance or size limit, change k, or unlock units"
    )
