"""The road network of a scenario from its stored source: an OSM file, the town's own road
layer, or the layer completed by the OSM file (`gis_data.network.road_layer`).

`scenario_network` returns the routable network (largest strongly connected part) and the whole
graph for `gis_data.network.summary.network_summary`. The same scenario gives the same graph.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import networkx as nx

from gis_data.network.graph import (
    NetworkError,
    RoadNetwork,
    buffered_area,
    drivable_graph,
    network_for_scenario,
)


@dataclass(frozen=True, eq=False)
class ScenarioNetwork:
    """The routable network and the whole graph it was cut from, with the build report."""

    network: RoadNetwork
    graph: nx.MultiDiGraph
    report: dict[str, Any]


_CACHE: dict[str, ScenarioNetwork] = {}


def _layer_key(scenario: Any, area_wkb: bytes) -> str:
    lines = scenario.network_lines
    digest = hashlib.sha256(area_wkb)
    digest.update(json.dumps(scenario.network_options, sort_keys=True, default=str).encode())
    digest.update(str(scenario.network_path).encode())
    for geometry, asset_id in zip(lines.geometry, lines["asset_id"], strict=True):
        digest.update(str(asset_id).encode())
        digest.update(geometry.wkb)
    return digest.hexdigest()


def scenario_network(scenario: Any, *, use_cache: bool = True) -> ScenarioNetwork:
    """Build (or reuse) the network of a loaded or stored scenario.

    A scenario with ``network_lines`` (the town's road layer, EPSG:4326, its attribute columns
    and ``asset_id``) builds from them with ``network_options`` (``oneway_column``,
    ``class_column``, ``speed_kmh``, ``tolerance_m``, ``layer_name``), completed by
    ``network_path`` when that is an OSM file; otherwise the OSM file alone.
    Raises NetworkError (or RoadLayerError, listing every problem) when it cannot be built.
    """
    area = buffered_area(
        scenario.municipalities.geometry, float(scenario.network_buffer_m), scenario.metric_crs
    )
    lines = getattr(scenario, "network_lines", None)
    if lines is None:
        if scenario.network_path is None:
            raise NetworkError("the scenario has no road network source")
        network = network_for_scenario(scenario, use_cache=use_cache)
        whole = drivable_graph(scenario.network_path, area)
        return ScenarioNetwork(network=network, graph=whole, report={})
    key = _layer_key(scenario, area.wkb)
    if use_cache and key in _CACHE:
        return _CACHE[key]
    from gis_data.network.road_layer import RoadLayerOptions, build_layer_network

    options = scenario.network_options
    built = build_layer_network(
        lines,
        RoadLayerOptions(
            oneway_column=options.get("oneway_column"),
            class_column=options.get("class_column"),
            id_column="asset_id",
            speed_kmh=dict(options.get("speed_kmh") or {}),
            tolerance_m=float(options.get("tolerance_m", 1.0)),
            source=str(options.get("layer_name") or "road layer"),
        ),
        osm_path=scenario.network_path,
        area=area,
    )
    result = ScenarioNetwork(network=built.network, graph=built.graph, report=built.to_dict())
    if use_cache:
        _CACHE[key] = result
    return result
