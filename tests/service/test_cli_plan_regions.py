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


def _two_region_plan(demo_dir, path, depot_ids):
    """The four towns drawn as two regions (north: Vaduz, Schaan; south: Triesen,
    Triesenberg), each town's polygon carrying ``depot_ids[town]`` as its depot_id (QGIS would
    write null for a town left out)."""
    import geopandas as gpd

    towns = gpd.read_file(demo_dir / "municipalities.geojson")
    region = {"Vaduz": "1", "Schaan": "1", "Triesen": "2", "Triesenberg": "2"}
    plan = towns[towns["name"].isin(list(region))].copy()
    plan["region"] = plan["name"].map(region)
    plan["depot_id"] = [depot_ids.get(name) for name in plan["name"]]
    plan[["name", "region", "depot_id", "geometry"]].to_file(path, driver="GeoJSON")
    return plan.reset_index(drop=True)


def _evaluate_routed(config, plan, capsys):
    code = main(["plan", "regions", str(config), "--evaluate", str(plan), "--route", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return {r["region"]: r for r in json.loads(out)["regions"]}


@pytest.mark.slow
def test_plan_regions_evaluate_routes_a_region_from_the_depot_its_polygons_name(
    config, demo_dir, tmp_path, capsys
):
    """A ``depot_id`` property on the south region's polygons (the Schaan yard, in the north)
    routes that region from there: it patrols longer than from the automatic yards, the table
    names the yard, and the north region (no property) is routed as before."""
    auto = tmp_path / "auto.geojson"
    _two_region_plan(demo_dir, auto, {})
    far = tmp_path / "far.geojson"
    _two_region_plan(demo_dir, far, {"Triesen": "yard-schaan", "Triesenberg": "yard-schaan"})
    automatic = _evaluate_routed(config, auto, capsys)
    chosen = _evaluate_routed(config, far, capsys)
    assert {r["patrol_time_source"] for r in [*automatic.values(), *chosen.values()]} == {
        "routing engine"
    }
    assert automatic["2"]["depot"] is None
    assert chosen["2"]["depot"] == "Schaan industrial area contractor yard"
    assert chosen["2"]["patrol_time_h"] > automatic["2"]["patrol_time_h"]
    assert chosen["1"]["depot"] is None
    assert chosen["1"]["patrol_time_h"] == pytest.approx(automatic["1"]["patrol_time_h"])


def test_plan_regions_evaluate_names_every_bad_depot_at_once(config, demo_dir, tmp_path, capsys):
    """An unknown depot id and a region given two depots exit with 2, each named by file,
    feature and field, both in one run; nothing is evaluated."""
    path = tmp_path / "bad.geojson"
    plan = _two_region_plan(
        demo_dir,
        path,
        {"Vaduz": "yard-nowhere", "Triesen": "depot-LI-7002", "Triesenberg": "depot-LI-7004"},
    )
    code = main(["plan", "regions", str(config), "--straight-line", "--evaluate", str(path)])
    captured = capsys.readouterr()
    assert code == 2
    assert "balance max/min" not in captured.out
    lines = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 2, captured.err
    feature = {name: k + 1 for k, name in enumerate(plan["name"])}
    vaduz, second = feature["Vaduz"], max(feature["Triesen"], feature["Triesenberg"])
    assert f"{path}, feature {vaduz}, field 'depot_id'" in captured.err
    assert "no depot 'yard-nowhere' in the scenario" in captured.err
    assert "yard-schaan" in captured.err  # the ids the scenario has, to fix the file with
    assert f"{path}, feature {second}, field 'depot_id': region 2:" in captured.err
    assert "give each region one depot" in captured.err
