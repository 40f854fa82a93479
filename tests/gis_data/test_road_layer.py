"""Road graphs from a town's own centreline layer: joins, bridges, one-way, speeds, cp932 files."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pytest
from shapely import LineString

from gis_data.network.road_layer import (
    DEFAULT_CLASS_SPEEDS_KMH,
    RoadLayerError,
    RoadLayerOptions,
    build_road_layer_graph,
    parse_oneway,
    read_road_layer,
)

# JGD2011 / Japan Plane Rectangular CS VIII (Shizuoka): coordinates in metres.
CRS = 6676


def _layer(lines: list[LineString], **columns: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(dict(columns), geometry=lines, crs=CRS)


def _node_at(G: nx.MultiDiGraph, x: float, y: float, crs: int = CRS) -> int:
    """The graph node nearest to a metric point (nodes are stored in lon/lat)."""
    point = gpd.GeoSeries.from_xy([x], [y], crs=crs).to_crs(4326).iloc[0]
    return min(
        G.nodes, key=lambda n: (G.nodes[n]["x"] - point.x) ** 2 + (G.nodes[n]["y"] - point.y) ** 2
    )


def test_shared_end_points_split_and_connect() -> None:
    """Lines meeting at a vertex they share become one junction; lengths are metric."""
    built = build_road_layer_graph(
        _layer(
            [
                LineString([(0, 0), (100, 0), (250, 0)]),
                LineString([(100, 0), (100, 120)]),
            ]
        )
    )
    G = built.graph
    assert (G.number_of_nodes(), G.number_of_edges()) == (4, 6)  # main road split at (100, 0)
    assert built.report.joins == 0
    junction = _node_at(G, 100, 0)
    assert G.degree(junction) == 6
    lengths = sorted({round(d["length"], 6) for _, _, d in G.edges(data=True)})
    assert lengths == [100.0, 120.0, 150.0]
    assert built.report.street_km == pytest.approx(0.37)
    assert nx.is_strongly_connected(G)


def test_end_points_within_tolerance_join_and_beyond_stay_apart() -> None:
    """An end 0.6 m from a vertex and one 0.8 m from a segment join; one 1.5 m off does not."""
    lines = [
        LineString([(0, 0), (100, 0), (200, 0)]),
        LineString([(200.6, 0), (300, 0)]),  # 0.6 m from the main road's end
        LineString([(50, 0.8), (50, 90)]),  # 0.8 m from the main road's middle
        LineString([(150, 1.5), (150, 90)]),  # 1.5 m: beyond the 1 m default
    ]
    built = build_road_layer_graph(_layer(lines))
    report = built.report
    assert report.joins == 2
    assert report.max_join_m == pytest.approx(0.8)
    G = built.graph
    assert nx.number_weakly_connected_components(G) == 2
    main = _node_at(G, 0, 0)
    assert nx.has_path(G, main, _node_at(G, 300, 0))
    assert nx.has_path(G, main, _node_at(G, 50, 90))
    assert not nx.has_path(G, main, _node_at(G, 150, 90))
    # the join onto the segment split the main road at (50, 0): 50 + 150 m
    main_lengths = sorted(
        round(d["length"], 6) for u, v, d in G.edges(data=True) if d["feature_id"] == "1" and u < v
    )
    assert main_lengths == [50.0, 150.0]
    # with a 2 m tolerance the last street joins too
    wider = build_road_layer_graph(_layer(lines), RoadLayerOptions(tolerance_m=2.0))
    assert wider.report.joins == 3
    assert wider.report.max_join_m == pytest.approx(1.5)
    assert nx.number_weakly_connected_components(wider.graph) == 1


def test_bridge_crossing_without_shared_vertex_stays_unconnected() -> None:
    """Lines crossing with no common vertex (a bridge) stay apart; a shared vertex joins them."""
    road = LineString([(0, 0), (200, 0)])
    bridge = LineString([(100, -100), (100, 100)])
    built = build_road_layer_graph(_layer([road, bridge]))
    G = built.graph
    assert G.number_of_nodes() == 4
    assert nx.number_weakly_connected_components(G) == 2
    assert not nx.has_path(G, _node_at(G, 0, 0), _node_at(G, 100, 100))
    crossing = LineString([(100, -100), (100, 0), (100, 100)])
    junction = build_road_layer_graph(_layer([LineString([(0, 0), (100, 0), (200, 0)]), crossing]))
    assert junction.graph.number_of_nodes() == 5
    assert nx.is_strongly_connected(junction.graph)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, 1), ("1", 1), ("順", 1), ("一方通行", 1), (True, 1), ("yes", 1),
        (-1, -1), ("-1", -1), ("逆", -1),
        (0, 0), ("0", 0), ("双方向", 0), (False, 0), (None, 0), ("", 0),
        ("maybe", None), (2, None),
    ],
)  # fmt: skip
def test_parse_oneway_values(value: object, expected: int | None) -> None:
    assert parse_oneway(value) == expected


def test_one_way_both_directions_and_unknown_values_reported() -> None:
    """順 runs along the digitising, 逆 against it, 0 both ways; unknown values are reported."""
    lines = [
        LineString([(0, 0), (100, 0)]),
        LineString([(0, 100), (100, 100)]),
        LineString([(0, 200), (100, 200)]),
        LineString([(0, 300), (100, 300)]),
    ]
    built = build_road_layer_graph(
        _layer(lines, 一方通行=["順", "逆", 0, "?"]), RoadLayerOptions(oneway_column="一方通行")
    )
    G = built.graph

    def directions(y: float) -> set[tuple[float, float]]:
        a, b = _node_at(G, 0, y), _node_at(G, 100, y)
        return {(u, v) for u, v in ((a, b), (b, a)) if G.has_edge(u, v)}  # type: ignore[misc]

    a0, b0 = _node_at(G, 0, 0), _node_at(G, 100, 0)
    assert directions(0) == {(a0, b0)}
    a1, b1 = _node_at(G, 0, 100), _node_at(G, 100, 100)
    assert directions(100) == {(b1, a1)}
    assert len(directions(200)) == 2
    assert len(directions(300)) == 2  # not understood: kept two-way, and reported
    assert built.report.unknown_oneway == {"?": 1}
    assert built.report.oneway_streets == 2
    warning = [p for p in built.report.problems if p.field == "一方通行"]
    assert len(warning) == 1
    assert "'?'" in warning[0].message
    assert "1 line" in warning[0].message
    reverse = G.get_edge_data(b1, a1)[0]
    assert reverse["oneway"] is True
    assert next(iter(reverse["geometry"].coords)) == (G.nodes[b1]["x"], G.nodes[b1]["y"])


def test_speeds_by_class_with_overrides_and_unmapped_classes_reported() -> None:
    """Default class speeds, full-width and long spellings, overrides; unknown classes warned."""
    lines = [LineString([(0, 100 * i), (100, 100 * i)]) for i in range(5)]
    built = build_road_layer_graph(
        _layer(
            lines, 道路種別=["1級", "２級", "その他市町村道", "農道", "農道"], 路線名=list("ABCDE")
        ),
        RoadLayerOptions(class_column="道路種別", name_column="路線名", speed_kmh={"2級": 25.0}),
    )
    speeds = {
        d["feature_id"]: (d["speed_kph"], d["highway"], d["name"])
        for _, _, d in built.graph.edges(data=True)
    }
    assert speeds["1"] == (DEFAULT_CLASS_SPEEDS_KMH["1級"], "1級", "A")
    assert speeds["2"] == (25.0, "2級", "B")
    assert speeds["3"][0] == DEFAULT_CLASS_SPEEDS_KMH["その他"]
    assert speeds["4"][0] == RoadLayerOptions().fallback_speed_kmh
    assert built.report.unmapped_classes == {"農道": 2}
    (warning,) = [p for p in built.report.problems if p.field == "道路種別"]
    assert "'農道'" in warning.message
    assert "2 line(s)" in warning.message
    data = next(d for _, _, d in built.graph.edges(data=True) if d["feature_id"] == "1")
    assert data["travel_time"] == pytest.approx(100 / (40 / 3.6))
    assert data["道路種別"] == "1級"  # the layer's own attributes stay on the edges
    assert (data["required"], data["source"]) == (True, "road_layer")


def test_bad_layers_list_every_problem() -> None:
    lines = _layer([LineString([(0, 0), (1, 1)])], a=[1])
    with pytest.raises(RoadLayerError) as caught:
        build_road_layer_graph(lines, RoadLayerOptions(oneway_column="ow", class_column="cls"))
    assert {p.field for p in caught.value.problems} == {"oneway_column", "class_column"}
    with pytest.raises(RoadLayerError, match="no CRS"):
        build_road_layer_graph(gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 1)])]))
    from shapely import Point

    mixed = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (1, 1)]), Point(5, 5)], crs=CRS)
    with pytest.raises(RoadLayerError) as caught:
        build_road_layer_graph(mixed)
    assert [(p.feature, p.field) for p in caught.value.problems] == [(2, "geometry")]


def test_cut_off_part_leaves_the_network() -> None:
    """to_network keeps the largest strongly connected part; the rest is listed as cut off."""
    lines = [
        LineString([(0, 0), (100, 0)]),
        LineString([(100, 0), (200, 0)]),
        LineString([(500, 500), (600, 500)]),  # an island street
    ]
    network = build_road_layer_graph(_layer(lines)).to_network()
    assert network.summary.nodes == 3
    assert network.summary.scc_nodes_dropped == 2
    assert len(network.cut_off) == 2  # both directions of the island street


def test_cp932_zipped_shapefile_road_layer(tmp_path: Path) -> None:
    """A ledger as towns deliver it: zipped Shapefile, JGD2011 zone VIII, cp932, no .cpg."""
    frame = _layer(
        [LineString([(0, 0), (100, 0)]), LineString([(100, 0), (100, 80)])],
        路線番号=["101", "102"],
        路線名=["市道１号線", "市道２号線"],
        道路種別=["1級", "その他"],
        一方通行=[0, -1],
    )
    folder = tmp_path / "shp"
    folder.mkdir()
    frame.to_file(folder / "道路台帳.shp", encoding="cp932", engine="pyogrio")
    archive_path = tmp_path / "roads.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        for ext in ("shp", "shx", "dbf", "prj"):  # towns often send no .cpg
            archive.write(folder / f"道路台帳.{ext}", f"道路台帳.{ext}")
    lines = read_road_layer(archive_path, encoding="cp932")
    built = build_road_layer_graph(
        lines,
        RoadLayerOptions(
            oneway_column="一方通行",
            class_column="道路種別",
            name_column="路線名",
            id_column="路線番号",
            source="roads.zip",
        ),
    )
    names = {
        (d["feature_id"], d["name"], d["speed_kph"]) for _, _, d in built.graph.edges(data=True)
    }
    assert names == {("101", "市道１号線", 40.0), ("102", "市道２号線", 20.0)}
    assert built.graph.number_of_edges() == 3  # 101 both ways, 102 against its digitising
    assert built.metric_crs.to_epsg() == CRS
    with pytest.raises(RoadLayerError) as caught:
        read_road_layer(archive_path)  # read as UTF-8: an error naming the file, not mojibake
    problem = caught.value.problems[0]
    assert (problem.file, problem.field) == ("roads.zip", "encoding")
    assert str(tmp_path) not in str(caught.value)


def test_line_shorter_than_the_tolerance_becomes_a_junction_and_is_reported() -> None:
    """A 0.5 m sliver (a clipping artefact) collapses into one node; the report names it."""
    built = build_road_layer_graph(
        _layer([LineString([(0, 0), (100, 0)]), LineString([(100.2, 0), (100.7, 0)])])
    )
    assert built.graph.number_of_nodes() == 2
    assert built.graph.graph["collapsed_features"] == ["2"]
    (warning,) = [p for p in built.report.problems if p.feature == 2]
    assert "0.50 m" in warning.message
    assert "junction" in warning.message


def test_a_dangling_end_joins_the_nearest_line() -> None:
    """An end 0.3 m from one road and 0.9 m from another joins the nearer one."""
    lines = [
        LineString([(0, 0), (100, 0)]),  # 0.9 m below the end
        LineString([(0, 1.2), (100, 1.2)]),  # 0.3 m above it
        LineString([(50, 0.9), (50, 80)]),
    ]
    built = build_road_layer_graph(_layer(list(reversed(lines))))
    G = built.graph
    assert built.report.joins == 1
    assert built.report.max_join_m == pytest.approx(0.3)
    assert G.number_of_nodes() == 6  # the upper road split at the joint, the lower one not
    side = _node_at(G, 50, 80)
    (first,) = (v for _, v in G.out_edges(side))
    x, y = G.nodes[first]["x"], G.nodes[first]["y"]
    at = gpd.GeoSeries.from_xy([x], [y], crs=4326).to_crs(CRS).iloc[0]
    assert (at.x, at.y) == (pytest.approx(50.0), pytest.approx(1.2))


def test_graph_works_with_osmnx() -> None:
    """The graph is osmnx's kind: GeoDataFrames both ways, shortest paths by travel time."""
    import osmnx as ox

    built = build_road_layer_graph(
        _layer(
            [LineString([(0, 0), (100, 0), (200, 0)]), LineString([(100, 0), (100, 100)])],
            路線名=["本町通り", "駅前線"],
        ),
        RoadLayerOptions(name_column="路線名"),
    )
    nodes, edges = ox.convert.graph_to_gdfs(built.graph)
    assert set(edges["name"]) == {"本町通り", "駅前線"}
    assert (edges.geometry.crs.to_epsg(), len(nodes)) == (4326, 4)
    again = ox.convert.graph_from_gdfs(nodes, edges)
    assert again.number_of_edges() == built.graph.number_of_edges()
    G = built.graph
    path = ox.routing.shortest_path(G, _node_at(G, 0, 0), _node_at(G, 100, 100), weight="length")
    assert path == [_node_at(G, 0, 0), _node_at(G, 100, 0), _node_at(G, 100, 100)]
