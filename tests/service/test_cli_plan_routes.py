"""`gunmane plan routes`: per-crew routes, bundled versus separate totals, exported files."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import gpxpy
import pytest
from shapely import LineString, box
from shapely.geometry import mapping

from service.cli import main
from tests.gis_data.osm_grid import DLAT, DLON, LAT0, LON0, node_lonlat, write_grid_osm
from tests.service.grid_scenario import scenario_toml


def _features(rows: list[tuple[str, str, str, object]]) -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"asset_id": aid, "field": fld, "kind": kind, "name": aid},
                "geometry": mapping(geom),
            }
            for aid, fld, kind, geom in rows
        ],
    }


@pytest.fixture
def tiny_scenario(tmp_path: Path) -> Path:
    """Two towns split at Col1 on the synthetic grid, roads, a river bank, a park, three depots."""
    write_grid_osm(tmp_path / "grid.osm")
    m = 0.003
    west = box(LON0 - m, LAT0 - m, LON0 + DLON, LAT0 + 2 * DLAT + m)
    east = box(LON0 + DLON, LAT0 - m, LON0 + 2 * DLON + m, LAT0 + 2 * DLAT + m)
    towns = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"code": c, "name": n}, "geometry": mapping(g)}
            for c, n, g in (("T1", "Westdorf", west), ("T2", "Ostdorf", east))
        ],
    }
    (tmp_path / "towns.geojson").write_text(json.dumps(towns), encoding="utf-8")
    bank_lat = LAT0 + DLAT + 0.00018
    west_assets = [
        ("W-row1", "road", "road_segment", LineString([node_lonlat(4), node_lonlat(5)])),
        (
            "W-corner",
            "road",
            "road_segment",
            LineString([node_lonlat(4), node_lonlat(1), node_lonlat(2)]),
        ),
        ("W-col1", "road", "road_segment", LineString([node_lonlat(2), node_lonlat(8)])),
    ]
    east_assets = [
        ("E-row1", "road", "road_segment", LineString([node_lonlat(5), node_lonlat(6)])),
        ("E-col2", "road", "road_segment", LineString([node_lonlat(6), node_lonlat(9)])),
        (
            "E-bank",
            "river",
            "river_bank",
            LineString([(LON0 + DLON, bank_lat), (LON0 + 2 * DLON, bank_lat)]),
        ),
        (
            "E-park",
            "park",
            "park",
            box(LON0 + 2 * DLON + 3e-4, LAT0 + DLAT, LON0 + 2 * DLON + 6e-4, LAT0 + DLAT + 3e-4),
        ),
    ]
    (tmp_path / "west.geojson").write_text(json.dumps(_features(west_assets)), encoding="utf-8")
    (tmp_path / "east.geojson").write_text(json.dumps(_features(east_assets)), encoding="utf-8")
    toml = scenario_toml(
        header='name = "Tiny grid"\nmetric_crs = "EPSG:32632"',
        buffer_m=200,
        towns=[
            ("T1", "Westdorf depot", 4, "west.geojson"),
            ("T2", "Ostdorf depot", 6, "east.geojson"),
        ],
        depots=[("yard", "Central yard", 5, None)],
    )
    path = tmp_path / "tiny.toml"
    path.write_text(toml, encoding="utf-8")
    return path


def test_plan_routes_prints_and_exports(
    tiny_scenario: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Per-crew lines, both plans, the comparison table, and files that parse with real routes."""
    out = tmp_path / "out"
    code = main(["plan", "routes", str(tiny_scenario), "--iterations", "30", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    text = captured.out
    assert "Bundled plan" in text
    assert "Central yard" in text
    assert "Westdorf road" in text
    assert "Ostdorf river" in text
    assert "Ostdorf park" in text
    assert "Bundled versus separate" in text
    assert "done" in captured.err  # progress goes to stderr
    found = re.search(r"Bundled plan: .*? ([\d.]+) km", text)
    assert found is not None
    bundled_km = float(found.group(1))
    doc = json.loads((out / "bundled.geojson").read_text(encoding="utf-8"))
    routes = [f for f in doc["features"] if f["properties"]["kind"] == "route"]
    assert sum(f["properties"]["km"] for f in routes) == pytest.approx(bundled_km, abs=0.06)
    served = {a for f in routes for a in f["properties"]["asset_ids"]}
    assert served == {"W-row1", "W-corner", "W-col1", "E-row1", "E-col2", "E-bank", "E-park"}
    gpx = gpxpy.parse((out / "bundled.gpx").read_text(encoding="utf-8"))
    x5, y5 = node_lonlat(5)
    for track in gpx.tracks:
        first = track.segments[0].points[0]
        assert (first.longitude, first.latitude) == pytest.approx((x5, y5), abs=1e-6)
    assert [w.name for w in gpx.waypoints] == ["E-park"]
    # Names a crew's map app shows: Japanese by default, English with --lang en.
    assert gpx.name is not None
    assert gpx.name.endswith("群マネ（一括）")
    assert all(track.name is not None and track.name.startswith("班 ") for track in gpx.tracks)
    crew = gpxpy.parse((out / "bundled_crew1.gpx").read_text(encoding="utf-8"))
    assert crew.name is not None
    assert crew.name.endswith("班 1")
    assert (out / "bundled.kml").is_file()
    assert (out / "separate_ostdorf_river.gpx").is_file()
    english = tmp_path / "en"
    args = ["plan", "routes", str(tiny_scenario), "--iterations", "30", "--out", str(english)]
    assert main([*args, "--lang", "en"]) == 0
    gpx_en = gpxpy.parse((english / "bundled.gpx").read_text(encoding="utf-8"))
    assert gpx_en.name is not None
    assert gpx_en.name.endswith(": bundled")
    assert all(track.name is not None and track.name.startswith("Crew ") for track in gpx_en.tracks)


def test_plan_routes_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing config exits with 2 and an error naming the file."""
    code = main(["plan", "routes", str(tmp_path / "missing.toml")])
    assert code == 2
    assert "missing.toml" in capsys.readouterr().err


def test_plan_routes_json(tiny_scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the network, both plans with their routes, and the separate totals."""
    code = main(["plan", "routes", str(tiny_scenario), "--iterations", "10", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    doc = json.loads(captured.out)
    assert doc["scenario"] == "Tiny grid"
    assert doc["network"]["nodes"] == 6
    bundled = doc["bundled"]
    assert bundled["depots"] == ["yard"]
    assert bundled["crews"] == len(bundled["routes"])
    assert {p["plan"] for p in doc["separate"]} == {
        "Westdorf road",
        "Ostdorf road",
        "Ostdorf river",
        "Ostdorf park",
    }
    assert doc["separate_totals"]["crews"] == sum(p["crews"] for p in doc["separate"])
    assert doc["unmatched"] == []


def _plans(doc: dict[str, Any]) -> dict[str, Any]:
    """The solved plans of a `--json` document (routes, totals), nothing about the run."""
    return {k: doc[k] for k in ("bundled", "separate", "separate_totals", "unmatched")}


@pytest.mark.slow
def test_plan_routes_on_two_workers_matches_inline(
    tiny_scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--workers 2` solves the bundled and separate plans on a Dask cluster: same plans."""
    argv = ["plan", "routes", str(tiny_scenario), "--iterations", "10", "--json"]
    assert main(argv) == 0
    inline = json.loads(capsys.readouterr().out)
    assert main([*argv, "--workers", "2"]) == 0
    captured = capsys.readouterr()
    assert "parallel tasks" in captured.err
    assert _plans(json.loads(captured.out)) == _plans(inline)


def test_output_file_names_keep_japanese_names_and_never_collide():
    """Two towns whose names reduce to the same ASCII stem used to overwrite each other."""
    from service.commands.plan_routes import file_stem

    taken: set[str] = set()
    stems = [file_stem(label, taken) for label in ("下田市 road", "河津町 road", "Ost-dorf river")]
    assert stems == ["下田市_road", "河津町_road", "ost_dorf_river"]
    assert file_stem("Ost dorf river", taken) == "ost_dorf_river_2"
    assert file_stem("Ost dorf river", taken) == "ost_dorf_river_3"
    assert file_stem("!!", taken) == "plan"
