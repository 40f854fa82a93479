"""A street grid of towns and a `DayRouter` on it that calls the real arc-routing engine.

Towns sit side by side on one grid of STEP m blocks (metric EPSG:2056 near Vaduz); every block
edge is a road asset (row 0 is a primary road, the rest residential), each town has a river bank
asset (a node visit at its south-west corner) and a park (a node visit at its north-east corner).
Town depots sit at each town's west end; the contractor yard at the grid's centre. Costs are
seconds at a constant 30 km/h, so km = seconds / 120.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
from shapely.geometry import LineString, Point

from gis_data.planning.day_routes import DayRoutes
from optimizer.arc_routing import solve_arc_routing
from optimizer.carp_data import CarpModel
from optimizer.stop import MaxIterations

CRS = "EPSG:2056"
X0, Y0 = 2_757_000.0, 1_222_000.0
STEP = 500.0
SPEED_MS = 30 / 3.6
SERVE_SPEED_MS = 20 / 3.6


@dataclass
class GridTowns:
    """Assets (EPSG:4326 GeoDataFrame), populations and a node map for the router."""

    assets: gpd.GeoDataFrame
    population: dict[str, int]
    task_nodes: dict[str, tuple[int, int]]  # asset -> (u, v) grid node ids; u == v for visits
    depots: dict[str, int]  # depot id -> grid node
    nx: int
    ny: int


def grid_towns(
    codes: tuple[str, ...] = ("T1", "T2", "T3"), *, width: int = 3, ny: int = 3
) -> GridTowns:
    """Towns of ``width`` columns each on a shared grid with ``ny`` rows."""
    nx = width * len(codes)
    rows: list[dict] = []
    task_nodes: dict[str, tuple[int, int]] = {}

    def node(i: int, j: int) -> int:
        return j * nx + i

    def xy(i: int, j: int) -> tuple[float, float]:
        return X0 + i * STEP, Y0 + j * STEP

    for t, code in enumerate(codes):
        lo, hi = t * width, (t + 1) * width
        for i in range(lo, hi):
            for j in range(ny):
                ends = []
                if i + 1 < nx:
                    ends.append((i + 1, j))
                if j + 1 < ny:
                    ends.append((i, j + 1))
                for a, b in ends:
                    asset_id = f"{code}:r{len(rows)}"
                    rows.append(
                        {
                            "asset_id": asset_id,
                            "municipality_code": code,
                            "municipality": f"Town {code}",
                            "field": "road",
                            "kind": "road_segment",
                            "road_class": "primary" if j == 0 and b == j else "residential",
                            "geometry": LineString([xy(i, j), xy(a, b)]),
                        }
                    )
                    task_nodes[asset_id] = (node(i, j), node(a, b))
        for kind, field_name, (i, j) in (
            ("river_bank", "river", (lo, 0)),
            ("park", "park", (hi - 1, ny - 1)),
        ):
            asset_id = f"{code}:{field_name}"
            rows.append(
                {
                    "asset_id": asset_id,
                    "municipality_code": code,
                    "municipality": f"Town {code}",
                    "field": field_name,
                    "kind": kind,
                    "road_class": None,
                    "service_minutes": 15.0,
                    "geometry": Point(xy(i, j)),
                }
            )
            task_nodes[asset_id] = (node(i, j), node(i, j))
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
    for col in ("patrol_interval_days", "service_speed_kmh"):
        frame[col] = float("nan")
    frame["side"] = "both"
    depots = {f"depot:{code}": node(t * width, 1) for t, code in enumerate(codes)}
    depots["yard"] = node(nx // 2, ny // 2)
    population = {code: 1000 * (t + 1) for t, code in enumerate(codes)}
    return GridTowns(frame.to_crs("EPSG:4326"), population, task_nodes, depots, nx, ny)


@dataclass
class GridRouter:
    """Routes a day's assets on the grid with `solve_arc_routing` (count-based stop, seeded)."""

    towns: GridTowns
    shift_s: int = 8 * 3600
    iterations: int = 20
    calls: list[int] = field(default_factory=list)

    def route(self, asset_ids: frozenset[str], depot: str) -> DayRoutes:
        self.calls.append(len(asset_ids))
        t = self.towns
        model = CarpModel()
        for k in range(t.nx * t.ny):
            model.add_node(str(k))
        for j in range(t.ny):
            for i in range(t.nx):
                k = j * t.nx + i
                if i + 1 < t.nx:
                    model.add_link(k, k + 1, round(STEP / SPEED_MS), both_ways=True)
                if j + 1 < t.ny:
                    model.add_link(k, k + t.nx, round(STEP / SPEED_MS), both_ways=True)
        for asset_id in sorted(asset_ids):
            u, v = t.task_nodes[asset_id]
            if u == v:
                model.add_required_node(u, serve_cost=15 * 60, label=asset_id)
            else:
                model.add_required_edge(
                    u, v, serve_cost=round(STEP / SERVE_SPEED_MS), label=asset_id
                )
        model.add_vehicle_type(t.depots[depot], shift_limit=self.shift_s)
        result = solve_arc_routing(model.data(), stop=MaxIterations(self.iterations), seed=0)
        assert result.solution is not None
        return DayRoutes(
            route_km=tuple(c / 120.0 for c in result.route_costs),
            route_minutes=tuple(d / 60.0 for d in result.route_durations),
            method="grid engine",
            feasible=result.feasible,
        )
