"""Network summary: components, cut-off parts with their assets, each town's reach from depots."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely import LineString, Point, box

from gis_data.network.road_layer import RoadLayerOptions, build_road_layer_graph
from gis_data.network.summary import network_summary

CRS = 6676


def _town_layer() -> gpd.GeoDataFrame:
    """A 200 m square block (two-way), a one-way spur into a dead end, an island street."""
    lines = [
        LineString([(0, 0), (200, 0)]),
        LineString([(200, 0), (200, 200)]),
        LineString([(200, 200), (0, 200)]),
        LineString([(0, 200), (0, 0)]),
        LineString([(200, 0), (400, 0)]),  # one-way out of the block: no way back
        LineString([(1000, 0), (1300, 0)]),  # island
    ]
    return gpd.GeoDataFrame({"ow": [0, 0, 0, 0, 1, 0]}, geometry=lines, crs=CRS)


def test_cut_off_parts_reported_with_reason_location_and_assets() -> None:
    built = build_road_layer_graph(_town_layer(), RoadLayerOptions(oneway_column="ow"))
    assets = gpd.GeoDataFrame(
        {"asset_id": ["block", "spur", "island", "island-sign"]},
        geometry=[
            LineString([(0, 0), (200, 0)]),
            LineString([(200, 0), (400, 0)]),
            LineString([(1000, 1), (1300, 1)]),
            Point(1150, 5),
        ],
        crs=CRS,
    )
    summary = network_summary(built.graph, assets=assets)
    assert (summary.nodes, summary.edges) == (7, 11)
    assert summary.strongly_connected_components == 3  # block, spur end, island
    assert summary.largest_component_nodes == 4
    assert summary.street_km == pytest.approx(1.3)
    assert summary.largest_component_street_km == pytest.approx(0.8)
    by_reason = {p.reason: p for p in summary.cut_off}
    assert set(by_reason) == {"no way back", "isolated"}
    spur, island = by_reason["no way back"], by_reason["isolated"]
    assert spur.street_m == pytest.approx(200.0)
    assert spur.asset_ids == ("spur",)  # the block street shares only its end
    assert island.street_m == pytest.approx(300.0)
    assert island.asset_ids == ("island", "island-sign")
    where = gpd.GeoSeries([Point(island.lon, island.lat)], crs=4326).to_crs(CRS).iloc[0]
    assert where.y == pytest.approx(0.0, abs=0.01)
    assert where.x in (pytest.approx(1000.0, abs=0.01), pytest.approx(1300.0, abs=0.01))
    as_json = summary.to_dict()
    assert as_json["cut_off"][0]["part_id"] == 1
    assert {p["reason"] for p in as_json["cut_off"]} == {"no way back", "isolated"}


def test_town_reach_from_depots() -> None:
    """Town A's depot serves its block but not the one-way spur; town B's depot sits apart."""
    built = build_road_layer_graph(_town_layer(), RoadLayerOptions(oneway_column="ow"))
    towns = gpd.GeoDataFrame(
        {"code": ["A", "B", "C"], "name": ["Aville", "Bburg", "Cdorf"]},
        geometry=[box(-50, -50, 500, 250), box(900, -50, 1400, 50), box(2000, 0, 2100, 100)],
        crs=CRS,
    )
    depots = gpd.GeoDataFrame(
        {"municipality_code": ["A", "B"]},
        geometry=[Point(5, 5), Point(1290, 3)],
        crs=CRS,
    )
    summary = network_summary(built.graph, depots=depots, boundaries=towns)
    reach = {t.code: t for t in summary.towns}
    assert reach["A"].street_km == pytest.approx(1.0)
    assert reach["A"].reachable_km == pytest.approx(0.8)
    assert reach["A"].reachable_share == pytest.approx(0.8)
    assert reach["B"].reachable_km == pytest.approx(0.3)  # the island, from its own depot
    assert (reach["C"].depots, reach["C"].reachable_km, reach["C"].street_km) == (0, None, 0.0)
    assert summary.to_dict()["towns"][0]["reachable_share"] == 0.8
