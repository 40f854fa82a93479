"""Road network: the drivable, strongly connected osmnx graph of an area from a local OSM file.

The graph comes from a local OSM XML (optionally ``.bz2``) or PBF file through
`osmnx.graph_from_xml`; it never queries Overpass. It is truncated to the union of the
municipalities plus a buffer (routes may leave a town and come back), reduced to its largest
strongly connected component (every node can reach every other, so deadheading is always
possible), and given speeds (``maxspeed`` where tagged, else the highway-type defaults in
`HIGHWAY_SPEEDS_KMH`) and travel times. One-way streets appear in one direction only.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import osmnx as ox
from shapely import LineString
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

if TYPE_CHECKING:
    import geopandas as gpd
    from pyproj import CRS

logger = logging.getLogger(__name__)

# Highway-type default speeds (km/h) where OSM has no maxspeed: Central European urban and rural
# practice (50 in built-up areas, lower on minor and residential streets).
HIGHWAY_SPEEDS_KMH: dict[str, float] = {
    "motorway": 100.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 50.0,
    "primary": 60.0,
    "primary_link": 40.0,
    "secondary": 50.0,
    "secondary_link": 40.0,
    "tertiary": 50.0,
    "tertiary_link": 30.0,
    "unclassified": 40.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 20.0,
    "road": 30.0,
    "track": 15.0,
}
FALLBACK_SPEED_KMH = 30.0

# Ways that a patrol car cannot use, dropped when an OSM file holds more than the drive network.
NON_DRIVABLE_HIGHWAYS = frozenset(
    {
        "footway",
        "path",
        "cycleway",
        "pedestrian",
        "steps",
        "bridleway",
        "corridor",
        "elevator",
        "escalator",
        "proposed",
        "construction",
        "abandoned",
        "platform",
        "raceway",
        "bus_guideway",
        "busway",
    }
)


class NetworkError(ValueError):
    """The road network cannot be built (missing file, nothing drivable in the area)."""


@dataclass(frozen=True)
class NetworkSummary:
    """Size of a built network and what the strongly connected reduction removed."""

    nodes: int
    edges: int
    km: float  # directed edges: a two-way street counts twice
    street_km: float  # each street once
    scc_nodes_dropped: int
    scc_edges_dropped: int
    oneway_edges: int
    seconds: float

    def as_dict(self) -> dict[str, float | int]:
        """The summary as a plain dict (for JSON and tables)."""
        return {
            "nodes": self.nodes,
            "edges": self.edges,
            "km": round(self.km, 3),
            "street_km": round(self.street_km, 3),
            "scc_nodes_dropped": self.scc_nodes_dropped,
            "scc_edges_dropped": self.scc_edges_dropped,
            "oneway_edges": self.oneway_edges,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A drivable, strongly connected road graph (EPSG:4326 node coordinates) and its area.

    Edge attributes: ``length`` (m), ``speed_kph``, ``travel_time`` (s), ``name``, ``highway``,
    ``oneway`` and ``geometry`` (a LineString in EPSG:4326, present on every edge).
    """

    graph: nx.MultiDiGraph
    area: BaseGeometry
    metric_crs: CRS
    source: Path
    summary: NetworkSummary
    # Streets inside the area but cut off from the kept component (EPSG:4326), so that assets on
    # them can be reported with the right reason.
    cut_off: tuple[LineString, ...] = ()


def _read_graph(path: Path) -> nx.MultiDiGraph:
    """Read an OSM XML(.bz2) file, or a PBF converted to XML with osmium, into a raw graph."""
    if path.suffix.lower() == ".pbf":
        import osmium  # only needed for PBF input

        with tempfile.TemporaryDirectory() as tmp:
            xml = Path(tmp) / (path.stem + ".osm")
            writer = osmium.SimpleWriter(str(xml))
            try:
                for obj in osmium.FileProcessor(str(path)):
                    writer.add(obj)
            finally:
                writer.close()
            return ox.graph_from_xml(xml, retain_all=True)
    try:
        return ox.graph_from_xml(path, retain_all=True)
    except Exception as exc:  # osmnx raises several types for unreadable or empty files
        raise NetworkError(f"{path}: cannot build a road graph: {exc}") from exc


_RAW_CACHE: dict[tuple[str, int, int], nx.MultiDiGraph] = {}


def _drivable_graph(path: Path, *, use_cache: bool = True) -> nx.MultiDiGraph:
    """The file's drivable graph before truncation; cached per file version (callers copy it)."""
    if not path.is_file():
        raise NetworkError(f"{path}: OSM file not found")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    cached = _RAW_CACHE.get(key) if use_cache else None
    if cached is not None:
        return cached
    G = _read_graph(path)
    drop = [(u, v, k) for u, v, k, hw in G.edges(keys=True, data="highway") if not _is_drivable(hw)]
    G.remove_edges_from(drop)
    G.remove_nodes_from([n for n in list(G.nodes) if G.degree(n) == 0])
    _RAW_CACHE[key] = G
    return G


def _is_drivable(highway: Any) -> bool:
    values = highway if isinstance(highway, list) else [highway]
    return any(v is not None and v not in NON_DRIVABLE_HIGHWAYS for v in values)


def _sort_merged_tags(G: nx.MultiDiGraph) -> None:
    """Sort the tag lists osmnx leaves on merged edges.

    osmnx builds them from a set, so their order (and with it the first value, which picks the
    default speed) changes with string hashing between processes; sorting makes runs repeatable.
    """
    for _, _, data in G.edges(data=True):
        for key, value in data.items():
            if isinstance(value, list):
                data[key] = sorted(value, key=str)


def _first(value: Any) -> Any:
    """osmnx keeps a list where a simplified edge merged ways with different values."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def drivable_graph(osm_path: str | Path, area: BaseGeometry | None = None) -> nx.MultiDiGraph:
    """The drivable graph of a local OSM file inside ``area`` (EPSG:4326), every part of it.

    Unlike `build_network` nothing is dropped for connectivity: this is the graph to summarise
    (`gis_data.network.summary`) or to complete a town's own layer with.
    """
    path = Path(osm_path)
    G = _drivable_graph(path).copy()
    if area is not None and len(G):
        try:
            G = ox.truncate.truncate_graph_polygon(G, area, truncate_by_edge=False)
        except ValueError:  # osmnx: no node inside the polygon
            G = nx.MultiDiGraph(crs="epsg:4326")
    _sort_merged_tags(G)
    return G


def buffered_area(polygons: gpd.GeoSeries, buffer_m: float, metric_crs: CRS) -> BaseGeometry:
    """Union of ``polygons`` (any CRS) grown by ``buffer_m`` metres, returned in EPSG:4326."""
    union = unary_union(list(polygons.to_crs(metric_crs).geometry))
    grown = union.buffer(buffer_m) if buffer_m > 0 else union
    import geopandas as gpd

    return gpd.GeoSeries([grown], crs=metric_crs).to_crs(4326).iloc[0]


def build_network(
    osm_path: str | Path,
    area: BaseGeometry | None,
    *,
    metric_crs: CRS,
    hwy_speeds: dict[str, float] | None = None,
    use_cache: bool = True,
) -> RoadNetwork:
    """Build the drivable graph of ``area`` (EPSG:4326 polygon; None keeps the whole file).

    Steps: read the local file, drop non-drivable ways, truncate to ``area``, keep the largest
    strongly connected component, add speeds and travel times, and give every edge a geometry.
    The parsed file is kept in memory per file version unless ``use_cache`` is False.
    """
    start = time.perf_counter()
    path = Path(osm_path)
    G = _drivable_graph(path, use_cache=use_cache)
    if area is None:
        G = G.copy()
    elif len(G):
        try:
            G = ox.truncate.truncate_graph_polygon(G, area, truncate_by_edge=False)
        except ValueError:  # osmnx: no node inside the polygon
            G = nx.MultiDiGraph()
    if G.number_of_edges() == 0:
        raise NetworkError(f"{path}: no drivable road inside the scenario area")
    before_nodes, before_edges = len(G), G.number_of_edges()
    whole = G
    G = ox.truncate.largest_component(G, strongly=True)
    cut_off = tuple(
        data.get("geometry")
        or LineString(
            [(whole.nodes[u]["x"], whole.nodes[u]["y"]), (whole.nodes[v]["x"], whole.nodes[v]["y"])]
        )
        for u, v, k, data in whole.edges(keys=True, data=True)
        if not G.has_edge(u, v, k)
    )
    _sort_merged_tags(G)
    speeds = dict(HIGHWAY_SPEEDS_KMH)
    speeds.update(hwy_speeds or {})
    G = ox.routing.add_edge_speeds(G, hwy_speeds=speeds, fallback=FALLBACK_SPEED_KMH)
    G = ox.routing.add_edge_travel_times(G)
    oneway = 0
    street_m = 0.0
    for u, v, data in G.edges(data=True):
        if "geometry" not in data:
            data["geometry"] = LineString(
                [(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])]
            )
        data["name"] = _first(data.get("name")) or ""
        data["highway"] = _first(data.get("highway")) or ""
        is_oneway = bool(_first(data.get("oneway", False)))
        data["oneway"] = is_oneway
        oneway += is_oneway
        street_m += float(data["length"]) * (1.0 if is_oneway else 0.5)
    km = sum(float(length) for _, _, length in G.edges(data="length")) / 1000.0
    summary = NetworkSummary(
        nodes=len(G),
        edges=G.number_of_edges(),
        km=km,
        street_km=street_m / 1000.0,
        scc_nodes_dropped=before_nodes - len(G),
        scc_edges_dropped=before_edges - G.number_of_edges(),
        oneway_edges=oneway,
        seconds=time.perf_counter() - start,
    )
    logger.info(
        "road network from %s: %d nodes, %d edges, %.1f km (%d nodes dropped outside the largest"
        " strongly connected component) in %.2f s",
        path.name,
        summary.nodes,
        summary.edges,
        summary.km,
        summary.scc_nodes_dropped,
        summary.seconds,
    )
    full_area = area if area is not None else _graph_hull(G)
    return RoadNetwork(
        graph=G,
        area=full_area,
        metric_crs=metric_crs,
        source=path,
        summary=summary,
        cut_off=cut_off,
    )


def _graph_hull(G: nx.MultiDiGraph) -> BaseGeometry:
    from shapely import MultiPoint

    return MultiPoint([(d["x"], d["y"]) for _, d in G.nodes(data=True)]).convex_hull


_CACHE: dict[tuple[str, float, str, bytes], RoadNetwork] = {}


def network_for_scenario(scenario: Any, *, use_cache: bool = True) -> RoadNetwork:
    """The road network of a loaded scenario (`gis_data.loading.load.Scenario`), cached in memory.

    Uses ``scenario.network_path``, the union of ``scenario.municipalities`` grown by
    ``scenario.network_buffer_m``, and ``scenario.metric_crs``. When
    ``scenario.network_options`` names a ``road_layer_file``, the network is built from that
    layer (completed by ``network_path`` when set), see
    `gis_data.network.road_layer.layer_network_for_scenario`.
    """
    options = getattr(scenario, "network_options", None) or {}
    if options.get("road_layer_file"):
        return _layer_network(scenario, use_cache=use_cache)
    if scenario.network_path is None:
        raise NetworkError("the scenario names no OSM file for the road network (network_path)")
    area = buffered_area(
        scenario.municipalities.geometry, float(scenario.network_buffer_m), scenario.metric_crs
    )
    key = (
        str(Path(scenario.network_path).resolve()),
        float(scenario.network_buffer_m),
        scenario.metric_crs.to_string(),
        area.wkb,
    )
    if use_cache and key in _CACHE:
        return _CACHE[key]
    network = build_network(
        scenario.network_path, area, metric_crs=scenario.metric_crs, use_cache=use_cache
    )
    if use_cache:
        _CACHE[key] = network
    return network


def _layer_network(scenario: Any, *, use_cache: bool) -> RoadNetwork:
    """A road-layer network, cached per layer content, options, OSM file and area."""
    import hashlib
    import json

    import pandas as pd
    import shapely

    from gis_data.network.road_layer import SCENARIO_LAYER_KEYS, layer_network_for_scenario

    options = scenario.network_options
    assets = scenario.assets
    lines = assets[assets["source_file"].astype(str) == str(options["road_layer_file"])]
    digest = hashlib.sha256(
        json.dumps({k: options.get(k) for k in SCENARIO_LAYER_KEYS}, sort_keys=True).encode()
    )
    attributes = lines.drop(columns=lines.geometry.name).astype(str)
    digest.update(pd.util.hash_pandas_object(attributes, index=False).to_numpy().tobytes())
    digest.update(b"".join(shapely.to_wkb(lines.geometry.to_numpy())))
    osm = "" if scenario.network_path is None else str(Path(scenario.network_path).resolve())
    area = buffered_area(
        scenario.municipalities.geometry, float(scenario.network_buffer_m), scenario.metric_crs
    )
    key = (f"layer:{digest.hexdigest()}:{osm}", float(scenario.network_buffer_m),
           scenario.metric_crs.to_string(), area.wkb)  # fmt: skip
    if use_cache and key in _CACHE:
        return _CACHE[key]
    network = layer_network_for_scenario(scenario).network
    if use_cache:
        _CACHE[key] = network
    return network


def network_summary(network: RoadNetwork) -> dict[str, float | int]:
    """Nodes, edges, km and what the strongly connected reduction dropped, as a dict."""
    return network.summary.as_dict()
