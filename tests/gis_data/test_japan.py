"""Japanese N03 boundaries load as a scenario's municipalities with names intact and zone VIII."""

from __future__ import annotations

from pathlib import Path

import pytest

from gis_data.loading.crs import areas_m2
from gis_data.loading.load import load_scenario

N03 = "izu_kamo_municipalities_n03_2021_s1pct.geojson"


def test_n03_boundaries_with_japanese_names(tmp_path: Path, shared_dir: Path) -> None:
    """Six Kamo towns: Japanese names kept, JGD2011 zone VIII (EPSG:6676) chosen, areas right."""
    boundaries = shared_dir / "data" / "japan" / "izu" / N03
    (tmp_path / "shimoda_parks.csv").write_bytes(
        "公園名,緯度,経度\n下田公園,34.6700,138.9480\n".encode("cp932")
    )
    (tmp_path / "izu.toml").write_text(
        f"""name = "賀茂地域"
[boundaries]
file = "{boundaries.as_posix()}"
code_column = "N03_007"
name_column = "N03_004"

[[municipality]]
code = "22219"
population = 19000
[[municipality.source]]
file = "shimoda_parks.csv"
encoding = "cp932"
field = "公園"
kind = "park"
columns = {{ "公園名" = "name" }}

[[municipality]]
code = "22301"
[[municipality]]
code = "22302"
[[municipality]]
code = "22304"
[[municipality]]
code = "22305"
[[municipality]]
code = "22306"
""",
        encoding="utf-8",
    )
    scenario = load_scenario(tmp_path / "izu.toml")
    towns = scenario.municipalities
    assert list(towns["municipality"]) == [
        "下田市",
        "東伊豆町",
        "河津町",
        "南伊豆町",
        "松崎町",
        "西伊豆町",
    ]
    assert scenario.metric_crs.to_epsg() == 6676
    areas = areas_m2(towns, scenario.metric_crs) / 1e6
    assert areas.iloc[0] == pytest.approx(104.03, rel=0.01)
    assert scenario.assets["name"].tolist() == ["下田公園"]
    assert scenario.assets["municipality"].tolist() == ["下田市"]
    assert scenario.assets["field"].tolist() == ["park"]
    assert towns["population"].isna().sum() == 5
    assert scenario.name == "賀茂地域"


def test_detailed_n03_without_municipality_list_takes_every_town(
    tmp_path: Path, shared_dir: Path
) -> None:
    """Without [[municipality]] tables every boundary feature is a municipality with a depot."""
    boundaries = (
        shared_dir / "data" / "japan" / "izu" / N03.replace("2021_s1pct", "2022_detailed_5towns")
    )
    (tmp_path / "izu5.toml").write_text(
        f'[boundaries]\nfile = "{boundaries.as_posix()}"\n'
        'code_column = "N03_007"\nname_column = "N03_004"\n',
        encoding="utf-8",
    )
    scenario = load_scenario(tmp_path / "izu5.toml")
    assert list(scenario.municipalities["municipality"]) == [
        "下田市", "東伊豆町", "河津町", "松崎町", "西伊豆町"
    ]  # fmt: skip
    assert scenario.metric_crs.to_epsg() == 6676
    assert scenario.assets.empty
    assert len(scenario.depots) == 5
    assert scenario.depots["name"].iloc[0] == "下田市 town depot"
    for depot, town in zip(scenario.depots.geometry, scenario.municipalities.geometry, strict=True):
        assert town.contains(depot)
