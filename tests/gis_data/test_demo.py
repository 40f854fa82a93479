"""The demo scenarios in gis_data/demo load cleanly and match the shared statistics."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gis_data.demo import build_demo
from gis_data.loading.load import load_scenario
from gis_data.loading.schema import FIELDS
from gis_data.loading.summary import summarize


@pytest.fixture(scope="module")
def all_towns(demo_dir: Path):
    return load_scenario(demo_dir / "liechtenstein.toml")


def test_four_towns_load_cleanly(demo_dir: Path) -> None:
    """Four towns, four formats, no problems; every town has roads, river banks and parks."""
    scenario = load_scenario(demo_dir / "four_towns.toml")
    assert scenario.warnings == []
    assert list(scenario.municipalities["municipality"]) == [
        "Vaduz",
        "Schaan",
        "Triesen",
        "Triesenberg",
    ]
    assert scenario.metric_crs.to_epsg() == 32632
    assert scenario.network_path == demo_dir / "roads_drive.osm.bz2"
    assert scenario.network_buffer_m == 1000
    per_town = scenario.assets.groupby("municipality")["field"].agg(set).to_dict()
    assert all(fields == {"road", "river", "park"} for fields in per_town.values())
    formats = {Path(f).suffix for f in scenario.assets["source_file"]}
    assert formats == {".geojson", ".gpkg", ".zip", ".csv"}
    # Japanese column names in Triesen's cp932 shapefile were mapped, values decoded.
    triesen = scenario.assets[scenario.assets["municipality"] == "Triesen"]
    assert triesen["name"].str.contains("strasse").any()
    assert (triesen.loc[triesen["field"] == "road", "length_m"] > 0).all()
    assert scenario.assets["asset_id"].is_unique
    depots = scenario.depots
    assert sorted(depots["kind"].unique()) == ["contractor", "town"]
    assert (depots["kind"] == "town").sum() == 4
    assert (depots["kind"] == "contractor").sum() == 2


def test_all_towns_load_with_populations_and_depots_inside(all_towns) -> None:
    """All 11 municipalities: each has a population, and its town depot lies inside it."""
    towns = all_towns.municipalities
    assert len(towns) == 11
    assert towns["population"].between(400, 7000).all()
    town_depots = all_towns.depots[all_towns.depots["kind"] == "town"].set_index(
        "municipality_code"
    )
    for row in towns.itertuples():
        assert row.geometry.buffer(1e-6).contains(
            town_depots.loc[row.municipality_code, "geometry"]
        )
    assert set(all_towns.assets["field"]) <= set(FIELDS)
    roads = all_towns.assets[all_towns.assets["field"] == "road"]
    assert roads["road_class"].notna().all()


def test_road_km_agree_with_shared_stats(all_towns, shared_dir: Path) -> None:
    """Road km per town is within 2 % of road_km_drive in shared/data/liechtenstein/stats.csv."""
    with (shared_dir / "data" / "liechtenstein" / "stats.csv").open(encoding="utf-8") as f:
        expected = {row["name"]: float(row["road_km_drive"]) for row in csv.DictReader(f)}
    rows = summarize(all_towns.assets, metric_crs=all_towns.metric_crs)
    got = {r["municipality"]: r["km"] for r in rows if r["field"] == "road"}
    assert set(got) == set(expected)
    for town, km in expected.items():
        assert got[town] == pytest.approx(km, rel=0.02), town


@pytest.mark.slow
def test_build_script_reproduces_the_committed_files(
    tmp_path: Path, shared_dir: Path, demo_dir: Path
) -> None:
    """Rebuilding from ../shared gives byte-identical files (deterministic, committed output)."""
    written = build_demo.build(shared_dir / "data" / "liechtenstein", tmp_path)
    assert len(written) >= 16
    for path in written:
        assert path.read_bytes() == (demo_dir / path.name).read_bytes(), path.name


def test_demo_folder_is_small_and_attributed(demo_dir: Path) -> None:
    """The demo data stay well under 5 MB and carry the ODbL attribution."""
    total = sum(p.stat().st_size for p in demo_dir.iterdir() if p.is_file())
    assert total < 3_000_000
    assert "© OpenStreetMap contributors" in (demo_dir / "SOURCES.md").read_text(encoding="utf-8")
    assert "© OpenStreetMap contributors" in (demo_dir / "ATTRIBUTION").read_text(encoding="utf-8")
