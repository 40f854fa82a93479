"""Routable road graph from a town's own centreline layer (道路台帳), optionally completed by OSM.

A Japanese town holds its roads as centrelines: one LineString per road stretch, attributes such
as 路線番号, 路線名, 道路種別 (1級 / 2級 / その他) and sometimes 一方通行, in a JGD2011 plane
rectangular CS. `build_road_layer_graph` turns such a layer into the same kind of graph
`gis_data.network.graph` builds from OSM: an osmnx-compatible ``MultiDiGraph`` with node ``x``/``y``
and edge ``geometry`` in EPSG:4326, ``length`` in metres (measured in the layer's metric CRS),
``speed_kph``, ``travel_time`` (s), ``oneway``, ``highway`` (the road class) and ``name``.

Rules (distances in the metric CRS):

- **Nodes** are the lines' end points and every vertex that two lines (or one line twice) share
  exactly; lines are split there. Lines that merely cross, with no shared vertex, stay
  unconnected: that is how a ledger draws a bridge over or an underpass below another road.
- **Joins.** An end point within ``tolerance_m`` of another line's end point, vertex or segment
  is moved onto it (digitising slips); the number of such joins and the largest distance moved
  are reported. End points of one cluster (several ends within the tolerance of each other)
  meet at the first one's position. A join onto a segment inserts a vertex there.
- **One-way** from ``oneway_column``: 1 / 順 / 正 / 一方通行 / True / yes mean the digitised
  direction, -1 / 逆 / 反 / reverse mean the opposite one, 0 / 双方向 / False / no / empty mean
  both. Any other value is reported (value and count) and the street kept two-way.
- **Speeds** by road class from ``class_column``: `DEFAULT_CLASS_SPEEDS_KMH` (Japanese classes)
  and `gis_data.network.graph.HIGHWAY_SPEEDS_KMH` (OSM classes), overridden by
  ``speed_kmh``. Class values are compared after Unicode NFKC normalisation (全角 digits) with
  一級/二級 read as 1級/2級; 1級市町村道 and the like match by their leading class. A class with
  no speed gets ``fallback_speed_kmh`` and is reported with the number of lines carrying it.
- Every edge keeps the layer's attributes (under their column names), ``feature_id`` (the
  ``id_column`` value, else the 1-based feature number that assets loaded from the same file carry
  as ``source_row``), ``source = "road_layer"`` and ``required = True``.

`complete_with_osm` adds an OSM graph for deadheading: its edges get ``source = "osm"`` and
``required = False`` (国道 and 都道府県道 of other administrators are driven on, never claimed as
town roads), and each town node within ``tolerance_m`` of an OSM road is joined to it by a
short two-way ``connector`` edge.
"""

from __future__ import annotations

import math
import time
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pandas as pd
import shapely
import shapely.ops
from pyproj import CRS, Transformer
from shapely import LineString

from gis_data.loading.errors import Problem
from gis_data.network.graph import (
    FALLBACK_SPEED_KMH,
    HIGHWAY_SPEEDS_KMH,
    NetworkSummary,
    RoadNetwork,
)

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

# Default speeds (km/h) of Japanese municipal road classes (市町村道 1級 / 2級 / その他) and of the
# roads of other administrators: town trunk roads are mostly two-lane 40 km/h roads, 2級 roads
# collect traffic at about 30, the many narrow その他 roads (often under 4 m wide) allow about 20.
DEFAULT_CLASS_SPEEDS_KMH: dict[str, float] = {
    "1級": 40.0,
    "2級": 30.0,
    "その他": 20.0,
    "国道": 50.0,
    "都道府県道": 40.0,
    "県道": 40.0,
    "都道": 40.0,
    "府道": 40.0,
    "道道": 40.0,
}

_FORWARD = {
    "1",
    "1.0",
    "+1",
    "順",
    "正",
    "順方向",
    "正方向",
    "一方通行",
    "true",
    "yes",
    "y",
    "t",
    "f",
}
_REVERSE = {"-1", "-1.0", "逆", "反", "逆方向", "反対", "reverse"}
_BOTH = {"0", "0.0", "双方向", "両方向", "対面", "なし", "無", "false", "no", "n", ""}

# Edge attributes the builder sets; a layer column of the same name is kept as ``attr_<name>``.
_RESERVED = frozenset(
    {"u", "v", "key", "osmid", "length", "geometry", "oneway", "reversed", "speed_kph",
     "travel_time", "highway", "name", "feature_id", "source", "required"}
)  # fmt: skip


class RoadLayerError(ValueError):
    """The road layer cannot become a graph; ``problems`` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class RoadLayerOptions:
    """How to read a road centreline layer (column names as in the file).

    ``speed_kmh`` adds to or overrides the default class speeds; ``tolerance_m`` is how far an
    end point may be from another line and still be joined to it; ``metric_crs`` is used when the
    layer is in degrees (default: the JGD2011 zone or UTM zone of the layer); ``source`` names
    the layer in problems and on the graph (a file name, never a server path). Assets loaded
    from the same file are matched to their own edges by ``id_column`` when given (give a column
    unique per feature: a 路線番号 shared by several features would let each claim them all),
    else by the feature number they carry as ``source_row``; their ``source_file`` must equal
    ``source``.
    """

    oneway_column: str | None = None
    class_column: str | None = None
    name_column: str | None = None
    id_column: str | None = None
    speed_kmh: Mapping[str, float] = field(default_factory=dict)
    fallback_speed_kmh: float = FALLBACK_SPEED_KMH
    tolerance_m: float = 1.0
    metric_crs: Any = None
    source: str = "road layer"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.tolerance_m) and self.tolerance_m >= 0):
            raise ValueError(f"tolerance_m must be a number >= 0, got {self.tolerance_m!r}")
        for value, speed in {**self.speed_kmh, "fallback": self.fallback_speed_kmh}.items():
            if not (isinstance(speed, int | float) and math.isfinite(speed) and speed > 0):
                raise ValueError(f"speed of class {value!r} must be a number > 0, got {speed!r}")


@dataclass(frozen=True)
class RoadLayerReport:
    """What the build did: sizes, joins within the tolerance, values it could not read."""

    features: int
    nodes: int
    edges: int
    km: float  # directed edges: a two-way street counts twice
    street_km: float  # each street once
    oneway_streets: int
    joins: int
    max_join_m: float
    tolerance_m: float
    unknown_oneway: dict[str, int]
    unmapped_classes: dict[str, int]
    problems: tuple[Problem, ...]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return {
            "features": self.features,
            "nodes": self.nodes,
            "edges": self.edges,
            "km": round(self.km, 3),
            "street_km": round(self.street_km, 3),
            "oneway_streets": self.oneway_streets,
            "joins": self.joins,
            "max_join_m": round(self.max_join_m, 3),
            "tolerance_m": self.tolerance_m,
            "unknown_oneway": dict(self.unknown_oneway),
            "unmapped_classes": dict(self.unmapped_classes),
            "problems": [p.to_dict() for p in self.problems],
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, eq=False)
class RoadLayerGraph:
    """The graph built from a road layer (every part, not only the strongly connected one)."""

    graph: nx.MultiDiGraph
    report: RoadLayerReport
    metric_crs: CRS

    def to_network(self, area: BaseGeometry | None = None) -> RoadNetwork:
        """The routable network: the largest strongly connected part, the rest as ``cut_off``.

        ``area`` (EPSG:4326) is the scenario's area; default: the convex hull of the nodes.
        """
        return network_from_graph(
            self.graph, metric_crs=self.metric_crs, area=area, source=self.report_source
        )

    @property
    def report_source(self) -> str:
        """The layer's name as given in the options."""
        return str(self.graph.graph.get("road_layer", {}).get("source", "road layer"))


def normalize_class(value: Any) -> str:
    """A road class value as compared with the speed and patrol mappings (NFKC, 一級 -> 1級)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text.replace("一級", "1級").replace("二級", "2級")


def lookup_class(value: str, mapping: Mapping[str, Any]) -> Any:
    """The mapping's entry for a normalised class value: exact, else by its leading class name.

    ``1級市町村道`` finds ``1級``; ``その他市町村道`` finds ``その他``; None when nothing fits.
    """
    if value in mapping:
        return mapping[value]
    lowered = {normalize_class(k).lower(): v for k, v in mapping.items()}
    if value.lower() in lowered:
        return lowered[value.lower()]
    for key in sorted(lowered, key=len, reverse=True):
        if key and value.lower().startswith(key):
            return lowered[key]
    return None


def parse_oneway(value: Any) -> int | None:
    """+1 (digitised direction), -1 (reverse), 0 (both ways) or None (not understood)."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return 0
    if isinstance(value, bool | np.bool_):
        return 1 if value else 0
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
        return {1.0: 1, -1.0: -1, 0.0: 0}.get(number)
    text = unicodedata.normalize("NFKC", str(value)).strip().lower()
    if text in _FORWARD:
        return 1
    if text in _REVERSE:
        return -1
    if text in _BOTH:
        return 0
    return None


def _plain(value: Any) -> Any:
    """A cell as a plain Python value for the graph (None for missing)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float | np.floating) and math.isnan(float(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _feature_key(value: Any) -> str:
    plain = _plain(value)
    if isinstance(plain, float) and plain.is_integer():
        return str(int(plain))
    return "" if plain is None else str(plain)


def _check_columns(lines: gpd.GeoDataFrame, options: RoadLayerOptions) -> list[Problem]:
    problems = []
    columns = [str(c) for c in lines.columns if c != lines.geometry.name]
    for key in ("oneway_column", "class_column", "name_column", "id_column"):
        column = getattr(options, key)
        if column is not None and column not in lines.columns:
            msg = f"no column {column!r} ({key}) in the road layer; its columns are {columns}"
            problems.append(Problem(options.source, None, key, msg))
    return problems


def _to_metric(lines: gpd.GeoDataFrame, options: RoadLayerOptions) -> tuple[gpd.GeoDataFrame, CRS]:
    if lines.crs is None:
        msg = "the road layer has no CRS: give its CRS (e.g. EPSG:6677 for JGD2011 zone IX)"
        raise RoadLayerError([Problem(options.source, None, "crs", msg)])
    crs = CRS.from_user_input(lines.crs)
    if crs.is_projected and options.metric_crs is None:
        return lines, crs
    from gis_data.loading.crs import metric_crs_for

    target = (
        CRS.from_user_input(options.metric_crs)
        if options.metric_crs is not None
        else metric_crs_for(lines)
    )
    return lines.to_crs(target), target


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = int(self.parent[root])
        while self.parent[i] != root:
            self.parent[i], i = root, int(self.parent[i])
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            # the smaller index stays the root, so a cluster meets at its first end point
            self.parent[max(ra, rb)] = min(ra, rb)


def _join_endpoints(
    parts: list[np.ndarray], tolerance: float
) -> tuple[list[np.ndarray], int, float]:
    """Move end points within ``tolerance`` of another line onto it; returns the joins made."""
    n = len(parts)
    if n == 0 or tolerance <= 0:
        return parts, 0, 0.0
    ends = np.array([[p[0], p[-1]] for p in parts])  # (n, 2, 2)
    end_xy = ends.reshape(-1, 2)
    end_pts = shapely.points(end_xy)
    # 1. End points near each other form clusters that meet at the first one's position.
    tree = shapely.STRtree(end_pts)
    left, right = tree.query(end_pts, predicate="dwithin", distance=tolerance)
    clusters = _UnionFind(len(end_pts))
    for a, b in zip(left.tolist(), right.tolist(), strict=True):
        if a < b:
            clusters.union(a, b)
    roots = np.array([clusters.find(i) for i in range(len(end_pts))])
    target = end_xy[roots].copy()
    # 2. A cluster near another line's vertex or segment moves onto that line.
    lines = np.array([LineString(p) for p in parts], dtype=object)
    line_tree = shapely.STRtree(lines)
    root_ids = np.unique(roots)
    root_pts = shapely.points(end_xy[root_ids])
    near_pt, near_line = line_tree.query(root_pts, predicate="dwithin", distance=tolerance)
    # each junction moves onto the nearest line first
    order = np.lexsort((shapely.distance(root_pts[near_pt], lines[near_line]), near_pt))
    near_pt, near_line = near_pt[order], near_line[order]
    members: dict[int, list[int]] = {}
    for i, r in enumerate(roots.tolist()):
        members.setdefault(r, []).append(i)
    inserts: dict[int, list[np.ndarray]] = {}
    moved_to: dict[int, np.ndarray] = {}
    for q, j in zip(near_pt.tolist(), near_line.tolist(), strict=True):
        root = int(root_ids[q])
        own_lines = {m // 2 for m in members[root]}
        if j in own_lines:
            continue
        coords = parts[j]
        here = moved_to.get(root, end_xy[root])
        d_vertex = np.hypot(*(coords - here).T)
        if float(d_vertex.min()) == 0.0:
            continue  # already on a vertex of that line: a shared vertex, no join needed
        if root not in moved_to:
            k = int(np.argmin(d_vertex))
            if d_vertex[k] <= tolerance:
                moved_to[root] = coords[k].copy()
                continue
            point = shapely.line_interpolate_point(
                lines[j], shapely.line_locate_point(lines[j], shapely.points(here))
            )
            new = np.array(shapely.get_coordinates(point)[0])
            moved_to[root] = new
            inserts.setdefault(j, []).append(new)
        elif float(shapely.distance(lines[j], shapely.points(here))) <= tolerance:
            # a second line near the same junction: the junction's point becomes its vertex
            inserts.setdefault(j, []).append(here.copy())
    for root, xy in moved_to.items():
        target[roots == root] = xy
    out = [p.copy() for p in parts]
    for j, points in inserts.items():
        out[j] = _insert_vertices(out[j], points)
    joins = 0
    max_d = 0.0
    for i in range(len(end_pts)):
        d = float(np.hypot(*(target[i] - end_xy[i])))
        if d > 0:
            joins += 1
            max_d = max(max_d, d)
        line = out[i // 2]
        line[0 if i % 2 == 0 else -1] = target[i]
    return out, joins, max_d


def _insert_vertices(coords: np.ndarray, points: list[np.ndarray]) -> np.ndarray:
    """Insert points lying on (within rounding of) a line as vertices, in order along it."""
    line = LineString(coords)
    seg_start = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(coords, axis=0).T))])
    rows = [tuple(c) for c in coords]
    positions = [float(i) for i in range(len(coords))]
    for point in points:
        if any(np.array_equal(point, c) for c in coords):
            continue
        at = float(line.project(shapely.Point(point)))
        k = int(np.clip(np.searchsorted(seg_start, at, side="right") - 1, 0, len(coords) - 2))
        seg = seg_start[k + 1] - seg_start[k]
        positions.append(k + ((at - seg_start[k]) / seg if seg > 0 else 0.5))
        rows.append(tuple(point))
    order = np.argsort(np.array(positions), kind="stable")
    return np.array([rows[i] for i in order], dtype=float)


def _split_at_nodes(
    parts: list[np.ndarray],
) -> tuple[list[tuple[int, int, np.ndarray, int]], np.ndarray]:
    """Split every line at its end points and at vertices shared with a line (or itself).

    Returns the pieces ``(part index, start node, coordinates, end node)`` and the node
    coordinates (node ids in the order the layer first reaches them: stable for one input).
    """
    if not parts:
        return [], np.empty((0, 2))
    sizes = np.array([len(p) for p in parts])
    coords = np.concatenate(parts)
    unique, vertex_id, counts = np.unique(coords, axis=0, return_inverse=True, return_counts=True)
    vertex_id = vertex_id.reshape(-1)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    node_vertex = counts > 1
    node_vertex[vertex_id[starts]] = True
    node_vertex[vertex_id[starts + sizes - 1]] = True
    is_node = node_vertex[vertex_id]
    first_seen: dict[int, int] = {}
    for vid in vertex_id[is_node].tolist():
        first_seen.setdefault(vid, len(first_seen))
    node_of = dict(first_seen)
    pieces: list[tuple[int, int, np.ndarray, int]] = []
    for p, (start, size) in enumerate(zip(starts.tolist(), sizes.tolist(), strict=True)):
        cut = np.flatnonzero(is_node[start : start + size])
        for a, b in zip(cut[:-1].tolist(), cut[1:].tolist(), strict=True):
            u = node_of[int(vertex_id[start + a])]
            v = node_of[int(vertex_id[start + b])]
            pieces.append((p, u, coords[start + a : start + b + 1], v))
    return pieces, unique[list(first_seen)]


def _parts_of(
    metric: gpd.GeoDataFrame, options: RoadLayerOptions
) -> tuple[list[np.ndarray], list[int], list[Problem]]:
    """Each line (or part of a MultiLineString) as a coordinate array, with its feature index."""
    parts: list[np.ndarray] = []
    feature_of: list[int] = []
    problems: list[Problem] = []
    geoms = shapely.remove_repeated_points(np.asarray(metric.geometry.values, dtype=object))
    for i, geom in enumerate(geoms.tolist()):
        if geom is None or geom.is_empty:
            problems.append(
                Problem(options.source, i + 1, "geometry", "empty geometry: skipped", "warning")
            )
            continue
        if geom.geom_type not in ("LineString", "MultiLineString"):
            msg = f"a {geom.geom_type}, not a line: a road layer holds centrelines"
            problems.append(Problem(options.source, i + 1, "geometry", msg))
            continue
        for line in getattr(geom, "geoms", [geom]):
            coords = shapely.get_coordinates(line)
            if len(coords) < 2:
                msg = "a line of a single point (zero length): skipped"
                problems.append(Problem(options.source, i + 1, "geometry", msg, "warning"))
                continue
            parts.append(coords)
            feature_of.append(i)
    return parts, feature_of, problems


def _count_warnings(
    counts: Counter[str], options: RoadLayerOptions, column: str | None, what: str
) -> list[Problem]:
    return [
        Problem(
            options.source,
            None,
            column,
            f"{what} {value or '(empty)'!r} on {count} line(s)",
            "warning",
        )
        for value, count in sorted(counts.items())
    ]


def build_road_layer_graph(
    lines: gpd.GeoDataFrame, options: RoadLayerOptions | None = None
) -> RoadLayerGraph:
    """Build the directed road graph of a centreline layer (see the module docstring).

    Raises RoadLayerError, listing every problem, for a missing column, a layer without CRS, a
    feature that is not a line, or a layer with no line at all.
    """
    options = options or RoadLayerOptions()
    start = time.perf_counter()
    problems = _check_columns(lines, options)
    if problems:
        raise RoadLayerError(problems)
    metric, crs = _to_metric(lines, options)
    metric = metric.reset_index(drop=True)
    parts, feature_of, found = _parts_of(metric, options)
    problems += found
    if not any(p.severity == "error" for p in problems) and not parts:
        problems.append(Problem(options.source, None, "geometry", "the road layer has no line"))
    if any(p.severity == "error" for p in problems):
        raise RoadLayerError(problems)
    parts, joins, max_join = _join_endpoints(parts, options.tolerance_m)
    pieces, node_xy = _split_at_nodes(parts)

    n = len(metric)
    table = pd.DataFrame(metric.drop(columns=metric.geometry.name))
    if options.id_column is not None:
        feature_ids = [_feature_key(v) for v in table[options.id_column]]
    else:
        feature_ids = [str(i + 1) for i in range(n)]
    directions: list[int] = [0] * n
    unknown_oneway: Counter[str] = Counter()
    if options.oneway_column is not None:
        for i, value in enumerate(table[options.oneway_column].tolist()):
            parsed = parse_oneway(value)
            if parsed is None:
                unknown_oneway[str(value)] += 1
                parsed = 0
            directions[i] = parsed
    speeds_by_class = {**DEFAULT_CLASS_SPEEDS_KMH, **HIGHWAY_SPEEDS_KMH, **options.speed_kmh}
    classes = [""] * n
    speeds = [float(options.fallback_speed_kmh)] * n
    unmapped: Counter[str] = Counter()
    if options.class_column is not None:
        for i, value in enumerate(table[options.class_column].tolist()):
            classes[i] = normalize_class(value)
            speed = lookup_class(classes[i], speeds_by_class)
            if speed is None:
                unmapped[classes[i]] += 1
            else:
                speeds[i] = float(speed)
    problems += _count_warnings(unknown_oneway, options, options.oneway_column, "one-way value")
    problems += [
        Problem(
            options.source,
            None,
            options.class_column,
            f"road class {value or '(empty)'!r} on {count} line(s) has no speed:"
            f" {options.fallback_speed_kmh:g} km/h assumed; give it in speed_kmh",
            "warning",
        )
        for value, count in sorted(unmapped.items())
    ]
    records = [
        {(f"attr_{k}" if k in _RESERVED else str(k)): _plain(v) for k, v in row.items()}
        for row in table.to_dict("records")
    ]

    to_lonlat = Transformer.from_crs(crs, 4326, always_xy=True)
    lon, lat = to_lonlat.transform(node_xy[:, 0], node_xy[:, 1])
    G = nx.MultiDiGraph(
        crs="EPSG:4326",
        metric_crs=crs.to_string(),
        road_layer={"source": options.source, "id_column": options.id_column},
    )
    for nid in range(len(node_xy)):
        G.add_node(nid, x=float(lon[nid]), y=float(lat[nid]))
    all_coords = np.concatenate([c for _, _, c, _ in pieces]) if pieces else np.empty((0, 2))
    all_lon, all_lat = to_lonlat.transform(all_coords[:, 0], all_coords[:, 1])
    offset = 0
    street_m = 0.0
    directed_m = 0.0
    oneway_streets = 0
    for p, u, coords, v in pieces:
        size = len(coords)
        lonlat = np.column_stack([all_lon[offset : offset + size], all_lat[offset : offset + size]])
        offset += size
        length = float(np.hypot(*np.diff(coords, axis=0).T).sum())
        if length <= 0:
            continue
        f = feature_of[p]
        direction = directions[f]
        data = dict(records[f])
        speed = speeds[f]
        data.update(
            feature_id=feature_ids[f],
            source="road_layer",
            required=True,
            highway=classes[f],
            name=""
            if options.name_column is None
            else str(_plain(table.at[f, options.name_column]) or ""),
            length=length,
            speed_kph=speed,
            travel_time=length / (speed / 3.6),
            oneway=direction != 0,
        )
        forward = LineString(lonlat)
        backward = LineString(lonlat[::-1])
        street_m += length
        if direction >= 0:
            G.add_edge(u, v, **data, reversed=False, geometry=forward)
            directed_m += length
        if direction <= 0:
            G.add_edge(v, u, **data, reversed=True, geometry=backward)
            directed_m += length
        oneway_streets += direction != 0
    # a line shorter than the join tolerance can end up as a single junction: say so
    with_edges = {str(d["feature_id"]) for _, _, d in G.edges(data=True)}
    collapsed = sorted({f for f in feature_of if feature_ids[f] not in with_edges})
    G.graph["collapsed_features"] = [feature_ids[f] for f in collapsed]
    problems += [
        Problem(
            options.source,
            f + 1,
            "geometry",
            f"a line of {float(metric.geometry.iloc[f].length):.2f} m, within the"
            f" {options.tolerance_m:g} m join tolerance end to end: it became a junction",
            "warning",
        )
        for f in collapsed
    ]
    report = RoadLayerReport(
        features=n,
        nodes=G.number_of_nodes(),
        edges=G.number_of_edges(),
        km=directed_m / 1000.0,
        street_km=street_m / 1000.0,
        oneway_streets=oneway_streets,
        joins=joins,
        max_join_m=max_join,
        tolerance_m=options.tolerance_m,
        unknown_oneway=dict(unknown_oneway),
        unmapped_classes=dict(unmapped),
        problems=tuple(problems),
        seconds=time.perf_counter() - start,
    )
    return RoadLayerGraph(graph=G, report=report, metric_crs=crs)


def network_from_graph(
    G: nx.MultiDiGraph,
    *,
    metric_crs: CRS,
    area: BaseGeometry | None = None,
    source: str = "road layer",
) -> RoadNetwork:
    """A `RoadNetwork` (largest strongly connected part) from a built graph in EPSG:4326.

    The edges outside that part become ``cut_off`` so assets on them are reported as such.
    """
    start = time.perf_counter()
    if G.number_of_edges() == 0:
        from gis_data.network.graph import NetworkError

        raise NetworkError(f"{source}: the road graph has no edge")
    kept = ox.truncate.largest_component(G, strongly=True)
    cut_off = tuple(
        data["geometry"]
        for u, v, k, data in G.edges(keys=True, data=True)
        if not kept.has_edge(u, v, k)
    )
    street_m = sum(
        float(d["length"]) * (1.0 if d.get("oneway") else 0.5) for _, _, d in kept.edges(data=True)
    )
    summary = NetworkSummary(
        nodes=len(kept),
        edges=kept.number_of_edges(),
        km=sum(float(d) for _, _, d in kept.edges(data="length")) / 1000.0,
        street_km=street_m / 1000.0,
        scc_nodes_dropped=len(G) - len(kept),
        scc_edges_dropped=G.number_of_edges() - kept.number_of_edges(),
        oneway_edges=sum(1 for _, _, o in kept.edges(data="oneway") if o),
        seconds=time.perf_counter() - start,
    )
    # road-layer features with no edge left, so that their assets are reported as cut off
    kept.graph["cut_off_features"] = sorted(
        {str(d["feature_id"]) for _, _, d in G.edges(data=True) if d.get("source") == "road_layer"}
        - {
            str(d["feature_id"])
            for _, _, d in kept.edges(data=True)
            if d.get("source") == "road_layer"
        }
    )
    if area is None:
        area = shapely.MultiPoint([(d["x"], d["y"]) for _, d in kept.nodes(data=True)]).convex_hull
    return RoadNetwork(
        graph=kept,
        area=area,
        metric_crs=metric_crs,
        source=Path(source),
        summary=summary,
        cut_off=cut_off,
    )


def read_road_layer(
    path: str | Path,
    *,
    encoding: str | None = None,
    layer: str | None = None,
    crs: str | None = None,
    label: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a centreline file (zipped Shapefile, GeoPackage, GeoJSON) with its own CRS.

    A Shapefile's attribute encoding comes from ``encoding``, its ``.cpg`` or its ``.dbf``
    header, as for asset files (cp932 ledgers without ``.cpg`` need ``encoding="cp932"``
    unless the header names the code page). ``crs`` is for files that carry none. Problems name
    ``label`` (default: the file name), never the server path.
    """
    from gis_data.loading.config import detect_format
    from gis_data.loading.sources import ReadOptions, read_source

    path = Path(path)
    name = label or path.name
    fmt = detect_format(path)
    if fmt not in ("shapefile_zip", "gpkg", "geojson"):
        msg = "a road layer is a zipped Shapefile, a GeoPackage or a GeoJSON file of lines"
        raise RoadLayerError([Problem(name, None, "format", msg)])
    frame, problems = read_source(path, name, fmt, ReadOptions(layer=layer, encoding=encoding))
    errors = [p for p in problems if p.severity == "error"]
    if frame is None or errors:
        raise RoadLayerError(errors or problems)
    if frame.crs is None:
        if crs is None:
            msg = "the file has no CRS (.prj): give it, e.g. EPSG:6677 for JGD2011 zone IX"
            raise RoadLayerError([Problem(name, None, "crs", msg)])
        frame = frame.set_crs(crs)
    return frame


# Town ledgers and OSM are surveyed separately: where they meet, their junctions lie metres apart.
OSM_JOIN_TOLERANCE_M = 10.0


@dataclass(frozen=True, eq=False)
class OsmCompletion:
    """A town graph completed by OSM roads for deadheading, and how they were joined."""

    graph: nx.MultiDiGraph
    connectors: int
    max_connector_m: float
    osm_edges: int
    split_osm_edges: int
    tolerance_m: float

    def to_dict(self) -> dict[str, Any]:
        """The joins as a JSON-ready dict."""
        return {
            "connectors": self.connectors,
            "max_connector_m": round(self.max_connector_m, 3),
            "osm_edges": self.osm_edges,
            "split_osm_edges": self.split_osm_edges,
            "tolerance_m": self.tolerance_m,
        }


def _first_value(value: Any) -> Any:
    return (value[0] if value else None) if isinstance(value, list) else value


def _osm_edge_data(G: nx.MultiDiGraph, u: Any, v: Any, data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if "geometry" not in out:
        out["geometry"] = LineString(
            [(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])]
        )
    highway = str(_first_value(out.get("highway")) or "")
    speed = out.get("speed_kph")
    if speed is None or not math.isfinite(float(speed)):
        speed = HIGHWAY_SPEEDS_KMH.get(highway, FALLBACK_SPEED_KMH)
    out.update(
        highway=highway,
        name=str(_first_value(out.get("name")) or ""),
        oneway=bool(_first_value(out.get("oneway", False))),
        speed_kph=float(speed),
        travel_time=float(out["length"]) / (float(speed) / 3.6),
        source="osm",
        required=False,
    )
    return out


def complete_with_osm(
    town_graph: nx.MultiDiGraph,
    osm_graph: nx.MultiDiGraph,
    tolerance_m: float = OSM_JOIN_TOLERANCE_M,
) -> OsmCompletion:
    """The town's graph plus the OSM roads, joined where they meet within ``tolerance_m``.

    Both graphs have node ``x``/``y`` in EPSG:4326 and edge ``length`` in metres (an osmnx graph
    from a local OSM file, e.g. the one `gis_data.network.graph` builds). The town's edges keep
    ``required = True``; OSM edges get ``source = "osm"``, ``required = False`` and speeds from
    their highway class, so routes may drive them but no asset claims them. Each town node
    within the tolerance of an OSM node, else of an OSM street (which is then split there), gets
    a two-way ``connector`` edge to it. Town node ids become negative (-1 - id) so they never
    clash with OSM ids.
    """
    if not (math.isfinite(tolerance_m) and tolerance_m >= 0):
        raise ValueError(f"tolerance_m must be a number >= 0, got {tolerance_m!r}")
    crs = CRS.from_user_input(town_graph.graph.get("metric_crs") or _guess_metric(town_graph))
    to_metric = Transformer.from_crs(4326, crs, always_xy=True)
    H = nx.MultiDiGraph(**{**osm_graph.graph, **town_graph.graph})
    H.graph["crs"] = "EPSG:4326"
    H.graph["metric_crs"] = crs.to_string()
    town_id = {n: -1 - int(n) for n in town_graph.nodes}
    for n, data in town_graph.nodes(data=True):
        H.add_node(town_id[n], **data)
    for u, v, data in town_graph.edges(data=True):
        H.add_edge(town_id[u], town_id[v], **data)
    osm_edges = 0
    for n, data in osm_graph.nodes(data=True):
        H.add_node(n, **data)
    for u, v, data in osm_graph.edges(data=True):
        H.add_edge(u, v, **_osm_edge_data(osm_graph, u, v, data))
        osm_edges += 1

    osm_nodes = list(osm_graph.nodes)
    connectors = 0
    max_m = 0.0
    splits = 0
    if osm_nodes and len(town_graph) and tolerance_m > 0:
        ox_, oy_ = to_metric.transform(
            [osm_graph.nodes[n]["x"] for n in osm_nodes],
            [osm_graph.nodes[n]["y"] for n in osm_nodes],
        )
        node_tree = shapely.STRtree(shapely.points(ox_, oy_))
        edge_keys = [
            (u, v, k) for u, v, k in H.edges(keys=True) if H.edges[u, v, k]["source"] == "osm"
        ]
        edge_lines = [
            shapely.transform(
                H.edges[e]["geometry"],
                lambda xy: np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1])),
            )
            for e in edge_keys
        ]
        edge_tree = shapely.STRtree(edge_lines)
        next_id = -1 - (max((int(n) for n in town_graph.nodes), default=-1) + 1)
        for n in town_graph.nodes:
            tx, ty = to_metric.transform(town_graph.nodes[n]["x"], town_graph.nodes[n]["y"])
            here = shapely.Point(tx, ty)
            idx, dist = node_tree.query_nearest(
                here, max_distance=tolerance_m, return_distance=True
            )
            if len(idx):
                target, d = osm_nodes[int(idx[0])], float(dist[0])
            else:
                idx, dist = edge_tree.query_nearest(
                    here, max_distance=tolerance_m, return_distance=True
                )
                if not len(idx):
                    continue
                e = edge_keys[int(idx[0])]
                if not H.has_edge(*e):  # already split for another town node: skip, rare
                    continue
                fraction = float(
                    shapely.line_locate_point(edge_lines[int(idx[0])], here, normalized=True)
                )
                target, d = next_id, float(dist[0])
                next_id -= 1
                point = shapely.line_interpolate_point(
                    H.edges[e]["geometry"], fraction, normalized=True
                )
                H.add_node(target, x=float(point.x), y=float(point.y))
                splits += _split_osm_edge(H, e, target, fraction)
            _add_connector(H, town_id[n], target, d)
            connectors += 1
            max_m = max(max_m, d)
    return OsmCompletion(H, connectors, max_m, osm_edges, splits, tolerance_m)


def _guess_metric(G: nx.MultiDiGraph) -> CRS:
    from gis_data.loading.crs import metric_crs_for

    xs = [d["x"] for _, d in G.nodes(data=True)]
    ys = [d["y"] for _, d in G.nodes(data=True)]
    return metric_crs_for((min(xs), min(ys), max(xs), max(ys)))


def _split_osm_edge(H: nx.MultiDiGraph, edge: tuple[Any, Any, int], w: Any, fraction: float) -> int:
    """Split OSM edge u -> v (and its two-way twin v -> u) at ``fraction`` through node ``w``."""
    u, v, k = edge
    done = 0
    twins = [(u, v, k, fraction)]
    for k2, d2 in (H.get_edge_data(v, u) or {}).items():
        if d2.get("source") == "osm" and d2["geometry"].equals(H.edges[edge]["geometry"].reverse()):
            twins.append((v, u, k2, 1.0 - fraction))
            break
    for a, b, key, f in twins:
        data = H.edges[a, b, key]
        geom = data["geometry"]
        first = shapely.ops.substring(geom, 0.0, f, normalized=True)
        second = shapely.ops.substring(geom, f, 1.0, normalized=True)
        H.remove_edge(a, b, key)
        for x, y, part, share in ((a, w, first, f), (w, b, second, 1.0 - f)):
            piece = dict(data)
            piece["length"] = float(data["length"]) * share
            piece["travel_time"] = float(data["travel_time"]) * share
            piece["geometry"] = (
                part
                if part.geom_type == "LineString"
                else LineString(
                    [(H.nodes[x]["x"], H.nodes[x]["y"]), (H.nodes[y]["x"], H.nodes[y]["y"])]
                )
            )
            H.add_edge(x, y, **piece)
        done += 1
    return done


def _add_connector(H: nx.MultiDiGraph, a: Any, b: Any, length: float) -> None:
    line = LineString([(H.nodes[a]["x"], H.nodes[a]["y"]), (H.nodes[b]["x"], H.nodes[b]["y"])])
    speed = FALLBACK_SPEED_KMH
    for x, y, geom in ((a, b, line), (b, a, line.reverse())):
        H.add_edge(
            x, y, geometry=geom, length=length, speed_kph=speed, travel_time=length / (speed / 3.6),
            oneway=False, highway="connector", name="", source="connector", required=False,
        )  # fmt: skip


@dataclass(frozen=True, eq=False)
class LayerNetwork:
    """A network built from a town's layer (optionally completed by OSM), ready to route on.

    ``graph`` is the whole graph (for `gis_data.network.summary.network_summary`); ``network``
    its largest strongly connected part, the `RoadNetwork` the planning code routes on.
    """

    graph: nx.MultiDiGraph
    network: RoadNetwork
    report: RoadLayerReport
    completion: OsmCompletion | None

    def to_dict(self) -> dict[str, Any]:
        """The build report (and the OSM joins) as a JSON-ready dict."""
        out: dict[str, Any] = {"road_layer": self.report.to_dict()}
        if self.completion is not None:
            out["osm"] = self.completion.to_dict()
        return out


def build_layer_network(
    lines: gpd.GeoDataFrame,
    options: RoadLayerOptions | None = None,
    *,
    osm_path: str | Path | None = None,
    area: BaseGeometry | None = None,
    osm_tolerance_m: float = OSM_JOIN_TOLERANCE_M,
) -> LayerNetwork:
    """The routable network of a road layer, completed by a local OSM file when one is given.

    ``area`` (EPSG:4326, e.g. the towns grown by the scenario's buffer) limits the OSM roads taken
    and is the network's area. Deterministic: the same inputs give the same graph.
    """
    from gis_data.network.graph import drivable_graph

    options = options or RoadLayerOptions()
    built = build_road_layer_graph(lines, options)
    graph = built.graph
    completion = None
    if osm_path is not None:
        completion = complete_with_osm(graph, drivable_graph(osm_path, area), osm_tolerance_m)
        graph = completion.graph
    network = network_from_graph(
        graph, metric_crs=built.metric_crs, area=area, source=options.source
    )
    return LayerNetwork(graph=graph, network=network, report=built.report, completion=completion)


# Keys of ``Scenario.network_options`` read by `layer_network_for_scenario`.
SCENARIO_LAYER_KEYS = (
    "road_layer_file", "oneway_column", "class_column", "speed_kmh", "tolerance_m",
    "osm_tolerance_m",
)  # fmt: skip


def layer_network_for_scenario(scenario: Any) -> LayerNetwork:
    """The network of a scenario whose roads come from a town's layer stored as its assets.

    ``scenario.network_options["road_layer_file"]`` names the layer: the road lines among
    ``scenario.assets`` whose ``source_file`` is that name (each keeps its ``source_row``, so
    those assets match their own edges). ``oneway_column``, ``class_column``, ``speed_kmh`` and
    ``tolerance_m`` are the `RoadLayerOptions`; ``scenario.network_path``, when set, is the OSM
    file that completes it (``osm_tolerance_m``). The area is the towns grown by
    ``scenario.network_buffer_m``, as for OSM networks.
    """
    from gis_data.network.graph import NetworkError, buffered_area

    opts = dict(scenario.network_options or {})
    source = str(opts["road_layer_file"])
    assets = scenario.assets
    is_line = assets.geometry.geom_type.isin(["LineString", "MultiLineString"])
    lines = assets[(assets["source_file"].astype(str) == source) & is_line]
    if lines.empty:
        raise NetworkError(f"{source}: the road layer has no line among the scenario's assets")
    options = RoadLayerOptions(
        oneway_column=opts.get("oneway_column") or None,
        class_column=opts.get("class_column") or None,
        name_column="name" if "name" in lines.columns else None,
        id_column="source_row" if "source_row" in lines.columns else None,
        speed_kmh={str(k): float(v) for k, v in dict(opts.get("speed_kmh") or {}).items()},
        tolerance_m=float(opts.get("tolerance_m", 1.0)),
        metric_crs=scenario.metric_crs,
        source=source,
    )
    area = buffered_area(
        scenario.municipalities.geometry, float(scenario.network_buffer_m), scenario.metric_crs
    )
    try:
        return build_layer_network(
            lines,
            options,
            osm_path=scenario.network_path,
            area=area,
            osm_tolerance_m=float(opts.get("osm_tolerance_m", OSM_JOIN_TOLERANCE_M)),
        )
    except RoadLayerError as exc:
        raise NetworkError(str(exc)) from exc
