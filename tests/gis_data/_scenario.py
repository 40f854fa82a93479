"""Helpers for the loading tests: two small square towns and a TOML writer (no shared data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely

# Two adjoining 1.5 km x 2.2 km towns near Vaduz (lon/lat), codes T1 and T2.
TOWN_A = shapely.box(9.50, 47.10, 9.52, 47.12)
TOWN_B = shapely.box(9.52, 47.10, 9.54, 47.12)


def write_boundaries(folder: Path) -> Path:
    """Write towns A (T1) and B (T2) as a GeoJSON boundaries file; returns its path."""
    path = folder / "towns.geojson"
    frame = gpd.GeoDataFrame(
        {"code": ["T1", "T2"], "name": ["Aville", "Beetown"], "pop": [1200, 800]},
        geometry=[TOWN_A, TOWN_B],
        crs=4326,
    )
    frame.to_file(path, driver="GeoJSON")
    return path


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_value(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return repr(value)


def write_scenario(
    folder: Path,
    sources_a: list[dict[str, Any]],
    sources_b: list[dict[str, Any]] | None = None,
    *,
    extra: str = "",
) -> Path:
    """Write scenario.toml for towns T1 (sources_a) and T2 (sources_b) with the boundaries file."""
    write_boundaries(folder)
    lines = [
        'name = "test scenario"',
        extra,
        "[boundaries]",
        'file = "towns.geojson"',
        'code_column = "code"',
        'name_column = "name"',
        'population_column = "pop"',
        "",
    ]
    for code, sources in (("T1", sources_a), ("T2", sources_b or [])):
        lines += ["[[municipality]]", f'code = "{code}"', ""]
        for source in sources:
            lines.append("[[municipality.source]]")
            lines += [f"{key} = {_value(value)}" for key, value in source.items()]
            lines.append("")
    path = folder / "scenario.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def road_lines(n: int, town: shapely.Geometry = TOWN_A) -> list[shapely.LineString]:
    """n short west-east lines inside a town (about 300 m each)."""
    minx, miny, _, maxy = town.bounds
    step = (maxy - miny) / (n + 1)
    return [
        shapely.LineString(
            [(minx + 0.002, miny + step * (i + 1)), (minx + 0.006, miny + step * (i + 1))]
        )
        for i in range(n)
    ]
