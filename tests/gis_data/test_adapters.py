"""Adapters: matched tasks -> CarpData for the solver, and solutions -> routes on real roads."""

from __future__ import annotations

import dataclasses
import itertools

import geopandas as gpd
import pytest
from shapely import LineString, Point, box

from gis_data.network.adapters import (
    AdapterError,
    CarpInstance,
    Depot,
    summarize_route,
    to_carp_data,
    trace_routes,
)
from gis_data.network.graph import RoadNetwork, build_network
from gis_data.network.patrol_arcs import PatrolTask, match_assets
from optimizer.arc_routing import solve_arc_routing
from optimizer.carp_data import TaskKind
from optimizer.carp_solution import CarpSolution, Route, Service
from optimizer.checker import check_solution
from optimizer.stop import MaxIterations
from tests.gis_data.osm_grid import (
    DLAT,
    DLON,
    LAT0,
    LON0,
    METRIC_CRS,
    WAYS,
    node_lonlat,
    write_grid_osm,
)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> RoadNetwork:
    path = write_grid_osm(tmp_path_factory.mktemp("osm") / "grid.osm")
    return build_network(path, None, metric_crs=METRIC_CRS)


@pytest.fixture(scope="module")
def tasks(network: RoadNetwork) -> list[PatrolTask]:
    def row(asset_id: str, fld: str, kind: str, geom, minutes=None) -> dict:
        return {
            "asset_id": asset_id,
            "municipality_code": "T1",
            "field": fld,
            "kind": kind,
            "name": asset_id,
            "service_minutes": minutes,
            "service_speed_kmh": None,
            "geometry": geom,
        }

    park = box(LON0 + 2 * DLON + 0.0003, LAT0 + DLAT, LON0 + 2 * DLON + 0.0006, LAT0 + DLAT + 3e-4)
    frame = gpd.GeoDataFrame(
        [
            row("row1", "road", "road_segment", LineString([node_lonlat(4), node_lonlat(6)])),
            row("col1", "road", "road_segment", LineString([node_lonlat(2), node_lonlat(8)])),
            row("park", "park", "park", park, minutes=12.0),
        ],
        geometry="geometry",
        crs=4326,
    )
    return match_assets(network, frame).tasks()


@pytest.fixture(scope="module")
def instance(network: RoadNetwork, tasks: list[PatrolTask]) -> CarpInstance:
    depot = Depot("d4", "Depot at 4", Point(*node_lonlat(4)))
    return to_carp_data(network, tasks, [depot], shift_hours=8.0, name="grid")


def _task_index(instance: CarpInstance, u: int, v: int) -> int:
    for i, t in enumerate(instance.tasks):
        if t.kind != "node" and (t.u, t.v) in {(u, v), (v, u)}:
            return i
    raise AssertionError((u, v))


def test_carp_data_mirrors_the_graph(instance: CarpInstance, network: RoadNetwork) -> None:
    """Every graph node and edge is in the data; costs are whole seconds of travel time."""
    data = instance.data
    G = network.graph
    assert data.num_nodes == len(G) == 6
    assert data.num_links == G.number_of_edges() == 16
    assert data.node_labels == tuple(str(n) for n in instance.graph_nodes)
    for li, (u, v, k) in enumerate(instance.links):
        assert instance.graph_nodes[int(data.link_tail[li])] == u
        assert instance.graph_nodes[int(data.link_head[li])] == v
        assert int(data.link_cost[li]) == max(1, round(G.edges[u, v, k]["travel_time"]))
    (vt,) = data.vehicle_types
    assert instance.graph_nodes[vt.depot] == 4
    assert vt.shift_limit == 8 * 3600
    assert vt.count is None


def test_tasks_keep_kind_direction_and_service(instance: CarpInstance) -> None:
    """One-way Col1 gives arcs 2->5 and 5->8; Row1 gives edges; the park a node of 12 min."""
    data = instance.data
    found = set()
    for i, task in enumerate(instance.tasks):
        kind = TaskKind(int(data.task_kind[i]))
        u = instance.graph_nodes[int(data.task_u[i])]
        v = instance.graph_nodes[int(data.task_v[i])]
        assert data.task_labels[i] == task.task_id
        assert int(data.task_serve_cost[i]) == max(1, round(task.serve_s))
        found.add((kind.name, u, v) if kind is not TaskKind.EDGE else (kind.name, *sorted((u, v))))
    assert found == {("ARC", 2, 5), ("ARC", 5, 8), ("EDGE", 4, 5), ("EDGE", 5, 6), ("NODE", 6, 6)}
    park = [i for i, t in enumerate(instance.tasks) if t.kind == "node"]
    assert [int(data.task_serve_cost[i]) for i in park] == [12 * 60]


def _connected_walk(route, depot: int) -> None:
    steps = route.traversals
    assert steps[0].from_node == depot
    assert steps[-1].to_node == depot
    for a, b in itertools.pairwise(steps):
        assert a.to_node == b.from_node


def test_trace_follows_roads_and_matches_checker(
    instance: CarpInstance, network: RoadNetwork
) -> None:
    """A hand-made route is a connected walk on real geometry, at the checker's cost."""
    e45 = _task_index(instance, 4, 5)
    e56 = _task_index(instance, 5, 6)
    a25 = _task_index(instance, 2, 5)
    a58 = _task_index(instance, 5, 8)
    park = next(i for i, t in enumerate(instance.tasks) if t.kind == "node")
    # serve 5->4 reversed, then 2->5 and 5->8 (one-way), 5->6, the park at 6
    first = instance.tasks[e45]
    rev = (first.u, first.v) == (4, 5)
    solution = CarpSolution(
        routes=(
            Route(
                vehicle_type=0,
                services=(
                    Service(e45, reverse=rev),
                    Service(a25),
                    Service(a58),
                    Service(e56, reverse=(instance.tasks[e56].u, instance.tasks[e56].v) != (5, 6)),
                    Service(park),
                ),
            ),
        )
    )
    report = check_solution(instance.data, solution)
    assert report.feasible, report.violations
    (route,) = trace_routes(instance, solution)
    _connected_walk(route, 4)
    serves = [(t.from_node, t.to_node, t.task_kind) for t in route.traversals if t.kind == "serve"]
    assert serves == [
        (5, 4, "edge"),
        (2, 5, "arc"),
        (5, 8, "arc"),
        (5, 6, "edge"),
        (6, 6, "node"),
    ]
    assert route.total_s == report.cost
    assert route.serve_s == sum(
        int(instance.data.task_serve_cost[s.task]) for s in solution.routes[0].services
    )
    G = network.graph
    line = route.geometry
    assert line.coords[0] == pytest.approx((G.nodes[4]["x"], G.nodes[4]["y"]))
    assert line.coords[-1] == pytest.approx((G.nodes[4]["x"], G.nodes[4]["y"]))
    metric_len = gpd.GeoSeries([line], crs=4326).to_crs(METRIC_CRS).length.iloc[0]
    assert metric_len == pytest.approx(route.km * 1000, rel=0.02)
    assert route.waypoints()[0][2] == ("park",)
    assert set(route.asset_ids) == {"row1", "col1", "park"}
    merged = summarize_route(route)
    assert sum(r["time_s"] for r in merged) == route.total_s


def test_oneway_served_reversed_is_refused(instance: CarpInstance) -> None:
    """An arc cannot be served against its direction."""
    a25 = _task_index(instance, 2, 5)
    bad = CarpSolution(routes=(Route(vehicle_type=0, services=(Service(a25, reverse=True),)),))
    with pytest.raises(AdapterError, match="only edges"):
        trace_routes(instance, bad)


def test_solver_consumes_the_data(instance: CarpInstance) -> None:
    """The engine solves the adapter's data; the traced routes cost what the solver reports."""
    result = solve_arc_routing(instance.data, stop=MaxIterations(50), seed=3)
    assert result.feasible
    assert result.solution is not None
    routes = trace_routes(instance, result.solution)
    assert sum(r.total_s for r in routes) == result.cost
    for route in routes:
        _connected_walk(route, 4)
    served = sorted(t for r in routes for t in r.tasks)
    assert served == sorted(t.task_id for t in instance.tasks)


def test_bad_input_is_named(network: RoadNetwork, tasks: list[PatrolTask]) -> None:
    """No depot, a bad shift and a task off the graph give errors naming the problem."""
    depot = Depot("d", "d", Point(*node_lonlat(4)))
    with pytest.raises(AdapterError, match="depot"):
        to_carp_data(network, tasks, [])
    with pytest.raises(AdapterError, match="shift_hours"):
        to_carp_data(network, tasks, [depot], shift_hours=0)
    ghost = dataclasses.replace(tasks[0], task_id="ghost", u=999)
    with pytest.raises(AdapterError, match=r"ghost.*999"):
        to_carp_data(network, [ghost], [depot])


def test_steps_named_by_the_towns_route_names_on_an_osm_network(tmp_path) -> None:
    """OSM Row1 and Row2 carry no name; the road ledger calls Row1 町道本町線 (路線名) and has
    no name for Row2 (the simplified graph's nodes are 2, 4, 5, 6, 8, 9). Serving and driving
    steps on Row1 say 町道本町線, on Row2 nothing (the pages label it), and an OSM-named street
    the asset does not name keeps its OSM name."""
    ways = [
        (w, nodes, {k: v for k, v in tags.items() if not (k == "name" and w in (102, 103))})
        for w, nodes, tags in WAYS
    ]
    network = build_network(
        write_grid_osm(tmp_path / "grid.osm", ways), None, metric_crs=METRIC_CRS
    )
    frame = gpd.GeoDataFrame(
        [
            {"asset_id": "R1", "municipality_code": "T1", "field": "road", "kind": "road_segment",
             "name": "町道本町線", "geometry": LineString([node_lonlat(4), node_lonlat(6)])},
            {"asset_id": "R2", "municipality_code": "T1", "field": "road", "kind": "road_segment",
             "name": None, "geometry": LineString([node_lonlat(8), node_lonlat(9)])},
            {"asset_id": "C2", "municipality_code": "T1", "field": "road", "kind": "road_segment",
             "name": None, "geometry": LineString([node_lonlat(6), node_lonlat(9)])},
        ],
        geometry="geometry",
        crs=4326,
    )  # fmt: skip
    matching = match_assets(network, frame)
    names = {(t.u, t.v): t.name for t in matching.tasks()}
    assert {names.get((4, 5)) or names.get((5, 4)), names.get((5, 6)) or names.get((6, 5))} == {
        "町道本町線"
    }
    assert names.get((8, 9), names.get((9, 8))) == ""
    assert names.get((6, 9), names.get((9, 6))) == "Col2"
    # Only Col2 is served today: the crew drives from node 4 along Row1 (not a task today).
    today = list(matching.tasks(["C2"]))
    depot = Depot("d4", "Depot at 4", Point(*node_lonlat(4)))
    instance = to_carp_data(
        network, today, [depot], shift_hours=8.0, street_names=matching.street_names()
    )
    result = solve_arc_routing(instance.data, stop=MaxIterations(5), seed=0)
    assert result.solution is not None
    (route,) = trace_routes(instance, result.solution)
    streets = {(t.kind, t.from_node, t.to_node): t.street for t in route.traversals}
    assert [s for (kind, _, _), s in streets.items() if kind == "serve"] == ["Col2"]
    driven = {
        s for (kind, u, v), s in streets.items() if kind == "deadhead" and {u, v} <= {4, 5, 6}
    }
    assert driven == {"町道本町線"}
    # Without the names (as before) the same steps carried OSM's empty name.
    bare = to_carp_data(network, today, [depot], shift_hours=8.0)
    (plain,) = trace_routes(bare, result.solution)
    assert {t.street for t in plain.traversals if {t.from_node, t.to_node} <= {4, 5, 6}} == {""}
