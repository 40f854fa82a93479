"""Matching assets to the network: streets as edges/arcs, banks, node visits, unmatched reasons."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely import LineString, Point, box

from gis_data.network.graph import RoadNetwork, build_network
from gis_data.network.patrol_arcs import WALK_SPEED_KMH, Matching, match_assets, streets_of
from tests.gis_data.osm_grid import DLAT, DLON, LAT0, LON0, METRIC_CRS, node_lonlat, write_grid_osm


def _lerp(a: int, b: int, t: float) -> tuple[float, float]:
    (x0, y0), (x1, y1) = node_lonlat(a), node_lonlat(b)
    return x0 + t * (x1 - x0), y0 + t * (y1 - y0)


def _asset(asset_id: str, town: str, fld: str, kind: str, geom, **extra) -> dict:
    row = {
        "asset_id": asset_id,
        "municipality_code": town,
        "municipality": town,
        "field": fld,
        "kind": kind,
        "name": asset_id,
        "patrol_interval_days": 7,
        "service_minutes": None,
        "service_speed_kmh": None,
        "side": "both",
        "geometry": geom,
    }
    row.update(extra)
    return row


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> RoadNetwork:
    path = write_grid_osm(tmp_path_factory.mktemp("osm") / "grid.osm")
    return build_network(path, None, metric_crs=METRIC_CRS)


@pytest.fixture(scope="module")
def assets() -> gpd.GeoDataFrame:
    bank_lat = LAT0 + DLAT + 0.00018  # 20 m north of Row1
    stream_lat = LAT0 - 2 * DLAT  # 400 m south of Row0, no road along it
    rows = [
        _asset(
            "road-row1", "T1", "road", "road_segment", LineString([node_lonlat(4), node_lonlat(6)])
        ),
        _asset(
            "road-col1", "T1", "road", "road_segment", LineString([node_lonlat(2), node_lonlat(8)])
        ),
        _asset(
            "road-row2-a",
            "T1",
            "road",
            "road_segment",
            LineString([node_lonlat(8), _lerp(8, 9, 0.7)]),
        ),
        _asset(
            "road-row2-b",
            "T2",
            "road",
            "road_segment",
            LineString([_lerp(8, 9, 0.7), node_lonlat(9)]),
        ),
        _asset(
            "bank-row1",
            "T2",
            "river",
            "river_bank",
            LineString([(LON0, bank_lat), (LON0 + 2 * DLON, bank_lat)]),
        ),
        _asset(
            "stream-south",
            "T2",
            "river",
            "river_bank",
            LineString([(LON0 + DLON - 0.001, stream_lat), (LON0 + DLON + 0.001, stream_lat)]),
        ),
        _asset(
            "park-east",
            "T2",
            "park",
            "park",
            box(
                LON0 + 2 * DLON + 0.0003,
                LAT0 + DLAT,
                LON0 + 2 * DLON + 0.0006,
                LAT0 + DLAT + 0.0003,
            ),
            service_minutes=25.0,
        ),
        _asset("bridge-5", "T1", "road", "bridge", Point(LON0 + DLON + 0.0001, LAT0 + DLAT)),
        _asset("road-far", "T1", "road", "road_segment", LineString([(9.6, 47.2), (9.601, 47.2)])),
        _asset(
            "road-cell",
            "T1",
            "road",
            "road_segment",
            LineString(
                [(LON0 + 0.4 * DLON, LAT0 + 0.5 * DLAT), (LON0 + 0.6 * DLON, LAT0 + 0.5 * DLAT)]
            ),
        ),
        _asset(
            "road-deadend",
            "T1",
            "road",
            "road_segment",
            LineString([node_lonlat(9), node_lonlat(11)]),
        ),
        _asset(
            "road-footway",
            "T1",
            "road",
            "road_segment",
            LineString([node_lonlat(5), node_lonlat(10)]),
        ),
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


@pytest.fixture(scope="module")
def matching(network: RoadNetwork, assets: gpd.GeoDataFrame) -> Matching:
    return match_assets(network, assets)


def _task_on(tasks, u: int, v: int):
    found = [t for t in tasks if t.kind != "node" and {t.u, t.v} == {u, v}]
    assert len(found) == 1, (u, v, tasks)
    return found[0]


def test_streets_pair_two_way_edges(network: RoadNetwork) -> None:
    """Two-way edges pair into one street; the one-way edges 2->5, 5->8 stay single."""
    streets, frame = streets_of(network)
    assert len(streets) == 9  # 7 two-way streets and 2 one-way ones
    oneway = sorted((s.u, s.v) for s in streets if s.oneway)
    assert oneway == [(2, 5), (5, 8)]
    assert frame.crs == METRIC_CRS


def test_two_way_road_is_edge_and_oneway_road_is_arc(matching: Matching) -> None:
    """Row1 gives two EDGE tasks; the one-way Col1 two ARC tasks in the northward direction."""
    tasks = matching.tasks(["road-row1", "road-col1"])
    kinds = sorted((t.kind, t.u, t.v) for t in tasks if t.kind == "arc")
    assert kinds == [("arc", 2, 5), ("arc", 5, 8)]
    row = [_task_on(tasks, 4, 5), _task_on(tasks, 5, 6)]
    assert all(t.kind == "edge" for t in row)
    assert all(t.asset_ids == ("road-row1",) for t in row)
    # patrol at the road default of 20 km/h, slower than driving
    assert row[0].serve_s == pytest.approx(row[0].length_m / (20 / 3.6), rel=1e-6)
    assert len(tasks) == 4


def test_street_split_at_town_border_belongs_to_larger_share(matching: Matching) -> None:
    """Street 8-9 is 70 % in T1's asset: T1 owns it, both assets are listed as served."""
    task = _task_on(matching.tasks(), 8, 9)
    assert task.municipality_code == "T1"
    assert set(task.asset_ids) >= {"road-row2-a", "road-row2-b"}
    assert not [t for t in matching.tasks(["road-row2-b"]) if {t.u, t.v} == {8, 9}]
    assert [t for t in matching.tasks(["road-row2-a"]) if {t.u, t.v} == {8, 9}]


def test_bank_served_from_street_along_it(matching: Matching) -> None:
    """The bank 20 m north of Row1 is served by Row1's streets, together with the road asset."""
    bank_only = matching.tasks(["bank-row1"])
    assert sorted((t.kind, min(t.u, t.v), max(t.u, t.v)) for t in bank_only) == [
        ("edge", 4, 5),
        ("edge", 5, 6),
    ]
    assert all(t.field == "river" for t in bank_only)
    both = matching.tasks(["bank-row1", "road-row1"])
    assert len(both) == 2
    assert all(set(t.asset_ids) == {"bank-row1", "road-row1"} for t in both)
    assert all(t.field == "road" for t in both)  # the road asset owns the street


def test_bank_without_road_is_walked_from_nearest_node(matching: Matching) -> None:
    """A stream 400 m from any road is a node visit at node 2: walk there, along it and back."""
    tasks = matching.tasks(["stream-south"])
    assert len(tasks) == 1
    task = tasks[0]
    assert task.kind == "node"
    assert task.u == task.v == 2
    stream = LineString(
        [(LON0 + DLON - 0.001, LAT0 - 2 * DLAT), (LON0 + DLON + 0.001, LAT0 - 2 * DLAT)]
    )
    metric = gpd.GeoSeries([stream, Point(node_lonlat(2))], crs=4326).to_crs(METRIC_CRS)
    length = metric.iloc[0].length
    access = metric.iloc[0].distance(metric.iloc[1])
    assert access == pytest.approx(400, abs=5)
    assert task.serve_s == pytest.approx(2 * (length + access) / (WALK_SPEED_KMH / 3.6), rel=1e-3)


def test_parks_and_structures_visit_nearest_node(matching: Matching) -> None:
    """The park east of node 6 is visited at 6 with its minutes, the bridge at 5 by default."""
    park = matching.tasks(["park-east"])
    assert [(t.kind, t.u, t.serve_s) for t in park] == [("node", 6, 25 * 60.0)]
    bridge = matching.tasks(["bridge-5"])
    assert [(t.kind, t.u, t.serve_s) for t in bridge] == [("node", 5, 15 * 60.0)]


def test_unmatched_assets_are_reported_with_reasons(matching: Matching) -> None:
    """Nothing is dropped silently: each unmatched asset carries its reason."""
    reasons = {u.asset_id: u.reason for u in matching.unmatched}
    assert set(reasons) == {"road-far", "road-cell", "road-footway", "road-deadend"}
    assert "cut off" in reasons["road-deadend"]
    assert "outside" in reasons["road-far"]
    assert "within 10 m" in reasons["road-cell"]
    assert "runs along" in reasons["road-footway"]
    matched = set(matching.assets)
    assert matched.isdisjoint(reasons)
    assert all(a in matching.served_by for a in matched)


def test_every_task_once_in_bundle(matching: Matching) -> None:
    """The bundled task list has unique ids and each street at most once."""
    tasks = matching.tasks()
    ids = [t.task_id for t in tasks]
    assert len(ids) == len(set(ids))
    streets = [(t.u, t.v, t.key) for t in tasks if t.kind != "node"]
    assert len(streets) == len(set(streets))


def test_assets_in_another_crs_are_projected(network: RoadNetwork) -> None:
    """Assets in another CRS are projected before matching (same result as in EPSG:4326)."""
    row = _asset(
        "road-row1", "T1", "road", "road_segment", LineString([node_lonlat(4), node_lonlat(6)])
    )
    frame = gpd.GeoDataFrame([row], geometry="geometry", crs=4326).to_crs(3857)
    tasks = match_assets(network, frame).tasks()
    assert sorted((min(t.u, t.v), max(t.u, t.v)) for t in tasks) == [(4, 5), (5, 6)]


def test_side_one_road_needs_a_pass_per_direction(network: RoadNetwork) -> None:
    """A two-way street whose sides need separate passes becomes two arcs, one per direction."""
    row = _asset(
        "road-row1-sides",
        "T1",
        "road",
        "road_segment",
        LineString([node_lonlat(4), node_lonlat(6)]),
        side="one",
    )
    tasks = match_assets(network, gpd.GeoDataFrame([row], geometry="geometry", crs=4326)).tasks()
    assert sorted((t.kind, t.u, t.v) for t in tasks) == [
        ("arc", 4, 5),
        ("arc", 5, 4),
        ("arc", 5, 6),
        ("arc", 6, 5),
    ]
    G = network.graph
    assert all(G.has_edge(t.u, t.v, t.key) for t in tasks)


def test_an_asset_owning_no_street_is_served_alone_for_calendars(matching: Matching) -> None:
    """road-row2-b (30 % of street 8-9) rides with its owner by default; `orphans` requires the
    street on its own days, serving it (and not the owner, which is not due)."""
    assert not matching.tasks(["road-row2-b"])
    [task] = matching.tasks(["road-row2-b"], orphans=True)
    assert {task.u, task.v} == {8, 9}
    assert task.asset_ids == ("road-row2-b",)
    assert task.municipality_code == "T2"
    # An owner due as well: the same tasks as without the option.
    both = ["road-row2-a", "road-row2-b"]
    assert matching.tasks(both, orphans=True) == matching.tasks(both)
