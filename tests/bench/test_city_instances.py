"""bench.city_instances: an osmnx-style graph becomes a CARPLIB file the reader takes back."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import pytest

from bench.carp import read_instance
from bench.city_instances import carplib_from_graph
from optimizer.carp_data import TaskKind
from optimizer.lower_bound import carp_lower_bound


def _graph() -> nx.MultiDiGraph:
    """Four crossings: a two-way residential square side, a one-way residential street, a
    two-way primary road (not the town's), a loop, and a parallel service road."""
    G = nx.MultiDiGraph()
    for n in (10, 20, 30, 40):
        G.add_node(n, x=0.0, y=0.0)
    G.add_edge(10, 20, 0, length=100.4, highway="residential")
    G.add_edge(20, 10, 0, length=100.4, highway="residential")
    G.add_edge(20, 30, 0, length=250.0, highway=["tertiary", "residential"])  # one-way
    G.add_edge(30, 40, 0, length=80.0, highway="primary")
    G.add_edge(40, 30, 0, length=80.0, highway="primary")
    G.add_edge(40, 10, 0, length=120.0, highway="unclassified")
    G.add_edge(10, 40, 0, length=120.0, highway="unclassified")
    G.add_edge(10, 40, 1, length=150.0, highway="service")  # a parallel street, its own key
    G.add_edge(30, 30, 0, length=40.0, highway="residential")  # loop: dropped
    return G


def test_graph_to_carplib_and_back(tmp_path: Path) -> None:
    instance = carplib_from_graph(_graph(), name="tiny", depot_node=30, capacity=300)
    path = instance.write(tmp_path)
    data = read_instance(path).data
    assert data.num_nodes == 4
    assert data.vehicle_types[0].depot == 2  # node 30 is the third in sorted order
    assert data.vehicle_types[0].capacity == 300
    assert set(data.task_kind.tolist()) == {TaskKind.EDGE}
    required = sorted(zip(data.task_u.tolist(), data.task_v.tolist(), strict=True))
    assert required == [(0, 1), (0, 3), (1, 2)]  # residential, unclassified, tertiary
    assert sorted(data.task_demand.tolist()) == [100, 120, 250]  # demand = metres
    assert (data.task_serve_cost == data.task_demand).all()
    assert data.num_links == 2 * 5  # 3 required + primary + the parallel service road
    lb = carp_lower_bound(data)
    assert lb.serve == 470
    assert lb.routes == 2  # 470 m of streets, 300 m a crew


def test_every_street_required_and_bad_depot() -> None:
    every = carplib_from_graph(_graph(), name="all", depot_node=10, required_classes=None)
    assert len(every.required) == 5
    assert not every.other
    with pytest.raises(ValueError, match="depot node 99"):
        carplib_from_graph(_graph(), name="x", depot_node=99)
    with pytest.raises(ValueError, match="no street of the required classes"):
        carplib_from_graph(_graph(), name="x", depot_node=10, required_classes=("motorway",))


def test_liechtenstein_city_instance(tmp_path: Path) -> None:
    """The shared city-scale instance from the demo's OSM extract: town streets required."""
    from bench.city_instances import write_shared_instances

    (path,) = write_shared_instances(tmp_path, prefecture=False)
    assert path.name == "li11-town.dat"
    text = path.read_text(encoding="utf-8")
    assert "OpenStreetMap contributors" in text
    data = read_instance(path).data
    assert data.num_tasks > 1000
    assert data.num_links // 2 > data.num_tasks  # national roads are deadheading only
    assert carp_lower_bound(data).value > int(data.task_serve_cost.sum())


def test_any_graphml_becomes_an_instance_with_its_yard(tmp_path: Path) -> None:
    """`--graphml`: a city's own osmnx file, the depot the node nearest the given yard."""
    import osmnx as ox

    from bench.city_instances import main

    G = _graph()
    G.graph["crs"] = "EPSG:4326"
    for n, (x, y) in {10: (139.70, 35.60), 20: (139.71, 35.60), 30: (139.71, 35.61),
                      40: (139.70, 35.61)}.items():  # fmt: skip
        G.nodes[n]["x"], G.nodes[n]["y"] = x, y
    source = tmp_path / "mycity.graphml"
    ox.save_graphml(G, source)
    out = tmp_path / "out"
    assert main([str(out), "--graphml", str(source), "--depot", "139.7099,35.6098"]) == 0
    data = read_instance(out / "mycity.dat").data
    assert data.vehicle_types[0].depot == 2  # node 30, nearest the yard
    assert data.num_tasks == 3
    assert data.vehicle_types[0].capacity == 60_000
    assert main([str(out), "--graphml", str(source), "--name", "every", "--all-streets",
                 "--capacity-km", "0.3"]) == 0  # fmt: skip
    every = read_instance(out / "every.dat").data
    assert every.num_tasks == 5
    assert every.vehicle_types[0].capacity == 300
