"""`gunmane plan regions` on the four demo towns: table, GeoJSON, drawn-plan check, infeasible k."""

from __future__ import annotations

import json

import pytest

from service.cli import main


@pytest.fixture(scope="module")
def config(demo_dir):
    path = demo_dir / "four_towns.toml"
    if not path.is_file():
        pytest.skip("demo config four_towns.toml absent")
    return path


def test_plan_regions_writes_geojson(config, tmp_path, capsys):
    """k = 2 over four towns: a table with two contiguous regions and a GeoJSON with attribution."""
    out = tmp_path / "regions.geojson"
    code = main(
        [
            "plan",
            "regions",
            str(config),
            "-k",
            "2",
            "--straight-line",
            "--unit-km",
            "1",
            "--time-limit",
            "1",
            "--seed",
            "1",
            "--out",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    assert "contiguous yes" in text
    assert "© OpenStreetMap contributors" in text
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["attribution"] == "© OpenStreetMap contributors"
    assert len(doc["features"]) == 2
    props = doc["features"][0]["properties"]
    assert {"region", "towns", "workload_h", "km", "depot"} <= set(props)
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in doc["features"])


def test_plan_regions_evaluates_a_towns_plan(config, tmp_path, capsys):
    """--evaluate with towns per region reports the town left out and the one listed twice."""
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps({"north": ["Vaduz", "Schaan"], "south": ["Triesen", "Schaan"]}), encoding="utf-8"
    )
    code = main(
        ["plan", "regions", str(config), "--straight-line", "--evaluate", str(plan), "--json"]
    )
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)
    assert doc["unassigned"]  # Triesenberg is in no region
    assert doc["doubly_assigned"]  # Schaan is in two
    assert any("Triesenberg" in p or "LI-7004" in p for p in doc["problems"])


def test_plan_regions_infeasible_k(config, capsys):
    """An impossible k is explained and exits 1, without a traceback."""
    code = main(["plan", "regions", str(config), "-k", "5", "--whole-towns", "--straight-line"])
    out = capsys.readouterr().out
    assert code == 1
    assert "infeasible:" in out
    assert "only 4 towns" in out


def test_plan_regions_bad_config_is_an_error(tmp_path, capsys):
    """A missing config file is reported on stderr with exit code 2, no traceback."""
    code = main(["plan", "regions", str(tmp_path / "nope.toml")])
    assert code == 2
    assert "nope.toml" in capsys.readouterr().err
