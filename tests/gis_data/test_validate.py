"""Every validation problem is reported with its file, feature and field, all of them at once."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from gis_data.loading.errors import AssetValidationError, Problem
from gis_data.loading.load import load_assets_from_file, load_scenario
from gis_data.loading.validate import MAX_LISTED
from tests.gis_data._scenario import TOWN_A, road_lines, write_scenario


def _roads(path: Path, geoms: list, **columns) -> Path:
    n = len(geoms)
    data = {
        "asset_id": [f"a{i}" for i in range(n)],
        "field": ["road"] * n,
        "kind": ["road_segment"] * n,
    }
    data.update(columns)
    gpd.GeoDataFrame(data, geometry=geoms, crs=4326).to_file(path)
    return path


def _load_errors(path: Path, **kwargs) -> list[Problem]:
    assets, problems = load_assets_from_file(
        path, municipality_code="T1", municipality="Aville", label=path.name, **kwargs
    )
    errors = [p for p in problems if p.severity == "error"]
    assert errors, "expected errors"
    assert assets.empty, "a file with errors must not give a partial table"
    return errors


def _raw_geojson(path: Path, features: list[tuple[dict, dict | None]]) -> Path:
    """A GeoJSON written by hand, so that any coordinates and broken geometries can be stored."""
    doc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in features],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_metric_coordinates_declared_as_4326_are_reported_per_feature(tmp_path: Path) -> None:
    """LV95 metres in a GeoJSON (which means EPSG:4326) are out of lon/lat range."""
    line = {"type": "LineString", "coordinates": [[2758000, 1222000], [2758300, 1222000]]}
    ok = {"type": "LineString", "coordinates": [[9.505, 47.11], [9.506, 47.11]]}
    props = {"field": "road", "kind": "road_segment"}
    path = _raw_geojson(tmp_path / "metric.geojson", [(props, ok), (props, line), (props, line)])
    errors = _load_errors(path)
    assert [(p.file, p.feature, p.field) for p in errors] == [
        ("metric.geojson", 2, "geometry"),
        ("metric.geojson", 3, "geometry"),
    ]
    assert "look projected" in errors[0].message
    assert "2.758e+06" in errors[0].message


def test_latitude_out_of_range(tmp_path: Path) -> None:
    """A latitude beyond 90° is an out-of-range coordinate naming the feature."""
    path = tmp_path / "pts.csv"
    path.write_text("lon,lat\n9.51,47.11\n9.51,95.0\n", encoding="utf-8")
    errors = _load_errors(path, field="park", kind="park")
    assert [(p.feature, p.field) for p in errors] == [(2, "geometry")]
    assert "outside the lon/lat range" in errors[0].message


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_missing_crs(tmp_path: Path) -> None:
    """A Shapefile without .prj and no configured CRS: one problem on the crs field."""
    frame = gpd.GeoDataFrame({"kind": ["road_segment"]}, geometry=road_lines(1), crs=None)
    frame.to_file(tmp_path / "noprj.shp")
    errors = _load_errors(tmp_path / "noprj.shp", field="road")
    assert [(p.feature, p.field) for p in errors] == [(None, "crs")]
    assert "no CRS" in errors[0].message


def test_invalid_geometry_is_an_error_and_repair_makes_it_a_warning(tmp_path: Path) -> None:
    """A self-intersecting polygon fails; with repair it is fixed by make_valid and reported."""
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[9.505, 47.105], [9.51, 47.11], [9.51, 47.105], [9.505, 47.11], [9.505, 47.105]]
        ],
    }
    ok = {"type": "Point", "coordinates": [9.51, 47.11]}
    props = {"field": "park", "kind": "park"}
    path = _raw_geojson(tmp_path / "parks.geojson", [(props, ok), (props, bowtie)])
    errors = _load_errors(path)
    assert [(p.feature, p.field) for p in errors] == [(2, "geometry")]
    assert "Self-intersection" in errors[0].message
    assert "--repair" in errors[0].message

    assets, problems = load_assets_from_file(
        path, municipality_code="T1", municipality="Aville", repair=True
    )
    assert [(p.feature, p.severity) for p in problems] == [(2, "warning")]
    assert len(assets) == 2
    assert assets.geometry.is_valid.all()
    assert assets.geometry.iloc[1].geom_type == "MultiPolygon"


def test_empty_geometry_is_an_error_and_repair_drops_it(tmp_path: Path) -> None:
    """A feature without geometry fails; with repair it is dropped with a warning."""
    props = {"field": "road", "kind": "road_segment"}
    ok = {"type": "LineString", "coordinates": [[9.505, 47.11], [9.506, 47.11]]}
    path = _raw_geojson(tmp_path / "empty.geojson", [(props, ok), (props, None)])
    errors = _load_errors(path)
    assert [(p.feature, p.field) for p in errors] == [(2, "geometry")]
    assert "empty" in errors[0].message
    assets, problems = load_assets_from_file(
        path, municipality_code="T1", municipality="A", repair=True
    )
    assert len(assets) == 1
    assert [p.severity for p in problems] == ["warning"]
    assert list(assets["source_row"]) == [1]


def test_unknown_field_and_bad_attributes(tmp_path: Path) -> None:
    """Unknown field, bad side, non-numeric and negative patrol numbers, wrong geometry type."""
    path = _roads(
        tmp_path / "attrs.geojson",
        [*road_lines(4), TOWN_A.centroid],
        field=["road", "raod", "road", "road", "road"],
        side=["both", "both", "left", "both", "both"],
        patrol_interval_days=["7", "7", "7", "weekly", "-3"],
    )
    errors = _load_errors(path)
    found = {(p.feature, p.field) for p in errors}
    assert found == {
        (2, "field"),
        (3, "side"),
        (4, "patrol_interval_days"),
        (5, "patrol_interval_days"),
        (5, "geometry"),
    }
    messages = {(p.feature, p.field): p.message for p in errors}
    assert "unknown field 'raod'" in messages[(2, "field")]
    assert "not a number: 'weekly'" in messages[(4, "patrol_interval_days")]
    assert "must be >= 0" in messages[(5, "patrol_interval_days")]
    assert "needs a line geometry, got Point" in messages[(5, "geometry")]


def test_japanese_field_names_are_accepted(tmp_path: Path) -> None:
    """分野 values 道路/河川/公園 map to road/river/park."""
    path = _roads(
        tmp_path / "jp.geojson",
        road_lines(2),
        field=["道路", "河川"],
        kind=["road_segment", "river_bank"],
    )
    assets, problems = load_assets_from_file(path, municipality_code="T1", municipality="A")
    assert problems == []
    assert list(assets["field"]) == ["road", "river"]


def test_missing_mapped_column(tmp_path: Path) -> None:
    """A column mapping naming a column the file lacks is reported with the mapping key."""
    path = _roads(tmp_path / "map.geojson", road_lines(1))
    errors = _load_errors(path, columns={"路線名": "name"})
    assert [(p.feature, p.field) for p in errors] == [(None, "columns.路線名")]


def test_duplicate_ids_within_a_file(tmp_path: Path) -> None:
    """A repeated asset_id names both occurrences."""
    path = _roads(tmp_path / "dup.geojson", road_lines(3))
    frame = gpd.read_file(path)
    frame.loc[2, "asset_id"] = "a0"
    frame.to_file(path)
    errors = _load_errors(path)
    assert [(p.feature, p.field) for p in errors] == [(3, "asset_id")]
    assert "duplicate asset_id 'a0': already used by dup.geojson feature 1" in errors[0].message


def test_unreadable_and_missing_files(tmp_path: Path) -> None:
    """A corrupt GeoPackage and a missing file are each one problem naming the file."""
    bad = tmp_path / "broken.gpkg"
    bad.write_bytes(b"this is not a geopackage")
    errors = _load_errors(bad, field="road", kind="road_segment")
    assert [(p.file, p.feature) for p in errors] == [("broken.gpkg", None)]
    assert "cannot" in errors[0].message
    errors = _load_errors(tmp_path / "nowhere.geojson")
    assert "file not found" in errors[0].message


def test_scenario_lists_every_problem_of_every_file_and_loads_nothing(tmp_path: Path) -> None:
    """Good and bad files: one error lists all problems (file, row, field); no scenario."""
    _roads(tmp_path / "good_a.geojson", road_lines(3))
    far = shapely.LineString([(9.60, 47.11), (9.601, 47.11)])  # ~6 km east of town B
    _roads(tmp_path / "b.geojson", [*road_lines(2, TOWN_A)[:1], far], field=["road", "sewage"])
    frame = gpd.read_file(tmp_path / "b.geojson")
    frame["asset_id"] = ["a1", "b1"]  # a1 is also used by good_a.geojson
    frame.to_file(tmp_path / "b.geojson")
    (tmp_path / "c.csv").write_bytes("名前,lon,lat\n公園,9.53,47.11\n".encode("cp932"))
    path = write_scenario(
        tmp_path,
        [{"file": "good_a.geojson"}],
        [{"file": "b.geojson"}, {"file": "c.csv", "field": "park", "kind": "park"}],
    )
    with pytest.raises(AssetValidationError) as caught:
        load_scenario(path)
    found = {(p.file, p.feature, p.field) for p in caught.value.problems}
    assert found == {
        ("b.geojson", 1, "asset_id"),
        ("b.geojson", 2, "field"),
        ("b.geojson", 2, "geometry"),
        ("c.csv", None, "encoding"),
    }
    message = str(caught.value)
    assert "4 problem(s)" in message
    assert "already used by good_a.geojson feature 2" in message
    assert "outside municipality Beetown (T2)" in message
    assert "unknown field 'sewage'" in message
    # Fix the files: the same scenario then loads completely.
    frame["field"] = ["road", "road"]
    frame["asset_id"] = ["b0", "b1"]
    frame.geometry = road_lines(2, shapely.box(9.52, 47.10, 9.54, 47.12))
    frame.to_file(tmp_path / "b.geojson")
    (tmp_path / "c.csv").write_text("名前,lon,lat\n公園,9.53,47.11\n", encoding="utf-8")
    scenario = load_scenario(path)
    assert len(scenario.assets) == 6
    assert scenario.assets.groupby("municipality").size().to_dict() == {"Aville": 3, "Beetown": 3}


def test_geometry_within_tolerance_of_boundary_is_accepted(tmp_path: Path) -> None:
    """A road that leaves its town by less than the tolerance is fine; beyond it is an error."""
    near = shapely.LineString([(9.515, 47.11), (9.535, 47.11)])  # 1.1 km into town B
    _roads(tmp_path / "near.geojson", [near])
    assert len(load_scenario(write_scenario(tmp_path, [{"file": "near.geojson"}])).assets) == 1
    path = write_scenario(tmp_path, [{"file": "near.geojson"}], extra="outside_tolerance_m = 500")
    with pytest.raises(AssetValidationError) as caught:
        load_scenario(path)
    assert [(p.feature, p.field) for p in caught.value.problems] == [(1, "geometry")]
    assert "reaches 1.1 km outside municipality Aville" in caught.value.problems[0].message


def test_depots_default_and_checked(tmp_path: Path) -> None:
    """Towns without a depot get one inside; a swapped lon/lat or unknown town is an error."""
    _roads(tmp_path / "a.geojson", road_lines(1))
    scenario = load_scenario(write_scenario(tmp_path, [{"file": "a.geojson"}]))
    town = scenario.depots[scenario.depots["municipality_code"] == "T1"].iloc[0]
    assert town["kind"] == "town"
    assert TOWN_A.contains(town.geometry)
    assert list(scenario.municipalities["population"]) == [1200, 800]
    path = write_scenario(tmp_path, [{"file": "a.geojson"}])
    text = path.read_text(encoding="utf-8").replace(
        '[[municipality]]\ncode = "T1"\n',
        '[[municipality]]\ncode = "T1"\ndepot = { lon = 47.11, lat = 9.51 }\n',
    )
    text += '\n[[depot]]\nid = "yard"\nlon = 9.53\nlat = 47.11\nmunicipality_code = "T9"\n'
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AssetValidationError) as caught:
        load_scenario(path)
    found = {(p.feature, p.field) for p in caught.value.problems}
    assert found == {("municipality[0].depot", "lon"), ("depot[0]", "municipality_code")}


def test_clip_cuts_assets_to_the_boundary(tmp_path: Path) -> None:
    """clip = true keeps only the part inside the town; wholly outside features are dropped."""
    across = shapely.LineString([(9.51, 47.11), (9.53, 47.11)])  # half in A, half in B
    outside = shapely.LineString([(9.53, 47.105), (9.535, 47.105)])
    _roads(tmp_path / "a.geojson", [across, outside])
    scenario = load_scenario(write_scenario(tmp_path, [{"file": "a.geojson", "clip": True}]))
    assert len(scenario.assets) == 1
    assert scenario.assets.geometry.iloc[0].equals_exact(
        shapely.LineString([(9.51, 47.11), (9.52, 47.11)]), 1e-9
    )
    assert [p.severity for p in scenario.warnings] == ["warning"]


def test_many_identical_problems_are_capped_with_a_count(tmp_path: Path) -> None:
    """A wholly wrong CRS lists the first MAX_LISTED features, then one line with the rest."""
    line = {"type": "LineString", "coordinates": [[2758000, 1222000], [2758300, 1222000]]}
    props = {"field": "road", "kind": "road_segment"}
    path = _raw_geojson(tmp_path / "many.geojson", [(props, line)] * (MAX_LISTED + 7))
    errors = _load_errors(path)
    assert [p.feature for p in errors] == [*range(1, MAX_LISTED + 1), None]
    assert "7 more features" in errors[-1].message


def test_cp932_geojson_is_an_encoding_error(tmp_path: Path) -> None:
    """GeoJSON must be UTF-8: a Shift-JIS file names the line, or loads with encoding = cp932."""
    text = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"name": "市道", "field": "road", "kind": "road_segment"},
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [[9.505, 47.11], [9.506, 47.11]],
                    },
                }
            ],
        },
        ensure_ascii=False,
    )
    path = tmp_path / "sjis.geojson"
    path.write_bytes(text.encode("cp932"))
    errors = _load_errors(path)
    assert [(p.feature, p.field) for p in errors] == [(None, "encoding")]
    assert "line 1" in errors[0].message
    assets, problems = load_assets_from_file(
        path, municipality_code="T1", municipality="A", encoding="cp932"
    )
    assert problems == []
    assert assets["name"].tolist() == ["市道"]
