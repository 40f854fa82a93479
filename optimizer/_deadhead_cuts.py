"""A cutting-plane LP over deadhead counts per link: the strongest of the lower bounds.

On an undirected instance, let y_e be how many times all routes together deadhead over link e.
For any set S of nodes, the routes cross the cut delta(S) an even number of times in all, the
served required edges cross it r(S) times (once each), and if S holds no depot, every route
serving a task inside S or on its border crosses it at least twice, and at least k(S) routes
do so (capacity and shift limits). Hence, for every S without a depot,

    y(delta(S)) >= max(2 k(S) - r(S), r(S) mod 2)

and for every S, y(delta(S)) >= r(S) mod 2 (the parity, or "odd", cuts). Minimising the
deadhead cost over y >= 0 under any family of these cuts is a lower bound (this is the
aggregated formulation of Belenguer and Benavent for the CARP, and of Ghiani and Laporte for
the rural postman problem). With every odd cut it is the minimum T-join, i.e. the exact
parity matching; the capacity cuts add what the matching and the level cuts see separately,
and they also join pieces of required work the way the connection tree does.

With one-way links or required arcs, y has one variable per directed link, and each set also
states its balance (what enters it leaves it: deadhead out minus in equals served arcs in minus
out, give or take the required edges across it) and one exit and one entry per route serving it.

The LP starts with the odd (and unbalanced) nodes, the depots' own cuts and the level sets
around the depot (each also cut into its separate regions), then adds the violated cuts among
the connected components of the links whose y exceeds a threshold, alone or joined by the
required links (a heuristic separation), until none is found, the bound stalls or the time or
round limit is reached. Every intermediate LP value is itself a valid bound. Memory is linear:
one variable per link, one sparse row per cut. HiGHS (scipy's `linprog`) solves each LP.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.optimize import linprog
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from optimizer.carp_data import CarpData, TaskKind

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Thresholds on y whose link components are tried as cut sets in each round, alone (parity and
#: capacity) and joined by the required links (the pieces of work the routes must reach).
_THRESHOLDS = (1e-6, 0.25, 0.5, 0.75, 1.0 - 1e-6)
_SEPARATION = [(t, False) for t in _THRESHOLDS] + [(t, True) for t in _THRESHOLDS]
#: Level sets {phi > t} around the depot added at the start (quantiles of the task ends' phi).
_LEVELS = 60
#: Stop when the bound (serve costs + LP value) rose by less than this fraction over the last
#: `_STALL_ROUNDS` rounds.
_STALL = 5e-4
_STALL_ROUNDS = 10


def routes_needed(
    data: CarpData, tasks: IntArray | FloatArray, demand: FloatArray, serve: FloatArray
) -> FloatArray:
    """Least number of routes that serve ``tasks`` tasks of total ``demand`` and ``serve`` cost
    (element-wise): one if any, and the largest capacity bounds each route's demand, the longest
    shift its serve time."""
    types = data.vehicle_types
    routes = (np.asarray(tasks) > 0).astype(np.float64)
    if all(vt.capacity is not None for vt in types):
        cap = max(int(vt.capacity or 0) for vt in types)
        if cap > 0:
            routes = np.maximum(routes, np.ceil(demand / cap - 1e-9))
    if all(vt.shift_limit is not None for vt in types):
        shift = max(int(vt.shift_limit or 0) for vt in types)
        if shift > 0:
            routes = np.maximum(routes, np.ceil(serve / shift - 1e-9))
    return routes


def cheapest_links(
    num_nodes: int, tails: IntArray, heads: IntArray, costs: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """One link per (tail, head) pair, the cheapest, in (tail, head) order; loops left out."""
    keep = tails != heads
    tails, heads, costs = tails[keep], heads[keep], costs[keep]
    key = tails * num_nodes + heads
    order = np.lexsort((costs, key))
    key, tails, heads, costs = key[order], tails[order], heads[order], costs[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    return tails[first], heads[first], costs[first]


@dataclass
class _Cuts:
    """The rows found so far, each ``sum(coef * y[links]) >= rhs``."""

    links: list[IntArray] = field(default_factory=list)
    coefs: list[FloatArray] = field(default_factory=list)
    rhs: list[float] = field(default_factory=list)
    seen: set[bytes] = field(default_factory=set)

    def add(self, links: IntArray, coefs: FloatArray, rhs: float) -> bool:
        if rhs <= 0 and (coefs >= 0).all():
            return False  # met by every y >= 0
        key = links.tobytes() + np.sign(coefs).astype(np.int8).tobytes() + repr(rhs).encode()
        if key in self.seen:
            return False
        self.seen.add(key)
        self.links.append(links)
        self.coefs.append(coefs)
        self.rhs.append(rhs)
        return True

    def matrix(self, num_links: int) -> csr_matrix:
        sizes = [len(c) for c in self.links]
        rows = np.repeat(np.arange(len(sizes)), sizes)
        cols = np.concatenate(self.links)
        return csr_matrix((np.concatenate(self.coefs), (rows, cols)), shape=(len(sizes), num_links))


#: A cut row: the links, their coefficients, the right-hand side.
Row = tuple[IntArray, FloatArray, float]


class _Instance:
    """The links the LP prices and what each set of nodes forces across its cut.

    Undirected instances get one variable per node pair (the cheaper way, both read the same);
    instances with one-way links or required arcs get one per directed link, and the cuts also
    state the balance of each set: what enters it leaves it, so deadhead out of the set minus
    deadhead into it equals the served arcs into it minus those out of it, give or take the
    required edges crossing it (served either way), and each route serving inside a set with
    no depot enters and leaves it at least once."""

    def __init__(self, data: CarpData, directed: bool) -> None:
        n = data.num_nodes
        tails, heads = data.link_tail, data.link_head
        if not directed:
            tails, heads = np.minimum(tails, heads), np.maximum(tails, heads)
        self.data = data
        self.directed = directed
        self.n = n
        self.a, self.b, cost = cheapest_links(n, tails, heads, data.link_cost)
        self.cost = cost.astype(np.float64)
        kinds = data.task_kind
        self.tu, self.tv = data.task_u, data.task_v
        self.crossable = (kinds != TaskKind.NODE) & (self.tu != self.tv)
        self.arc = self.crossable & (kinds == TaskKind.ARC)
        self.edge = self.crossable & ~self.arc
        self.demand = data.task_demand.astype(np.float64)
        self.serve = data.task_serve_cost.astype(np.float64)
        self.is_depot = np.zeros(n, dtype=bool)
        self.is_depot[list(data.depots)] = True

    def _routes(self, touch: npt.NDArray[np.bool_]) -> float:
        return float(
            routes_needed(
                self.data,
                np.array([int(touch.sum())]),
                np.array([self.demand[touch].sum()]),
                np.array([self.serve[touch].sum()]),
            )[0]
        )

    def rows_of(self, inside: npt.NDArray[np.bool_]) -> list[Row]:
        """The rows a set of nodes gives: its cut, and with directed links its balance."""
        out = inside[self.a] & ~inside[self.b]
        into = ~inside[self.a] & inside[self.b]
        crossing = np.flatnonzero(out | into).astype(np.int64)
        tin, tout = inside[self.tu], inside[self.tv]
        r = int((self.crossable & (tin != tout)).sum())
        need = float(r % 2)
        k = {}  # side -> routes that must enter and leave it (sides without a depot)
        for name, side in (("in", inside), ("out", ~inside)):
            if not self.is_depot[side].any():
                k[name] = self._routes(side[self.tu] | side[self.tv])
                need = max(need, 2.0 * k[name] - r)
        rows: list[Row] = [(crossing, np.ones(len(crossing)), need)]
        if not self.directed:
            return rows
        e = float((self.edge & (tin != tout)).sum())
        a_out = float((self.arc & tin & ~tout).sum())  # served arcs leaving the set
        a_in = float((self.arc & ~tin & tout).sum())
        sign = np.where(out[crossing], 1.0, -1.0)  # +1 on links leaving the set
        balance = a_in - a_out
        rows.append((crossing, sign, balance - e))
        rows.append((crossing, -sign, -(balance + e)))
        if "in" in k:  # the routes serving inside leave and re-enter it
            rows.append((crossing, (sign > 0).astype(np.float64), k["in"] - a_out - e))
            rows.append((crossing, (sign < 0).astype(np.float64), k["in"] - a_in - e))
        if "out" in k:  # the same for the outside, whose exits are the inside's entries
            rows.append((crossing, (sign < 0).astype(np.float64), k["out"] - a_in - e))
            rows.append((crossing, (sign > 0).astype(np.float64), k["out"] - a_out - e))
        return rows

    def violated_components(
        self, y: FloatArray, threshold: float, with_tasks: bool = False
    ) -> list[npt.NDArray[np.bool_]]:
        """Components of the links with y above ``threshold`` whose cut the LP solution violates.

        Counted for every component at once (one pass over links and tasks); only the violated
        ones are then built as node sets. A component with every depot is read through its
        complement (a set without a depot), one with some depots gets only its parity cut."""
        sel = y > threshold
        rows, cols = self.a[sel], self.b[sel]
        if with_tasks:  # required links kept inside: the sets then have r = 0 (connectivity)
            rows = np.concatenate([rows, self.tu[self.crossable]])
            cols = np.concatenate([cols, self.tv[self.crossable]])
        graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(self.n, self.n))
        count, label = connected_components(graph, directed=False)
        if count <= 1:
            return []
        la, lb = label[self.a], label[self.b]
        cut = la != lb
        leaving = np.bincount(la[cut], y[cut], count)
        entering = np.bincount(lb[cut], y[cut], count)
        flow = leaving + entering
        tu, tv = label[self.tu], label[self.tv]
        cross = self.crossable & (tu != tv)
        r = np.bincount(tu[cross], minlength=count) + np.bincount(tv[cross], minlength=count)
        inner = tu == tv  # both ends in one component (node tasks always)

        def per_component(weights: FloatArray | None) -> FloatArray:
            """Sum over the tasks touching each component (inner once, crossing at both ends)."""
            w = np.ones(len(tu)) if weights is None else weights
            total = np.bincount(tu[inner], w[inner], count).astype(np.float64)
            total += np.bincount(tu[~inner], w[~inner], count)
            total += np.bincount(tv[~inner], w[~inner], count)
            return total

        def inside_only(weights: FloatArray | None) -> FloatArray:
            w = np.ones(len(tu)) if weights is None else weights
            return np.bincount(tu[inner], w[inner], count).astype(np.float64)

        depots = np.bincount(label[self.is_depot], minlength=count)
        k_own = routes_needed(
            self.data, per_component(None), per_component(self.demand), per_component(self.serve)
        )
        # The complement touches every task not wholly inside the component.
        k_rest = routes_needed(
            self.data,
            len(tu) - inside_only(None),
            self.demand.sum() - inside_only(self.demand),
            self.serve.sum() - inside_only(self.serve),
        )
        need = (r % 2).astype(np.float64)
        need = np.where(depots == 0, np.maximum(need, 2.0 * k_own - r), need)
        every = depots == int(self.is_depot.sum())
        need = np.where(every, np.maximum(need, 2.0 * k_rest - r), need)
        bad = flow < need - 1e-6
        if self.directed:
            arcs = self.arc & (tu != tv)
            a_out = np.bincount(tu[arcs], minlength=count).astype(np.float64)
            a_in = np.bincount(tv[arcs], minlength=count).astype(np.float64)
            edges = self.edge & (tu != tv)
            e = np.bincount(tu[edges], minlength=count) + np.bincount(tv[edges], minlength=count)
            excess = leaving - entering - (a_in - a_out)
            bad |= np.abs(excess) > e + 1e-6
        return [label == c for c in np.flatnonzero(bad)]


def _violated(row: Row, y: FloatArray | None) -> bool:
    links, coefs, rhs = row
    have = 0.0 if y is None else float(coefs @ y[links])
    return have < rhs - 1e-6


def deadhead_cut_bound(
    data: CarpData, seconds: float = 10.0, *, directed: bool = False, rounds: int | None = None
) -> int:
    """Least deadhead cost under the cuts found within ``seconds`` and at most ``rounds`` LPs
    (0 when nothing is found). A round limit that binds before the time keeps the bound the
    same on any machine.

    ``directed``: one variable per directed link and balance rows (instances with required arcs
    or one-way links); else the links are read undirected (the caller checks they are)."""
    if data.num_tasks == 0:
        return 0
    started = time.perf_counter()
    served = float(data.task_serve_cost.sum())
    inst = _Instance(data, directed)
    m = len(inst.a)
    cuts = _Cuts()
    if m == 0:
        return 0
    n = inst.n

    def add_set(inside: npt.NDArray[np.bool_], y: FloatArray | None) -> int:
        return sum(cuts.add(*row) for row in inst.rows_of(inside) if _violated(row, y))

    crossable = inst.crossable
    degree = np.bincount(np.concatenate([inst.tu[crossable], inst.tv[crossable]]), minlength=n)
    start = degree % 2 == 1
    if directed:  # nodes whose served arcs do not balance within their required edges
        edge, arc = inst.edge, inst.arc
        e = np.bincount(np.concatenate([inst.tu[edge], inst.tv[edge]]), minlength=n)
        net = np.bincount(inst.tv[arc], minlength=n) - np.bincount(inst.tu[arc], minlength=n)
        start |= np.abs(net) > e
    start[list(data.depots)] = True
    single = np.zeros(n, dtype=bool)
    for v in np.flatnonzero(start):
        single[v] = True
        add_set(single, None)
        single[v] = False
    if len(data.depots) == 1:
        both_ways = csr_matrix((inst.cost, (inst.a, inst.b)), shape=(n, n))
        phi = dijkstra(both_ways, directed=False, indices=data.depots[0])
        ends = np.concatenate([phi[inst.tu], phi[inst.tv]])
        ends = ends[np.isfinite(ends)]
        if len(ends):
            for t in np.unique(np.quantile(ends, np.linspace(0.0, 1.0, _LEVELS)[1:-1])):
                beyond = phi > t
                add_set(beyond, None)
                # Each separate region beyond t (a far town) needs its own routes in and out.
                keep = beyond[inst.a] & beyond[inst.b]
                pieces = csr_matrix(
                    (np.ones(int(keep.sum())), (inst.a[keep], inst.b[keep])), shape=(n, n)
                )
                count, label = connected_components(pieces, directed=False)
                sizes = np.bincount(label[beyond], minlength=count)
                if (sizes > 0).sum() > 1:
                    for c in np.flatnonzero(sizes > 1):
                        add_set(beyond & (label == c), None)
    best = 0.0
    history: list[float] = []
    while cuts.links:
        # One LP may not outlast the budget either (at least a second for the first one).
        left = seconds - (time.perf_counter() - started)
        result = linprog(
            inst.cost,
            A_ub=-cuts.matrix(m),
            b_ub=-np.asarray(cuts.rhs),
            bounds=(0, None),
            method="highs",
            options={"time_limit": max(1.0 if not history else 0.1, left)},
        )
        if result.status != 0 or result.x is None:
            break  # infeasible: some set no link can reach; the other bounds stand
        value = float(result.fun)
        best = max(best, value)
        history.append(value)
        if time.perf_counter() - started > seconds or len(history) == rounds:
            break
        if len(history) > _STALL_ROUNDS:
            old = history[-1 - _STALL_ROUNDS]
            if value - old <= _STALL * max(1.0, served + value):
                break
        y = np.asarray(result.x, dtype=np.float64)
        added = 0
        for threshold, with_tasks in _SEPARATION:
            for inside in inst.violated_components(y, threshold, with_tasks):
                added += add_set(inside, y)
        if not added:
            break
    return math.ceil(best - 1e-6 * max(1.0, best)) if best > 0 else 0
