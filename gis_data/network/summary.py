"""Connectivity summary of a road graph: its size, its cut-off parts and each town's reach.

A crew can only patrol what it can drive to and back from. `network_summary` reports, for any
graph in the form `gis_data.network.graph` and `gis_data.network.road_layer` build (node ``x``/``y``
and edge ``geometry`` in EPSG:4326, ``length`` in metres):

- nodes, edges, km (directed) and street km (a two-way street once), and the number of strongly
  connected components;
- every **part cut off** from the largest strongly connected component: the streets outside it,
  grouped by weak connection, each with a location (lon/lat), its street length, why it is cut
  off (``isolated``: no way in or out; ``no way back``: reachable but a one-way street leads in;
  ``no way in``: it can reach the main part but not be reached) and the assets lying on it
  (line assets with at least half their length within `ASSET_BUFFER_M` of the part's streets,
  other assets within that distance);
- per town (with ``boundaries``) its street km (streets whose midpoint lies inside it) and the
  street km a crew can serve from its depots: streets reachable from one of the town's depots
  and from which that depot can be reached again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from pyproj import CRS

ASSET_BUFFER_M = 10.0
ASSET_MIN_FRACTION = 0.5


@dataclass(frozen=True)
class CutOffPart:
    """A group of streets outside the largest strongly connected component."""

    part_id: int
    nodes: int
    edges: int
    street_m: float
    lon: float
    lat: float
    bbox: tuple[float, float, float, float]  # lon/lat: west, south, east, north
    reason: str  # isolated | no way back | no way in
    asset_ids: tuple[str, ...]


@dataclass(frozen=True)
class TownReach:
    """A town's street length and the part of it its depots can serve (there and back)."""

    code: str
    name: str
    depots: int
    street_km: float
    reachable_km: float | None  # None when the town has no depot

    @property
    def reachable_share(self) -> float | None:
        """Reachable share of the town's street length (None without depot or streets)."""
        if self.reachable_km is None or self.street_km <= 0:
            return None
        return self.reachable_km / self.street_km


@dataclass(frozen=True)
class NetworkSummary:
    """Size and connectivity of a road graph (see the module docstring)."""

    nodes: int
    edges: int
    km: float
    street_km: float
    strongly_connected_components: int
    largest_component_nodes: int
    largest_component_street_km: float
    cut_off: tuple[CutOffPart, ...]
    towns: tuple[TownReach, ...]

    def to_dict(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict (lengths rounded to metres)."""
        return {
            "nodes": self.nodes,
            "edges": self.edges,
            "km": round(self.km, 3),
            "street_km": round(self.street_km, 3),
            "strongly_connected_components": self.strongly_connected_components,
            "largest_component_nodes": self.largest_component_nodes,
            "largest_component_street_km": round(self.largest_component_street_km, 3),
            "cut_off": [
                {
                    **asdict(p),
                    "street_m": round(p.street_m, 1),
                    "asset_ids": list(p.asset_ids),
                    "bbox": list(p.bbox),
                }
                for p in self.cut_off
            ],
            "towns": [
                {
                    **asdict(t),
                    "street_km": round(t.street_km, 3),
                    "reachable_km": None if t.reachable_km is None else round(t.reachable_km, 3),
                    "reachable_share": (
                        None if t.reachable_share is None else round(t.reachable_share, 4)
                    ),
                }
                for t in self.towns
            ],
        }


def _street_m(data: dict[str, Any]) -> float:
    return float(data.get("length", 0.0)) * (1.0 if data.get("oneway") else 0.5)


def _metric_crs(G: nx.MultiDiGraph) -> CRS:
    if G.graph.get("metric_crs"):
        return CRS.from_user_input(G.graph["metric_crs"])
    from gis_data.loading.crs import metric_crs_for

    xs = [d["x"] for _, d in G.nodes(data=True)]
    ys = [d["y"] for _, d in G.nodes(data=True)]
    return metric_crs_for((min(xs), min(ys), max(xs), max(ys)))


def _edge_line(G: nx.MultiDiGraph, u: Any, v: Any, data: dict[str, Any]) -> shapely.Geometry:
    geom = data.get("geometry")
    if geom is not None:
        return geom
    return shapely.LineString(
        [(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])]
    )


def _assets_on(
    lines: list[shapely.Geometry], assets: gpd.GeoDataFrame, crs: CRS
) -> tuple[str, ...]:
    if assets is None or assets.empty or not lines:
        return ()
    streets = gpd.GeoSeries(lines, crs=4326).to_crs(crs)
    zone = shapely.union_all(streets.buffer(ASSET_BUFFER_M).values)
    metric = assets.to_crs(crs)
    found: list[str] = []
    for asset_id, geom in zip(metric["asset_id"], metric.geometry, strict=True):
        if geom is None or geom.is_empty or not geom.intersects(zone):
            continue
        is_line = geom.geom_type in ("LineString", "MultiLineString") and geom.length > 0
        if is_line and geom.intersection(zone).length < ASSET_MIN_FRACTION * geom.length:
            continue
        found.append(str(asset_id))
    return tuple(found)


def _cut_off_parts(
    G: nx.MultiDiGraph, main: set[Any], assets: gpd.GeoDataFrame | None, crs: CRS
) -> list[CutOffPart]:
    outside = [n for n in G.nodes if n not in main]
    if not outside:
        return []
    some = next(iter(main)) if main else None
    reach_out = nx.descendants(G, some) | {some} if some is not None else set()
    reach_in = nx.ancestors(G, some) | {some} if some is not None else set()
    groups = list(nx.weakly_connected_components(G.subgraph(outside)))
    part_of = {n: i for i, group in enumerate(groups) for n in group}
    edges: dict[int, list[tuple[Any, Any, dict[str, Any]]]] = defaultdict(list)
    for u, v, data in G.edges(data=True):
        if u in main and v in main:
            continue
        part = part_of[u] if u in part_of else part_of[v]
        edges[part].append((u, v, data))
    parts: list[CutOffPart] = []
    order = sorted(range(len(groups)), key=lambda i: min(map(str, groups[i])))
    for i in order:
        group = groups[i]
        lines = [_edge_line(G, u, v, d) for u, v, d in edges[i]]
        xs = np.array([G.nodes[n]["x"] for n in group])
        ys = np.array([G.nodes[n]["y"] for n in group])
        centre = shapely.Point(xs.mean(), ys.mean())
        # a node of the part (not the mean, which may fall beside a curved street)
        k = int(np.argmin((xs - centre.x) ** 2 + (ys - centre.y) ** 2))
        sample = next(iter(group))
        reached, returns = sample in reach_out, sample in reach_in
        reason = "no way back" if reached else ("no way in" if returns else "isolated")
        parts.append(
            CutOffPart(
                part_id=len(parts) + 1,
                nodes=len(group),
                edges=len(edges[i]),
                street_m=sum(_street_m(d) for _, _, d in edges[i]),
                lon=float(xs[k]),
                lat=float(ys[k]),
                bbox=(float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())),
                reason=reason,
                asset_ids=_assets_on(lines, assets, crs) if assets is not None else (),
            )
        )
    return parts


def _town_columns(boundaries: gpd.GeoDataFrame) -> tuple[str, str | None]:
    code = "code" if "code" in boundaries.columns else "municipality_code"
    name = "name" if "name" in boundaries.columns else (
        "municipality" if "municipality" in boundaries.columns else None
    )  # fmt: skip
    return code, name


def _town_reach(
    G: nx.MultiDiGraph,
    boundaries: gpd.GeoDataFrame,
    depots: gpd.GeoDataFrame | None,
    crs: CRS,
) -> list[TownReach]:
    code_col, name_col = _town_columns(boundaries)
    towns = boundaries.to_crs(4326).reset_index(drop=True)
    keys = list(G.edges(keys=True, data=True))
    mids = shapely.line_interpolate_point(
        np.array([_edge_line(G, u, v, d) for u, v, _, d in keys], dtype=object),
        0.5,
        normalized=True,
    )
    tree = shapely.STRtree(towns.geometry.values)
    pt_idx, town_idx = tree.query(mids, predicate="within")
    town_of_edge = dict(zip(pt_idx.tolist(), town_idx.tolist(), strict=True))
    nodes = list(G.nodes)
    node_pts = gpd.GeoSeries(
        shapely.points([G.nodes[n]["x"] for n in nodes], [G.nodes[n]["y"] for n in nodes]), crs=4326
    ).to_crs(crs)
    node_tree = shapely.STRtree(node_pts.values)
    depot_nodes: dict[str, list[Any]] = defaultdict(list)
    if depots is not None and not depots.empty:
        depot_code = "municipality_code" if "municipality_code" in depots.columns else "code"
        metric_depots = depots.to_crs(crs)
        for code, point in zip(metric_depots[depot_code], metric_depots.geometry, strict=True):
            if point is None or point.is_empty or code is None:
                continue
            depot_nodes[str(code)].append(nodes[int(node_tree.nearest(point))])
    out: list[TownReach] = []
    for t, row in towns.iterrows():
        code = str(row[code_col])
        name = str(row[name_col]) if name_col else code
        mine = [i for i, town in town_of_edge.items() if town == t]
        street_km = sum(_street_m(keys[i][3]) for i in mine) / 1000.0
        starts = depot_nodes.get(code, [])
        reachable: float | None = None
        if starts:
            served: set[int] = set()
            for d in dict.fromkeys(starts):
                there = nx.descendants(G, d) | {d}
                back = nx.ancestors(G, d) | {d}
                served.update(i for i in mine if keys[i][0] in there and keys[i][1] in back)
            reachable = sum(_street_m(keys[i][3]) for i in served) / 1000.0
        out.append(TownReach(code, name, len(starts), street_km, reachable))
    return out


def network_summary(
    G: nx.MultiDiGraph,
    *,
    assets: gpd.GeoDataFrame | None = None,
    depots: gpd.GeoDataFrame | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
) -> NetworkSummary:
    """Summarise ``G`` (the whole graph, before any reduction to its largest component).

    ``assets`` need ``asset_id`` and a geometry; ``depots`` points with ``municipality_code``;
    ``boundaries`` polygons with ``code``/``name`` (`gis_data.loading.boundaries`) or
    ``municipality_code``/``municipality``. Any CRS; depots snap to their nearest node.
    """
    crs = _metric_crs(G) if len(G) else CRS.from_epsg(3857)
    components = list(nx.strongly_connected_components(G)) if len(G) else []
    main = max(components, key=len) if components else set()
    main_street = sum(_street_m(d) for u, v, d in G.edges(data=True) if u in main and v in main)
    return NetworkSummary(
        nodes=len(G),
        edges=G.number_of_edges(),
        km=sum(float(d.get("length", 0.0)) for _, _, d in G.edges(data=True)) / 1000.0,
        street_km=sum(_street_m(d) for _, _, d in G.edges(data=True)) / 1000.0,
        strongly_connected_components=len(components),
        largest_component_nodes=len(main),
        largest_component_street_km=main_street / 1000.0,
        cut_off=tuple(_cut_off_parts(G, main, assets, crs)),
        towns=tuple(_town_reach(G, boundaries, depots, crs)) if boundaries is not None else (),
    )
