"""Road network: drivable ways only, strongly connected, one-way streets, speeds, truncation."""

from __future__ import annotations

from pathlib import Path

import pytest
from shapely import box

from gis_data.network.graph import NetworkError, buffered_area, build_network, network_summary
from tests.gis_data.osm_grid import DLAT, DLON, LAT0, LON0, METRIC_CRS, write_grid_osm


@pytest.fixture(scope="module")
def grid_osm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_grid_osm(tmp_path_factory.mktemp("osm") / "grid.osm")


def test_drivable_strongly_connected_graph(grid_osm: Path) -> None:
    """The footway and the one-way dead end are gone; corners 1, 3, 7 are simplified away."""
    net = build_network(grid_osm, None, metric_crs=METRIC_CRS)
    assert sorted(net.graph.nodes) == [2, 4, 5, 6, 8, 9]
    assert net.summary.scc_nodes_dropped == 1  # node 11, reachable but with no way back
    summary = network_summary(net)
    assert summary["nodes"] == 6
    assert summary["edges"] == net.graph.number_of_edges()
    # two-way streets 4-1-2, 2-3-6, 4-5, 5-6, 4-7-8, 8-9, 6-9 (2 edges each) and 2 -> 5 -> 8
    assert summary["edges"] == 16
    # directed km: corner streets 400 m and straight ones 200 m, two-way ones counted twice
    assert summary["km"] == pytest.approx(22 * 0.2, rel=0.05)
    assert summary["street_km"] == pytest.approx(12 * 0.2, rel=0.05)
    assert summary["oneway_edges"] == 2


def test_oneway_street_has_one_direction(grid_osm: Path) -> None:
    """Col1 is oneway=yes northwards: 2 -> 5 and 5 -> 8 exist, their reverses do not."""
    G = build_network(grid_osm, None, metric_crs=METRIC_CRS).graph
    assert G.has_edge(2, 5)
    assert G.has_edge(5, 8)
    assert not G.has_edge(5, 2)
    assert not G.has_edge(8, 5)
    assert G.has_edge(4, 5)
    assert G.has_edge(5, 4)


def test_speeds_from_maxspeed_and_highway_defaults(grid_osm: Path) -> None:
    """Row1 is tagged 50 km/h; untagged residential streets get the residential default."""
    G = build_network(grid_osm, None, metric_crs=METRIC_CRS, hwy_speeds={"residential": 25.0}).graph
    row1 = G.edges[4, 5, 0]
    row0 = G.edges[8, 9, 0]
    assert row1["speed_kph"] == pytest.approx(50.0)
    assert row0["speed_kph"] == pytest.approx(25.0)
    assert row0["travel_time"] == pytest.approx(row0["length"] / (25.0 / 3.6), rel=1e-3)
    assert row0["length"] == pytest.approx(204, abs=10)  # 0.0027 deg of longitude at 47.14 N
    assert all("geometry" in d for _, _, d in G.edges(data=True))


def test_truncation_to_area(grid_osm: Path) -> None:
    """Only the nodes of the western two columns inside the area are kept."""
    area = box(LON0 - 0.0005, LAT0 - 0.0005, LON0 + DLON + 0.0005, LAT0 + 2 * DLAT + 0.0005)
    G = build_network(grid_osm, area, metric_crs=METRIC_CRS).graph
    assert sorted(G.nodes) == [2, 4, 5, 8]


def test_buffered_area_grows_the_union() -> None:
    """A 100 m buffer around a small box is larger than the box and contains it."""
    import geopandas as gpd

    square = box(LON0, LAT0, LON0 + DLON, LAT0 + DLAT)
    grown = buffered_area(gpd.GeoSeries([square], crs=4326), 100.0, METRIC_CRS)
    assert grown.contains(square)
    assert grown.area > square.area * 1.5


def test_missing_file_and_empty_area(tmp_path: Path, grid_osm: Path) -> None:
    """A missing file and an area without roads give clear errors naming the file."""
    with pytest.raises(NetworkError, match="not found"):
        build_network(tmp_path / "none.osm", None, metric_crs=METRIC_CRS)
    far = box(0.0, 0.0, 0.01, 0.01)
    with pytest.raises(NetworkError, match=r"grid\.osm.*no drivable road"):
        build_network(grid_osm, far, metric_crs=METRIC_CRS)


def test_merged_tag_order_does_not_change_speeds() -> None:
    """An edge merged from a primary and a residential way gets the same speed whatever the order
    osmnx listed the tags in (that order follows string hashing, which differs between runs)."""
    import networkx as nx
    import osmnx as ox

    from gis_data.network.graph import HIGHWAY_SPEEDS_KMH, _sort_merged_tags

    speeds = []
    for tags in (["primary", "residential"], ["residential", "primary"]):
        G = nx.MultiDiGraph(crs="EPSG:4326")
        G.add_node(1, x=9.5, y=47.1)
        G.add_node(2, x=9.51, y=47.1)
        G.add_edge(1, 2, length=760.0, highway=list(tags), name=["B", "A"])
        _sort_merged_tags(G)
        G = ox.routing.add_edge_speeds(G, hwy_speeds=dict(HIGHWAY_SPEEDS_KMH))
        speeds.append((G.edges[1, 2, 0]["speed_kph"], G.edges[1, 2, 0]["name"]))
    assert speeds[0] == speeds[1]
