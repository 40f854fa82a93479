"""Tests of network.patrol_log: GPX tracks matched to a small known road grid, coverage, errors."""

from __future__ import annotations

import datetime as dt
import itertools

import gpxpy.gpx
import networkx as nx
import pytest
from pyproj import CRS
from shapely.geometry import LineString, Point

from gis_data.network.graph import NetworkSummary, RoadNetwork
from gis_data.network.patrol_arcs import PatrolTask
from gis_data.network.patrol_log import (
    PatrolLogError,
    TrackPoint,
    coverage_report,
    frequency_status,
    match_track,
    project_network,
    read_gpx,
)

LON0, LAT0 = 9.52, 47.14
DLON, DLAT = 0.00264, 0.0018  # about 200 m each way at this latitude
T0 = dt.datetime(2026, 4, 1, 8, 0, tzinfo=dt.UTC)


def node_id(i: int, j: int) -> int:
    return 100 + 10 * j + i


def grid_network(n: int = 4) -> RoadNetwork:
    """An n x n grid of two-way streets, ~200 m blocks, in the osmnx graph layout."""
    G = nx.MultiDiGraph(crs="epsg:4326")
    for i in range(n):
        for j in range(n):
            G.add_node(node_id(i, j), x=LON0 + i * DLON, y=LAT0 + j * DLAT)
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < n and j + dj < n:
                    a, b = node_id(i, j), node_id(i + di, j + dj)
                    for u, v in ((a, b), (b, a)):
                        pu, pv = G.nodes[u], G.nodes[v]
                        geom = LineString([(pu["x"], pu["y"]), (pv["x"], pv["y"])])
                        length = 200.0 if di else 200.2
                        G.add_edge(u, v, 0, length=length, geometry=geom, name=f"s{a}-{b}")
    summary = NetworkSummary(len(G), G.number_of_edges(), 0.0, 0.0, 0, 0, 0, 0.0)
    area = Point(LON0, LAT0).buffer(0.05)
    return RoadNetwork(G, area, CRS.from_epsg(32632), source=__file__, summary=summary)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def network() -> RoadNetwork:
    return grid_network()


@pytest.fixture(scope="module")
def projected(network):
    return project_network(network)


def drive(nodes: list[int], network: RoadNetwork, *, step_m: float = 20.0, start=T0):
    """Fixes every ``step_m`` along the straight edges through ``nodes``, 10 m/s."""
    pts: list[TrackPoint] = []
    t = start
    for a, b in itertools.pairwise(nodes):
        pa, pb = network.graph.nodes[a], network.graph.nodes[b]
        steps = int(200 / step_m)
        for s in range(steps):
            f = s / steps
            lon = pa["x"] + f * (pb["x"] - pa["x"])
            lat = pa["y"] + f * (pb["y"] - pa["y"])
            pts.append(TrackPoint(lon + 0.00002, lat + 0.00001, t))  # ~2 m GPS offset
            t += dt.timedelta(seconds=step_m / 10)
    last = network.graph.nodes[nodes[-1]]
    pts.append(TrackPoint(last["x"], last["y"], t))
    return pts


def to_gpx(points: list[TrackPoint]) -> str:
    gpx = gpxpy.gpx.GPX()
    track = gpxpy.gpx.GPXTrack()
    seg = gpxpy.gpx.GPXTrackSegment()
    seg.points = [gpxpy.gpx.GPXTrackPoint(p.lat, p.lon, time=p.time) for p in points]
    track.segments.append(seg)
    gpx.tracks.append(track)
    return gpx.to_xml()


def task(u: int, v: int, tid: str, assets: tuple[str, ...]) -> PatrolTask:
    return PatrolTask(tid, "edge", u, v, 0, 60.0, 200.0, tid, "LI-7001", "road", assets)


def test_gpx_round_trip_keeps_points_and_times(network):
    """read_gpx returns every track point with its coordinates and UTC time."""
    pts = drive([node_id(0, 0), node_id(1, 0)], network)
    back = read_gpx(to_gpx(pts).encode(), source="day.gpx")
    assert len(back) == len(pts)
    assert back[0].time == T0
    assert back[3].lon == pytest.approx(pts[3].lon, abs=1e-6)


def test_dense_track_along_known_edges_is_matched(network, projected):
    """A track along 0,0 -> 2,0 -> 2,1 matches exactly those three streets, in order."""
    path = [node_id(0, 0), node_id(1, 0), node_id(2, 0), node_id(2, 1)]
    edges, n_matched, km = match_track(drive(path, network), network, projected=projected)
    pairs = [tuple(sorted((e.u, e.v))) for e in edges]
    assert pairs == [tuple(sorted(p)) for p in itertools.pairwise(path)]
    assert n_matched == len(drive(path, network))
    assert km == pytest.approx(0.6, rel=0.05)
    assert edges[0].time == T0
    assert edges[1].time is not None
    assert edges[1].time > T0


def test_sparse_fixes_are_filled_along_the_shortest_path(network, projected):
    """Fixes every 400 m (one per two blocks) still give the edges driven between them."""
    path = [node_id(0, 0), node_id(1, 0), node_id(2, 0), node_id(3, 0)]
    dense = drive(path, network, step_m=50.0)
    sparse = [dense[1], dense[9]]  # 50 m along the first block, 50 m along the third
    edges, _, _ = match_track(sparse, network, projected=projected)
    pairs = {tuple(sorted((e.u, e.v))) for e in edges}
    assert tuple(sorted((node_id(1, 0), node_id(2, 0)))) in pairs
    assert {e.how for e in edges} == {"fixes", "gap"}


def test_coverage_against_plan(network, projected):
    """Two of three planned streets driven: 2/3 covered, the assets visited with their times."""
    path = [node_id(0, 0), node_id(1, 0), node_id(2, 0)]
    planned = [
        task(node_id(0, 0), node_id(1, 0), "s1", ("road-1",)),
        task(node_id(2, 0), node_id(1, 0), "s2", ("road-2", "bank-1")),  # reverse: two-way
        task(node_id(0, 2), node_id(0, 3), "s3", ("road-3",)),
        PatrolTask(
            "n:park",
            "node",
            node_id(2, 0),
            node_id(2, 0),
            None,
            600,
            0,
            "park",
            "LI",
            "park",
            ("park-1",),
        ),
    ]
    report = coverage_report(drive(path, network), network, planned, projected=projected)
    covered = {t.task_id: t.covered for t in report.tasks}
    assert covered == {"s1": True, "s2": True, "s3": False, "n:park": True}
    assert report.coverage_pct == pytest.approx(75.0)
    assert report.coverage_km_pct == pytest.approx(100 * 400 / 600, rel=1e-3)
    assert set(report.asset_visits) == {"road-1", "road-2", "bank-1", "park-1"}
    assert report.asset_visits["road-1"] == T0
    later = report.asset_visits["road-2"]
    assert later is not None
    assert later > T0
    data = report.to_dict()
    assert data["covered_tasks"] == 3
    assert data["tasks"][0]["time"] == T0.isoformat()


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"", "empty"),
        (b"\xff\xfe\x00garbage", "not a GPX file"),
        (b"<html><body>nope</body></html>", "not a GPX file"),
        (b'<?xml version="1.0"?><gpx version="1.1" creator="x"></gpx>', "no track point"),
    ],
)
def test_garbage_gpx_gets_a_clear_error(payload, match):
    """Bad files raise PatrolLogError naming the file."""
    with pytest.raises(PatrolLogError, match=rf"bad\.gpx: .*{match}"):
        read_gpx(payload, source="bad.gpx")


def test_track_elsewhere_is_rejected(network, projected):
    """A track in another country matches no road: a clear error, not an empty report."""
    pts = [TrackPoint(139.7, 35.68, T0), TrackPoint(139.71, 35.68, T0)]
    with pytest.raises(PatrolLogError, match=r"none of the 2 points lies within 30 m"):
        match_track(pts, network, projected=projected, source="tokyo.gpx")


def test_frequency_status_flags_overdue_assets():
    """Intervals kept or broken, from visit times over several logs."""
    as_of = T0 + dt.timedelta(days=30)
    visits = {
        "a": [T0, T0 + dt.timedelta(days=7), T0 + dt.timedelta(days=25)],
        "b": [T0],
    }
    status = {
        s.asset_id: s
        for s in frequency_status(visits, {"a": 14, "b": 14, "c": 60}, as_of=as_of, since=T0)
    }
    assert not status["a"].overdue
    assert status["a"].visits == 3
    assert status["a"].longest_gap_days == pytest.approx(18.0)
    assert status["b"].overdue
    assert status["b"].days_since == pytest.approx(30.0)
    assert status["c"].visits == 0
    assert not status["c"].overdue  # 30 days into a 60-day interval


# A river bank 100 m north of the street row j=0, between the columns i=1 and i=2: no street runs
# along it, so the crew walks it from the access node (1, 0).
BANK = LineString([(LON0 + DLON, LAT0 + DLAT / 2), (LON0 + 2 * DLON, LAT0 + DLAT / 2)])


def bank_walk() -> PatrolTask:
    serve_s = 2.0 * (200.0 + 100.0) / (4.0 / 3.6)  # to the bank, along it and back, at 4 km/h
    return PatrolTask(
        "s9#walk0", "node", node_id(1, 0), node_id(1, 0), None, serve_s, 0.0,
        "Rhein", "LI-7001", "river", ("bank-1",),
    )  # fmt: skip


def walk(points: list[tuple[float, float]], start: dt.datetime, *, step_m: float = 10.0):
    """Fixes every ``step_m`` along a walk through (lon, lat) corners at 1.2 m/s."""
    out: list[TrackPoint] = []
    t = start
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        metres = ((x1 - x0) * 75_800) ** 2 + ((y1 - y0) * 111_200) ** 2
        n = max(1, int(metres**0.5 / step_m))
        for s in range(n):
            f = s / n
            out.append(TrackPoint(x0 + f * (x1 - x0), y0 + f * (y1 - y0), t))
            t += dt.timedelta(seconds=step_m / 1.2)
    return out


def test_bank_walk_not_covered_by_driving_past_its_access_point(network, projected):
    """The crew drives along the street past the access node: close to it, never at the bank."""
    track = drive([node_id(0, 0), node_id(1, 0), node_id(2, 0), node_id(3, 0)], network)
    report = coverage_report(
        track, network, [bank_walk()], projected=projected, banks={"bank-1": BANK}
    )
    (result,) = report.tasks
    assert not result.covered
    assert "bank-1" not in report.asset_visits
    # Without the bank's line the old access-point rule would have called it done.
    legacy = coverage_report(track, network, [bank_walk()], projected=projected)
    assert legacy.tasks[0].covered


def test_bank_walk_covered_when_the_track_goes_along_the_bank(network, projected):
    """Driven to the access node, then walked up to the bank, along it and back."""
    driven = drive([node_id(0, 0), node_id(1, 0)], network)
    access = (LON0 + DLON, LAT0)
    corners = [access, BANK.coords[0], BANK.coords[1], BANK.coords[0], access]
    walked = walk(corners, driven[-1].time + dt.timedelta(minutes=1))
    report = coverage_report(
        driven + walked, network, [bank_walk()], projected=projected, banks={"bank-1": BANK}
    )
    (result,) = report.tasks
    assert result.covered
    # Done when the crew reached the bank, not when it drove past the access node.
    assert result.time is not None
    assert result.time > driven[-1].time
    assert report.asset_visits["bank-1"] == result.time


def test_never_visited_is_overdue_only_a_full_interval_after_the_contract_start():
    """On the contract's first day nothing is overdue; with no start known, unvisited is unknown."""
    intervals = {"a": 14.0, "b": 14.0}
    first_day = {s.asset_id: s for s in frequency_status({}, intervals, as_of=T0, since=T0)}
    assert not any(s.overdue for s in first_day.values())
    later = frequency_status({}, intervals, as_of=T0 + dt.timedelta(days=15), since=T0)
    assert all(s.overdue for s in later)
    # From the last visit otherwise: visited 10 days ago with a 14-day interval is kept.
    visited = frequency_status({"a": [T0]}, intervals, as_of=T0 + dt.timedelta(days=10), since=None)
    assert [s.overdue for s in visited] == [False, False]
