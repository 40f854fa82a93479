"""Adapters between road graph and optimizer: tasks -> `CarpData`, solution -> routes on roads.

Forward: every graph node becomes a `CarpData` node (labelled with its OSM id), every directed
graph edge a deadheading link costing its travel time in whole seconds (at least 1), every
`PatrolTask` a required edge, arc or node whose serve cost is its service time in seconds, and
every depot a vehicle type (crews starting and ending at the depot's nearest graph node, with the
shift limit in seconds). Service times come from `network.patrol_arcs`, whose per-field defaults
are: patrol speed road 20 km/h, river bank 15 km/h (by car along the bank), walking 4 km/h where
no road runs along a bank; on-site minutes park 20, bridge/tunnel 15, sign/light 2, other 10.

Backward: each route of a `CarpSolution` is expanded into ordered traversals (serve or deadhead)
along the real graph edges, deadheading on shortest paths over the same integer costs the solver
used, with street names, lengths, times and the asset ids served, and one LineString per route.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra
from shapely import LineString, Point

from optimizer.carp_data import CarpData, CarpModel, TaskKind
from optimizer.carp_solution import CarpSolution

if TYPE_CHECKING:
    import networkx as nx

    from gis_data.network.graph import RoadNetwork
    from gis_data.network.patrol_arcs import PatrolTask

logger = logging.getLogger(__name__)

_KINDS = {"edge": TaskKind.EDGE, "arc": TaskKind.ARC, "node": TaskKind.NODE}


class AdapterError(ValueError):
    """Tasks, depots or a solution do not fit the road graph."""


@dataclass(frozen=True)
class Depot:
    """A crew base: where crews start and end, with how many crews (None: as many as needed)."""

    depot_id: str
    name: str
    location: Point  # EPSG:4326
    crews: int | None = None
    municipality_code: str | None = None


@dataclass(frozen=True, eq=False)
class CarpInstance:
    """A `CarpData` together with the mapping back to the graph, tasks and depots."""

    data: CarpData
    graph_nodes: tuple[int, ...]  # CarpData node index -> OSM node id
    links: tuple[tuple[int, int, int], ...]  # CarpData link index -> graph edge (u, v, key)
    tasks: tuple[PatrolTask, ...]  # CarpData task index -> task
    depots: tuple[Depot, ...]  # vehicle type index -> depot
    depot_nodes: tuple[int, ...]  # vehicle type index -> OSM node id
    network: RoadNetwork
    # graph edge -> the town's name for its street (路線名), before the OSM name
    street_names: Mapping[tuple[int, int, int], str] = field(default_factory=dict)


@dataclass(frozen=True)
class Traversal:
    """One step of a route: serving a task or deadheading along one graph edge.

    A node task is served standing at ``from_node`` (``to_node`` equal, length 0). ``coords`` are
    (lon, lat) pairs in the direction of travel.
    """

    kind: str  # "serve" | "deadhead"
    from_node: int
    to_node: int
    street: str
    length_m: float
    time_s: int
    task_id: str | None
    task_kind: str | None  # "edge" | "arc" | "node" for serves
    asset_ids: tuple[str, ...]
    coords: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class PatrolRoute:
    """One crew's route: ordered traversals from the depot back to it, and its road geometry."""

    crew: int
    vehicle_type: int
    depot_id: str
    depot_name: str
    traversals: tuple[Traversal, ...]
    geometry: LineString  # EPSG:4326
    tasks: tuple[str, ...] = field(default=())

    @property
    def serve_s(self) -> int:
        """Seconds spent serving tasks."""
        return sum(t.time_s for t in self.traversals if t.kind == "serve")

    @property
    def deadhead_s(self) -> int:
        """Seconds spent driving between tasks."""
        return sum(t.time_s for t in self.traversals if t.kind == "deadhead")

    @property
    def total_s(self) -> int:
        """Route duration in seconds (the solver's route cost)."""
        return self.serve_s + self.deadhead_s

    @property
    def serve_m(self) -> float:
        """Metres driven while serving."""
        return sum(t.length_m for t in self.traversals if t.kind == "serve")

    @property
    def deadhead_m(self) -> float:
        """Metres driven without serving."""
        return sum(t.length_m for t in self.traversals if t.kind == "deadhead")

    @property
    def km(self) -> float:
        """Total kilometres driven."""
        return (self.serve_m + self.deadhead_m) / 1000.0

    @property
    def asset_ids(self) -> tuple[str, ...]:
        """Every asset served on the route, in order of first service."""
        seen: dict[str, None] = {}
        for t in self.traversals:
            for a in t.asset_ids:
                seen.setdefault(a, None)
        return tuple(seen)

    def waypoints(self) -> list[tuple[str, tuple[float, float], tuple[str, ...]]]:
        """Node visits (parks, structures, bank walks): (name, (lon, lat), asset ids)."""
        return [
            (t.street or (t.task_id or ""), t.coords[0], t.asset_ids)
            for t in self.traversals
            if t.kind == "serve" and t.task_kind == "node"
        ]


def _seconds(value: float) -> int:
    return max(1, round(float(value)))


def nearest_nodes(network: RoadNetwork, points: Sequence[Point]) -> list[int]:
    """The graph node nearest to each EPSG:4326 point (measured in the metric CRS)."""
    import geopandas as gpd

    G = network.graph
    ids = np.array(list(G.nodes), dtype=np.int64)
    pts = gpd.GeoSeries(
        shapely.points([G.nodes[n]["x"] for n in ids], [G.nodes[n]["y"] for n in ids]), crs=4326
    ).to_crs(network.metric_crs)
    query = gpd.GeoSeries(list(points), crs=4326).to_crs(network.metric_crs)
    tree = shapely.STRtree(np.asarray(pts.values))
    idx = tree.query_nearest(np.asarray(query.values), all_matches=False)
    out = [0] * len(points)
    for q, n in zip(idx[0], idx[1], strict=True):
        out[int(q)] = int(ids[int(n)])
    return out


def to_carp_data(
    network: RoadNetwork,
    tasks: Sequence[PatrolTask],
    depots: Sequence[Depot],
    *,
    shift_hours: float | None = 8.0,
    name: str = "",
    street_names: Mapping[tuple[int, int, int], str] | None = None,
) -> CarpInstance:
    """Build the optimizer's problem from the road graph, ``tasks`` and crew ``depots``.

    ``street_names`` (`patrol_arcs.Matching.street_names`) name the traced steps by the town's
    own street names where the OSM edge has another name or none.
    """
    if not depots:
        raise AdapterError("at least one depot is needed to build a routing problem")
    if shift_hours is not None and shift_hours <= 0:
        raise AdapterError(f"shift_hours must be > 0, got {shift_hours}")
    G = network.graph
    model = CarpModel(name=name)
    graph_nodes = tuple(sorted(int(n) for n in G.nodes))
    index = {n: model.add_node(str(n)) for n in graph_nodes}
    links: list[tuple[int, int, int]] = []
    for u, v, k, tt in G.edges(keys=True, data="travel_time"):
        model.add_link(index[u], index[v], _seconds(tt))
        links.append((int(u), int(v), int(k)))
    for task in tasks:
        kind = _KINDS.get(task.kind)
        if kind is None:
            raise AdapterError(f"task {task.task_id}: unknown kind {task.kind!r}")
        for node in (task.u, task.v):
            if node not in index:
                raise AdapterError(f"task {task.task_id}: node {node} is not in the road graph")
        if kind is not TaskKind.NODE and not G.has_edge(task.u, task.v, task.key):
            raise AdapterError(f"task {task.task_id}: edge {task.u}->{task.v} is not in the graph")
        serve = _seconds(task.serve_s)
        if kind is TaskKind.EDGE:
            model.add_required_edge(
                index[task.u], index[task.v], serve_cost=serve, label=task.task_id
            )
        elif kind is TaskKind.ARC:
            model.add_required_arc(
                index[task.u], index[task.v], serve_cost=serve, label=task.task_id
            )
        else:
            model.add_required_node(index[task.u], serve_cost=serve, label=task.task_id)
    depot_nodes = nearest_nodes(network, [d.location for d in depots])
    shift = None if shift_hours is None else round(shift_hours * 3600)
    for depot, node in zip(depots, depot_nodes, strict=True):
        model.add_vehicle_type(index[node], count=depot.crews, shift_limit=shift)
    return CarpInstance(
        data=model.data(),
        graph_nodes=graph_nodes,
        links=tuple(links),
        tasks=tuple(tasks),
        depots=tuple(depots),
        depot_nodes=tuple(depot_nodes),
        network=network,
        street_names=dict(street_names or {}),
    )


class _Paths:
    """Shortest paths over the instance's integer link costs (cheapest parallel link)."""

    def __init__(self, instance: CarpInstance) -> None:
        data = instance.data
        n = data.num_nodes
        best: dict[tuple[int, int], int] = {}
        triples = zip(
            data.link_tail.tolist(), data.link_head.tolist(), data.link_cost.tolist(), strict=True
        )
        for i, (t, h, c) in enumerate(triples):
            j = best.get((t, h))
            if j is None or c < int(data.link_cost[j]):
                best[(t, h)] = i
        self.best_link = best
        rows = [t for t, _ in best]
        cols = [h for _, h in best]
        # Zero-cost links would vanish from a sparse matrix; costs are >= 1 by construction,
        # but benchmark-like data may hold zeros, so shift them by a tiny epsilon.
        vals = [max(float(data.link_cost[i]), 1e-9) for i in best.values()]
        self.matrix = csr_matrix((vals, (rows, cols)), shape=(n, n))
        self.cache: dict[int, np.ndarray] = {}

    def path(self, source: int, target: int) -> list[int]:
        """Link indices of a shortest path source -> target."""
        if source == target:
            return []
        pred = self.cache.get(source)
        if pred is None:
            _, pred_arr = dijkstra(
                self.matrix, directed=True, indices=source, return_predecessors=True
            )
            pred = np.asarray(pred_arr, dtype=np.int64)
            self.cache[source] = pred
        nodes = [target]
        while nodes[-1] != source:
            prev = int(pred[nodes[-1]])
            if prev < 0:
                raise AdapterError(f"node {target} is unreachable from node {source}")
            nodes.append(prev)
        nodes.reverse()
        return [self.best_link[(a, b)] for a, b in itertools.pairwise(nodes)]


def _edge_coords(G: nx.MultiDiGraph, u: int, v: int, key: int) -> tuple[tuple[float, float], ...]:
    coords = [(float(x), float(y)) for x, y in G.edges[u, v, key]["geometry"].coords]
    ux, uy = G.nodes[u]["x"], G.nodes[u]["y"]
    first, last = coords[0], coords[-1]
    if (first[0] - ux) ** 2 + (first[1] - uy) ** 2 > (last[0] - ux) ** 2 + (last[1] - uy) ** 2:
        coords.reverse()
    return tuple(coords)


def _twin_key(G: nx.MultiDiGraph, task: PatrolTask) -> int:
    if task.twin_key is not None:
        return task.twin_key
    length = float(G.edges[task.u, task.v, task.key]["length"])
    options = G.get_edge_data(task.v, task.u, default={})
    if not options:
        raise AdapterError(f"edge task {task.task_id} has no reverse edge {task.v}->{task.u}")
    return min(options, key=lambda k: abs(float(options[k]["length"]) - length))


def trace_routes(instance: CarpInstance, solution: CarpSolution) -> list[PatrolRoute]:
    """Expand each route of ``solution`` into traversals and a LineString on the real roads."""
    G = instance.network.graph
    data = instance.data
    paths = _Paths(instance)
    names = instance.street_names
    routes: list[PatrolRoute] = []

    def deadhead(src: int, dst: int, out: list[Traversal]) -> None:
        for li in paths.path(src, dst):
            u, v, k = instance.links[li]
            edge = G.edges[u, v, k]
            out.append(
                Traversal(
                    kind="deadhead",
                    from_node=u,
                    to_node=v,
                    street=names.get((u, v, k)) or str(edge.get("name") or ""),
                    length_m=float(edge["length"]),
                    time_s=int(data.link_cost[li]),
                    task_id=None,
                    task_kind=None,
                    asset_ids=(),
                    coords=_edge_coords(G, u, v, k),
                )
            )

    for crew, route in enumerate(solution.routes):
        vt = data.vehicle_types[route.vehicle_type]
        depot = instance.depots[route.vehicle_type]
        cur = vt.depot
        steps: list[Traversal] = []
        for service in route.services:
            task = instance.tasks[service.task]
            kind = TaskKind(int(data.task_kind[service.task]))
            start, end = int(data.task_u[service.task]), int(data.task_v[service.task])
            if service.reverse:
                if kind is not TaskKind.EDGE:
                    raise AdapterError(f"task {task.task_id}: only edges may be served reversed")
                start, end = end, start
            deadhead(cur, start, steps)
            cost = int(data.task_serve_cost[service.task])
            if kind is TaskKind.NODE:
                node = task.u
                coords: tuple[tuple[float, float], ...] = (
                    (float(G.nodes[node]["x"]), float(G.nodes[node]["y"])),
                )
                steps.append(
                    Traversal("serve", node, node, task.name, 0.0, cost, task.task_id, "node",
                              task.asset_ids, coords)
                )  # fmt: skip
            else:
                key: int | None = _twin_key(G, task) if service.reverse else task.key
                u, v = (task.v, task.u) if service.reverse else (task.u, task.v)
                if key is None:
                    raise AdapterError(f"task {task.task_id}: a street task needs an edge key")
                edge = G.edges[u, v, key]
                steps.append(
                    Traversal("serve", u, v, task.name or str(edge.get("name") or ""),
                              float(edge["length"]), cost, task.task_id, task.kind,
                              task.asset_ids, _edge_coords(G, u, v, key))
                )  # fmt: skip
            cur = end
        deadhead(cur, vt.depot, steps)
        routes.append(
            PatrolRoute(
                crew=crew,
                vehicle_type=route.vehicle_type,
                depot_id=depot.depot_id,
                depot_name=depot.name,
                traversals=tuple(steps),
                geometry=_route_line(steps, G, instance.graph_nodes[vt.depot]),
                tasks=tuple(instance.tasks[s.task].task_id for s in route.services),
            )
        )
    return routes


def _route_line(steps: Sequence[Traversal], G: nx.MultiDiGraph, depot: int) -> LineString:
    coords: list[tuple[float, float]] = [(float(G.nodes[depot]["x"]), float(G.nodes[depot]["y"]))]
    for step in steps:
        for c in step.coords:
            if c != coords[-1]:
                coords.append(c)
    if len(coords) == 1:
        coords.append(coords[0])
    return LineString(coords)


def route_cost(instance: CarpInstance, solution: CarpSolution) -> int:
    """Total cost (s) of ``solution`` on ``instance``: serve costs plus shortest deadheading."""
    return sum(r.total_s for r in trace_routes(instance, solution))


def summarize_route(route: PatrolRoute) -> list[dict[str, Any]]:
    """Consecutive traversals of the same kind and street merged, for printing."""
    rows: list[dict[str, Any]] = []
    for t in route.traversals:
        if rows and rows[-1]["kind"] == t.kind and rows[-1]["street"] == t.street:
            row = rows[-1]
            row["length_m"] += t.length_m
            row["time_s"] += t.time_s
            row["asset_ids"] = tuple(dict.fromkeys(row["asset_ids"] + t.asset_ids))
        else:
            rows.append(
                {
                    "kind": t.kind,
                    "street": t.street,
                    "length_m": t.length_m,
                    "time_s": t.time_s,
                    "asset_ids": t.asset_ids,
                }
            )
    return rows
