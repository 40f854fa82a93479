"""Lower bounds on the optimal cost of an arc routing problem, to report honest gaps.

`carp_lower_bound(data)` never exceeds the optimum (fixed vehicle costs are left out, so it stays a
bound when they are not zero). It is the largest of five bounds:

- **route ends**: every task's serve cost, plus, for each of the K routes the demand forces (one
  depot, every vehicle capped: K = ceil(total demand / largest capacity)), the cheapest deadhead
  from the depot to any task and from any task back. Valid on any graph.
- **parity matching** (undirected instances: edge and node tasks only, every link usable both ways
  at the same cost): the routes together traverse each required edge once plus deadhead links, and
  every node of that multigraph has even degree, so the deadhead links join the odd-degree nodes of
  the required edges in pairs. Each route also leaves and re-enters the depot, so the depot's degree
  is at least 2K: the depot joins the pairing with ``max(0, 2K - required depot degree)`` extra ends
  (parity-adjusted), two of them paired together cost at least a return to its nearest neighbour.
  The cheapest pairing is a minimum-cost perfect matching; half the minimum-cost assignment
  (scipy's `linear_sum_assignment`, no node to itself) never exceeds it, and for many ends half the
  sum of each end's nearest other end (one multi-source Dijkstra over Voronoi regions) stands in.

- **connection** (one depot): the routes joined at the depot form one closed walk through every
  connected piece of required work and the depot, so it pays at least a minimum spanning tree
  over the pieces (`_connection_bound`), on top of the serve costs.

- **level cuts** (one depot, capacity- or shift-aware, any graph): with phi the road distance from
  the depot (links read undirected), every route that serves a task reaching beyond phi = t crosses
  the level t at least twice, and at least ceil(demand beyond t / largest capacity) routes do so;
  served tasks cross it at most once each, the rest of the crossings are deadhead, and a deadhead
  link crosses levels over at most its cost (`_level_bound`).

- **deadhead cuts** (any graph, `optimizer._deadhead_cuts`): a cutting-plane LP over how often
  each link is deadheaded, with parity cuts (the exact matching when all are found), capacity
  cuts on sets without a depot (routes in and out), the level sets, and on mixed graphs the
  balance of each set (served one-way arcs must be deadheaded back); it usually dominates the
  others, which stay as cheap fall-backs.

All distances come from the links (scipy shortest paths); memory stays linear in the graph except
the assignment's square matrix, used only up to `ASSIGNMENT_MAX` ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra, minimum_spanning_tree

from optimizer._deadhead_cuts import cheapest_links, deadhead_cut_bound, routes_needed
from optimizer.carp_data import CarpData, TaskKind
from optimizer.shortest_paths import UNREACHABLE, DeadheadGraph

IntArray = npt.NDArray[np.int64]

#: Cutting-plane LPs (and at most seconds) for bounds stated beside a solve (progress lines,
#: plans): on small and mid-size instances the rounds bind first, so the bound is the same on
#: any machine; on city-size ones the seconds keep the search from waiting.
QUICK_CUT_ROUNDS = 20
QUICK_CUT_SECONDS = 3.0

#: Above this many ends to pair, the nearest-neighbour bound replaces the assignment (n^2 memory).
ASSIGNMENT_MAX = 2500


@dataclass(frozen=True)
class LowerBound:
    """A lower bound and its parts (all in the problem's cost units, without fixed costs)."""

    value: int
    serve: int  # sum of serve costs
    routes: int  # K, the number of routes the capacities force (0 when not derived)
    route_ends: int  # the route-ends bound
    matching: int | None  # the parity-matching bound (None when the graph is not undirected)
    method: str  # which pairing bound: "assignment", "nearest", "" (none)
    connection: int = 0  # serve + the spanning tree joining the pieces of work and the depot
    levels: int = 0  # serve + the deadhead the level cuts around the depot force
    cuts: int = 0  # serve + the deadhead of the cutting-plane LP


def _symmetric(data: CarpData) -> bool:
    """True when every link's cheapest cost equals the cheapest cost of its reverse."""
    n = data.num_nodes
    fwd = cheapest_links(n, data.link_tail, data.link_head, data.link_cost)
    bwd = cheapest_links(n, data.link_head, data.link_tail, data.link_cost)
    return all(np.array_equal(f, b) for f, b in zip(fwd, bwd, strict=True))


def _num_routes(data: CarpData) -> int:
    """Routes the capacities force from a single depot (0 when that cannot be derived)."""
    types = data.vehicle_types
    if data.num_tasks == 0 or len(data.depots) != 1:
        return 0
    if any(vt.capacity is None for vt in types):
        return 1
    cap = max(int(vt.capacity or 0) for vt in types)
    demand = int(data.task_demand.sum())
    if cap <= 0:
        return 1
    return max(1, math.ceil(demand / cap))


def _route_ends(data: CarpData, graph: DeadheadGraph, k: int) -> int:
    if k == 0:
        return 0
    depot = data.depots[0]
    kinds = data.task_kind
    starts = np.concatenate([data.task_u, data.task_v[kinds == TaskKind.EDGE]])
    ends = np.concatenate([data.task_v, data.task_u[kinds == TaskKind.EDGE]])
    out_d = graph.distances([depot], np.unique(starts))[0]
    # One Dijkstra on the transposed graph, not one per task end.
    in_d = graph.distances([depot], np.unique(ends), reverse=True)[0]
    out_min, in_min = int(out_d.min()), int(in_d.min())
    if out_min >= UNREACHABLE or in_min >= UNREACHABLE:
        return 0
    return k * (out_min + in_min)


def _nearest_other(graph: DeadheadGraph, terminals: IntArray) -> npt.NDArray[np.float64]:
    """For each terminal, the distance to the nearest other terminal (undirected graph).

    One multi-source Dijkstra labels every node with its nearest terminal; the shortest path from
    a terminal to its nearest other terminal crosses its region's boundary exactly once at a link
    whose two sides give that distance (Mehlhorn's observation), so a pass over links suffices.
    """
    dist, _, owner = dijkstra(
        graph.matrix, directed=True, indices=terminals, min_only=True, return_predecessors=True
    )
    mat = graph.matrix.tocoo()
    a, b, c = mat.row, mat.col, mat.data
    ok = (owner[a] >= 0) & (owner[b] >= 0) & (owner[a] != owner[b])
    a, b, c = a[ok], b[ok], c[ok]
    through = dist[a] + c + dist[b]
    position = np.full(graph.num_nodes, -1, dtype=np.int64)
    position[terminals] = np.arange(len(terminals))
    best = np.full(len(terminals), np.inf)
    np.minimum.at(best, position[owner[a]], through)
    np.minimum.at(best, position[owner[b]], through)
    return best


def _pairing_bound(
    graph: DeadheadGraph, odd: IntArray, depot: int, copies: int, depot_loop: float
) -> tuple[float, str]:
    """Half a minimum assignment (or half the nearest-end sum) over odd nodes + depot copies."""
    total = len(odd) + copies
    if total == 0:
        return 0.0, ""
    if total <= ASSIGNMENT_MAX:
        nodes = np.concatenate([odd, np.full(copies, depot, dtype=np.int64)])
        uniq, inv = np.unique(nodes, return_inverse=True)
        d = graph.distances(uniq, uniq).astype(np.float64)[np.ix_(inv, inv)]
        d[d >= UNREACHABLE] = np.inf
        if copies:
            d[len(odd) :, len(odd) :] = depot_loop
        big = float(np.nanmax(np.where(np.isfinite(d), d, 0))) * (total + 1) + 1.0
        d[~np.isfinite(d)] = big  # unpairable: keeps the assignment feasible, weakly bounded
        np.fill_diagonal(d, big)
        rows, cols = linear_sum_assignment(d)
        value = float(d[rows, cols].sum())
        if value >= big:  # some end had no partner: fall back to nothing rather than guess
            return 0.0, ""
        return value / 2.0, "assignment"
    terminals = np.unique(np.concatenate([odd, [depot] if copies else []]).astype(np.int64))
    nearest = _nearest_other(graph, terminals)
    where = {int(t): i for i, t in enumerate(terminals)}
    total_nn = float(nearest[[where[int(t)] for t in odd]].sum())
    if copies:
        depot_nn = float(nearest[where[depot]])
        if copies >= 2:
            depot_nn = min(depot_nn, depot_loop)
        total_nn += copies * depot_nn
    if not np.isfinite(total_nn):
        return 0.0, ""
    return total_nn / 2.0, "nearest"


def _connection_bound(data: CarpData, graph: DeadheadGraph) -> int:
    """Cost of joining the pieces of required work to each other and to the single depot.

    With one depot, all routes together form one closed walk (joined at the depot) that visits
    every connected piece of required edges and arcs, every required node and the depot. Between
    two pieces it pays at least their distance, so it costs at least a tour through the pieces,
    at least a minimum spanning tree over them (distances on the graph read undirected, which
    never exceed the directed ones). The tree comes from Mehlhorn's construction: one
    multi-source Dijkstra labels every node with its nearest piece; the links between two labels
    give the candidate piece-to-piece distances, whose spanning tree is the metric one."""
    if len(data.depots) != 1 or data.num_tasks == 0:
        return 0
    n = data.num_nodes
    edges = data.task_kind != TaskKind.NODE
    pieces = csr_matrix(
        (np.ones(int(edges.sum())), (data.task_u[edges], data.task_v[edges])), shape=(n, n)
    )
    _, label = connected_components(pieces, directed=False)
    terminal = np.zeros(n, dtype=bool)
    terminal[data.task_u] = True
    terminal[data.task_v] = True
    terminal[data.depots[0]] = True
    nodes = np.flatnonzero(terminal)
    piece_ids, piece_of = np.unique(label[nodes], return_inverse=True)
    if len(piece_ids) < 2:
        return 0
    dist, _, nearest = dijkstra(
        graph.matrix, directed=False, indices=nodes, min_only=True, return_predecessors=True
    )
    owner = np.full(n, -1, dtype=np.int64)
    reached = nearest >= 0
    position = np.full(n, -1, dtype=np.int64)
    position[nodes] = piece_of.reshape(-1)
    owner[reached] = position[nearest[reached]]
    links = graph.matrix.tocoo()
    a, b, c = links.row, links.col, links.data
    keep = (owner[a] >= 0) & (owner[b] >= 0) & (owner[a] != owner[b])
    pa, pb = owner[a[keep]], owner[b[keep]]
    weight = dist[a[keep]] + c[keep] + dist[b[keep]]
    lo, hi = np.minimum(pa, pb), np.maximum(pa, pb)
    # Cheapest candidate per pair of pieces; +1 keeps zero-length joins as edges of the tree.
    order = np.lexsort((weight, hi, lo))
    lo, hi, weight = lo[order], hi[order], weight[order]
    first = np.ones(len(lo), dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    m = len(piece_ids)
    candidates = csr_matrix((weight[first] + 1.0, (lo[first], hi[first])), shape=(m, m))
    tree = minimum_spanning_tree(candidates)
    return round(float(tree.sum()) - tree.nnz)


def _level_bound(data: CarpData, graph: DeadheadGraph) -> int:
    """Deadhead forced across the levels of the distance from the single depot.

    phi(x) is the shortest distance from the depot with every link read both ways at its
    cheaper cost, so a link of cost c joins nodes whose phi differ by at most c. Read every
    traversal of a route (deadhead link or served task) as moving phi straight from its tail's
    value to its head's: each route is then a closed curve from phi = 0, and at a level t it
    crosses an even number of times, at least twice if it serves a task with an end beyond t.
    Each task is served once, so served traversals cross t at most S(t) times (the tasks with
    one end below t and one above); the routes crossing t number at least N(t), from the
    demand and serve time beyond t. All crossings at t are at least max(2 N(t), S(t) rounded
    up to even), and the deadhead ones cost at least the measure of the levels they cross:
    deadhead >= integral over t of (that maximum - S(t))."""
    if len(data.depots) != 1 or data.num_tasks == 0:
        return 0
    phi = dijkstra(graph.matrix, directed=False, indices=data.depots[0])
    a, b = phi[data.task_u], phi[data.task_v]
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return 0
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    levels = np.unique(np.concatenate([[0.0], lo, hi]))
    if len(levels) < 2:
        return 0
    middle = (levels[:-1] + levels[1:]) / 2.0  # phi is constant between consecutive levels
    by_hi = np.argsort(hi, kind="stable")
    demand = np.concatenate(
        [np.cumsum(data.task_demand[by_hi][::-1].astype(np.float64))[::-1], [0.0]]
    )
    serve = np.concatenate(
        [np.cumsum(data.task_serve_cost[by_hi][::-1].astype(np.float64))[::-1], [0.0]]
    )
    beyond = np.searchsorted(hi[by_hi], middle, side="right")  # first task with hi > t
    routes = routes_needed(data, len(hi) - beyond, demand[beyond], serve[beyond])
    served = (np.searchsorted(np.sort(lo), middle) - np.searchsorted(np.sort(hi), middle)).astype(
        np.float64
    )
    crossings = np.maximum(2.0 * routes, served + served % 2)
    total = float(((crossings - served) * np.diff(levels)).sum())
    return math.ceil(total - 1e-6)


def carp_lower_bound(
    data: CarpData,
    graph: DeadheadGraph | None = None,
    *,
    cut_seconds: float = 10.0,
    cut_rounds: int | None = None,
) -> LowerBound:
    """A lower bound on the cost of any feasible solution of ``data`` (see the module doc).

    ``cut_seconds`` and ``cut_rounds`` bound the cutting-plane LP (0 seconds: one LP over the
    first cuts); it also stops when the bound stalls."""
    graph = graph or DeadheadGraph.from_data(data)
    serve = int(data.task_serve_cost.sum())
    k = _num_routes(data)
    ends = _route_ends(data, graph, k)
    matching: int | None = None
    method = ""
    kinds = data.task_kind
    undirected = not (kinds == TaskKind.ARC).any() and _symmetric(data)
    cuts = serve + deadhead_cut_bound(data, cut_seconds, directed=not undirected, rounds=cut_rounds)
    if data.num_tasks and undirected:
        edges = (kinds == TaskKind.EDGE) & (data.task_u != data.task_v)
        degree = np.bincount(
            np.concatenate([data.task_u[edges], data.task_v[edges]]), minlength=data.num_nodes
        )
        odd = np.flatnonzero(degree % 2 == 1).astype(np.int64)
        copies, depot, loop = 0, -1, math.inf
        depot_nodes = (kinds == TaskKind.NODE) & np.isin(data.task_u, data.depots)
        if k and not depot_nodes.any():
            # A route serving only node tasks at the depot would have no depot ends.
            depot = data.depots[0]
            at_depot = (data.task_u == depot) & (data.task_v == depot)
            loops = int(((kinds == TaskKind.EDGE) & at_depot).sum())
            r = int(degree[depot]) + 2 * loops
            copies = max(0, 2 * k - r)
            if (copies - r) % 2:
                copies += 1
            odd = odd[odd != depot]
            row = graph.matrix.getrow(depot)
            out = row.data[row.indices != depot]
            loop = 2.0 * float(out.min()) if len(out) else math.inf
            if copies and not math.isfinite(loop):
                copies = 0  # an isolated depot: no route leaves it, nothing to bound
        pairing, method = _pairing_bound(graph, odd, depot, copies, loop)
        matching = serve + math.ceil(pairing - 1e-9)
    connection = serve + _connection_bound(data, graph)
    levels = serve + _level_bound(data, graph)
    value = max(serve + ends, matching or 0, connection, levels, cuts)
    return LowerBound(
        value=value,
        serve=serve,
        routes=k,
        route_ends=serve + ends,
        matching=matching,
        method=method,
        connection=connection,
        levels=levels,
        cuts=cuts,
    )


def quick_lower_bound(
    data: CarpData, graph: DeadheadGraph | None = None, *, seconds: float | None = None
) -> LowerBound:
    """`carp_lower_bound` with the short cutting-plane budget for bounds stated beside a solve
    (``seconds``, when given and shorter, for a solve with little time of its own)."""
    budget = QUICK_CUT_SECONDS if seconds is None else min(QUICK_CUT_SECONDS, seconds)
    return carp_lower_bound(data, graph, cut_seconds=budget, cut_rounds=QUICK_CUT_ROUNDS)
