"""Files a town brings to the scenario wizard, written by the tests themselves.

- ``write_road_layer``: a zipped Shapefile of town road centrelines (道路台帳) in JGD2011 plane
  rectangular CS IX (EPSG:6677) with cp932 attributes 路線番号, 路線名, 道路種別, 一方通行 and no
  ``.cpg`` (its dBase language id cleared too), as many town GIS export them. The lines form a
  3 x 3 grid of two-way streets 200 m apart plus a one-way spur leading out of the grid to a
  dead end, which is cut off from the grid ("no way back"); the spur's class has no default
  speed (a warning).
- ``write_n03_boundary``: an MLIT N03-style GeoJSON (N03_001 prefecture, N03_004 name, N03_007
  code) of one town covering the grid.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Final

import geopandas as gpd
from shapely.geometry import LineString, box, mapping

TOWN_CODE: Final = "13999"
TOWN_NAME: Final = "試験町"
ROAD_CRS: Final = "EPSG:6677"
# South-west junction of the grid in EPSG:6677 metres (near 35.6 N, 139.7 E).
X0, Y0, STEP = -8000.0, -37000.0, 200.0


def road_lines() -> gpd.GeoDataFrame:
    """The road centrelines: grid streets (two-way) and a one-way spur to a dead end."""
    rows = []
    number = 0
    for i in range(3):
        for j in range(2):
            number += 1
            # east-west street of row i, block j; north-south street of column i, block j
            rows.append((number, f"東西線{i + 1}", "1級" if i == 1 else "2級", 0,
                         LineString([(X0 + j * STEP, Y0 + i * STEP),
                                     (X0 + (j + 1) * STEP, Y0 + i * STEP)])))  # fmt: skip
            number += 1
            rows.append((number, f"南北線{i + 1}", "その他", 0,
                         LineString([(X0 + i * STEP, Y0 + j * STEP),
                                     (X0 + i * STEP, Y0 + (j + 1) * STEP)])))  # fmt: skip
    number += 1
    east = X0 + 2 * STEP
    spur = LineString([(east, Y0 + STEP), (east + 150.0, Y0 + STEP)])
    rows.append((number, "行止り線", "自転車歩行者専用", 1, spur))  # a class without a speed
    return gpd.GeoDataFrame(
        {
            "路線番号": [r[0] for r in rows],
            "路線名": [r[1] for r in rows],
            "道路種別": [r[2] for r in rows],
            "一方通行": [r[3] for r in rows],
        },
        geometry=[r[4] for r in rows],
        crs=ROAD_CRS,
    )


def write_road_layer(folder: Path) -> Path:
    """``roads.zip``: the road Shapefile with cp932 attributes and no encoding declaration."""
    shp_dir = folder / "roads_shp"
    shp_dir.mkdir(parents=True, exist_ok=True)
    road_lines().to_file(shp_dir / "roads.shp", driver="ESRI Shapefile", encoding="cp932")
    (shp_dir / "roads.cpg").unlink(missing_ok=True)
    dbf = shp_dir / "roads.dbf"
    raw = bytearray(dbf.read_bytes())
    raw[29] = 0  # no dBase language driver id: nothing says cp932
    dbf.write_bytes(bytes(raw))
    target = folder / "roads.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for part in sorted(shp_dir.iterdir()):
            archive.write(part, part.name)
    return target


def town_polygon() -> gpd.GeoSeries:
    """The town's polygon (EPSG:4326): the grid grown by 300 m."""
    area = box(X0 - 300, Y0 - 300, X0 + 2 * STEP + 450, Y0 + 2 * STEP + 300)
    return gpd.GeoSeries([area], crs=ROAD_CRS).to_crs(4326)


def write_n03_boundary(folder: Path) -> Path:
    """``N03-town.geojson``: the town in the columns of MLIT's N03 administrative areas."""
    folder.mkdir(parents=True, exist_ok=True)
    feature = {
        "type": "Feature",
        "properties": {
            "N03_001": "東京都",
            "N03_002": None,
            "N03_003": None,
            "N03_004": TOWN_NAME,
            "N03_007": TOWN_CODE,
        },
        "geometry": mapping(town_polygon().iloc[0]),
    }
    target = folder / "N03-town.geojson"
    target.write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False),
        encoding="utf-8",
    )
    return target


def depot_lonlat() -> tuple[float, float]:
    """A point at the grid's centre junction (lon, lat), where a town yard is placed."""
    point = gpd.GeoSeries.from_xy([X0 + STEP], [Y0 + STEP], crs=ROAD_CRS).to_crs(4326).iloc[0]
    return float(point.x), float(point.y)


def write_depot_file(folder: Path) -> Path:
    """``yards.geojson``: a contractor's yard at the grid's south-west junction."""
    point = gpd.GeoSeries.from_xy([X0], [Y0], crs=ROAD_CRS).to_crs(4326).iloc[0]
    feature = {
        "type": "Feature",
        "properties": {
            "name": "受注者資材置場",
            "kind": "contractor",
            "municipality_code": TOWN_CODE,
        },
        "geometry": {"type": "Point", "coordinates": [point.x, point.y]},
    }
    target = folder / "yards.geojson"
    target.write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False),
        encoding="utf-8",
    )
    return target
