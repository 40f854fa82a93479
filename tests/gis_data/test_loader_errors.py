"""Bad input named precisely: one malformed feature, no server paths, wrong network files, swaps."""

from __future__ import annotations

import bz2
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import networkx as nx
import osmnx as ox
import pytest

from gis_data.loading.errors import AssetValidationError
from gis_data.loading.load import load_assets_from_file, load_scenario
from gis_data.loading.network_file import check_network_file
from tests.gis_data._scenario import TOWN_A, road_lines, write_scenario


def _errors(problems):  # type: ignore[no-untyped-def]
    return [p for p in problems if p.severity == "error"]


def _line(coords: list[list[object]]) -> dict[str, object]:
    return {"type": "LineString", "coordinates": coords}


def test_one_malformed_geometry_names_its_feature(tmp_path: Path) -> None:
    """A one-point line, a two-point ring and a text coordinate: each named, the rest read."""
    good = _line([[9.505, 47.11], [9.506, 47.11]])
    features = [
        good,
        _line([[9.505, 47.11]]),
        {"type": "Polygon", "coordinates": [[[9.505, 47.11], [9.506, 47.11]]]},
        _line([[9.505, "x"], [9.506, 47.11]]),
        good,
        None,
    ]
    path = tmp_path / "roads.geojson"
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"n": i}, "geometry": g}
            for i, g in enumerate(features)
        ],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    assets, problems = load_assets_from_file(
        path, municipality_code="T1", municipality="Aville", field="road", kind="road_segment"
    )
    assert assets.empty
    found = [(p.file, p.feature, p.field) for p in _errors(problems)]
    assert found == [
        ("roads.geojson", 2, "geometry"),
        ("roads.geojson", 3, "geometry"),
        ("roads.geojson", 4, "geometry"),
        ("roads.geojson", 6, "geometry"),  # a null geometry: missing, as before
    ]
    messages = [p.message for p in _errors(problems)]
    assert messages[0].startswith("malformed LineString")
    assert messages[1].startswith("malformed Polygon")
    assert "'x'" in messages[2]
    assert "GDAL" not in " ".join(messages)


def test_unreadable_upload_names_the_file_not_the_server_folder(tmp_path: Path) -> None:
    folder = tmp_path / "var" / "data" / "upload-1234"
    folder.mkdir(parents=True)
    path = folder / "parks.gpkg"
    path.write_bytes(b"this is no GeoPackage at all" * 10)
    _, problems = load_assets_from_file(
        path, municipality_code="T1", municipality="Aville", field="park"
    )
    (problem,) = problems
    assert problem.file == "parks.gpkg"
    assert "parks.gpkg" in problem.message
    assert "upload-1234" not in problem.message
    assert str(tmp_path) not in problem.message


def test_swapped_latitude_longitude_named_once_per_file(tmp_path: Path) -> None:
    """Japanese parks with 緯度 and 経度 exchanged: one problem for the file, not one per row."""
    path = tmp_path / "parks.csv"
    rows = "\n".join(f"p{i},{34.67 + i / 1000:.4f},{138.94:.4f}" for i in range(30))
    path.write_text("id,lon,lat\n" + rows + "\n", encoding="utf-8")
    _, problems = load_assets_from_file(
        path, municipality_code="22219", municipality="下田市", field="park", kind="park"
    )
    (problem,) = _errors(problems)
    assert problem.feature is None
    assert "swapped" in problem.message
    assert "(34.67, 138.94)" in problem.message
    assert "projected" not in problem.message


@pytest.fixture
def osm_ok(tmp_path: Path) -> Path:
    path = tmp_path / "roads.osm"
    path.write_text(
        """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="test">
 <node id="1" lat="47.11" lon="9.505"/>
 <node id="2" lat="47.11" lon="9.506"/>
 <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>
</osm>
""",
        encoding="utf-8",
    )
    return path


def test_network_file_checked_for_what_it_is(tmp_path: Path, osm_ok: Path) -> None:
    assert check_network_file(osm_ok, "scenario.toml") == []
    compressed = tmp_path / "roads.osm.bz2"
    compressed.write_bytes(bz2.compress(osm_ok.read_bytes()))
    assert check_network_file(compressed, "scenario.toml") == []

    graph = nx.MultiDiGraph(crs="epsg:4326")
    graph.add_node(1, x=9.505, y=47.11)
    graph.add_node(2, x=9.506, y=47.11)
    graph.add_edge(1, 2, length=76.0)
    graphml = tmp_path / "roads.graphml"
    ox.save_graphml(graph, graphml)
    shp_zip = tmp_path / "roads.zip"
    gpd.GeoDataFrame(geometry=road_lines(2), crs=4326).to_file(tmp_path / "roads.shp")
    with zipfile.ZipFile(shp_zip, "w") as archive:
        for ext in ("shp", "shx", "dbf", "prj"):
            archive.write(tmp_path / f"roads.{ext}", f"roads.{ext}")
    truncated = tmp_path / "cut.osm"
    truncated.write_text(osm_ok.read_text(encoding="utf-8")[:150], encoding="utf-8")
    no_coords = tmp_path / "ids.osm"
    no_coords.write_text(
        osm_ok.read_text(encoding="utf-8").replace(' lat="47.11" lon="9.505"', ""),
        encoding="utf-8",
    )
    cases = {
        graphml: "GraphML",
        shp_zip: "zipped Shapefile",
        tmp_path / "roads.shp": "a Shapefile",
        truncated: "broken OpenStreetMap data",
        no_coords: "1 of 2 nodes have no coordinates",
    }
    for path, what in cases.items():
        (problem,) = check_network_file(path, "scenario.toml")
        assert (problem.file, problem.field) == ("scenario.toml", "network.osm")
        assert what in problem.message
        assert "OpenStreetMap XML (.osm, .osm.bz2) or PBF" in problem.message or "coordinates" in (
            problem.message
        )
        assert str(tmp_path) not in problem.message


def test_load_reports_a_wrong_network_file(tmp_path: Path) -> None:
    """`load` says what the network file is instead of failing later at routing time."""
    gpd.GeoDataFrame({"field": ["road"]}, geometry=road_lines(1), crs=4326).to_file(
        tmp_path / "a.geojson"
    )
    graph = nx.MultiDiGraph(crs="epsg:4326")
    graph.add_node(1, x=TOWN_A.centroid.x, y=TOWN_A.centroid.y)
    ox.save_graphml(graph, tmp_path / "net.graphml")
    path = write_scenario(
        tmp_path,
        [{"file": "a.geojson", "kind": "road_segment"}],
        extra='[network]\nosm = "net.graphml"\n',
    )
    with pytest.raises(AssetValidationError) as caught:
        load_scenario(path)
    (problem,) = [p for p in caught.value.problems if p.field == "network.osm"]
    assert "GraphML" in problem.message


def _wkb_line(points: list[tuple[float, float]]) -> bytes:
    """WKB written by hand: shapely refuses to build a one-point line, GDAL stores it."""
    import struct

    head = b"\x01" + struct.pack("<II", 2, len(points))
    return head + b"".join(struct.pack("<dd", x, y) for x, y in points)


@pytest.mark.parametrize(
    ("driver", "name"), [("ESRI Shapefile", "ledger.shp"), ("GPKG", "ledger.gpkg")]
)
def test_one_point_line_in_a_shapefile_or_geopackage_names_its_feature(
    tmp_path: Path, driver: str, name: str
) -> None:
    """A degenerate line in a ledger (one vertex) names its feature; the others load."""
    import numpy as np
    import pyogrio.raw

    x, y = -40000.0, -110000.0  # JGD2011 zone VIII, near Shimoda
    geoms = np.array(
        [_wkb_line([(x, y), (x + 100, y)]), _wkb_line([(x, y + 50)]),
         _wkb_line([(x, y + 100), (x + 100, y + 100)])],
        dtype=object,
    )  # fmt: skip
    path = tmp_path / name
    pyogrio.raw.write(
        path, geoms, [np.array(["市道1号", "市道2号", "市道3号"], dtype=object)],
        fields=["路線名"], geometry_type="LineString", crs="EPSG:6676", driver=driver,
        **({"encoding": "cp932"} if driver == "ESRI Shapefile" else {}),
    )  # fmt: skip
    if driver == "ESRI Shapefile":
        zipped = tmp_path / "ledger.zip"
        with zipfile.ZipFile(zipped, "w") as archive:
            for ext in ("shp", "shx", "dbf", "prj"):
                archive.write(tmp_path / f"ledger.{ext}", f"ledger.{ext}")
        path = zipped
    _, problems = load_assets_from_file(
        path, municipality_code="22219", municipality="下田市", field="road",
        kind="road_segment", encoding="cp932" if driver == "ESRI Shapefile" else None,
    )  # fmt: skip
    (problem,) = _errors(problems)
    assert (problem.file, problem.feature, problem.field) == (path.name, 2, "geometry")
    assert problem.message.startswith("malformed LineString")
