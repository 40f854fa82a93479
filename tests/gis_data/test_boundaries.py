"""Municipal boundaries: MLIT N03 files without options, other files by column, dissolved parts."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
from shapely import box

from gis_data.loading.boundaries import BoundaryError, missing_codes, read_boundaries

IZU_ALL = "data/japan/izu/izu_kamo_municipalities_n03_2021_s1pct.geojson"
IZU_FIVE = "data/japan/izu/izu_kamo_municipalities_n03_2022_detailed_5towns.geojson"
KAMO = ["22219", "22301", "22302", "22304", "22305", "22306"]


def test_n03_geojson_detected_without_options(shared_dir: Path) -> None:
    towns = read_boundaries(shared_dir / IZU_ALL)
    assert list(towns.columns) == ["code", "name", "geometry"]
    assert list(towns["code"]) == KAMO
    assert dict(zip(towns["code"], towns["name"], strict=True))["22219"] == "下田市"
    assert towns.crs.to_epsg() == 4326
    assert missing_codes(towns, KAMO) == []


def test_n03_missing_town_listed(shared_dir: Path) -> None:
    """The detailed file lacks 南伊豆町: the service answers 422 with this list."""
    towns = read_boundaries(shared_dir / IZU_FIVE)
    assert missing_codes(towns, KAMO) == ["22304"]
    assert missing_codes(towns, ["22219", "99999", "22302"]) == ["99999"]
    assert towns.geometry.geom_type.isin(["Polygon", "MultiPolygon"]).all()


def _n03_frame() -> gpd.GeoDataFrame:
    # Sapporo's wards in one file: a numeric code loses Hokkaido's leading zero; an island part
    return gpd.GeoDataFrame(
        {
            "N03_001": ["北海道", "北海道", "北海道", "北海道"],
            "N03_003": ["札幌市", "札幌市", None, None],
            "N03_004": ["中央区", "中央区", "島牧村", None],
            "N03_007": [1101, 1101, 1403, None],  # the last row: 所属未定地, no code
        },
        geometry=[box(0, 0, 1000, 1000), box(3000, 0, 3500, 500), box(1000, 0, 2000, 1000),
                  box(5000, 5000, 5100, 5100)],
        crs=6680,  # JGD2011 zone XII
    )  # fmt: skip


def test_n03_zipped_shapefile_cp932_without_cpg(tmp_path: Path) -> None:
    """An N03 Shapefile as MLIT ships it (Shift-JIS, no .cpg): parts dissolved, codes 5 digits."""
    folder = tmp_path / "shp"
    folder.mkdir()
    _n03_frame().to_file(folder / "N03-20240101_01.shp", encoding="cp932", engine="pyogrio")
    path = tmp_path / "N03-20240101_01_GML.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for ext in ("shp", "shx", "dbf", "prj"):
            archive.write(folder / f"N03-20240101_01.{ext}", f"N03-20240101_01.{ext}")
    towns = read_boundaries(path)
    assert list(towns["code"]) == ["01101", "01403"]
    assert list(towns["name"]) == ["中央区", "島牧村"]
    assert towns.geometry.iloc[0].geom_type == "MultiPolygon"  # two parts of one ward
    area = gpd.GeoSeries(towns.geometry, crs=4326).to_crs(6680).area
    assert area.iloc[0] == pytest.approx(1_250_000, rel=1e-3)


def test_other_files_by_column_and_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "towns.geojson"
    gpd.GeoDataFrame(
        {"jcode": ["T1", "T2", "T1"], "town": ["Aville", "Bburg", "Aville"]},
        geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 1, 2)],
        crs=4326,
    ).to_file(path)
    towns = read_boundaries(path, code_column="jcode", name_column="town")
    assert list(towns["code"]) == ["T1", "T2"]
    assert towns.geometry.iloc[0].area == pytest.approx(2.0)
    with pytest.raises(BoundaryError) as caught:
        read_boundaries(path)  # no code column it can guess
    problem = caught.value.problems[0]
    assert (problem.file, problem.field) == ("towns.geojson", "code_column")
    assert "jcode" in problem.message
    assert str(tmp_path) not in str(caught.value)
    with pytest.raises(BoundaryError, match="no column 'CODE'"):
        read_boundaries(path, code_column="CODE")
    with pytest.raises(BoundaryError, match="GeoJSON, GeoPackage or zipped Shapefile"):
        read_boundaries(tmp_path / "towns.csv")
