"""Each file format loads into the asset schema: GeoJSON, GeoPackage, zipped Shapefile, CSV, OSM."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import osmium
import pytest
import shapely

from gis_data.loading.load import load_assets_from_file
from gis_data.loading.schema import ASSET_COLUMNS
from gis_data.loading.sources.osm import is_drivable
from tests.gis_data._scenario import TOWN_A, road_lines


def _errors(problems):
    return [p for p in problems if p.severity == "error"]


def test_geojson_keeps_schema_and_extra_columns(tmp_path: Path) -> None:
    """A GeoJSON with schema column names loads as is; extra columns are kept."""
    path = tmp_path / "a.geojson"
    gpd.GeoDataFrame(
        {
            "asset_id": ["r1", "r2"],
            "field": ["road", "road"],
            "kind": ["road_segment"] * 2,
            "name": ["Main St", None],
            "road_class": ["primary", "residential"],
        },
        geometry=road_lines(2),
        crs=4326,
    ).to_file(path)
    assets, problems = load_assets_from_file(path, municipality_code="T1", municipality="Aville")
    assert problems == []
    assert list(assets.columns[: len(ASSET_COLUMNS)]) == list(ASSET_COLUMNS)
    assert list(assets["asset_id"]) == ["r1", "r2"]
    assert list(assets["road_class"]) == ["primary", "residential"]
    assert assets["name"].tolist() == ["Main St", None]
    assert list(assets["source_row"]) == [1, 2]
    assert set(assets["side"]) == {"both"}
    assert assets["patrol_interval_days"].isna().all()
    assert assets.crs.to_epsg() == 4326


def test_geopackage_layer_in_swiss_crs_is_projected_to_4326(tmp_path: Path) -> None:
    """A GeoPackage layer in EPSG:2056 comes back in EPSG:4326 at the same place."""
    path = tmp_path / "b.gpkg"
    lines = gpd.GeoDataFrame({"bez": ["X", "Y"]}, geometry=road_lines(2), crs=4326).to_crs(2056)
    lines.to_file(path, layer="roads")
    parks = gpd.GeoDataFrame({"bez": ["P"]}, geometry=[TOWN_A.centroid.buffer(0.001)], crs=4326)
    parks.to_crs(2056).to_file(path, layer="parks")
    assets, problems = load_assets_from_file(
        path,
        municipality_code="T1",
        municipality="Aville",
        layer="roads",
        field="road",
        kind="road_segment",
        columns={"bez": "name"},
    )
    assert _errors(problems) == []
    assert list(assets["name"]) == ["X", "Y"]
    assert assets.geometry.iloc[0].equals_exact(road_lines(2)[0], 1e-7)
    # Several layers and none named: a clear problem naming the layers.
    _, problems = load_assets_from_file(
        path, municipality_code="T1", municipality="Aville", field="road"
    )
    assert problems[0].field == "layer"
    assert "roads" in problems[0].message
    assert "parks" in problems[0].message


def _write_cp932_zip(folder: Path, *, with_cpg: bool, name: str = "roads") -> Path:
    shp_dir = folder / "shp"
    shp_dir.mkdir(exist_ok=True)
    frame = gpd.GeoDataFrame(
        {"ID": ["J1", "J2"], "路線名": ["市道１号線", "県道中央線"], "延長": [310.5, 295.0]},
        geometry=road_lines(2),
        crs=4326,
    ).to_crs(6676)
    frame.to_file(shp_dir / f"{name}.shp", encoding="cp932")
    path = folder / f"{name}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for ext in ("shp", "shx", "dbf", "prj") + (("cpg",) if with_cpg else ()):
            archive.write(shp_dir / f"{name}.{ext}", f"{name}.{ext}")
    return path


@pytest.mark.parametrize("with_cpg", [True, False])
def test_cp932_shapefile_zip_with_cpg_or_configured_encoding(
    tmp_path: Path, with_cpg: bool
) -> None:
    """Japanese column names and values survive, via a .cpg file or the configured encoding."""
    path = _write_cp932_zip(tmp_path, with_cpg=with_cpg)
    assets, problems = load_assets_from_file(
        path,
        municipality_code="T1",
        municipality="Aville",
        field="road",
        kind="road_segment",
        columns={"ID": "asset_id", "路線名": "name", "延長": "length_m"},
        encoding=None if with_cpg else "cp932",
    )
    assert _errors(problems) == []
    assert list(assets["name"]) == ["市道１号線", "県道中央線"]
    assert list(assets["length_m"]) == [310.5, 295.0]
    assert list(assets["asset_id"]) == ["J1", "J2"]


def test_cp932_shapefile_read_as_utf8_is_an_error_not_mojibake(tmp_path: Path) -> None:
    """Without .cpg or encoding the .dbf is read as UTF-8 and the decode failure names the file."""
    path = _write_cp932_zip(tmp_path, with_cpg=False)
    assets, problems = load_assets_from_file(
        path,
        municipality_code="T1",
        municipality="Aville",
        field="road",
        kind="road_segment",
        label="roads.zip",
    )
    assert assets.empty
    assert len(problems) == 1
    problem = problems[0]
    assert (problem.file, problem.field, problem.severity) == ("roads.zip", "encoding", "error")
    assert "utf-8" in problem.message
    assert "cp932" in problem.message


def test_csv_with_wkt_column_needs_a_crs(tmp_path: Path) -> None:
    """A CSV's WKT is read in the configured CRS; rows keep their 1-based row numbers."""
    lines = gpd.GeoSeries(road_lines(3), crs=4326).to_crs(2056)
    text = "id,kind,wkt\n" + "".join(f'c{i},road_segment,"{g.wkt}"\n' for i, g in enumerate(lines))
    path = tmp_path / "lines.csv"
    path.write_text(text, encoding="utf-8")
    assets, problems = load_assets_from_file(
        path,
        municipality_code="T1",
        municipality="Aville",
        field="road",
        crs="EPSG:2056",
        columns={"id": "asset_id"},
    )
    assert _errors(problems) == []
    assert list(assets["asset_id"]) == ["c0", "c1", "c2"]
    assert assets.geometry.iloc[2].equals_exact(road_lines(3)[2], 1e-7)
    _, problems = load_assets_from_file(
        path, municipality_code="T1", municipality="Aville", field="road"
    )
    assert [(p.field, p.severity) for p in problems] == [("crs", "error")]


def test_csv_with_lat_lon_columns_and_cp932_text(tmp_path: Path) -> None:
    """A cp932 CSV of points with lat/lon columns loads with the configured encoding."""
    path = tmp_path / "parks.csv"
    path.write_bytes(
        "公園名,lat,lon,種別\n中央公園,47.11,9.51,park\n駅前広場,47.105,9.505,playground\n".encode(
            "cp932"
        )
    )
    assets, problems = load_assets_from_file(
        path,
        municipality_code="T1",
        municipality="Aville",
        field="park",
        encoding="cp932",
        columns={"公園名": "name", "種別": "kind"},
    )
    assert _errors(problems) == []
    assert list(assets["name"]) == ["中央公園", "駅前広場"]
    assert list(assets["kind"]) == ["park", "playground"]
    assert (assets.geometry.x.iloc[0], assets.geometry.y.iloc[0]) == (9.51, 47.11)
    # The same file read as UTF-8: an encoding error on line 1, not mojibake.
    _, problems = load_assets_from_file(
        path, municipality_code="T1", municipality="Aville", field="park"
    )
    assert len(problems) == 1
    assert problems[0].field == "encoding"
    assert "line 1" in problems[0].message


def _osm_fixture_tags() -> list[dict[str, str]]:
    return [
        {"highway": "primary", "name": "Landstrasse"},
        {"highway": "residential"},
        {"highway": "footway"},  # not drivable
        {"highway": "service", "service": "driveway"},  # not drivable
        {"highway": "tertiary", "access": "private"},  # not drivable
    ]


def _write_osm_xml(path: Path) -> None:
    nodes, ways = [], []
    for i, tags in enumerate(_osm_fixture_tags()):
        a, b = 2 * i + 1, 2 * i + 2
        lat = 47.105 + 0.002 * i
        nodes.append(f'<node id="{a}" lat="{lat}" lon="9.503"/>')
        nodes.append(f'<node id="{b}" lat="{lat}" lon="9.507"/>')
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        ways.append(f'<way id="{100 + i}"><nd ref="{a}"/><nd ref="{b}"/>{tag_xml}</way>')
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n'
        + "\n".join(nodes + ways)
        + "\n</osm>\n",
        encoding="utf-8",
    )


def _write_osm_with_osmium(path: Path) -> None:  # XML or PBF from the file name
    writer = osmium.SimpleWriter(str(path))
    try:
        for i in range(len(_osm_fixture_tags())):
            lat = 47.105 + 0.002 * i
            writer.add_node(osmium.osm.mutable.Node(id=2 * i + 1, location=(9.503, lat)))
            writer.add_node(osmium.osm.mutable.Node(id=2 * i + 2, location=(9.507, lat)))
        for i, tags in enumerate(_osm_fixture_tags()):
            writer.add_way(
                osmium.osm.mutable.Way(id=100 + i, nodes=[2 * i + 1, 2 * i + 2], tags=tags)
            )
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("name", "writer"),
    [("hand.osm", "text"), ("osmium.osm", "osmium"), ("osmium.osm.pbf", "osmium")],
)
def test_osm_xml_and_pbf_give_drivable_ways_as_road_segments(
    tmp_path: Path, name: str, writer: str
) -> None:
    """Only drivable ways load, one road_segment each, with road_class = highway."""
    path = tmp_path / name
    (_write_osm_xml if writer == "text" else _write_osm_with_osmium)(path)
    assets, problems = load_assets_from_file(path, municipality_code="T1", municipality="Aville")
    assert _errors(problems) == []
    assert list(assets["osm_id"]) == [100, 101]
    assert list(assets["road_class"]) == ["primary", "residential"]
    assert set(assets["field"]) == {"road"}
    assert set(assets["kind"]) == {"road_segment"}
    assert assets["name"].tolist() == ["Landstrasse", None]
    assert assets.geometry.iloc[0].equals_exact(
        shapely.LineString([(9.503, 47.105), (9.507, 47.105)]), 1e-7
    )


def test_drive_filter_matches_osmnx_rules() -> None:
    """The drive filter excludes by regex anywhere in the value, as osmnx's Overpass filter does."""
    assert is_drivable({"highway": "unclassified"})
    assert is_drivable({"highway": "service"}) is False
    assert is_drivable({"highway": "residential", "motor_vehicle": "no"}) is False
    assert is_drivable({"highway": "residential", "area": "yes"}) is False
    assert is_drivable({"highway": "living_street", "access": "destination"})
    assert is_drivable({"name": "no highway tag"}) is False
