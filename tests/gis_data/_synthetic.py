"""Small synthetic towns for the region tests: street grids in a metric CRS, a park, boundaries."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from shapely.geometry import LineString, box

CRS = "EPSG:32632"
STEP = 500.0


def grid_roads(
    code: str, *, x0: float, nx: int = 4, ny: int = 3, interval: float = 7.0
) -> list[dict]:
    """Road assets of an nx x ny street grid (STEP m blocks) whose west edge is at x0."""
    rows = []
    for i in range(nx):
        for j in range(ny):
            x, y = x0 + i * STEP, j * STEP
            ends = []
            if i < nx - 1:
                ends.append(((x, y), (x + STEP, y)))
            if j < ny - 1:
                ends.append(((x, y), (x, y + STEP)))
            for a, b in ends:
                rows.append(
                    {
                        "asset_id": f"{code}-{len(rows)}",
                        "municipality_code": code,
                        "municipality": f"Town {code}",
                        "field": "road",
                        "kind": "road_segment",
                        "patrol_interval_days": interval,
                        "service_minutes": np.nan,
                        "service_speed_kmh": 20.0,
                        "side": "both",
                        "geometry": LineString([a, b]),
                    }
                )
    return rows


def park(code: str, asset_id: str, x: float, y: float) -> dict:
    """A 100 m square park asset with 30 min of service every 14 days."""
    return {
        "asset_id": asset_id,
        "municipality_code": code,
        "municipality": f"Town {code}",
        "field": "park",
        "kind": "park",
        "patrol_interval_days": 14.0,
        "service_minutes": 30.0,
        "service_speed_kmh": np.nan,
        "side": "both",
        "geometry": box(x, y, x + 100.0, y + 100.0),
    }


def towns(n: int = 3, *, nx: int | list[int] = 4, ny: int = 3) -> gpd.GeoDataFrame:
    """``n`` towns side by side (nx x ny street grids; nx may differ per town), touching."""
    widths = nx if isinstance(nx, list) else [nx] * n
    rows: list[dict] = []
    x0 = 0.0
    for t in range(n):
        rows.extend(grid_roads(chr(ord("A") + t), x0=x0, nx=widths[t], ny=ny))
        x0 += (widths[t] - 1) * STEP
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def boundaries(n: int = 3, *, nx: int | list[int] = 4, ny: int = 3) -> gpd.GeoDataFrame:
    """Town polygons matching `towns` (each grid's extent, the outer ones grown 100 m)."""
    widths = nx if isinstance(nx, list) else [nx] * n
    rows = []
    x0 = 0.0
    for t in range(n):
        width = (widths[t] - 1) * STEP
        west = x0 - (100 if t == 0 else 0)
        east = x0 + width + (100 if t == n - 1 else 0)
        rows.append(
            {
                "municipality_code": chr(ord("A") + t),
                "municipality": f"Town {chr(ord('A') + t)}",
                "geometry": box(west, -100, east, (ny - 1) * STEP + 100),
            }
        )
        x0 += width
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def depots(points: list[tuple[str, float, float]]) -> gpd.GeoDataFrame:
    """Contractor yards (name, x, y) in the synthetic CRS."""
    return gpd.GeoDataFrame(
        {
            "depot_id": [f"yard-{i}" for i in range(len(points))],
            "municipality_code": [None] * len(points),
            "kind": ["contractor"] * len(points),
            "name": [p[0] for p in points],
        },
        geometry=gpd.points_from_xy([p[1] for p in points], [p[2] for p in points]),
        crs=CRS,
    )
