"""Planning units: grouping, workload, adjacency on the road network and travel times."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString

from gis_data.planning.units import asset_patrol_minutes, build_units
from tests.gis_data import _synthetic as syn


def _connected(n: int, pairs: list[tuple[int, int]]) -> bool:
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(pairs)
    return nx.is_connected(g)


def test_every_asset_in_exactly_one_unit_of_its_town():
    """Each asset lands in one unit; a unit never mixes municipalities; lengths add up."""
    assets = pd.concat(
        [syn.towns(2), gpd.GeoDataFrame([syn.park("A", "PA", 200, 200)], crs=syn.CRS)]
    )
    units = build_units(assets, target_km=1.0)
    listed = [a for ids in units.units["asset_ids"] for a in ids]
    assert sorted(listed) == sorted(assets["asset_id"])
    assert set(units.asset_unit) == set(assets["asset_id"])
    by_id = assets.set_index("asset_id")
    for _, row in units.units.iterrows():
        assert {by_id.loc[a, "municipality_code"] for a in row["asset_ids"]} == {
            row["municipality_code"]
        }
    roads = assets[assets["field"] == "road"]
    assert units.units["km"].sum() == pytest.approx(roads.geometry.length.sum() / 1000.0)
    road = units.units[units.units["fields"] == "road"]
    # Grown to about 1 km: none above 2 x target, and merging leaves few tiny ones.
    assert road["km"].max() <= 2.0 + 1e-9
    assert (road["km"] >= 1.0 - 1e-9).mean() > 0.6


def test_road_units_are_connected_pieces_of_road():
    """Every road unit's assets form one connected piece (they share nodes)."""
    assets = syn.towns(1, nx=6, ny=5)
    units = build_units(assets, target_km=1.5)
    by_id = assets.set_index("asset_id")
    for ids in units.units["asset_ids"]:
        geoms = by_id.loc[ids].geometry.tolist()
        g = nx.Graph()
        g.add_nodes_from(range(len(geoms)))
        g.add_edges_from(
            (i, j) for i in range(len(geoms)) for j in range(i) if geoms[i].distance(geoms[j]) < 1
        )
        assert nx.is_connected(g)


def test_workload_from_speed_interval_and_service_minutes():
    """Workload = service time x visits per period, plus the deadhead estimate."""
    road = syn.grid_roads("A", x0=0, nx=2, ny=1, interval=10.0)  # one 500 m street
    p = syn.park("A", "P", 2000, 0)
    assets = gpd.GeoDataFrame([*road, p], crs=syn.CRS)
    units = build_units(assets, target_km=1.0, period_days=30.0)
    street = units.units[units.units["fields"] == "road"].iloc[0]
    # 0.5 km at 20 km/h = 1.5 min, 3 visits in 30 days.
    assert street["service_h"] == pytest.approx(1.5 * 3 / 60)
    assert street["workload_h"] > street["service_h"]
    park_unit = units.units[units.units["fields"] == "park"].iloc[0]
    assert park_unit["service_h"] == pytest.approx(30.0 * 30 / 14 / 60)
    row = pd.Series({"field": "road", "side": "one", "service_speed_kmh": 10.0})
    assert asset_patrol_minutes(row, 1000.0) == pytest.approx(12.0)  # two passes of 6 min


def test_park_is_adjacent_to_the_road_unit_it_touches_and_graph_is_connected():
    """A park near a street is adjacent (access) to that street's unit; far pieces get a link."""
    assets = syn.towns(1)
    extra = gpd.GeoDataFrame(
        [
            syn.park("A", "P-near", 220, 20),
            {
                **syn.grid_roads("A", x0=0, nx=2, ny=1)[0],
                "asset_id": "far",
                "geometry": LineString([(5000, 5000), (5500, 5000)]),
            },
        ],
        crs=syn.CRS,
    )
    units = build_units(pd.concat([assets, extra]), target_km=1.0)
    ids = units.unit_ids
    park_i = ids.index(units.asset_unit["P-near"])
    street_i = ids.index(units.asset_unit["A-0"])  # the street (0,0)-(500,0)
    key = (min(park_i, street_i), max(park_i, street_i))
    assert units.adjacency_kind[key] == "access"
    far_i = ids.index(units.asset_unit["far"])
    assert any(far_i in pair and kind == "link" for pair, kind in units.adjacency_kind.items())
    assert _connected(units.n, units.adjacency)


def test_travel_times_on_a_graph_follow_the_roads():
    """With a graph, unit-to-unit times are network shortest paths (here around a detour)."""
    assets = gpd.GeoDataFrame(
        [
            {
                **syn.grid_roads("A", x0=0, nx=2, ny=1)[0],
                "asset_id": "w",
                "geometry": LineString([(0, 0), (0, 100)]),
            },
            {
                **syn.grid_roads("A", x0=0, nx=2, ny=1)[0],
                "asset_id": "e",
                "geometry": LineString([(1000, 0), (1000, 100)]),
            },
        ],
        crs=syn.CRS,
    )
    G = nx.MultiDiGraph(crs=syn.CRS)
    for node, (x, y) in {1: (0, 50), 2: (0, 3000), 3: (1000, 3000), 4: (1000, 50)}.items():
        G.add_node(node, x=x, y=y)
    for u, v in [(1, 2), (2, 3), (3, 4)]:
        G.add_edge(u, v, travel_time=100.0)
        G.add_edge(v, u, travel_time=100.0)
    units = build_units(assets, target_km=0.05, graph=G)
    assert units.travel_source == "road network"
    t = units.travel_s
    assert t[0, 1] >= 300.0  # three 100 s edges, straight-line estimate: 156 s
    straight = build_units(assets, target_km=0.05)
    assert straight.travel_source == "straight-line estimate"
    assert straight.travel_s[0, 1] < 200.0  # 1 km x 1.3 detour at 30 km/h
    assert np.allclose(np.diag(t), 0.0)


def test_cells_tile_the_area():
    """Unit cells cover the study area without overlapping (used for region outlines)."""
    assets = syn.towns(2)
    area = syn.boundaries(2)
    units = build_units(assets, target_km=1.0, area=area)
    total = float(units.cells.area.sum())
    union = units.cells.union_all()
    assert union.area == pytest.approx(total, rel=1e-6)
    assert union.covers(area.union_all())


def test_bad_input_is_named():
    """Missing columns, CRS or rows give a clear error."""
    assets = syn.towns(1)
    with pytest.raises(ValueError, match="municipality_code"):
        build_units(assets.drop(columns="municipality_code"))
    with pytest.raises(ValueError, match="empty"):
        build_units(assets.iloc[:0])
    broken = assets.copy()
    broken.loc[3, "geometry"] = None
    with pytest.raises(ValueError, match="A-3"):
        build_units(broken)
    with pytest.raises(ValueError, match="CRS"):
        build_units(assets.set_crs(None, allow_override=True))


def test_point_structures_ride_with_their_road():
    """A sign beside a street joins the street's unit; a far one stays a unit of its own."""
    from shapely.geometry import Point

    base = syn.grid_roads("A", x0=0, nx=3, ny=1)
    signs = [
        {
            **base[0],
            "asset_id": "sign-near",
            "field": "road",
            "kind": "sign",
            "service_minutes": 2.0,
            "geometry": Point(250, 5),
        },
        {
            **base[0],
            "asset_id": "sign-far",
            "field": "road",
            "kind": "sign",
            "service_minutes": 2.0,
            "geometry": Point(250, 900),
        },
    ]
    units = build_units(gpd.GeoDataFrame([*base, *signs], crs=syn.CRS), target_km=5.0)
    assert units.asset_unit["sign-near"] == units.asset_unit["A-0"]
    assert units.asset_unit["sign-far"] != units.asset_unit["A-0"]
    street = units.units[units.units["unit_id"] == units.asset_unit["A-0"]].iloc[0]
    assert "sign-near" in street["asset_ids"]
    assert street["km"] == pytest.approx(1.0)


def test_bank_sections_along_a_stream_are_adjacent():
    """Two bank sections of one stream, too long to be one unit, touch each other."""
    road = syn.grid_roads("A", x0=0, nx=2, ny=1)
    bank = {**road[0], "field": "river", "kind": "river_bank", "service_speed_kmh": 4.0}
    rows = [
        *road,
        {**bank, "asset_id": "b1", "geometry": LineString([(0, 300), (0, 1300)])},
        {**bank, "asset_id": "b2", "geometry": LineString([(0, 1300), (0, 2300)])},
    ]
    units = build_units(gpd.GeoDataFrame(rows, crs=syn.CRS), target_km=0.8)
    ids = units.unit_ids
    i, j = ids.index(units.asset_unit["b1"]), ids.index(units.asset_unit["b2"])
    assert i != j
    assert units.adjacency_kind[(min(i, j), max(i, j))] == "touch"
    assert units.units["fields"].iloc[i] == "river"
