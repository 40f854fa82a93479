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


def towns(n: int = 3, *, nx: int = 4, ny: int = 3) -> gpd.GeoDataFrame:
    """``n`` towns side by side (each an nx x ny grid), touching at their shared streets."""
    rows: list[dict] = []
    for t in range(n):
        rows.extend(grid_roads(chr(ord("A") + t), x0=t * (nx - 1) * STEP, nx=nx, ny=ny))
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)


def boundaries(n: int = 3, *, nx: int = 4, ny: int = 3) -> gpd.GeoDataFrame:
    """Town polygons matching `towns` (each grid's extent, grown 100 m outwards)."""
    width = (nx - 1) * STEP
    rows = []
    for t in range(n):
        x0 = t * width
        rows.append(
            {
                "municipality_code": chr(ord("A") + t),
                "municipality": f"Town {chr(ord('A') + t)}",
                "geometry": box(
                    x0 - (100 if t == 0 else 0),
                    -100,
                    x0 + width + (100 if t == n - 1 else 0),
                    (ny - 1) * STEP + 100,
                ),
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS)
