"""`gunmane load` and `gunmane demo`: summary table, JSON rows, exit codes and problem lists."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from service.cli import main
from tests.gis_data._scenario import road_lines, write_scenario


def _scenario(tmp_path: Path, *, bad: bool = False) -> Path:
    field = ["road", "rood"] if bad else ["road", "road"]
    gpd.GeoDataFrame(
        {"asset_id": ["a", "b"], "field": field, "kind": ["road_segment"] * 2},
        geometry=road_lines(2),
        crs=4326,
    ).to_file(tmp_path / "a.geojson")
    return write_scenario(tmp_path, [{"file": "a.geojson"}])


def test_load_prints_table_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A valid scenario: exit 0, the municipality x field table and the validation line."""
    assert main(["load", str(_scenario(tmp_path))]) == 0
    out = capsys.readouterr().out
    assert "Aville" in out
    assert "road" in out
    assert "validation: no errors" in out


def test_load_json_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the list of summary rows only."""
    assert main(["load", str(_scenario(tmp_path)), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["municipality"], r["field"], r["count"]) for r in rows] == [("Aville", "road", 2)]
    assert rows[0]["km"] > 0.5


def test_load_errors_exit_non_zero_with_problems(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad file: exit 1, the problem names file, feature and field; JSON gives the same list."""
    path = _scenario(tmp_path, bad=True)
    assert main(["load", str(path)]) == 1
    err = capsys.readouterr().err
    assert "a.geojson, feature 2, field 'field': unknown field 'rood'" in err
    assert main(["load", str(path), "--json"]) == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert problems == [
        {
            "file": "a.geojson",
            "feature": 2,
            "field": "field",
            "message": "unknown field 'rood'; fields are road, river, park, sewer, other",
            "severity": "error",
        }
    ]


def test_load_bad_config_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An unusable TOML exits with 2 and names the key."""
    path = tmp_path / "bad.toml"
    path.write_text('[[municipality]]\nname = "x"\n', encoding="utf-8")
    assert main(["load", str(path)]) == 2
    assert "municipality[0].code" in capsys.readouterr().err


def test_demo_prints_four_towns(capsys: pytest.CaptureFixture[str]) -> None:
    """`gunmane demo --summary-only` loads the shipped four-town scenario."""
    assert main(["demo", "--summary-only"]) == 0
    out = capsys.readouterr().out
    for town in ("Vaduz", "Schaan", "Triesen", "Triesenberg"):
        assert town in out
    assert "OpenStreetMap contributors" in out


def test_load_repair_turns_invalid_geometry_into_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without --repair a self-intersecting park fails; with it the load succeeds and warns."""
    bowtie = shapely.Polygon([(9.505, 47.105), (9.51, 47.11), (9.51, 47.105), (9.505, 47.11)])
    gpd.GeoDataFrame({"field": ["park"], "kind": ["park"]}, geometry=[bowtie], crs=4326).to_file(
        tmp_path / "p.geojson"
    )
    path = write_scenario(tmp_path, [{"file": "p.geojson"}])
    assert main(["load", str(path)]) == 1
    assert "Self-intersection" in capsys.readouterr().err
    assert main(["load", str(path), "--repair"]) == 0
    out = capsys.readouterr().out
    assert "1 warning(s)" in out
    assert "repaired with make_valid" in out
