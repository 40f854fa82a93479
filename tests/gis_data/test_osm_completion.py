"""A town's layer completed by OSM roads: joins, deadhead-only OSM edges, assets on own edges."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import pyproj
import pytest
from pyproj import Transformer
from shapely import LineString

from gis_data.loading.load import load_assets_from_file
from gis_data.network.patrol_arcs import match_assets
from gis_data.network.road_layer import (
    RoadLayerOptions,
    build_layer_network,
    build_road_layer_graph,
    complete_with_osm,
    network_from_graph,
    read_road_layer,
)
from gis_data.network.summary import network_summary

CRS = 6676
_TO_LONLAT = Transformer.from_crs(CRS, 4326, always_xy=True)


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = _TO_LONLAT.transform(x, y)
    return float(lon), float(lat)


def _osm_national_road() -> nx.MultiDiGraph:
    """A two-way 国道 4 m beside the town's one-way street, as osmnx reads it from a file."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    for osmid, (x, y) in {101: (0.0, 4.0), 102: (200.0, 4.0)}.items():
        lon, lat = _lonlat(x, y)
        G.add_node(osmid, x=lon, y=lat)
    line = LineString([_lonlat(0, 4), _lonlat(200, 4)])
    for u, v, geom in ((101, 102, line), (102, 101, line.reverse())):
        G.add_edge(u, v, osmid=7, highway="primary", name="国道135号", ref="135", oneway=False,
                   length=200.0, geometry=geom)  # fmt: skip
    return G


@pytest.fixture
def town_file(tmp_path: Path) -> Path:
    """The town's ledger: a one-way street along the 国道, a side street, an island street."""
    path = tmp_path / "roads.geojson"
    gpd.GeoDataFrame(
        {"路線名": ["市道1号", "市道2号", "市道3号"], "一方通行": ["順", "0", "0"]},
        geometry=[
            LineString([(0, 0), (200, 0)]),
            LineString([(100, 100), (100, 10)]),  # ends 6 m from the 国道, between its nodes
            LineString([(1000, 0), (1100, 0)]),
        ],
        crs=CRS,
    ).to_crs(4326).to_file(path)
    return path


def test_completion_joins_town_to_osm_and_keeps_osm_deadhead_only(town_file: Path) -> None:
    options = RoadLayerOptions(
        oneway_column="一方通行", name_column="路線名", metric_crs=CRS, source="roads.geojson"
    )
    town = build_road_layer_graph(read_road_layer(town_file), options)
    alone = network_summary(town.graph)
    # alone, the one-way street can never be driven back: each street is its own island
    assert alone.strongly_connected_components == 4
    assert alone.largest_component_nodes == 2

    completed = complete_with_osm(town.graph, _osm_national_road(), tolerance_m=10.0)
    assert completed.connectors == 3  # both ends of 市道1号 to the nodes, 市道2号 to the street
    assert completed.max_connector_m == pytest.approx(6.0, abs=0.01)
    assert completed.split_osm_edges == 2  # the 国道 split in both directions
    H = completed.graph
    sources = {d["source"] for _, _, d in H.edges(data=True)}
    assert sources == {"road_layer", "osm", "connector"}
    assert all(d["required"] is (d["source"] == "road_layer") for _, _, d in H.edges(data=True))
    osm_m = sum(d["length"] for _, _, d in H.edges(data=True) if d["source"] == "osm")
    assert osm_m == pytest.approx(400.0)  # split, not lengthened

    network = network_from_graph(H, metric_crs=pyproj.CRS.from_epsg(CRS), source="roads.geojson")
    assert H.graph["road_layer"]["source"] == "roads.geojson"
    assert network.graph.graph["cut_off_features"] == ["3"]  # only the island is left out
    summary = network_summary(H)
    assert [p.street_m for p in summary.cut_off] == [pytest.approx(100.0)]

    assets, problems = load_assets_from_file(
        town_file, municipality_code="22219", municipality="下田市", field="road",
        kind="road_segment", columns={"路線名": "name"},
    )  # fmt: skip
    assert [p for p in problems if p.severity == "error"] == []
    matching = match_assets(network, assets)
    tasks = matching.tasks()
    assert sorted((t.kind, round(t.length_m, 6), t.asset_ids) for t in tasks) == [
        ("arc", 200.0, ("22219:roads:1",)),
        ("edge", 90.0, ("22219:roads:2",)),
    ]  # own edges only, exact lengths; the 国道 4 m away is not claimed
    (island,) = matching.unmatched
    assert island.asset_id == "22219:roads:3"
    assert "cut off" in island.reason


def test_other_road_assets_never_claim_osm_streets(town_file: Path) -> None:
    """An asset not from the layer, lying on the 国道, finds no town street to claim."""
    options = RoadLayerOptions(oneway_column="一方通行", metric_crs=CRS, source="roads.geojson")
    town = build_road_layer_graph(read_road_layer(town_file), options)
    H = complete_with_osm(town.graph, _osm_national_road()).graph
    network = network_from_graph(H, metric_crs=pyproj.CRS.from_epsg(CRS))
    other = gpd.GeoDataFrame(
        {"asset_id": ["kokudo"], "field": ["road"], "kind": ["road_segment"],
         "source_file": ["prefecture.geojson"], "source_row": [1]},
        geometry=[LineString([_lonlat(0, 30), _lonlat(200, 30)])],
        crs=4326,
    )  # fmt: skip
    matching = match_assets(network, other)
    assert matching.tasks() == []
    assert [u.asset_id for u in matching.unmatched] == ["kokudo"]


def test_layer_network_completed_from_an_osm_file(town_file: Path, tmp_path: Path) -> None:
    """The one call the service makes: layer + local OSM file -> routable network and report."""
    (x0, y0), (x1, y1) = _lonlat(0, 4), _lonlat(200, 4)
    osm = tmp_path / "kokudo.osm"
    osm.write_text(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
 <node id="101" lat="{y0:.9f}" lon="{x0:.9f}"/>
 <node id="102" lat="{y1:.9f}" lon="{x1:.9f}"/>
 <way id="7"><nd ref="101"/><nd ref="102"/>
  <tag k="highway" v="primary"/><tag k="ref" v="135"/><tag k="name" v="国道135号"/></way>
</osm>
""",
        encoding="utf-8",
    )
    options = RoadLayerOptions(oneway_column="一方通行", metric_crs=CRS, source="roads.geojson")
    built = build_layer_network(read_road_layer(town_file), options, osm_path=osm)
    assert built.completion is not None
    assert built.completion.connectors == 3
    assert built.network.graph.graph["cut_off_features"] == ["3"]
    report = built.to_dict()
    assert report["osm"]["osm_edges"] == 2
    assert report["road_layer"]["oneway_streets"] == 1
    alone = build_layer_network(read_road_layer(town_file), options)
    assert alone.completion is None
    assert alone.network.summary.nodes == 2  # one two-way street left: 2 of 6 town nodes


def test_scenario_network_from_its_stored_road_layer(town_file: Path, tmp_path: Path) -> None:
    """A scenario whose network options name its road layer routes on the layer's own edges."""
    from shapely import box

    from gis_data.loading.load import scenario_from_tables
    from gis_data.network.graph import NetworkError, network_for_scenario

    assets, _ = load_assets_from_file(
        town_file, municipality_code="22219", municipality="下田市", field="road",
        kind="road_segment", columns={"路線名": "name"},
    )  # fmt: skip
    corner = _lonlat(-50, -50), _lonlat(1200, 150)
    towns = gpd.GeoDataFrame(
        {"municipality_code": ["22219"], "municipality": ["下田市"], "population": [20000]},
        geometry=[box(corner[0][0], corner[0][1], corner[1][0], corner[1][1])],
        crs=4326,
    )
    depots = gpd.GeoDataFrame(
        {"depot_id": ["d"], "municipality_code": ["22219"], "kind": ["town"], "name": ["yard"]},
        geometry=gpd.points_from_xy([corner[0][0]], [corner[0][1]]),
        crs=4326,
    )
    scenario = scenario_from_tables(
        name="shimoda", assets=assets, municipalities=towns, depots=depots,
        network_options={"road_layer_file": "roads.geojson", "oneway_column": "一方通行"},
    )  # fmt: skip
    network = network_for_scenario(scenario)
    assert network.graph.graph["road_layer"]["source"] == "roads.geojson"
    assert network_for_scenario(scenario) is network  # cached per layer content and options
    matching = match_assets(network, scenario.assets)
    # alone, the one-way 市道1号 cannot be driven back: cut off, and named so
    reasons = {u.asset_id: u.reason for u in matching.unmatched}
    assert "cut off" in reasons["22219:roads:1"]
    assert len(matching.tasks()) == 1
    scenario.network_options["oneway_column"] = None
    two_way = network_for_scenario(scenario)
    assert two_way is not network
    assert two_way.summary.street_km == pytest.approx(0.2)  # 市道1号 is now the largest part
    tasks = match_assets(two_way, scenario.assets).tasks()
    assert [(t.kind, round(t.length_m, 6), t.asset_ids) for t in tasks] == [
        ("edge", 200.0, ("22219:roads:1",))
    ]
    scenario.network_options["class_column"] = "道路種別"
    with pytest.raises(NetworkError, match="道路種別"):
        network_for_scenario(scenario)
