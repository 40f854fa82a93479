"""Summary rows per municipality and field: counts, km of lines, km² of polygons."""

from __future__ import annotations

import unicodedata

import geopandas as gpd
import pytest
import shapely
from pyproj import Geod

from gis_data.loading.summary import render_table, summarize


def _assets() -> gpd.GeoDataFrame:
    road = shapely.LineString([(9.50, 47.10), (9.51, 47.10)])
    park = shapely.box(9.50, 47.10, 9.501, 47.101)
    return gpd.GeoDataFrame(
        {
            "municipality": ["下田市", "下田市", "下田市", "Aville"],
            "field": ["park", "road", "road", "road"],
        },
        geometry=[park, road, road, road],
        crs=4326,
    )


def test_rows_sum_lengths_and_areas_per_town_and_field() -> None:
    """Lines count as km, polygons as km²; rows follow town order and schema field order."""
    geod = Geod(ellps="WGS84")
    road_km = geod.geometry_length(shapely.LineString([(9.50, 47.10), (9.51, 47.10)])) / 1000
    park_km2 = abs(geod.geometry_area_perimeter(shapely.box(9.50, 47.10, 9.501, 47.101))[0]) / 1e6
    rows = summarize(_assets())
    assert [(r["municipality"], r["field"], r["count"]) for r in rows] == [
        ("下田市", "road", 2),
        ("下田市", "park", 1),
        ("Aville", "road", 1),
    ]
    assert rows[0]["km"] == pytest.approx(2 * road_km, abs=0.01)
    assert rows[0]["area_km2"] == 0.0
    assert rows[1]["km"] == 0.0
    assert rows[1]["area_km2"] == pytest.approx(park_km2, abs=1e-4)
    assert set(rows[0]) == {"municipality", "field", "count", "km", "area_km2"}


def test_table_aligns_wide_characters_and_totals() -> None:
    """The text table has a total line and pads Japanese names by display width."""
    lines = render_table(summarize(_assets())).splitlines()
    assert lines[0].startswith("municipality")
    assert lines[-1].split()[:2] == ["total", "4"]

    def column(line: str) -> int:  # display column of "road": wide characters count twice
        prefix = line[: line.index("road")]
        return sum(2 if unicodedata.east_asian_width(c) == "W" else 1 for c in prefix)

    assert column(lines[2]) == column(lines[4])  # 下田市 (3 wide characters) vs Aville
    assert summarize(_assets().iloc[:0]) == []
