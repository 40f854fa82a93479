"""Planning units: assets merged into units with workload, adjacency and unit-to-unit travel times.

A unit is what the districting optimizer assigns to a contract region. Line assets of one field
that touch one another (share a network node) inside one municipality are grown into connected
units of about ``target_km``: street units and river-bank sections. Every park (and any polygon
or point asset off the roads) is a unit of its own. Point structures (signs, lights, bridges)
next to a road of their town are patrolled with it and join that road's unit. Adjacency is on
the road network: streets sharing a node, bank sections continuing along a stream, parks and
banks to the road units of their access points, units joined by a short road link; pieces left
apart (per town, then overall) are joined by their closest pair so that every town and the whole
unit graph are connected (those joins are marked ``link``).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from gis_data.network.patrol_arcs import (
    DEFAULT_SERVICE_MINUTES_BY_FIELD,
    DEFAULT_SERVICE_MINUTES_BY_KIND,
    DEFAULT_SERVICE_SPEED_KMH,
)
from gis_data.planning.road_classes import road_patrol_class

if TYPE_CHECKING:
    import networkx as nx

logger = logging.getLogger(__name__)

# Calendar days between patrols when an asset leaves ``patrol_interval_days`` empty: the patrol
# calendar's class defaults (`gis_data.planning.patrol_calendar`, in working days) times 7/5.
DEFAULT_INTERVAL_DAYS = {
    "arterial_road": 2.8,
    "road": 7.0,
    "river": 28.0,
    "park": 14.0,
    "sewer": 28.0,
    "other": 28.0,
}
# Unit id letter by field: R0001 road, B0001 river bank, P0001 park, S0001 sewer, O0001 other.
_UNIT_LETTER = {"road": "R", "river": "B", "park": "P", "sewer": "S", "other": "O"}

# An asset row: a pandas Series or a plain mapping of the schema's columns.
Row: TypeAlias = Mapping[str, Any] | pd.Series

# Deadhead estimate: a share of the service time (driving between patrolled stretches) plus, for
# units off the road (parks, banks), the drive to the access point and back on every visit.
DEADHEAD_SHARE = 0.25
ACCESS_MIN = 6.0
# Without a road graph, travel times come from straight-line distance times a detour factor.
DETOUR_FACTOR = 1.3
FALLBACK_SPEED_KMH = 30.0


@dataclass(frozen=True)
class PlanningUnits:
    """Planning units of a scenario: the unit table, its adjacency and the travel time matrix.

    Attributes
    ----------
    units
        One row per unit in ``metric_crs``: ``unit_id``, ``municipality_code``, ``municipality``,
        ``fields`` (comma-separated), ``asset_ids`` (list), ``n_assets``, ``km``, ``area_m2``,
        ``service_h``, ``deadhead_h``, ``workload_h`` (patrol hours per period), ``rep_x``,
        ``rep_y`` (representative point on the unit) and the unit geometry.
    adjacency
        Unit index pairs ``(i, j)`` with ``i < j``, units adjacent on the road network.
    adjacency_kind
        For each pair: ``touch`` (streets sharing a node, or bank sections continuing along the
        same stream), ``access`` (a park or bank and the road unit of its access point) or
        ``link`` (a short road link joining otherwise separate pieces).
    travel_s
        Travel time in seconds from unit ``i`` to unit ``j`` (network shortest path, or a
        straight-line estimate when no graph was given; see ``travel_source``).
    cells
        A polygon per unit (Voronoi cell of its representative point, clipped to the study area),
        used to draw and measure regions built from units.
    asset_unit
        asset_id -> unit_id.
    asset_patrol
        asset_id -> (service minutes per visit, visits per period).
    """

    units: gpd.GeoDataFrame
    adjacency: list[tuple[int, int]]
    adjacency_kind: dict[tuple[int, int], str]
    travel_s: np.ndarray
    cells: gpd.GeoSeries
    metric_crs: CRS
    period_days: float
    travel_source: str
    asset_unit: dict[str, str] = field(default_factory=dict)
    asset_patrol: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """The number of units."""
        return len(self.units)

    @property
    def unit_ids(self) -> list[str]:
        """Unit ids in index order."""
        return [str(u) for u in self.units["unit_id"]]

    def index_of(self, unit_id: str) -> int:
        """The position of ``unit_id`` in the unit table."""
        positions = {u: i for i, u in enumerate(self.unit_ids)}
        if unit_id not in positions:
            raise KeyError(f"unknown unit_id {unit_id!r}")
        return positions[unit_id]

    def neighbours(self) -> list[list[int]]:
        """Adjacency lists by unit index."""
        out: list[list[int]] = [[] for _ in range(self.n)]
        for i, j in self.adjacency:
            out[i].append(j)
            out[j].append(i)
        return out


def _value(row: Row, name: str) -> float | None:
    """A positive float from ``row[name]``, or None when absent, empty or not positive."""
    raw: Any = row.get(name)
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    if math.isnan(number) or number <= 0:
        return None
    return number


def asset_patrol_minutes(row: Row, length_m: float) -> float:
    """Service minutes for one visit of one asset.

    ``service_minutes`` when given; otherwise, for a line, its length at ``service_speed_kmh``
    (one pass per side when ``side == "one"``, the schema's convention); otherwise the kind's or
    field's default minutes. Defaults are those of the network matching (`network.patrol_arcs`).
    """
    field_name = str(row.get("field", "other"))
    minutes = _value(row, "service_minutes")
    if minutes is not None:
        return minutes
    if length_m > 0:
        speed = _value(row, "service_speed_kmh") or DEFAULT_SERVICE_SPEED_KMH.get(field_name, 15.0)
        passes = 2.0 if str(row.get("side", "both")) == "one" else 1.0
        return passes * length_m / 1000.0 / speed * 60.0
    return DEFAULT_SERVICE_MINUTES_BY_KIND.get(
        str(row.get("kind", "")), DEFAULT_SERVICE_MINUTES_BY_FIELD.get(field_name, 10.0)
    )


def patrol_interval_days(row: Row) -> float:
    """Calendar days between patrols: the asset's own, else its class default."""
    own = _value(row, "patrol_interval_days")
    if own is not None:
        return own
    field_name = str(row.get("field", "other"))
    if field_name == "road" and road_patrol_class(row) == "arterial_road":
        return DEFAULT_INTERVAL_DAYS["arterial_road"]
    return DEFAULT_INTERVAL_DAYS.get(field_name, DEFAULT_INTERVAL_DAYS["other"])


def _visits(row: Row, period_days: float) -> float:
    return period_days / patrol_interval_days(row)


def _line_length(geom: BaseGeometry) -> float:
    if geom is None or geom.is_empty:
        return 0.0
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return 0.0
    return float(geom.length)


def _touch_pairs(geoms: gpd.GeoSeries, tolerance_m: float) -> np.ndarray:
    """Index pairs (i < j) of geometries within ``tolerance_m`` of each other."""
    if len(geoms) < 2:
        return np.empty((0, 2), dtype=np.int64)
    tree = shapely.STRtree(geoms.values)
    left, right = tree.query(geoms.values, predicate="dwithin", distance=tolerance_m)
    keep = left < right
    return np.column_stack([left[keep], right[keep]])


def _grow_road_units(
    idx: list[int], lengths: np.ndarray, nbrs: dict[int, list[int]], target_m: float
) -> list[list[int]]:
    """Split the road assets ``idx`` (one municipality) into connected groups of about target_m."""
    members = set(idx)
    assigned: dict[int, int] = {}
    groups: list[list[int]] = []
    for start in sorted(idx):
        if start in assigned:
            continue
        gid = len(groups)
        group = [start]
        assigned[start] = gid
        total = lengths[start]
        queue = deque([start])
        while queue and total < target_m:
            cur = queue.popleft()
            for nb in sorted(nbrs.get(cur, [])):
                if nb in members and nb not in assigned and total < target_m:
                    assigned[nb] = gid
                    group.append(nb)
                    total += lengths[nb]
                    queue.append(nb)
        groups.append(group)
    return _merge_small(groups, lengths, nbrs, target_m)


def _merge_small(
    groups: list[list[int]], lengths: np.ndarray, nbrs: dict[int, list[int]], target_m: float
) -> list[list[int]]:
    """Merge groups shorter than a third of the target into their smallest adjacent group."""
    owner = {a: g for g, grp in enumerate(groups) for a in grp}
    size = [float(sum(lengths[a] for a in grp)) for grp in groups]
    alive = [True] * len(groups)
    for g in sorted(range(len(groups)), key=lambda g: (size[g], g)):
        if not alive[g] or size[g] >= target_m / 3:
            continue
        adjacent = sorted(
            {owner[nb] for a in groups[g] for nb in nbrs.get(a, []) if nb in owner} - {g}
        )
        adjacent = [h for h in adjacent if alive[h] and size[h] + size[g] <= 2 * target_m]
        if not adjacent:
            continue
        h = min(adjacent, key=lambda h: (size[h], h))
        for a in groups[g]:
            owner[a] = h
        groups[h] = groups[h] + groups[g]
        size[h] += size[g]
        alive[g] = False
    return [grp for g, grp in enumerate(groups) if alive[g]]


def _components(n: int, pairs: list[tuple[int, int]]) -> np.ndarray:
    if n == 0:
        return np.empty(0, dtype=np.int64)
    if not pairs:
        return np.arange(n)
    arr = np.asarray(pairs)
    mat = csr_matrix((np.ones(len(arr)), (arr[:, 0], arr[:, 1])), shape=(n, n))
    _, labels = connected_components(mat, directed=False)
    return labels


def _join_components(
    geoms: gpd.GeoSeries,
    pairs: set[tuple[int, int]],
    kinds: dict[tuple[int, int], str],
    subset: np.ndarray | None = None,
) -> None:
    """Join separate pieces of the unit graph (or of its ``subset``) by their closest pair.

    The joins are marked ``link``: the road network connects the pieces through streets that
    carry no asset of the scenario (or of this town, when ``subset`` is one town's units).
    """
    members = np.arange(len(geoms)) if subset is None else np.asarray(subset)
    if len(members) <= 1:
        return
    local = {int(u): k for k, u in enumerate(members)}
    while True:
        inner = [(local[i], local[j]) for i, j in pairs if i in local and j in local]
        labels = _components(len(members), inner)
        comps = np.unique(labels)
        if len(comps) <= 1:
            return
        # Join the smallest piece to its nearest unit outside it, then recompute.
        sizes = {c: int((labels == c).sum()) for c in comps}
        small = min(comps, key=lambda c: (sizes[c], c))
        inside = members[labels == small]
        outside = members[labels != small]
        tree = shapely.STRtree(geoms.values[outside])
        best: tuple[float, int, int] | None = None
        for i in inside:
            j = int(outside[int(tree.nearest(geoms.values[i]))])
            d = float(geoms.values[i].distance(geoms.values[j]))
            if best is None or d < best[0]:
                best = (d, int(i), j)
        assert best is not None
        key = (min(best[1], best[2]), max(best[1], best[2]))
        pairs.add(key)
        kinds.setdefault(key, "link")
        logger.debug("joined unit piece of %d units by a %.0f m link", len(inside), best[0])


def _attach_points(
    a: gpd.GeoDataFrame, road_groups: list[list[int]], muni: np.ndarray, access_m: float
) -> set[int]:
    """Add point assets within ``access_m`` of a road of their town to that road's unit.

    Returns the attached asset positions; ``road_groups`` is extended in place.
    """
    is_point = a.geometry.geom_type.isin(["Point", "MultiPoint"]).to_numpy()
    if not is_point.any() or not road_groups:
        return set()
    road_pos = np.array([p for grp in road_groups for p in grp])
    road_group = np.array([g for g, grp in enumerate(road_groups) for _ in grp])
    attached: set[int] = set()
    for code in sorted(set(muni[is_point])):
        own = muni[road_pos] == code
        if not own.any():
            continue
        tree = shapely.STRtree(a.geometry.values[road_pos[own]])
        points = np.flatnonzero(is_point & (muni == code))
        hit_pt, hit_road = tree.query_nearest(
            a.geometry.values[points], max_distance=access_m, all_matches=False
        )
        for pt, rd in zip(hit_pt.tolist(), hit_road.tolist(), strict=True):
            pos = int(points[pt])
            if pos in attached:
                continue
            road_groups[int(road_group[own][rd])].append(pos)
            attached.add(pos)
    return attached


def _rep_point(geom: BaseGeometry) -> Point:
    """The point of ``geom`` closest to its centroid (on the line, inside the polygon)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom.representative_point()
    return nearest_points(geom, geom.centroid)[0]


def _cells(points: gpd.GeoSeries, area: BaseGeometry | None) -> gpd.GeoSeries:
    """Voronoi cells of ``points`` clipped to ``area`` (or to their buffered hull)."""
    crs = points.crs
    if len(points) == 0:
        return gpd.GeoSeries([], crs=crs)
    if area is None or area.is_empty:
        area = shapely.MultiPoint(list(points.values)).convex_hull.buffer(500.0)
    if len(points) == 1:
        return gpd.GeoSeries([area], crs=crs)
    # Identical points would share a cell: jitter duplicates by a few centimetres.
    coords = np.array([[p.x, p.y] for p in points.values])
    seen: dict[tuple[float, float], int] = {}
    for i, (x, y) in enumerate(coords):
        key = (round(x, 2), round(y, 2))
        if key in seen:
            seen[key] += 1
            coords[i] += 0.05 * seen[key]
        else:
            seen[key] = 0
    mp = shapely.MultiPoint([tuple(c) for c in coords])
    regions = shapely.voronoi_polygons(mp, extend_to=area.envelope.buffer(1000.0))
    cell_list = list(regions.geoms)
    cell_tree = shapely.STRtree(cell_list)
    out: list[BaseGeometry] = []
    for x, y in coords:
        hits = cell_tree.query(Point(x, y), predicate="intersects")
        cell = cell_list[int(hits[0])] if len(hits) else Point(x, y).buffer(50.0)
        clipped = cell.intersection(area)
        out.append(clipped if not clipped.is_empty else Point(x, y).buffer(50.0))
    return gpd.GeoSeries(out, crs=crs)


def _node_coords(G: nx.MultiDiGraph, metric_crs: CRS) -> tuple[list[Any], np.ndarray]:
    nodes = list(G.nodes)
    xy = np.array([[G.nodes[v]["x"], G.nodes[v]["y"]] for v in nodes], dtype=float)
    graph_crs = G.graph.get("crs")
    if graph_crs is not None and CRS.from_user_input(graph_crs) != metric_crs:
        tr = Transformer.from_crs(CRS.from_user_input(graph_crs), metric_crs, always_xy=True)
        x, y = tr.transform(xy[:, 0], xy[:, 1])
        xy = np.column_stack([x, y])
    return nodes, xy


def _travel_matrix(
    rep: np.ndarray, G: nx.MultiDiGraph | None, metric_crs: CRS
) -> tuple[np.ndarray, str]:
    """Seconds between representative points: network shortest paths, or straight-line estimate."""
    n = len(rep)
    straight = cdist(rep, rep)
    straight *= DETOUR_FACTOR / (FALLBACK_SPEED_KMH / 3.6)
    if G is None or G.number_of_nodes() == 0 or n == 0:
        return straight, "straight-line estimate"
    nodes, xy = _node_coords(G, metric_crs)
    pos = {v: i for i, v in enumerate(nodes)}
    rows, cols, vals = [], [], []
    for u, v, data in G.edges(data=True):
        t = data.get("travel_time")
        if t is None:
            t = float(data.get("length", 0.0)) / (FALLBACK_SPEED_KMH / 3.6)
        rows.append(pos[u])
        cols.append(pos[v])
        vals.append(max(float(t), 1e-3))
    mat = csr_matrix((vals, (rows, cols)), shape=(len(nodes), len(nodes)))
    snap_d, snap = cKDTree(xy).query(rep)
    unique_nodes, inverse = np.unique(snap, return_inverse=True)
    dist = dijkstra(mat, directed=True, indices=unique_nodes)[:, unique_nodes]
    # Drive time between the nodes, plus the straight-line approach to and from the network.
    approach = snap_d * DETOUR_FACTOR / (FALLBACK_SPEED_KMH / 3.6)
    travel = dist[np.ix_(inverse, inverse)] + approach[:, None] + approach[None, :]
    np.fill_diagonal(travel, 0.0)
    unreachable = ~np.isfinite(travel)
    if unreachable.any():
        logger.warning(
            "%d unit pairs unreachable on the network; using straight-line times",
            int(unreachable.sum()),
        )
        travel[unreachable] = straight[unreachable]
    return travel, "road network"


def build_units(
    assets: gpd.GeoDataFrame,
    *,
    metric_crs: CRS | str | int | None = None,
    graph: nx.MultiDiGraph | None = None,
    area: BaseGeometry | gpd.GeoDataFrame | None = None,
    target_km: float = 1.5,
    period_days: float = 30.0,
    touch_m: float = 2.0,
    link_m: float = 30.0,
    access_m: float = 100.0,
) -> PlanningUnits:
    """Group ``assets`` into planning units.

    Parameters
    ----------
    assets
        Assets in the gunmane schema (any CRS; needs ``asset_id``, ``municipality_code``,
        ``field`` and a geometry).
    metric_crs
        Projected CRS for lengths and distances; the estimated UTM zone when omitted.
    graph
        Road network (osmnx graph with ``x``/``y`` node coordinates and ``travel_time`` or
        ``length`` on edges) for unit-to-unit travel times; straight-line estimates without it.
    area
        Study area polygon(s) (e.g. the municipalities) clipping the unit cells.
    target_km
        Road length at which a unit stops growing.
    period_days
        The workload period: visits = period_days / patrol_interval_days.
    touch_m
        Road assets closer than this share a node.
    link_m
        Road units in the same or different towns closer than this are joined by a short link.
    access_m
        Parks and banks are adjacent to every road unit within this distance (else the nearest
        of their town); point structures this close to a road of their town join its unit.
    """
    if len(assets) == 0:
        raise ValueError("build_units: the asset table is empty")
    for col in ("asset_id", "municipality_code", "field"):
        if col not in assets.columns:
            raise ValueError(f"build_units: the asset table has no {col!r} column")
    if assets.crs is None:
        raise ValueError("build_units: the asset table has no CRS")
    empty = assets.geometry.isna() | assets.geometry.is_empty
    if empty.any():
        ids = ", ".join(str(x) for x in assets.loc[empty, "asset_id"].head(10))
        raise ValueError(f"build_units: {int(empty.sum())} asset(s) have no geometry: {ids}")
    if target_km <= 0:
        raise ValueError(f"build_units: target_km must be > 0, got {target_km}")
    if metric_crs is not None:
        crs = CRS.from_user_input(metric_crs)
    elif CRS.from_user_input(assets.crs).is_projected:
        crs = CRS.from_user_input(assets.crs)
    else:
        crs = assets.estimate_utm_crs()
    a = assets.to_crs(crs).reset_index(drop=True)
    lengths = np.array([_line_length(g) for g in a.geometry])
    fields = a["field"].astype(str).to_numpy()
    muni = a["municipality_code"].astype(str).to_numpy()
    records = a.drop(columns=a.geometry.name).to_dict("records")
    visits = np.array([_visits(r, period_days) for r in records])
    minutes = np.array([asset_patrol_minutes(r, float(lengths[i])) for i, r in enumerate(records)])

    # Line assets of one field grow along shared nodes into units; roads come first.
    nbrs: dict[int, list[int]] = {}
    groups: list[list[int]] = []
    line_fields = [f for f in ("road", "river", "sewer", "other", "park") if f in set(fields)]
    n_road_units = 0
    for fld in line_fields:
        idx_f = np.flatnonzero((fields == fld) & (lengths > 0))
        geoms_f = a.geometry.iloc[idx_f].reset_index(drop=True)
        for li, lj in _touch_pairs(geoms_f, touch_m):
            i, j = int(idx_f[li]), int(idx_f[lj])
            nbrs.setdefault(i, []).append(j)
            nbrs.setdefault(j, []).append(i)
        for code in sorted(set(muni[idx_f])):
            idx = [int(i) for i in idx_f if muni[i] == code]
            groups.extend(_grow_road_units(idx, lengths, nbrs, target_km * 1000.0))
        if fld == "road":
            n_road_units = len(groups)
    # Point structures (signs, lights, bridges) ride with the road unit they stand on.
    attached = _attach_points(a, groups[:n_road_units], muni, access_m)
    groups.extend([[int(i)] for i in np.flatnonzero(lengths <= 0) if int(i) not in attached])

    rows = []
    asset_unit: dict[str, str] = {}
    counters: dict[str, int] = {}
    asset_ids = a["asset_id"].astype(str).to_numpy()
    names = a["municipality"].astype(str).to_numpy() if "municipality" in a.columns else muni
    for g, members in enumerate(groups):
        code = str(muni[members[0]])
        counters[code] = counters.get(code, 0) + 1
        letter = _UNIT_LETTER.get(str(fields[members[0]]), "O")
        unit_id = f"{code}-{letter}{counters[code]:04d}"
        service_min = float((minutes[members] * visits[members]).sum())
        # Units off the road network are reached from an access point on every visit.
        access_min = 0.0 if g < n_road_units else ACCESS_MIN * float(visits[members].max())
        geoms = a.geometry.values[members]
        geom = shapely.union_all(geoms)
        rep = _rep_point(geom)
        deadhead_min = DEADHEAD_SHARE * service_min + access_min
        for pos in members:
            asset_unit[str(asset_ids[pos])] = unit_id
        rows.append(
            {
                "unit_id": unit_id,
                "municipality_code": code,
                "municipality": str(names[members[0]]),
                "fields": ",".join(sorted(set(fields[members]))),
                "asset_ids": [str(x) for x in asset_ids[members]],
                "n_assets": len(members),
                "km": float(lengths[members].sum()) / 1000.0,
                "area_m2": float(shapely.area(geoms).sum()),
                "service_h": service_min / 60.0,
                "deadhead_h": deadhead_min / 60.0,
                "workload_h": (service_min + deadhead_min) / 60.0,
                "rep_x": rep.x,
                "rep_y": rep.y,
                "geometry": geom,
            }
        )
    units = gpd.GeoDataFrame(rows, geometry="geometry", crs=crs)

    # Adjacency: road units touching or joined by a short link; others to their access road units.
    pairs: set[tuple[int, int]] = set()
    kinds: dict[tuple[int, int], str] = {}
    owner = {a_: g for g, members in enumerate(groups) for a_ in members}
    for i, nb in nbrs.items():
        for j in nb:
            gi, gj = owner[i], owner[j]
            # Roads touching roads, banks continuing along the same stream.
            if gi != gj:
                key = (min(gi, gj), max(gi, gj))
                pairs.add(key)
                kinds[key] = "touch"
    road_units = units.geometry.iloc[:n_road_units].reset_index(drop=True)
    for li, lj in _touch_pairs(road_units, link_m):
        key = (int(li), int(lj))
        if key not in pairs:
            pairs.add(key)
            kinds[key] = "link"
    unit_muni = units["municipality_code"].to_numpy()
    if n_road_units:
        tree = shapely.STRtree(road_units.values)
        town_trees = {
            code: (idx, shapely.STRtree(road_units.values[idx]))
            for code in set(unit_muni[:n_road_units])
            for idx in [np.flatnonzero(unit_muni[:n_road_units] == code)]
        }
        for g in range(n_road_units, len(groups)):
            geom = units.geometry.iloc[g]
            hits = [int(h) for h in tree.query(geom, predicate="dwithin", distance=access_m)]
            # Always reach a road unit of the unit's own town, so that a town stays connected.
            own = town_trees.get(unit_muni[g])
            if own is not None and not any(unit_muni[h] == unit_muni[g] for h in hits):
                hits.append(int(own[0][int(own[1].nearest(geom))]))
            if not hits:
                hits = [int(tree.nearest(geom))]
            for h in hits:
                key = (h, g)
                pairs.add(key)
                kinds[key] = "access"
    # Each town's units in one piece, then the whole graph in one piece.
    for code in sorted(set(unit_muni)):
        _join_components(units.geometry, pairs, kinds, np.flatnonzero(unit_muni == code))
    _join_components(units.geometry, pairs, kinds)

    rep_xy = units[["rep_x", "rep_y"]].to_numpy(dtype=float)
    travel, source = _travel_matrix(rep_xy, graph, crs)
    if isinstance(area, gpd.GeoDataFrame):
        area_geom: BaseGeometry | None = shapely.union_all(area.to_crs(crs).geometry.values)
    else:
        area_geom = area
    if area_geom is not None:
        # Units just outside the area (a street or bank along the border) still get a cell.
        area_geom = area_geom.buffer(200.0)
    cells = _cells(gpd.GeoSeries(shapely.points(rep_xy), crs=crs), area_geom)
    logger.info(
        "%d assets -> %d units (%d road), %d adjacent pairs, travel from %s",
        len(a),
        len(units),
        n_road_units,
        len(pairs),
        source,
    )
    return PlanningUnits(
        units=units,
        adjacency=sorted(pairs),
        adjacency_kind=kinds,
        travel_s=travel,
        cells=cells,
        metric_crs=crs,
        period_days=period_days,
        travel_source=source,
        asset_unit=asset_unit,
        asset_patrol={
            str(asset_ids[i]): (float(minutes[i]), float(visits[i])) for i in range(len(a))
        },
    )


def municipality_units(units: PlanningUnits) -> dict[str, list[int]]:
    """Unit indices by municipality code."""
    out: dict[str, list[int]] = {}
    for i, code in enumerate(units.units["municipality_code"].astype(str)):
        out.setdefault(code, []).append(i)
    return out
