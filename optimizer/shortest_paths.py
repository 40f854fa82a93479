"""Shortest deadheading paths over the links of an arc routing problem (scipy.sparse.csgraph).

`DeadheadGraph` keeps the cheapest link of each (tail, head) pair, answers distance queries
between chosen node sets (in blocks of sources, never all-pairs over a large road network) and
rebuilds paths as node or link sequences. `solution_deadhead_paths` gives, for a solution, the
deadhead node sequence of every leg of every route (depot -> first service, between services,
last service -> depot), which is what a map of the routes needs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from optimizer.carp_data import CarpData, TaskKind
from optimizer.carp_solution import CarpSolution, Route, Service

IntArray = npt.NDArray[np.int64]

#: Distance reported between nodes with no path. Large, but far from overflowing when summed.
UNREACHABLE = np.iinfo(np.int64).max // 1024

# Rows of sources solved per Dijkstra call: bounds the float64 block to BLOCK x num_nodes.
_BLOCK = 256


class DeadheadGraph:
    """The deadheading graph of a problem: cheapest link per node pair, as a sparse matrix."""

    def __init__(self, num_nodes: int, tails: IntArray, heads: IntArray, costs: IntArray) -> None:
        self.num_nodes = int(num_nodes)
        tails = np.asarray(tails, dtype=np.int64)
        heads = np.asarray(heads, dtype=np.int64)
        costs = np.asarray(costs, dtype=np.int64)
        link_ids = np.arange(len(tails), dtype=np.int64)
        keep = tails != heads  # loops never shorten a path
        tails, heads, costs, link_ids = tails[keep], heads[keep], costs[keep], link_ids[keep]
        # Cheapest of parallel links: sort by (tail, head, cost) and keep each pair's first.
        order = np.lexsort((costs, heads, tails))
        tails, heads, costs, link_ids = tails[order], heads[order], costs[order], link_ids[order]
        first = np.ones(len(tails), dtype=bool)
        first[1:] = (tails[1:] != tails[:-1]) | (heads[1:] != heads[:-1])
        self._tails, self._heads = tails[first], heads[first]
        self._costs, self._link_ids = costs[first], link_ids[first]
        # Explicit zeros stay edges in csgraph, so zero-cost links are kept as they are.
        self.matrix = csr_matrix(
            (self._costs.astype(np.float64), (self._tails, self._heads)),
            shape=(self.num_nodes, self.num_nodes),
        )
        self.transposed = self.matrix.T.tocsr()
        self._pair_link = {
            (int(t), int(h)): int(k)
            for t, h, k in zip(self._tails, self._heads, self._link_ids, strict=True)
        }

    @classmethod
    def from_data(cls, data: CarpData) -> DeadheadGraph:
        """The deadheading graph over all links of ``data``."""
        return cls(data.num_nodes, data.link_tail, data.link_head, data.link_cost)

    def distances(
        self,
        sources: Sequence[int] | IntArray,
        targets: Sequence[int] | IntArray | None = None,
        *,
        limit: float | npt.ArrayLike | None = None,
        reverse: bool = False,
    ) -> IntArray:
        """Shortest path costs, shape ``(len(sources), len(targets))`` (all nodes when None).

        Unreachable pairs hold `UNREACHABLE`, and so do pairs farther than ``limit`` (each
        Dijkstra then stops at that radius: a local query costs only its ball of the graph);
        ``limit`` may be one radius per source (sources are then grouped by radius).
        ``reverse`` gives the costs from each target *to* each source (Dijkstra on the
        transposed graph), still shaped ``(len(sources), len(targets))``.
        """
        src = np.asarray(sources, dtype=np.int64).reshape(-1)
        tgt = None if targets is None else np.asarray(targets, dtype=np.int64).reshape(-1)
        width = self.num_nodes if tgt is None else len(tgt)
        out = np.empty((len(src), width), dtype=np.int64)
        unique_src, inverse = np.unique(src, return_inverse=True)
        inverse = inverse.reshape(-1)
        radius = np.full(len(unique_src), np.inf)
        if limit is not None:
            per_source = np.broadcast_to(np.asarray(limit, dtype=np.float64), src.shape)
            radius[:] = -np.inf
            np.maximum.at(radius, inverse, per_source)  # a repeated source: its widest radius
        # Blocks of sources with similar radii: each block's Dijkstras stop at its largest.
        order = np.argsort(radius, kind="stable")
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))
        for lo in range(0, len(order), _BLOCK):
            members = order[lo : lo + _BLOCK]
            dist = dijkstra(
                self.transposed if reverse else self.matrix,
                directed=True,
                indices=unique_src[members],
                limit=float(radius[members].max()),
            )
            if tgt is not None:
                dist = dist[:, tgt]
            finite = np.isfinite(dist)
            block_int = np.where(finite, np.rint(np.where(finite, dist, 0)), UNREACHABLE)
            slot = position[inverse]
            rows = np.flatnonzero((slot >= lo) & (slot < lo + len(members)))
            out[rows] = block_int[slot[rows] - lo].astype(np.int64)
        return out

    def predecessors(self, source: int) -> IntArray:
        """Shortest path tree from ``source``: predecessor of each node (-9999 when none)."""
        _, pred = dijkstra(self.matrix, directed=True, indices=[source], return_predecessors=True)
        return pred[0].astype(np.int64)

    def node_path(self, u: int, v: int) -> list[int]:
        """Nodes of a shortest path from ``u`` to ``v``, both included; ``[u]`` when u == v.

        Raises ValueError when ``v`` cannot be reached from ``u``.
        """
        return self.node_paths([(u, v)])[0]

    def node_paths(self, pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
        """`node_path` for many pairs, one Dijkstra per distinct source."""
        pairs = [(int(u), int(v)) for u, v in pairs]
        trees: dict[int, IntArray] = {}
        out: list[list[int]] = []
        for u, v in pairs:
            if u == v:
                out.append([u])
                continue
            if u not in trees:
                trees[u] = self.predecessors(u)
            pred = trees[u]
            path = [v]
            while path[-1] != u:
                prev = int(pred[path[-1]])
                if prev < 0:
                    raise ValueError(f"node {v} cannot be reached from node {u}")
                path.append(prev)
            out.append(path[::-1])
        return out

    def link_path(self, u: int, v: int) -> list[int]:
        """Indices (into the problem's links) of a shortest path from ``u`` to ``v``."""
        return self.links_of(self.node_path(u, v))

    def links_of(self, nodes: Sequence[int]) -> list[int]:
        """The cheapest link between each consecutive pair of ``nodes``."""
        return [self._pair_link[(int(a), int(b))] for a, b in itertools.pairwise(nodes)]


def service_nodes(data: CarpData, service: Service) -> tuple[int, int]:
    """Where serving ``service`` starts and ends (the same node for a node task)."""
    u, v = int(data.task_u[service.task]), int(data.task_v[service.task])
    if service.reverse and data.task_kind[service.task] == TaskKind.EDGE:
        return v, u
    return u, v


def route_deadhead_pairs(data: CarpData, route: Route) -> list[tuple[int, int]]:
    """(from, to) node pairs of a route's deadhead legs: depot -> first, ..., last -> depot."""
    depot = data.vehicle_types[route.vehicle_type].depot
    legs: list[tuple[int, int]] = []
    here = depot
    for service in route.services:
        start, end = service_nodes(data, service)
        legs.append((here, start))
        here = end
    legs.append((here, depot))
    return legs


def solution_deadhead_paths(
    data: CarpData, solution: CarpSolution, graph: DeadheadGraph | None = None
) -> list[list[list[int]]]:
    """For each route, the node sequence of each deadhead leg (``len(services) + 1`` legs).

    A leg whose two ends coincide is ``[node]``.
    """
    graph = graph or DeadheadGraph.from_data(data)
    per_route = [route_deadhead_pairs(data, r) for r in solution.routes]
    flat = graph.node_paths(p for legs in per_route for p in legs)
    out: list[list[list[int]]] = []
    pos = 0
    for legs in per_route:
        out.append(flat[pos : pos + len(legs)])
        pos += len(legs)
    return out
